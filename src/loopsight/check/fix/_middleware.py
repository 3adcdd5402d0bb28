"""LS501's fix: a timing-style ``BaseHTTPMiddleware`` (``@app.middleware("http")`` or a
subclass with only ``dispatch``) rewritten as a pure ASGI class (unsafe).

Only one shape is rewritten, the one whose meaning carries over exactly: statements that do not
touch the request, ``response = await call_next(request)``, header assignments on the response,
``return response`` (or ``return await call_next(request)``). The headers are set when the
response starts, which is when ``call_next`` returns under ``BaseHTTPMiddleware``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from loopsight.check._finding import Finding
from loopsight.check.fix._fixers import FixContext, Planned, fixes
from loopsight.check.fix._model import Edit, FixKind, Safety

__all__ = ["pure_asgi"]

_TEMPLATE = '''\
class {name}:
    """Pure ASGI form of `{was}`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        BEFORE

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)
'''


@dataclass(frozen=True, slots=True)
class _Shape:
    """The parts of a dispatch function that carry over."""

    before: Sequence[cst.BaseStatement]
    headers: Sequence[cst.BaseStatement]


def _names(node: cst.CSTNode) -> set[str]:
    return {name.value for name in m.findall(node, m.Name()) if isinstance(name, cst.Name)}


def _is_call_next(node: cst.BaseExpression | None, call_next: str, request: str) -> bool:
    return node is not None and m.matches(
        node, m.Await(m.Call(func=m.Name(call_next), args=[m.Arg(m.Name(request), keyword=None)]))
    )


def _header(statement: cst.BaseStatement, response: str) -> cst.BaseStatement | None:
    """``response.headers[k] = v`` as ``headers[k] = v``, or ``None``."""
    target = m.Subscript(value=m.Attribute(value=m.Name(response), attr=m.Name("headers")))
    pattern = m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(target)])])
    if not m.matches(statement, pattern):
        return None
    assert isinstance(statement, cst.SimpleStatementLine)
    assign = statement.body[0]
    assert isinstance(assign, cst.Assign)
    if response in _names(assign.value):
        return None
    old = assign.targets[0].target
    assert isinstance(old, cst.Subscript)
    new = assign.with_changes(
        targets=[assign.targets[0].with_changes(target=old.with_changes(value=cst.Name("headers")))]
    )
    return statement.with_changes(body=[new])


def _shape(function: cst.FunctionDef, method: bool) -> _Shape | None:
    params = function.params.params[1:] if method else function.params.params
    if len(params) != 2 or not isinstance(function.body, cst.IndentedBlock):
        return None
    request, call_next = params[0].name.value, params[1].name.value
    body = list(function.body.body)
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if isinstance(small, cst.Return) and _is_call_next(small.value, call_next, request):
            return _carried(body[:index], [], body[index + 1 :], request, call_next)
        if (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and _is_call_next(small.value, call_next, request)
        ):
            return _after(
                body[:index], body[index + 1 :], small.targets[0].target.value, request, call_next
            )
    return None


def _after(
    before: list[cst.BaseStatement],
    rest: list[cst.BaseStatement],
    response: str,
    request: str,
    call_next: str,
) -> _Shape | None:
    returned = m.SimpleStatementLine(body=[m.Return(m.Name(response))])
    if not rest or not m.matches(rest[-1], returned):
        return None
    headers = [_header(statement, response) for statement in rest[:-1]]
    kept = [header for header in headers if header is not None]
    if len(kept) != len(headers):
        return None
    return _carried(before, kept, [], request, call_next)


def _carried(
    before: list[cst.BaseStatement],
    headers: list[cst.BaseStatement],
    trailing: list[cst.BaseStatement],
    request: str,
    call_next: str,
) -> _Shape | None:
    if trailing or any(m.findall(s, m.Return() | m.Yield()) for s in before):
        return None
    if any({request, call_next} & _names(s) for s in [*before, *headers]):
        return None
    return _Shape(before, headers)


class _Fill(cst.CSTTransformer):
    """Put the carried statements where the template's placeholders are."""

    def __init__(self, shape: _Shape) -> None:
        super().__init__()
        self.parts = {"BEFORE": shape.before, "HEADERS": shape.headers}

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement] | cst.RemovalSentinel:
        for placeholder, statements in self.parts.items():
            if m.matches(updated_node, m.SimpleStatementLine([m.Expr(m.Name(placeholder))])):
                if not statements:
                    return cst.RemoveFromParent()
                return cst.FlattenSentinel(statements)
        return updated_node


def _pure_class(name: str, was: str, shape: _Shape, header: cst.TrailingWhitespace) -> cst.ClassDef:
    """The class, its header line keeping the comment the old declaration line had."""
    template = cst.parse_statement(_TEMPLATE.format(name=name, was=was))
    filled = template.visit(_Fill(shape))
    assert isinstance(filled, cst.ClassDef)
    if not shape.headers:  # nothing to set: pass the response through untouched
        filled = _pass_through(filled)
    return filled.with_changes(body=filled.body.with_changes(header=header))


def _pass_through(node: cst.ClassDef) -> cst.ClassDef:
    text = cst.Module([node]).code
    start = text.index("\n        async def send_with_headers")
    text = text[:start].rstrip() + "\n        await self.app(scope, receive, send)\n"
    statement = cst.parse_statement(text)
    assert isinstance(statement, cst.ClassDef)
    return statement


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _decorated(function: cst.FunctionDef) -> cst.BaseExpression | None:
    """The app of ``@app.middleware("http")`` when that is the only decorator."""
    http = m.Call(func=m.Attribute(attr=m.Name("middleware")), args=[m.Arg(m.SimpleString())])
    if len(function.decorators) != 1 or not m.matches(function.decorators[0].decorator, http):
        return None
    call = function.decorators[0].decorator
    assert isinstance(call, cst.Call)
    assert isinstance(call.func, cst.Attribute)
    argument = call.args[0].value
    if not isinstance(argument, cst.SimpleString) or argument.evaluated_value != "http":
        return None
    return call.func.value


def _from_function(function: cst.FunctionDef) -> cst.FlattenSentinel[cst.BaseStatement] | None:
    app = _decorated(function)
    shape = _shape(function, method=False) if app is not None else None
    if app is None or shape is None or not isinstance(function.body, cst.IndentedBlock):
        return None
    name = _camel(function.name.value)
    pure = _pure_class(name, function.name.value, shape, function.body.header)
    pure = pure.with_changes(leading_lines=function.leading_lines)
    added = cst.parse_statement(f"{cst.Module([]).code_for_node(app)}.add_middleware({name})")
    assert isinstance(added, cst.SimpleStatementLine)
    # the decorator line's comment stays with the line that now adds the middleware
    added = added.with_changes(
        trailing_whitespace=function.decorators[0].trailing_whitespace,
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )
    return cst.FlattenSentinel([pure, added])


def _from_subclass(node: cst.ClassDef) -> cst.ClassDef | None:
    base = m.Arg(m.Name("BaseHTTPMiddleware") | m.Attribute(attr=m.Name("BaseHTTPMiddleware")))
    if len(node.bases) != 1 or not m.matches(node.bases[0], base):
        return None
    members = [
        s
        for s in node.body.body
        if not m.matches(s, m.SimpleStatementLine([m.Expr(m.SimpleString())]))
    ]
    if len(members) != 1 or not m.matches(members[0], m.FunctionDef(name=m.Name("dispatch"))):
        return None
    dispatch = members[0]
    assert isinstance(dispatch, cst.FunctionDef)
    shape = _shape(dispatch, method=True)
    if shape is None:
        return None
    header = node.body.header if isinstance(node.body, cst.IndentedBlock) else None
    if header is None:
        return None
    pure = _pure_class(node.name.value, f"{node.name.value}.dispatch", shape, header)
    if len(members) < len(node.body.body):  # the class's own docstring replaces the template's
        body = pure.body.with_changes(body=[node.body.body[0], *pure.body.body[1:]])
        pure = pure.with_changes(body=body)
    return pure.with_changes(leading_lines=node.leading_lines, decorators=node.decorators)


@fixes("LS501")
def pure_asgi(finding: Finding, context: FixContext) -> Planned | None:
    """LS501: the middleware as a pure ASGI class (unsafe: exceptions and streaming pass
    through differently, and ``request.state`` set here is no longer seen downstream)."""
    if finding.context is None:
        return None
    node = context.facts.declared_at(finding.context.function, finding.line)
    if isinstance(node, cst.FunctionDef):
        replacement: cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement] | None = _from_function(
            node
        )
    elif isinstance(node, cst.ClassDef):
        replacement = _from_subclass(node)
    else:
        return None
    if node is None or replacement is None:
        return None
    text = FixKind.PURE_ASGI.text.format(name=finding.context.function)
    imports = (("starlette.datastructures", "MutableHeaders"),)
    edit = Edit(FixKind.PURE_ASGI, Safety.UNSAFE, context.path, finding.line, text, imports)
    return Planned(edit, node, replacement)
