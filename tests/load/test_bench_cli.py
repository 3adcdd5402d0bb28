"""``loopsight bench``: one-line errors, exit codes, summary, JSON, partial results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import loopsight
from loopsight.cli import main

from ._server import ScriptedServer, free_port


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["bench", *args])
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_success_prints_summary_and_saves_json(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "bench.json"
    args = [server.url + "/status/201", "-n", "30", "-c", "3", "-H", "X-A: b c"]
    code, out, err = run_cli([*args, "--json", str(out_file)], capsys)
    assert (code, err) == (0, "")  # no progress bar when stderr is not a terminal
    assert "30 (30 answered, 0 failed)" in out
    assert "Requests/sec" in out
    assert "p99" in out
    data = json.loads(out_file.read_text())
    assert (data["n"], data["c"], data["status"], data["errors"]) == (30, 3, {"201": 30}, {})
    assert data["rps"] == pytest.approx(30 / data["total_s"])
    assert f"{data['rps']:.2f}" in out
    assert {s.headers["x-a"] for s in server.log.requests} == {"b c"}
    assert len(server.log.opened) == 3


def test_default_concurrency_is_capped_by_n(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([server.url + "/ok", "-n", "5"], capsys)
    assert code == 0
    assert "5 connections" in out
    assert len(server.log.opened) == 5


def test_duration_and_rate(server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli([server.url + "/ok", "--duration", "0.3", "--rate", "50"], capsys)
    assert code == 0
    assert "15 (15 answered, 0 failed)" in out
    assert "open loop at 50 req/s" in out


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_unreachable_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    code, out, err = run_cli([url, "-n", "5", "-c", "5"], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err) == f"loopsight: error: cannot connect to {url}: connection refused"


def test_non_http_peer(capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(garbage=True) as peer:
        code, out, err = run_cli([peer.url + "/", "-n", "5", "-c", "1"], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err) == (
        f"loopsight: error: {peer.url}/ did not answer with HTTP: "
        "Expected HTTP/, RTSP/ or ICE/ in b'SSH-2.0-OpenSSH_9.6\\r\\n'"
    )


def test_server_closing_mid_response(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "r.json"
    args = [server.url + "/close-mid", "-n", "4", "-c", "2", "--json", str(out_file)]
    code, out, err = run_cli(args, capsys)
    assert code == 1
    assert _one_line(err) == (
        "loopsight: error: 4 of 4 requests failed: "
        "closed 4 (server closed the connection mid-response)"
    )
    assert "error: closed" in out
    assert json.loads(out_file.read_text())["errors"] == {"closed": 4}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["-n", "10", "-c", "20"], "concurrency (-c 20) cannot exceed the request count (-n 10)"),
        (["-n", "0"], "request count (-n) must be positive, got 0"),
        (["-n", "-3"], "request count (-n) must be positive, got -3"),
        (["-c", "0"], "concurrency (-c) must be positive, got 0"),
        (["--duration", "0"], "duration (--duration) must be a positive number, got 0"),
        (["--duration", "-1"], "duration (--duration) must be a positive number, got -1"),
        (["--rate", "0"], "rate (--rate) must be a positive number, got 0"),
        (["--timeout", "-2"], "timeout (--timeout) must be a positive number, got -2"),
        (["--open", "half"], "--open must be 'all' or 'ab', got 'half'"),
        (["-H", "NoColon"], "header must look like 'Name: value', got 'NoColon'"),
        (
            ["-n", "5", "--duration", "1"],
            "give either a request count (-n) or a duration (--duration), not both",
        ),
    ],
)
def test_bad_input_is_one_line(
    args: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["http://127.0.0.1:9/", *args], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err) == f"loopsight: error: {line}"


def test_non_numeric_value_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["http://127.0.0.1:9/", "-n", "many"], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err).startswith("loopsight: error: Invalid value for '-n' / '--requests'")


@pytest.mark.parametrize(
    ("url", "line"),
    [
        ("ftp://127.0.0.1/", "URL must start with http://, got 'ftp://127.0.0.1/'"),
        ("http://", "URL has no host: 'http://'"),
    ],
)
def test_bad_url_is_one_line(url: str, line: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli([url], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err) == f"loopsight: error: {line}"


def test_aborted_run_keeps_and_saves_partial_results(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "partial.json"
    args = [server.url + "/die-after/10", "-n", "500", "-c", "2", "--json", str(out_file)]
    code, out, err = run_cli(args, capsys)
    assert code == 1
    assert _one_line(err) == (
        "loopsight: error: run aborted, figures are partial: target stopped answering: "
        "3 requests in a row failed (connect: connection refused)"
    )
    assert "Aborted" in out
    data = json.loads(out_file.read_text())
    assert data["aborted"].startswith("target stopped answering")
    assert data["status"] == {"200": 10}
    assert data["errors"]["connect"] == 3
    assert data["n"] < 500


def _bench_command(url: str, *args: str) -> tuple[list[str], dict[str, str]]:
    src = str(Path(loopsight.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return [sys.executable, "-m", "loopsight", "bench", url, *args], env


def _interrupt(
    server: ScriptedServer, path: str, args: list[str], after: int, wait_s: float
) -> tuple[int, str, str]:
    """Run ``loopsight bench`` as a command; Ctrl-C it once the server saw ``after`` requests."""
    cmd, env = _bench_command(server.url + path, *args)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + wait_s
        while len(server.log.requests) < after and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, out, err


def test_ctrl_c_keeps_and_saves_partial_results(server: ScriptedServer, tmp_path: Path) -> None:
    out_file = tmp_path / "ctrl-c.json"
    args = ["-n", "100000", "-c", "2", "--json", str(out_file)]
    code, out, err = _interrupt(server, "/sleep/20", args, after=10, wait_s=15)
    assert code == 1
    assert err.splitlines() == [
        "loopsight: error: run aborted, figures are partial: interrupted (Ctrl-C)"
    ]
    data = json.loads(out_file.read_text())
    assert data["aborted"] == "interrupted (Ctrl-C)"
    # every request the server saw is in the results, but the (at most c = 2) dropped in flight
    assert len(server.log.requests) - 2 <= data["n"] <= len(server.log.requests)
    assert data["n"] >= 8
    assert data["status"] == {"200": data["n"]}
    assert "Requests/sec" in out


def test_ctrl_c_on_a_long_run_writes_report_records_and_plot(
    server: ScriptedServer, tmp_path: Path
) -> None:
    report, records, plot = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "r.png"
    files = ["--json", str(report), "--records", str(records), "--plot", str(plot)]
    # past the 20 000 requests kept exactly: the figures come from the histogram
    args = ["--duration", "120", "-c", "2", *files]
    code, out, err = _interrupt(server, "/ok", args, after=22_000, wait_s=60)
    assert code == 1
    assert err.splitlines() == [
        "loopsight: error: run aborted, figures are partial: interrupted (Ctrl-C)"
    ]
    data = json.loads(report.read_text())
    assert data["n"] > 20_000
    assert (data["aborted"], data["latency_exact"]) == ("interrupted (Ctrl-C)", False)
    assert data["status"] == {"200": data["n"]}
    assert sum(second["requests"] for second in data["timeline"]) == data["n"]
    assert len(records.read_text().splitlines()) == 1 + data["n"]  # a header, then each request
    assert plot.read_bytes().startswith(b"\x89PNG\r\n")
    assert f"{data['n']} ({data['n']} answered, 0 failed)" in out
    assert "percentiles within 0.1%" in out


def _unwritable_dir(tmp_path: Path) -> Path:
    """A directory in which no file can be created, even by root."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        return locked
    return Path("/sys")  # sysfs takes no new files, whoever asks


@pytest.mark.parametrize("option", ["--records", "--plot", "--json"])
def test_unwritable_output_fails_before_any_load(
    server: ScriptedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    locked = _unwritable_dir(tmp_path)
    name = {"--records": "r.csv", "--plot": "r.png", "--json": "r.json"}[option]
    try:
        (locked / name).open("w").close()
    except OSError as exc:
        reason = exc.strerror
    else:
        pytest.skip(f"{locked} is writable here")
    what = {"--records": "records", "--plot": "the plot", "--json": "the JSON report"}[option]
    code, out, err = run_cli([server.url + "/ok", option, str(locked / name)], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err) == f"loopsight: error: cannot write {what} to {locked / name}: {reason}"
    assert server.log.requests == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--plot", "{tmp}/no/such/dir/r.png"],
            "cannot write the plot to {tmp}/no/such/dir/r.png: No such file or directory",
        ),
        (["--plot", "{tmp}"], "--plot file must end in .png, got '{tmp}'"),
        (["--plot", "{tmp}/r.svg"], "--plot file must end in .png, got '{tmp}/r.svg'"),
        (
            ["--records", "{tmp}/r.txt"],
            "--records file must end in .csv, .jsonl or .ndjson, got '{tmp}/r.txt'",
        ),
        (
            ["--records", "{tmp}/full.csv"],
            "cannot write records to {tmp}/full.csv: No space left on device",
        ),
    ],
)
def test_bad_output_fails_before_any_load(
    server: ScriptedServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    line: str,
) -> None:
    if Path("/dev/full").exists():
        (tmp_path / "full.csv").symlink_to("/dev/full")  # a location with no room left
    elif "full.csv" in args[1]:
        pytest.skip("needs /dev/full")
    args = [arg.format(tmp=tmp_path) for arg in args]
    code, out, err = run_cli([server.url + "/ok", *args], capsys)
    assert (code, out) == (2, "")
    assert _one_line(err) == "loopsight: error: " + line.format(tmp=tmp_path)
    assert server.log.requests == []
    assert not (tmp_path / "r.png").exists()


def test_live_status_line_on_a_terminal_only(server: ScriptedServer) -> None:
    import pty

    cmd, env = _bench_command(server.url + "/sleep/5", "--duration", "1.8", "-c", "2")
    main_fd, sub_fd = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=sub_fd, stderr=subprocess.DEVNULL, env=env)
    os.close(sub_fd)
    shown = b""
    try:
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        proc.wait(timeout=20)
    finally:
        os.close(main_fd)
        proc.kill()
        proc.wait()
    text = shown.decode(errors="replace")
    assert proc.returncode == 0
    assert "req/s" in text
    assert "p99 " in text
    assert "0 errors" in text
    assert "Requests/sec" in text  # the summary follows the live line


def test_no_live_line_when_stdout_is_not_a_terminal(
    server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli([server.url + "/ok", "--duration", "1.2", "-c", "2"], capsys)
    assert (code, err) == (0, "")
    assert "req/s" not in out
    assert "errors" not in out
