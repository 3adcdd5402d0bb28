"""Property tests: random programs and random byte mutations of real files never crash the run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopsight.check import RULES, run_check

HERE = Path(__file__).parent
SEEDS = sorted([*HERE.glob("examples/*.py"), *HERE.glob("projects/**/*.py")])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_NAMES = st.sampled_from(
    [
        "time.sleep",
        "requests.get",
        "open",
        "helper",
        "self.run",
        "app.get",
        "Depends",
        "x.y.z",
        "functools.partial",
        "run_in_threadpool",
        "asyncio.run",
        "Pool",
        "db.query",
        "cls",
    ]
)
_ARGS = st.sampled_from(["", "1", "x", "helper", "lambda: helper()", "'/p'", "*a, **k"])


@st.composite
def _statement(draw: st.DrawFn, depth: int = 0) -> list[str]:
    kind = draw(st.integers(0, 9 if depth < 3 else 4))
    call = f"{draw(_NAMES)}({draw(_ARGS)})"
    if kind == 0:
        return [call]
    if kind == 1:
        return [f"await {call}"]
    if kind == 2:
        return [f"{draw(st.sampled_from(['x', 'self.c', 's']))} = {call}"]
    if kind == 3:
        return [f"return {call}"]
    if kind == 4:
        return ["pass"]
    header = draw(
        st.sampled_from(
            [
                "def helper(x=Depends(helper)):",
                "async def route(db: Session = Depends(get_db)):",
                f"@app.get('/p')\nasync def r{depth}():",
                "class C(BaseHTTPMiddleware):",
                f"with {call} as s:",
                "for i in range(10**6):",
                "if x:",
                "try:",
            ]
        )
    )
    body = [line for _ in range(draw(st.integers(1, 3))) for line in draw(_statement(depth + 1))]
    lines = header.split("\n") + ["    " + line for line in body]
    if header == "try:":
        lines += ["finally:", "    pass"]
    return lines


@st.composite
def _program(draw: st.DrawFn) -> str:
    imports = draw(
        st.lists(
            st.sampled_from(
                [
                    "import time",
                    "import requests",
                    "from fastapi import FastAPI, Depends",
                    "from . import helper",
                    "from .mod import *",
                    "from ..x import y as helper",
                    "import functools",
                    "app = FastAPI()",
                ]
            ),
            max_size=5,
        )
    )
    body = [line for _ in range(draw(st.integers(1, 6))) for line in draw(_statement())]
    return "\n".join([*imports, *body]) + "\n"


def _run(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, data in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        first = run_check([str(root)], jobs=1).findings
        again = run_check([str(root)], jobs=1).findings
    assert first == again  # deterministic
    for finding in first:
        assert finding.code in RULES
        assert finding.line >= 1
        assert finding.column >= 1
        assert "\n" not in finding.message


@SETTINGS
@given(st.lists(_program(), min_size=1, max_size=3))
def test_random_programs_never_crash(programs: list[str]) -> None:
    files = {f"pkg/m{i}.py": text.encode() for i, text in enumerate(programs)}
    files["pkg/__init__.py"] = b"from .m0 import *\n"
    _run(files)


@SETTINGS
@given(
    st.sampled_from(SEEDS),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 3), st.binary(min_size=0, max_size=4)),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_real_files_never_crash(seed: Path, edits: list[tuple[float, int, bytes]]) -> None:
    data = bytearray(seed.read_bytes())
    for where, cut, insert in edits:
        at = int(where * len(data))
        data[at : at + cut] = insert
    _run({"pkg/__init__.py": b"", "pkg/mutated.py": bytes(data), "pkg/clean.py": seed.read_bytes()})
