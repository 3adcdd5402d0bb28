"""The rule docs are checked against the checker: each page's *Example* triggers its code and
its *Use instead* does not (Python examples of LS1xx-LS6xx, run with a shared import prelude)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loopsight.check import RULES, CheckConfig, run_check

DOCS = Path(__file__).parents[2] / "docs" / "rules"
PRELUDE = """\
import asyncio, hashlib, smtplib, socket, subprocess, threading, time
from typing import Annotated
import concurrent.futures, urllib.request
import aiosmtplib, anyio, bcrypt, boto3, httpx, legacy.client, requests
from asyncio.subprocess import PIPE
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import Pool
from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.ext.asyncio import AsyncSession

app = FastAPI()
s3 = boto3.client("s3")
EXECUTOR = ThreadPoolExecutor()
loop = asyncio.get_event_loop()


async def save(item):
    await asyncio.sleep(0)
"""
CODES = sorted(code for code in RULES if code >= "LS100")


def _blocks(page: str) -> dict[str, str]:
    found = {}
    for heading in ("Example", "Use instead"):
        match = re.search(rf"## {heading}\n\n```(\w+)\n(.*?)```", page, re.DOTALL)
        assert match is not None, heading
        found[heading] = match.group(2) if match.group(1) == "python" else ""
    return found


def _codes(tmp_path: Path, source: str) -> set[str]:
    (tmp_path / "doc_example.py").write_text(PRELUDE + "\n\n" + source)
    # ``possible`` too: the pages of the lower-severity codes show them
    config = CheckConfig(select=("LS", "possible"), extra_blocking_calls=("legacy.client.fetch",))
    return {finding.code for finding in run_check([str(tmp_path)], config, jobs=1).findings}


@pytest.mark.parametrize("code", CODES)
def test_doc_example_triggers_its_code(tmp_path: Path, code: str) -> None:
    blocks = _blocks((DOCS / f"{code}.md").read_text(encoding="utf-8"))
    assert blocks["Example"], "LS1xx-LS6xx docs show Python"
    assert code in _codes(tmp_path, blocks["Example"])
    assert code not in _codes(tmp_path, blocks["Use instead"])
