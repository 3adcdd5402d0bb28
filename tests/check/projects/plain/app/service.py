import subprocess


class Service:
    def __init__(self):
        self.ready = True

    def run(self):
        return self._exec()

    def _exec(self):
        return subprocess.run(["true"])  # LS104

    @classmethod
    def build(cls):
        inst = cls()
        inst.run()
        return inst


class Checker:
    async def __call__(self):
        return Service.build()  # OK: reported at the blocking call
