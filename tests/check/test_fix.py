"""``loopsight check --fix`` / ``--diff``: each fix on its example (before, after, diff), the
re-check and rollback, the outputs, and bad input."""

from __future__ import annotations

import io
import json
import shutil
import tokenize
from pathlib import Path

import pytest

from loopsight.check import CheckConfig, Finding, run_check
from loopsight.check.fix import FixReport, Status, fix_findings, write_fixes
from loopsight.check.fix._fixers import FIXERS, FixContext, Planned
from loopsight.check.fix._model import Edit, FixKind, Safety

from .test_cli import _run as _cli

FIXES = Path(__file__).parent / "fixes"
EXAMPLES = sorted(path.name for path in FIXES.iterdir() if path.is_dir())
CONFIG = CheckConfig(extra_blocking_calls=("legacy.client.fetch",))


def _fix(workdir: Path, *, unsafe: bool) -> FixReport:
    """Check and fix every file in ``workdir`` (the current directory), writing the result."""
    findings = run_check(["."], CONFIG, jobs=1).findings
    return write_fixes(fix_findings(findings, ["."], CONFIG, unsafe=unsafe))


def _comments(source: bytes) -> list[str]:
    tokens = tokenize.tokenize(io.BytesIO(source).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


@pytest.mark.parametrize("example", EXAMPLES)
def test_fix_example(example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = FIXES / example
    code = example[:5]
    shutil.copy(folder / "before.py", tmp_path / "before.py")
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "before.py").read_bytes()
    assert code in {f.code for f in run_check(["."], CONFIG, jobs=1).findings}

    report = _fix(tmp_path, unsafe=(folder / "unsafe").exists())

    after = (tmp_path / "before.py").read_bytes()
    assert after == (folder / "after.py").read_bytes()
    assert "".join(f.diff() for f in report.files) == (folder / "expected.diff").read_text()
    compile(after, "before.py", "exec", dont_inherit=True)
    assert code not in {f.code for f in run_check(["."], CONFIG, jobs=1).findings}
    assert sorted(_comments(after)) == sorted(_comments(before))  # a rewrite may move one
    assert report.count(Status.FIXED) >= 1
    assert all(o.status is Status.FIXED for o in report.outcomes if o.finding.code == code)


def test_unsafe_fixes_are_held_back_without_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(FIXES / "LS102_http" / "before.py", tmp_path / "app.py")
    monkeypatch.chdir(tmp_path)
    before = (tmp_path / "app.py").read_bytes()
    report = _fix(tmp_path, unsafe=False)
    assert (tmp_path / "app.py").read_bytes() == before
    assert {o.status for o in report.outcomes} == {Status.UNSAFE}


def _sleeps(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(
        "import time\n\n\nasync def tick(x):\n    await x.wait()\n    time.sleep(1)  # slow\n\n\n"
        "def sync_tick():\n    time.sleep(1)\n"
    )
    return tmp_path / "app.py"


def _wrong_await(finding: Finding, context: FixContext) -> Planned | None:
    """A broken fixer: ``await`` in front of the blocking call itself."""
    raw = context.lines[finding.line - 1][: finding.column - 1]
    calls = context.facts.calls.get((finding.line, len(raw.decode())), [])
    if not calls:
        return None
    edit = Edit(FixKind.AWAIT, Safety.SAFE, context.path, finding.line, "await it")
    return Planned(edit, calls[0].node)


def test_fix_that_leaves_its_finding_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _sleeps(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(FIXERS, "LS101", [_wrong_await])
    before = app.read_bytes()
    report = _fix(tmp_path, unsafe=True)
    assert app.read_bytes() == before  # `await time.sleep(1)` still blocks: rolled back
    [outcome] = report.outcomes
    assert outcome.status is Status.ROLLED_BACK
    assert outcome.reason == "the re-check still reports the finding"


def test_fix_that_breaks_the_file_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app.py"
    app.write_text("async def save():\n    pass\n\n\ndef sync_caller():\n    save()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(FIXERS, "LS301", [_wrong_await])  # `await` in a sync function
    before = app.read_bytes()
    report = _fix(tmp_path, unsafe=True)
    assert app.read_bytes() == before
    [outcome] = report.outcomes
    assert outcome.status is Status.ROLLED_BACK
    assert outcome.reason == "the fixed file would not compile"


def test_diff_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _sleeps(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = app.read_bytes()
    code, out, err = _cli(["--diff", "."], capsys)
    assert app.read_bytes() == before
    assert code == 1
    assert "-    time.sleep(1)  # slow\n+    await asyncio.sleep(1)  # slow\n" in out
    assert out.startswith("--- app.py\n+++ app.py\n")
    assert "[*] 1 fixable with the `--fix` option.\n" in err


def test_fix_reports_hidden_unsafe_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(FIXES / "LS102_http" / "before.py", tmp_path / "app.py")
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["--fix", "."], capsys)
    assert code == 1
    assert "Found 2 findings (0 fixed, 2 remaining).\n" in err
    hidden = "(2 hidden fixes can be enabled with the `--unsafe-fixes` option)"
    assert f"No fixes available {hidden}.\n" in err
    code, _, err = _cli(["--fix", "--unsafe-fixes", "."], capsys)
    assert code == 0
    assert "Found 2 findings (2 fixed, 0 remaining).\n" in err


def test_fix_json_reports_each_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _sleeps(tmp_path)
    (tmp_path / "other.py").write_text("import time\n\n\nasync def f():\n    input()\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = _cli(["--fix", "--output-format", "json", "."], capsys)
    data = json.loads(out)
    assert code == 1
    assert (data["applied"], data["fixed"], data["remaining"]) == (True, 1, 1)
    statuses = {(f["path"], f["code"]): f["fix_status"] for f in data["findings"]}
    assert statuses == {("app.py", "LS101"): "fixed", ("other.py", "LS109"): "no-fix"}
    fixed = next(f for f in data["findings"] if f["fix_status"] == "fixed")
    assert fixed["applied_fix"] == {
        "kind": "async-sleep",
        "safety": "safe",
        "fix": "use `await asyncio.sleep(...)`",
    }


def test_unwritable_file_is_one_line_and_others_are_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _sleeps(tmp_path)
    locked = tmp_path / "locked.py"
    shutil.copy(app, locked)
    locked.chmod(0o444)
    real_write = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name == "locked.py":  # root ignores the mode bits: refuse as the OS would
            raise PermissionError(13, "Permission denied")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.chdir(tmp_path)
    before = locked.read_bytes()
    code, _, err = _cli(["--fix", "."], capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("loopsight: error:")]
    assert errors == [
        "loopsight: error: cannot write locked.py: Permission denied "
        "(make it writable and run `--fix` again)"
    ]
    assert "Traceback" not in err
    assert locked.read_bytes() == before
    assert b"await asyncio.sleep(1)" in app.read_bytes()


def test_file_changed_after_the_check_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _sleeps(tmp_path)
    monkeypatch.chdir(tmp_path)
    findings = run_check(["."], CONFIG, jobs=1).findings
    report = fix_findings(findings, ["."], CONFIG)
    app.write_text(app.read_text() + "# edited meanwhile\n")
    edited = app.read_bytes()
    written = write_fixes(report)
    assert app.read_bytes() == edited
    assert written.errors == (
        "app.py changed since it was checked: not overwritten (run `loopsight check --fix` again)",
    )
    assert {o.status for o in written.outcomes} == {Status.NOT_WRITTEN}


def test_syntax_error_is_left_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_bytes(b"import time\n\nasync def f(:\n    time.sleep(1)\n")
    _sleeps(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(["--fix", "."], capsys)
    assert broken.read_bytes() == b"import time\n\nasync def f(:\n    time.sleep(1)\n"
    assert b"await asyncio.sleep(1)" in (tmp_path / "app.py").read_bytes()
    assert code == 1  # the LS001 finding remains
    assert "Found 2 findings (1 fixed, 1 remaining).\n" in err


def test_route_called_directly_keeps_async(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = (
        "import time\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.get("/")\nasync def home():\n    time.sleep(1)\n\n\n'
        "async def warm():\n    await home()\n"
    )
    (tmp_path / "app.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    _fix(tmp_path, unsafe=False)
    fixed = (tmp_path / "app.py").read_text()
    assert "async def home():\n    await asyncio.sleep(1)\n" in fixed  # not `def home`


def test_fix_never_imports_the_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "trap.py").write_text(
        f"import os\nimport time\n\nopen({str(marker)!r}, 'w').write('ran')\nos._exit(3)\n\n\n"
        "async def handler(x):\n    await x\n    time.sleep(1)\n"
    )
    monkeypatch.chdir(tmp_path)
    code, _, _ = _cli(["--fix", "--unsafe-fixes", "."], capsys)
    assert code == 0
    assert not marker.exists()
    assert "await asyncio.sleep(1)" in (tmp_path / "trap.py").read_text()


@pytest.mark.parametrize("code", sorted(FIXERS))
def test_fixable_code_has_an_example_and_a_fix_safety_section(code: str) -> None:
    assert any(name.startswith(code) for name in EXAMPLES), f"no tests/check/fixes/{code}_*"
    page = (Path(__file__).parents[2] / "docs" / "rules" / f"{code}.md").read_text()
    assert "\n## Fix safety\n" in page


def test_route_that_needs_the_loop_keeps_async(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "import asyncio\nimport time\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.get("/")\nasync def home(job):\n    asyncio.get_running_loop().call_soon(job)\n'
        "    time.sleep(1)\n"
    )
    (tmp_path / "app.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    _fix(tmp_path, unsafe=False)
    fixed = (tmp_path / "app.py").read_text()
    assert "async def home(job):" in fixed  # in a thread there is no running loop
    assert "    await asyncio.sleep(1)\n" in fixed


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_rewritten_middleware_still_sets_its_headers(anyio_backend: str) -> None:
    import importlib.util

    import httpx

    after = FIXES / "LS501_middleware" / "after.py"
    spec = importlib.util.spec_from_file_location("fixed_middleware", after)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the test serves the fixed file; `check` never runs it
    transport = httpx.ASGITransport(app=module.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/")
    assert response.json() == {"ok": True}
    assert response.headers["Server"] == "loopsight-demo"
    assert float(response.headers["X-Process-Time"]) >= 0


DEADLOCK = """\
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
SessionLocal = sessionmaker(create_engine("postgresql+psycopg://localhost/lab"))


def get_session():
    with SessionLocal() as session:
        yield session


@app.get("/items", response_model=list[int])
async def items(session: Session = Depends(get_session)):
    return list(session.execute(text("select 1")).scalars())
"""


def test_fix_that_brings_a_new_finding_falls_back_or_rolls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app.py"
    app.write_text(DEADLOCK)
    monkeypatch.chdir(tmp_path)
    # `def items` would be LS601 (a pooled session held across validation in the thread pool)
    [outcome] = _fix(tmp_path, unsafe=False).outcomes
    assert outcome.status is Status.ROLLED_BACK
    assert outcome.reason == "the fix brings a new finding (LS601 at app.py)"
    assert app.read_text() == DEADLOCK
    [outcome] = _fix(tmp_path, unsafe=True).outcomes  # the next fix is tried instead
    assert outcome.status is Status.FIXED
    assert outcome.edit is not None
    assert outcome.edit.kind is FixKind.OFFLOAD
    assert "await run_in_threadpool(session.execute, " in app.read_text()
    assert run_check(["."], CONFIG, jobs=1).findings == []


def test_finding_ended_by_another_fix_counts_as_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(
        "import time\n\nimport bcrypt\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.post("/login")\nasync def login(password, hashed):\n    time.sleep(0.1)\n'
        "    return bcrypt.checkpw(password, hashed)\n"
    )
    monkeypatch.chdir(tmp_path)
    report = _fix(tmp_path, unsafe=False)
    outcomes = {o.finding.code: o for o in report.outcomes}
    assert set(outcomes) == {"LS101", "LS202"}  # LS202 (CPU) has no fix of its own
    assert outcomes["LS101"].status is Status.FIXED
    assert outcomes["LS202"].status is Status.FIXED
    assert outcomes["LS202"].edit is None
    assert outcomes["LS202"].reason == "removed by another fix"
    assert "def login(password, hashed):" in (tmp_path / "app.py").read_text()
    assert run_check(["."], CONFIG, jobs=1).findings == []


def test_a_site_fixed_for_some_entries_only_reports_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(
        "import time\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "def heavy():\n    time.sleep(1)\n\n\n"
        '@app.get("/a")\nasync def a():\n    heavy()\n\n\n'
        '@app.get("/b")\nasync def b(client):\n    await client.ping()\n    heavy()\n'
    )
    monkeypatch.chdir(tmp_path)
    report = _fix(tmp_path, unsafe=False)
    (outcome,) = report.outcomes
    assert outcome.status is Status.UNSAFE  # b's offload needs --unsafe-fixes
    assert "fixed for GET /a; not for GET /b" in outcome.reason
    assert "def a():" in (tmp_path / "app.py").read_text()
    assert outcome.finding in report.remaining


NOQA_CALL = """import asyncio
import time

from fastapi import FastAPI

app = FastAPI()


def helper():
    time.sleep(1)


@app.get("/")
async def route(flag: bool):
    await asyncio.sleep(0)
    helper()
    if flag:
        helper()
    helper()  # noqa: LS101
    return 1
"""


def test_an_entry_lists_every_call_toward_the_site_and_only_those_are_offloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(NOQA_CALL)
    monkeypatch.chdir(tmp_path)
    (finding,) = run_check(["."], CONFIG, jobs=1).findings
    assert finding.context is not None
    assert (finding.context.line, finding.context.calls) == (16, (16, 18))

    report = _fix(tmp_path, unsafe=True)

    assert report.count(Status.FIXED) == 1
    lines = (tmp_path / "app.py").read_text().splitlines()
    assert lines[16:20] == [
        "    await run_in_threadpool(helper)",
        "    if flag:",
        "        await run_in_threadpool(helper)",
        "    helper()  # noqa: LS101",
    ]


def test_a_recheck_with_the_checks_summaries_parses_only_the_rewritten_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(NOQA_CALL)
    (tmp_path / "other.py").write_text("import time\n\n\nasync def tick():\n    time.sleep(1)\n")
    monkeypatch.chdir(tmp_path)
    first = run_check(["."], CONFIG, jobs=1)
    rewritten = {"other.py": b"import asyncio\n\n\nasync def tick():\n    await asyncio.sleep(1)\n"}

    again = run_check(["."], CONFIG, jobs=1, sources=rewritten, known=first.summaries)

    assert again.parsed == 1
    assert again.findings == run_check(["."], CONFIG, jobs=1, sources=rewritten).findings
    assert [f.path for f in first.findings] == ["app.py", "other.py"]
    assert [f.path for f in again.findings] == ["app.py"]


PARENTHESISED = """import time

from fastapi import FastAPI

app = FastAPI()


def prepare(name):
    time.sleep(1)
    return name, 1


@app.get("/")
async def route(name: str):
    await app.router.startup()
    first, second = (
        prepare(name)
    )
    return first
"""


def test_an_offloaded_call_in_its_own_parentheses_keeps_the_lines_around_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(PARENTHESISED)
    monkeypatch.chdir(tmp_path)

    report = _fix(tmp_path, unsafe=True)

    assert report.count(Status.FIXED) == 1
    lines = (tmp_path / "app.py").read_text().splitlines()
    at = lines.index("    first, second = (")
    assert lines[at : at + 4] == [
        "    first, second = (",
        "        await run_in_threadpool(prepare, name)",
        "    )",
        "    return first",
    ]
