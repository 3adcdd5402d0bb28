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
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_field import CORPUS, FetchError, Package, fetch

_VERBS = frozenset({"get", "post", "put", "delete", "patch", "options", "head", "api_route"})
_MARK = "# loopsight-recall: injected"


@dataclass(frozen=True)
class Sink:
    """One kind of blocking call: the modules it needs and its lines (the last one blocks)."""

    kind: str
    imports: tuple[str, ...]
    lines: tuple[str, ...]


SINKS = (
    Sink("sleep", ("time",), ("time.sleep(0.25)",)),
    Sink("http", ("requests",), ('requests.get("http://127.0.0.1:9/health", timeout=5)',)),
    Sink(
        "sqlite3",
        ("sqlite3",),
        ('sqlite3.connect("recall.db").execute("select 1").fetchall()',),
    ),
    Sink(
        "sqlalchemy",
        ("sqlalchemy", "sqlalchemy.orm"),
        (
            'session = sqlalchemy.orm.Session(sqlalchemy.create_engine("sqlite://"))',
            'session.execute(sqlalchemy.text("select 1")).all()',
        ),
    ),
    Sink("file", (), ('open("recall.txt").read()',)),
    Sink("subprocess", ("subprocess",), ('subprocess.run(["true"], check=False)',)),
)


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


def _existing_chain(
    tree: ast.Module, entry: ast.AsyncFunctionDef, depth: int
) -> list[ast.FunctionDef]:
    """Undecorated module-level ``def`` helpers the entry calls, one below the other."""
    helpers = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.decorator_list
    }
    chain: list[ast.FunctionDef] = []
    caller: ast.FunctionDef | ast.AsyncFunctionDef = entry
    while len(chain) < depth:
        following = [name for name in _direct_calls(caller) if name in helpers]
        following = [name for name in following if helpers[name] not in chain]
        if not following:
            break
        chain.append(helpers[following[0]])
        caller = chain[-1]
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


def plant(
    package: str, root: Path, target: Target, number: int, depth: int, sink: Sink, tree: ast.Module
) -> Injection | None:
    """Write one bug into ``target``'s module under ``root``; None when it cannot be planted."""
    if sink.imports and {name.split(".")[0] for name in sink.imports} & _bound_names(tree):
        return None
    relative = target.path.relative_to(root)
    lines = target.path.read_text(errors="replace").splitlines()
    chain = _existing_chain(tree, target.function, depth)
    if chain and chain[-1].body[0].lineno == chain[-1].lineno:
        chain = []
    edits: list[tuple[int, list[str]]] = []
    if chain:
        mode, at_depth = "existing", len(chain)
        line, indent = _body_line(chain[-1])
        edits.append((line, [f"{indent}{code}  {_MARK}" for code in sink.lines]))
    else:
        mode, at_depth = "new", depth
        names = [f"_recall_{number}_{level}" for level in range(1, depth + 1)]
        line, indent = _body_line(target.function)
        edits.append((line, [f"{indent}{names[0]}()"]))
        tail = ["", ""]
        for level, name in enumerate(names):
            tail.append(f"def {name}() -> None:")
            if level + 1 < len(names):
                tail.append(f"    {names[level + 1]}()")
            else:
                tail += [f"    {code}  {_MARK}" for code in sink.lines]
        edits.append((len(lines), tail))
    edits.append((_import_line(tree), [f"import {name}" for name in sink.imports]))
    for line, new in sorted(edits, key=lambda edit: edit[0], reverse=True):
        lines[line:line] = new
    text = "\n".join(lines) + "\n"
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    target.path.write_text(text)
    marked = tuple(at for at, code in enumerate(text.splitlines(), 1) if code.endswith(_MARK))
    return Injection(
        package, str(relative), target.function.name, target.role, mode, at_depth, sink.kind, marked
    )


def inject(package: Package, root: Path, per: int, rng: random.Random) -> list[Injection]:
    """Plant up to ``per`` bugs in the tree at ``root`` (a copy), one per module."""
    by_module: dict[Path, tuple[ast.Module, list[Target]]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = _parse(path)
        if tree is not None:
            targets = _targets(path, tree)
            if targets:
                by_module[path] = (tree, targets)
    modules = sorted(by_module)
    rng.shuffle(modules)
    planted: list[Injection] = []
    for path in modules:
        if len(planted) >= per:
            break
        tree, targets = by_module[path]
        target = rng.choice(targets)
        depth = rng.randint(1, 4)
        sink = SINKS[rng.randrange(len(SINKS))]
        injection = plant(package.name, root, target, len(planted) + 1, depth, sink, tree)
        if injection is not None:
            planted.append(injection)
    return planted


def _check(root: Path, timeout: float) -> list[dict[str, Any]] | str:
    command = [sys.executable, "-m", "loopsight", "check", "--output-format", "json"]
    try:
        done = subprocess.run(
            [*command, "--no-cache", "--jobs", "1", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if done.returncode not in (0, 1):
        return (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    try:
        findings: list[dict[str, Any]] = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        return f"output is not JSON: {error}"
    return findings


def diagnose(injection: Injection, findings: list[dict[str, Any]]) -> str:
    """A first, automatic reason for a miss, from what the run said about the module."""
    here = [f for f in findings if f["path"] == injection.path]
    if any(f["code"].startswith("LS00") for f in here):
        return "module not read (LS00x on it)"
    entry = [f for f in here if (f.get("context") or {}).get("function") == injection.entry]
    if entry:
        return "entry seen as a loop root, injected call not reported"
    return "no finding reached from the entry"


def main(argv: list[str] | None = None) -> int:
    """Inject, check, count."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("packages", nargs="*", help="package names (default: the whole corpus)")
    parser.add_argument("--per", type=int, default=5, help="bugs per package (5)")
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
            findings = _check(root, args.timeout)
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
            hit = any((injection.path, line) in reported for line in injection.lines)
            found += hit
            results.append((injection, hit, "" if hit else diagnose(injection, findings)))
        print(f"{package.spec}: {found}/{len(injections)} found ({seconds:.1f} s)", file=sys.stderr)
    if not results:
        print("no package could be checked", file=sys.stderr)
        return 2
    _report(results)
    if args.json is not None:
        rows = [{**vars(i), "found": hit, "diagnosis": why} for i, hit, why in results]
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def _report(results: list[tuple[Injection, bool, str]]) -> None:
    found = sum(hit for _, hit, _ in results)
    print(f"found {found}/{len(results)} injected blocking calls ({found / len(results):.0%})")
    for label, key in (
        ("sink", lambda i: i.sink),
        ("depth", lambda i: str(i.depth)),
        ("mode", lambda i: i.mode),
        ("entry", lambda i: i.role),
        ("package", lambda i: i.package),
    ):
        total, hits = Counter[str](), Counter[str]()
        for injection, hit, _ in results:
            total[key(injection)] += 1
            hits[key(injection)] += hit
        print(f"  by {label:<8}" + ", ".join(f"{k} {hits[k]}/{total[k]}" for k in sorted(total)))
    misses = [(i, why) for i, hit, why in results if not hit]
    if misses:
        print(f"\nmisses ({len(misses)}) by first diagnosis:")
        for reason, count in Counter(why for _, why in misses).most_common():
            print(f"  {count:>3}  {reason}")
        print()
        for injection, why in misses:
            print(
                f"  {injection.package} {injection.path}:{injection.lines[0]} {injection.sink}"
                f" depth {injection.depth} ({injection.mode}) below {injection.role}"
                f" {injection.entry}: {why}"
            )


if __name__ == "__main__":
    sys.exit(main())
