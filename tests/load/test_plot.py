"""The timeline's PNG: drawn without warnings for runs with errors, or with nothing answered."""

from __future__ import annotations

import io

import pytest

from loopsight.load import LoadConfig, plot_timeline, run_load_sync

from ._server import ScriptedServer


@pytest.mark.parametrize(
    "config",
    [
        LoadConfig("/garbage-nth/3", n=6, c=1),  # an error among answers
        LoadConfig("/close-mid", n=4, c=2),  # nothing answered
        LoadConfig("/sleep/20", n=None, duration=1.3, rate=100, c=4),  # a last, partial second
    ],
)
def test_plot_is_a_png(server: ScriptedServer, config: LoadConfig) -> None:
    from dataclasses import replace

    result = run_load_sync(replace(config, url=server.url + config.url))
    out = io.BytesIO()
    plot_timeline(result, out)
    assert out.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(out.getvalue()) > 10_000
