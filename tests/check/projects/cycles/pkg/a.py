from pkg.b import *  # noqa: F403


class Left(Right):  # bases form a cycle: lookups must stop
    async def go(self):
        self.missing()  # OK
        self.helper_method()  # OK: reported at the blocking call


alias_one = alias_two
alias_two = alias_one


async def handler():
    helper()  # OK: reported at the blocking call
    alias_one()  # OK
    Left().nothing()  # OK
