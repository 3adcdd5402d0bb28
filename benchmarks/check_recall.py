"""How many real blocking bugs does ``loopsight check`` find? An injected-bug benchmark on the
field corpus of ``benchmarks/check_field.py``.

    python benchmarks/check_recall.py                    # every field package, 5 bugs each
    python benchmarks/check_recall.py sqladmin --per 10  # some packages, more bugs
    python benchmarks/check_recall.py --keep DIR         # keep the injected trees to inspect

For each package, a fixed seed picks ``async def`` FastAPI routes (``@app.get("/...")``,
``@router.post("/...")``, ...) and async dependencies (``Depends(name)``), at most one per module,
and plants one blocking call 1-4 sync calls below each, in a temporary copy of the package:

* ``existing``: the route already calls a plain ``def`` helper of its module (and that one maybe
  another): the blocking call goes first into the deepest helper of that chain;
* ``new``: otherwise the route's first statement calls a new chain ``helper1 -> ... -> helperN``
  appended to the module, whose last helper blocks.

The blocking call is one of: ``time.sleep``, ``requests.get``, ``sqlite3`` query, sync SQLAlchemy
``Session.execute``, ``open().read()``, ``subprocess.run``. Then ``loopsight check`` runs on the
copy, and a bug counts as found when a finding lands on one of its injected lines. Misses are
listed with what the run said about their module, grouped by an automatic first diagnosis.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_field import CORPUS, FetchError, Package, fetch, run_check

_VERBS = frozenset({"get", "post", "put", "delete", "patch", "options", "head", "api_route"})
_MARK = "# loopsight-recall: injected"


@dataclass(frozen=True)
class Sink:
    """One kind of blocking call: the names it uses, as (module, attribute), and its lines.

    A line names what it uses by placeholder (``{sleep}``), filled in by the import style.
    """

    kind: str
    names: tuple[tuple[str, str, str], ...]
    lines: tuple[str, ...]
    # Module-level lines after the imports (a global client), and the names they bind.
    setup: tuple[str, ...] = ()
    binds: frozenset[str] = frozenset()

    def render(self, style: str) -> tuple[list[str], list[str], set[str]]:
        """Module header (imports, then setup), helper lines, and the names the header binds."""
        imports: list[str] = []
        refs: dict[str, str] = {}
        bound: set[str] = set()
        for key, module, attribute in self.names:
            if style == "module":
                line, ref, name = f"import {module}", f"{module}.{attribute}", module.split(".")[0]
            elif style == "alias":
                alias = "_recall_" + module.replace(".", "_")
                line, ref, name = f"import {module} as {alias}", f"{alias}.{attribute}", alias
            else:
                line, ref, name = f"from {module} import {attribute}", attribute, attribute
            refs[key] = ref
            bound.add(name)
            if line not in imports:
                imports.append(line)
        header = imports + [line.format(**refs) for line in self.setup]
        return header, [line.format(**refs) for line in self.lines], bound | self.binds


SINKS = (
    Sink("sleep", (("sleep", "time", "sleep"),), ("{sleep}(0.25)",)),
    Sink(
        "http",
        (("get", "requests", "get"),),
        ('{get}("http://127.0.0.1:9/health", timeout=5)',),
    ),
    Sink(
        "sqlite3",
        (("connect", "sqlite3", "connect"),),
        ('{connect}("recall.db").execute("select 1").fetchall()',),
    ),
    Sink(
        "sqlalchemy",
        (
            ("Session", "sqlalchemy.orm", "Session"),
            ("engine", "sqlalchemy", "create_engine"),
            ("text", "sqlalchemy", "text"),
        ),
        (
            'session = {Session}({engine}("sqlite://"))',
            'session.execute({text}("select 1")).all()',
        ),
    ),
    Sink("open", (), ('open("recall.txt").read()',)),
    Sink("pathlib", (("Path", "pathlib", "Path"),), ('{Path}("recall.txt").read_text()',)),
    Sink("subprocess", (("run", "subprocess", "run"),), ('{run}(["true"], check=False)',)),
    # Forms that need the value's type followed: a client held in a module global, chosen
    # with `or`, returned by a factory; a sync ORM query; a sync cloud SDK call.
    Sink(
        "redis global",
        (("Redis", "redis", "Redis"),),
        ('_recall_redis_client.get("recall")',),
        ('_recall_redis_client = {Redis}(host="127.0.0.1")',),
        frozenset({"_recall_redis_client"}),
    ),
    Sink(
        "http client via or",
        (("Client", "httpx", "Client"),),
        ("client = None or {Client}()", 'client.get("http://127.0.0.1:9/health")'),
    ),
    Sink(
        "http client from a factory",
        (("Client", "httpx", "Client"),),
        ('_recall_make_client().get("http://127.0.0.1:9/health")',),
        ("", "", "def _recall_make_client():", "    return {Client}(timeout=5)"),
        frozenset({"_recall_make_client"}),
    ),
    Sink(
        "sqlalchemy query",
        (("Session", "sqlalchemy.orm", "Session"), ("engine", "sqlalchemy", "create_engine")),
        (
            'with {Session}({engine}("sqlite://")) as session:',
            "    session.query(object).all()",
        ),
    ),
    Sink(
        "boto3",
        (("client", "boto3", "client"),),
        ('{client}("s3").get_object(Bucket="recall", Key="recall")',),
    ),
)
STYLES = ("module", "alias", "from")
PLACES = ("same module", "sibling, absolute import", "sibling, relative import")
SHAPES = ("functions", "methods")


@dataclass(frozen=True)
class Plan:
    """How one bug is written: sink, chain depth, import style, where the chain lives, shape."""

    sink: Sink
    depth: int
    style: str
    place: str
    shape: str


@dataclass(frozen=True)
class Target:
    """An async route or dependency of one module."""

    path: Path
    function: ast.AsyncFunctionDef
    role: str


@dataclass(frozen=True)
class Injection:
    """One planted bug: where, how deep, which call, and the lines a finding may land on."""

    package: str
    path: str
    entry: str
    role: str
    mode: str
    depth: int
    sink: str
    style: str
    place: str
    shape: str
    sink_path: str
    lines: tuple[int, ...]


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes())
    except (SyntaxError, ValueError):
        return None


def _is_route(function: ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        if (
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr in _VERBS
            and decorator.args
            and isinstance(decorator.args[0], ast.Constant)
            and isinstance(decorator.args[0].value, str)
        ):
            return True
    return False


def _targets(path: Path, tree: ast.Module) -> list[Target]:
    """Async routes anywhere in the module, and module-level async functions used in Depends."""
    found = [
        Target(path, node, "route")
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef) and _is_route(node)
    ]
    top = {node.name: node for node in tree.body if isinstance(node, ast.AsyncFunctionDef)}
    depended = {
        node.args[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"Depends", "Security"}
        and node.args
        and isinstance(node.args[0], ast.Name)
    }
    seen = {id(target.function) for target in found}
    found += [
        Target(path, top[name], "dependency")
        for name in sorted(depended & top.keys())
        if id(top[name]) not in seen
    ]
    # A one-line body (`async def f(): return x`) leaves no line to plant a call on.
    return [t for t in found if t.function.body[0].lineno > t.function.lineno]


def _direct_calls(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """Names called in ``function``'s own body, not in nested functions or lambdas, in order."""
    names: list[str] = []
    stack: list[ast.AST] = list(reversed(function.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.append(node.func.id)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return names


Helper = tuple[Path, ast.FunctionDef]


class Modules:
    """The parsed modules of one tree, and the sync helpers each module can call by name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._trees: dict[Path, ast.Module | None] = {}

    def tree(self, path: Path) -> ast.Module | None:
        """The module's syntax tree as first read (before any plant), or None."""
        if path not in self._trees:
            self._trees[path] = _parse(path) if path.is_file() else None
        return self._trees[path]

    def _module_file(self, base: Path, dotted: str) -> Path | None:
        target = base.joinpath(*dotted.split(".")) if dotted else base
        for candidate in (target.with_suffix(".py"), target / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def helpers(self, path: Path) -> dict[str, Helper]:
        """Undecorated top-level ``def``s of the module, and those it imports by name."""
        tree = self.tree(path)
        if tree is None:
            return {}
        found: dict[str, Helper] = {
            node.name: (path, node)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and not node.decorator_list
        }
        for node in tree.body:
            if not isinstance(node, ast.ImportFrom):
                continue
            base = self.root
            if node.level:
                base = path.parent
                for _ in range(node.level - 1):
                    base = base.parent
            source = self._module_file(base, node.module or "")
            other = self.tree(source) if source is not None else None
            if source is None or other is None:
                continue
            defs = {
                n.name: n
                for n in other.body
                if isinstance(n, ast.FunctionDef) and not n.decorator_list
            }
            for alias in node.names:
                if alias.name in defs:
                    found[alias.asname or alias.name] = (source, defs[alias.name])
        return found


def _existing_chain(
    modules: Modules, path: Path, entry: ast.AsyncFunctionDef, depth: int
) -> list[Helper]:
    """Sync helpers the entry calls by name, one below the other, across the tree's modules."""
    chain: list[Helper] = []
    caller: tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef] = (path, entry)
    while len(chain) < depth:
        helpers = modules.helpers(caller[0])
        following = [helpers[name] for name in _direct_calls(caller[1]) if name in helpers]
        following = [helper for helper in following if helper[1] not in [h[1] for h in chain]]
        if not following:
            break
        chain.append(following[0])
        caller = following[0]
    return chain


def _bound_names(tree: ast.Module) -> set[str]:
    """Names the module binds at top level other than by ``import X`` itself."""
    bound: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Import):
            bound.update(alias.asname for alias in node.names if alias.asname)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update(t.id for t in targets if isinstance(t, ast.Name))
    return bound


def _import_line(tree: ast.Module) -> int:
    """The 0-based line before which new imports go: after the docstring and __future__."""
    after = 0
    for node in tree.body:
        is_doc = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_doc and after == 0) or is_future:
            after = node.end_lineno or node.lineno
        else:
            break
    return after


def _body_line(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, str]:
    """The 0-based line of the first statement after any docstring, and its indentation."""
    body = function.body
    first = body[0]
    if len(body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        first = body[1]
    return first.lineno - 1, " " * first.col_offset


def _chain(number: int, depth: int, shape: str, code: list[str]) -> tuple[str, str, list[str]]:
    """The new helper chain: the name to import, the call the entry makes, and its lines."""
    if shape == "functions":
        names = [f"_recall_{number}_{level}" for level in range(1, depth + 1)]
        lines: list[str] = []
        for level, name in enumerate(names):
            lines += ["", "", f"def {name}() -> None:"]
            if level + 1 < depth:
                lines.append(f"    {names[level + 1]}()")
            else:
                lines += [f"    {line}  {_MARK}" for line in code]
        return names[0], f"{names[0]}()", lines
    name = f"_Recall{number}"
    lines = ["", "", f"class {name}:"]
    for level in range(1, depth + 1):
        lines += [f"    def step{level}(self) -> None:"]
        if level < depth:
            lines.append(f"        self.step{level + 1}()")
        else:
            lines += [f"        {line}  {_MARK}" for line in code]
    return name, f"{name}().step1()", lines


def _write(path: Path, lines: list[str], edits: list[tuple[int, list[str]]]) -> str | None:
    """Apply insertions (0-based line, new lines) bottom-up; None if the result does not parse."""
    lines = list(lines)
    for line, new in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[line:line] = new
    text = "\n".join(lines) + "\n"
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    path.write_text(text)
    return text


def _marked(text: str) -> tuple[int, ...]:
    return tuple(at for at, code in enumerate(text.splitlines(), 1) if code.endswith(_MARK))


def plant(
    package: str,
    modules: Modules,
    target: Target,
    number: int,
    plan: Plan,
    touched: set[Path],
) -> Injection | None:
    """Write one bug into ``target``'s module; None when it cannot be planted there.

    ``touched`` holds the files already written, which are never written twice.
    """
    root = modules.root
    tree = modules.tree(target.path)
    if tree is None or target.path in touched:
        return None
    imports, code, bound = plan.sink.render(plan.style)
    taken = _bound_names(tree)
    relative = target.path.relative_to(root)
    lines = target.path.read_text(errors="replace").splitlines()
    top = _import_line(tree)
    chain = _existing_chain(modules, target.path, target.function, plan.depth)
    if chain and chain[-1][1].body[0].lineno == chain[-1][1].lineno:
        chain = []
    if chain and plan.sink.kind != "control":
        home, deepest = chain[-1]
        home_tree = modules.tree(home)
        if home in touched or home_tree is None or bound & _bound_names(home_tree):
            return None
        line, indent = _body_line(deepest)
        edits = [
            (line, [f"{indent}{c}  {_MARK}" for c in code]),
            (_import_line(home_tree), imports),
        ]
        home_lines = home.read_text(errors="replace").splitlines()
        text = _write(home, home_lines, edits)
        if text is None:
            return None
        touched.add(home)
        where = (home.relative_to(root), _marked(text))
        mode, depth, shape = "existing", len(chain), "functions"
        place = "existing helper" if home == target.path else "existing helper, other module"
    else:
        name, call, helper = _chain(number, plan.depth, plan.shape, code)
        line, indent = _body_line(target.function)
        entry_call = (line, [f"{indent}{call}"])
        mode, depth, place, shape = "new", plan.depth, plan.place, plan.shape
        if place == "same module":
            if bound & taken:
                return None
            edits = [entry_call, (len(lines), helper), (top, imports)]
            text = _write(target.path, lines, edits)
            if text is None:
                return None
            touched.add(target.path)
            where = (relative, _marked(text))
        else:
            sibling = target.path.with_name(f"_recall_{number}.py")
            is_package = (target.path.parent / "__init__.py").exists()
            if place.endswith("relative import") and not is_package:
                place = "sibling, absolute import"
            if place.endswith("relative import"):
                source = f".{sibling.stem}"
            else:
                source = ".".join(sibling.relative_to(root).with_suffix("").parts)
            edits = [entry_call, (top, [f"from {source} import {name}"])]
            sibling_text = "\n".join([*imports, *helper]) + "\n"
            sibling.write_text(sibling_text)
            if _write(target.path, lines, edits) is None:
                sibling.unlink()
                return None
            touched.update((target.path, sibling))
            where = (sibling.relative_to(root), _marked(sibling_text))
    return Injection(
        package,
        str(relative),
        target.function.name,
        target.role,
        mode,
        depth,
        plan.sink.kind,
        plan.style,
        place,
        shape,
        str(where[0]),
        where[1],
    )


CONTROL = Sink("control", (("dumps", "json", "dumps"),), ('{dumps}(["recall"])',))


def inject(package: Package, root: Path, per: int, rng: random.Random) -> list[Injection]:
    """Plant up to ``per`` bugs in the tree at ``root`` (a copy), one per route module, then
    one harmless call (``json.dumps``) the same way, as a control that must not be reported."""
    modules = Modules(root)
    by_module: dict[Path, list[Target]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = modules.tree(path)
        if tree is not None:
            targets = _targets(path, tree)
            if targets:
                by_module[path] = targets
    order = sorted(by_module)
    rng.shuffle(order)
    planted: list[Injection] = []
    touched: set[Path] = set()
    for path in order:
        real = [injection for injection in planted if injection.sink != CONTROL.kind]
        sink = CONTROL if len(real) >= per else SINKS[rng.randrange(len(SINKS))]
        target = rng.choice(by_module[path])
        plan = Plan(
            sink, rng.randint(1, 4), rng.choice(STYLES), rng.choice(PLACES), rng.choice(SHAPES)
        )
        injection = plant(package.name, modules, target, len(planted) + 1, plan, touched)
        if injection is not None:
            planted.append(injection)
            if injection.sink == CONTROL.kind:
                break
    return planted


_PROBE = """from fastapi import FastAPI

app = FastAPI()


@app.get("/probe")
async def probe() -> None:
"""


def probe(sink: Sink, style: str, timeout: float) -> frozenset[str]:
    """The codes the checker reports for this call written straight into an async route."""
    header, code, _ = sink.render(style)
    text = "\n".join([*header, _PROBE.rstrip("\n"), *(f"    {line}" for line in code)]) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "probe.py").write_text(text)
        findings = run_check(Path(tmp), timeout)
    if isinstance(findings, str):
        return frozenset()
    return frozenset(f["code"] for f in findings if f["path"] == "probe.py")


def diagnose(
    injection: Injection,
    findings: list[dict[str, Any]],
    recognised: dict[tuple[str, str], frozenset[str]],
) -> str:
    """Why a plant was missed: its module unread, its call not recognised even straight in a
    route (``recognised``: codes from :func:`probe`), another finding of the same code already
    reported for the entry, or the path from the entry not followed."""
    here = [f for f in findings if f["path"] in (injection.path, injection.sink_path)]
    if any(f["code"].startswith("LS00") for f in here):
        return "module not read (LS00x on it)"
    codes = recognised[(injection.sink, injection.style)]
    if not codes:
        return f"the blocking call is not recognised even in a route: {injection.sink}"
    if any(
        f["path"] == injection.path
        and f["code"] in codes
        and (f.get("context") or {}).get("function") == injection.entry
        for f in findings
    ):
        return (
            "hidden: the entry already has a finding of the same code"
            " (one finding per entry call line and code)"
        )
    return (
        f"the path from the {injection.role} is not followed: {injection.place}, {injection.shape}"
    )


def main(argv: list[str] | None = None) -> int:
    """Inject, check, count."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("packages", nargs="*", help="package names (default: the whole corpus)")
    parser.add_argument("--per", type=int, default=8, help="bugs per package (8)")
    parser.add_argument("--seed", type=int, default=11, help="random seed (11)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per package (900)")
    parser.add_argument("--keep", type=Path, help="copy each injected tree under this folder")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write every injection to FILE")
    args = parser.parse_args(argv)
    by_name = {package.name: package for package in CORPUS}
    unknown = [name for name in args.packages if name not in by_name]
    if unknown:
        parser.error(f"not in the corpus: {', '.join(unknown)} (see check_field.py --list)")
    results: list[tuple[Injection, bool, str]] = []
    recognised: dict[tuple[str, str], frozenset[str]] = {}
    for package in [by_name[name] for name in args.packages] or list(CORPUS):
        try:
            source = fetch(package)
        except FetchError as error:
            print(f"{package.name}: skipped: {error}", file=sys.stderr)
            continue
        rng = random.Random(f"{args.seed}:{package.name}")
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / source.name
            shutil.copytree(source, root)
            injections = inject(package, root, args.per, rng)
            start = time.perf_counter()
            findings = run_check(root, args.timeout)
            seconds = time.perf_counter() - start
            if args.keep is not None:
                shutil.copytree(root, args.keep / source.name, dirs_exist_ok=True)
        if isinstance(findings, str):
            print(f"{package.name}: NOT CHECKED: {findings}", file=sys.stderr)
            continue
        # A finding sits where the entry's path starts; its last hop is the blocking line.
        reported = {(f["path"], f["line"]) for f in findings}
        reported |= {(hop["path"], hop["line"]) for f in findings for hop in f["call_path"]}
        found = 0
        for injection in injections:
            hit = any((injection.sink_path, line) in reported for line in injection.lines)
            found += hit and injection.sink != CONTROL.kind
            if not hit and (injection.sink, injection.style) not in recognised:
                sink = next(each for each in (*SINKS, CONTROL) if each.kind == injection.sink)
                recognised[(injection.sink, injection.style)] = probe(
                    sink, injection.style, args.timeout
                )
            why = "" if hit else diagnose(injection, findings, recognised)
            results.append((injection, hit, why))
        real = sum(injection.sink != CONTROL.kind for injection in injections)
        print(f"{package.spec}: {found}/{real} found ({seconds:.1f} s)", file=sys.stderr)
    if not results:
        print("no package could be checked", file=sys.stderr)
        return 2
    _report(results)
    if args.json is not None:
        rows = [{**vars(i), "found": hit, "diagnosis": why} for i, hit, why in results]
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def _report(everything: list[tuple[Injection, bool, str]]) -> None:
    controls = [hit for injection, hit, _ in everything if injection.sink == CONTROL.kind]
    results = [result for result in everything if result[0].sink != CONTROL.kind]
    if not results:
        print("nothing could be planted")
        return
    found = sum(hit for _, hit, _ in results)
    print(f"found {found}/{len(results)} injected blocking calls ({found / len(results):.0%})")
    for label, key in (
        ("sink", lambda i: i.sink),
        ("depth", lambda i: str(i.depth)),
        ("mode", lambda i: i.mode),
        ("style", lambda i: i.style),
        ("place", lambda i: i.place),
        ("shape", lambda i: i.shape),
        ("entry", lambda i: i.role),
        ("package", lambda i: i.package),
    ):
        total, hits = Counter[str](), Counter[str]()
        for injection, hit, _ in results:
            total[key(injection)] += 1
            hits[key(injection)] += hit
        print(f"  by {label:<8}" + ", ".join(f"{k} {hits[k]}/{total[k]}" for k in sorted(total)))
    print(
        f"controls (a harmless json.dumps planted the same way) reported: "
        f"{sum(controls)}/{len(controls)} (must be 0)"
    )
    misses = [(i, why) for i, hit, why in results if not hit]
    if misses:
        print(f"\nmisses ({len(misses)}) by reason:")
        for reason, count in Counter(why for _, why in misses).most_common():
            print(f"  {count:>3}  {reason}")
        print()
        for injection, why in misses:
            print(
                f"  {injection.package} {injection.sink_path}:{injection.lines[0]}"
                f" {injection.sink} ({injection.style} import, {injection.place},"
                f" {injection.shape}) depth {injection.depth} below {injection.role}"
                f" {injection.entry} in {injection.path}: {why}"
            )


if __name__ == "__main__":
    sys.exit(main())
