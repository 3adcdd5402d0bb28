"""Multi-file fixture projects: cross-module paths, relative and star imports, ``Depends``
chains, lifespan, middleware, event handlers, exception handlers and background tasks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from loopsight.check import Finding, run_check
from loopsight.check._finding import Context

from ._annotations import annotations, config_for, expected_findings

PROJECTS = Path(__file__).parent / "projects"
NAMES = sorted(path.name for path in PROJECTS.iterdir() if path.is_dir())


def _check(name: str) -> list[Finding]:
    """The project's findings, with the options its ``__init__.py`` asks for, if it has one."""
    root = PROJECTS / name
    init = root / "__init__.py"
    config = config_for(init) if init.exists() else None
    return run_check([str(root)], config, jobs=1).findings


def _relative(finding: Finding, root: Path) -> str:
    return Path(finding.path).resolve().relative_to(root).as_posix()


@pytest.mark.parametrize("name", NAMES)
def test_project_annotations(name: str) -> None:
    root = PROJECTS / name
    actual = Counter((_relative(f, root), f.line, f.code) for f in _check(name))
    assert actual == expected_findings(sorted(root.rglob("*.py")), root)


@pytest.mark.parametrize("name", NAMES)
def test_project_contexts(name: str) -> None:
    """``[route: GET /x]`` pins how the function holding the finding is reached."""
    root = PROJECTS / name
    findings = {(_relative(f, root), f.line, f.code): f for f in _check(name)}
    for item in annotations(sorted(root.rglob("*.py")), root):
        if item.context is not None:
            context = findings[item[:3]].context
            assert context is not None, item
            assert (context.kind, context.route) == item.context, item


def _find(findings: list[Finding], file: str, line: int) -> Finding:
    matches = [f for f in findings if f.path.endswith(file) and f.line == line]
    assert len(matches) == 1, matches
    return matches[0]


def _reached(findings: list[Finding], file: str, line: int) -> tuple[Finding, Context]:
    """The finding reached through the call on ``file:line`` (or reported there), and the entry
    point that call belongs to."""
    matches = [
        (f, entry)
        for f in findings
        for entry in f.entries
        if (entry.path or "").endswith(file) and entry.line == line
    ]
    matches += [(f, f.context) for f in findings if f.path.endswith(file) and f.line == line]
    assert len(matches) == 1, matches
    finding, entry = matches[0]
    assert entry is not None
    return finding, entry


@pytest.fixture(scope="module")
def shop() -> list[Finding]:
    return _check("shop")


@pytest.mark.parametrize(
    ("file", "line", "kind", "function"),
    [
        ("shop/main.py", 13, "lifespan", "lifespan"),
        ("shop/main.py", 25, "on_event", "warm_up"),
        ("shop/main.py", 30, "exception_handler", "on_value_error"),
        ("shop/middleware.py", 9, "middleware", "TimingMiddleware.__call__"),
        ("shop/routes/items.py", 14, "background_task", "notify"),
        ("shop/routes/items.py", 23, "route", "read_item"),
        ("shop/deps.py", 19, "dependency", "current_user"),
    ],
)
def test_entry_point_kinds(
    shop: list[Finding], file: str, line: int, kind: str, function: str
) -> None:
    _, entry = _reached(shop, file, line)
    assert (entry.kind, entry.function) == (kind, function)


def test_call_path_crosses_modules(shop: list[Finding]) -> None:
    finding, _ = _reached(shop, "shop/deps.py", 19)
    hops = [(hop.function, Path(hop.path).name, hop.line) for hop in finding.call_path]
    assert hops == [("current_user", "deps.py", 19), ("check_token", "auth.py", 5)]


def test_cycle_is_walked_to_the_sleep(shop: list[Finding]) -> None:
    finding, _ = _reached(shop, "routes/items.py", 39)
    assert [hop.function for hop in finding.call_path] == ["ping", "ping_forever"]
    assert finding.call_path[-1].line == 28


def test_route_label_and_fix(shop: list[Finding]) -> None:
    finding, entry = _reached(shop, "routes/items.py", 24)
    assert entry.route == "GET /v1/items/{item_id}"
    assert finding.fix is not None
    assert "anyio" in finding.fix


def test_sync_route_with_sync_session_is_clean(shop: list[Finding]) -> None:
    assert not [f for f in shop if f.context and f.context.function == "sync_users"]


@pytest.fixture(scope="module")
def plain() -> list[Finding]:
    return _check("plain")


@pytest.mark.parametrize(
    ("file", "line", "kind", "route", "path"),
    [
        ("handlers/ws.py", 11, "websocket", "WS /ws", ["ws_endpoint", "throttle"]),
        ("app/main.py", 13, "dependency", None, ["audit_dependency", "wipe"]),
        ("app/main.py", 17, "on_event", None, ["on_start", "Service.run", "Service._exec"]),
        ("app/main.py", 21, "on_event", None, ["on_stop", "Service.run", "Service._exec"]),
        ("app/main.py", 39, "background_task", "GET /", ["cleanup", "wipe"]),
        ("app/main.py", 47, "route", "POST /added", ["added", "Service.run", "Service._exec"]),
        (
            "app/service.py",
            23,
            "dependency",
            None,
            ["Checker.__call__", "Service.build", "Service.run", "Service._exec"],
        ),
    ],
)
def test_plain_layout_kinds_and_paths(
    plain: list[Finding], file: str, line: int, kind: str, route: str | None, path: list[str]
) -> None:
    finding, entry = _reached(plain, file, line)
    assert (entry.kind, entry.route, entry.function) == (kind, route, path[0])
    if entry == finding.context:  # the call path shown is the first entry point's
        assert [hop.function for hop in finding.call_path] == path
    assert finding.call_path[-1].function == path[-1]


@pytest.fixture(scope="module")
def sessions() -> list[Finding]:
    return _check("sessions")


@pytest.mark.parametrize(
    ("line", "route", "path"),
    [
        (13, "GET /api/users/{id}", [("read_user", 13), ("get_session", 11)]),
        (
            18,
            "GET /api/users/",
            [("list_users", 18), ("get_repository", 27), ("get_session", 11)],
        ),
        (23, "GET /api/users/count", [("count_users", 23), ("get_connection", 16)]),
    ],
)
def test_yield_session_across_modules(
    sessions: list[Finding], line: int, route: str, path: list[tuple[str, int]]
) -> None:
    finding = _find(sessions, "app/routes.py", line)
    assert finding.code == "LS601"
    assert finding.context is not None
    assert (finding.context.kind, finding.context.route) == ("route", route)
    assert [(hop.function, hop.line) for hop in finding.call_path] == path
    assert f"yield dependency `{path[-1][0]}`" in finding.message


def test_one_finding_per_site_lists_every_entry_point() -> None:
    findings = _check("sites")
    by_line = {(Path(f.path).name, f.line): f for f in findings}
    for line, sink in ((7, "first"), (11, "second")):  # both sleeps behind `both()`, each once
        finding = by_line[("helpers.py", line)]
        routes = [entry.route for entry in finding.entries]
        assert routes == ["GET /a", "GET /b", "POST /c"]  # not GET /d: its call has a noqa
        assert [hop.function for hop in finding.call_path] == [
            "route_a",
            "both",
            sink,
        ]
    assert [e.route for e in by_line[("helpers.py", 24)].entries] == ["GET /b"]


def test_foreign_loops_are_not_roots_and_awaited_helpers_take_the_route() -> None:
    findings = _check("roots")
    contexts = {
        (Path(f.path).name, f.line): (f.context.kind, f.context.route, f.context.function)
        for f in findings
        if f.context is not None
    }
    assert contexts == {
        ("shared.py", 7): ("route", "GET /report", "build_report"),  # awaited by the route
        ("api.py", 18): ("async_function", None, "unreached"),
    }
