"""``sarif``: SARIF 2.1.0 for code-scanning dashboards; call paths become code flows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from loopsight import __version__
from loopsight.check._finding import Finding, Hop
from loopsight.check.rules import RULES

__all__ = ["render_sarif"]

_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _location(path: str, line: int, column: int | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": line}
    if column is not None:
        region["startColumn"] = column
    return {"physicalLocation": {"artifactLocation": {"uri": path}, "region": region}}


def _flow(hops: Sequence[Hop]) -> dict[str, Any]:
    steps = [
        {"location": {**_location(hop.path, hop.line), "message": {"text": hop.function}}}
        for hop in hops
    ]
    return {"threadFlows": [{"locations": steps}]}


def _result(finding: Finding) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": "note" if finding.severity == "possible" else "error",
        "message": {"text": finding.message},
        "locations": [_location(finding.path, finding.line, finding.column)],
    }
    if len(finding.call_path) > 1:
        result["codeFlows"] = [_flow(finding.call_path)]
    related = [entry for entry in finding.entries if entry.path and entry.line]
    if related:  # the entry points that reach the place, each where it calls on
        result["relatedLocations"] = [
            {
                "id": number,
                **_location(entry.path or "", entry.line or 0),
                "message": {"text": f"reached from {entry.kind} {entry.shown}"},
            }
            for number, entry in enumerate(related)
        ]
    return result


def render_sarif(findings: Sequence[Finding]) -> str:
    """One SARIF run with every rule described and one result per finding."""
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.message},
            "help": {"text": rule.fix},
            "helpUri": f"docs/rules/{rule.code}.md",
        }
        for rule in sorted(RULES.values(), key=lambda rule: rule.code)
    ]
    log = {
        "$schema": _SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "loopsight", "version": __version__, "rules": rules}},
                "results": [_result(finding) for finding in findings],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
