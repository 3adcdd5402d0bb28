from __future__ import annotations

from typing import Any

import pytest

from loopsight import __version__
from loopsight.errors import LoopsightError
from loopsight.load import LoadConfig


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "ftp://host/"}, "URL must start with http://, got 'ftp://host/'"),
        ({"url": "https://host/"}, "https is not supported, use an http:// URL: 'https://host/'"),
        ({"url": "http:///path"}, "URL has no host: 'http:///path'"),
        ({"url": "localhost:8000"}, "URL must start with http://, got 'localhost:8000'"),
        (
            {"url": "http://host:99999/"},
            "invalid URL 'http://host:99999/': Port out of range 0-65535",
        ),
        ({"n": None}, "give a request count (-n) or a duration (--duration)"),
        ({"n": 0}, "request count (-n) must be positive, got 0"),
        ({"n": -5}, "request count (-n) must be positive, got -5"),
        ({"c": 0}, "concurrency (-c) must be positive, got 0"),
        ({"c": 11}, "concurrency (-c 11) cannot exceed the request count (-n 10)"),
        ({"n": None, "duration": 0.0}, "duration (--duration) must be a positive number, got 0"),
        ({"rate": -1.0}, "rate (--rate) must be a positive number, got -1"),
        ({"timeout": float("nan")}, "timeout (--timeout) must be a positive number, got nan"),
        ({"open_mode": "half"}, "--open must be 'all' or 'ab', got 'half'"),
        (
            {"open_mode": "ab", "rate": 5.0},
            "--open ab applies to the closed loop only, not with --rate",
        ),
        ({"method": "GE T"}, "invalid HTTP method 'GE T'"),
        ({"headers": {"X Y": "1"}}, "invalid header name 'X Y'"),
        ({"headers": {"X": "a\r\nEvil: 1"}}, "header 'X' has a line break in its value"),
    ],
)
def test_validate_gives_one_line(changes: dict[str, Any], message: str) -> None:
    config = LoadConfig(**{"url": "http://127.0.0.1:8000/", "n": 10, "c": 2, **changes})
    with pytest.raises(LoopsightError) as info:
        config.validate()
    assert str(info.value) == message


def test_valid_configs_pass() -> None:
    LoadConfig("http://127.0.0.1:8000/").validate()
    LoadConfig("http://localhost/x?y=1", n=None, duration=2.0, rate=100.0).validate()
    LoadConfig("http://[::1]:8080/", n=1, c=1, open_mode="ab").validate()


def test_duration_overrides_n() -> None:
    config = LoadConfig("http://127.0.0.1:8000/", duration=2.0)
    assert (config.n, config.duration) == (None, 2.0)
    LoadConfig("http://127.0.0.1:8000/", n=10, c=50, duration=2.0).validate()  # c > n is moot


def test_target_parts() -> None:
    target = LoadConfig("http://user@[::1]:8080/a/b?q=1#frag").target()
    assert (target.host, target.port, target.path, target.authority) == (
        "::1",
        8080,
        "/a/b?q=1",
        "[::1]:8080",
    )
    assert LoadConfig("http://example.test").target().path == "/"
    assert LoadConfig("http://example.test").target().port == 80


def test_request_bytes_default_get() -> None:
    raw = LoadConfig("http://127.0.0.1:8000/hello?x=1").request_bytes()
    assert raw == (
        b"GET /hello?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        + f"User-Agent: loopsight/{__version__}\r\n".encode()
        + b"Accept: */*\r\n\r\n"
    )


def test_request_bytes_with_body_and_overridden_headers() -> None:
    config = LoadConfig(
        "http://h/p",
        method="POST",
        headers={"user-agent": "mine", "X-Token": "t"},
        body=b'{"a": 1}',
    )
    raw = config.request_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /p HTTP/1.1"
    assert sorted(lines[1:]) == sorted(
        [b"Host: h", b"Accept: */*", b"user-agent: mine", b"X-Token: t", b"Content-Length: 8"]
    )
    assert body == b'{"a": 1}'
