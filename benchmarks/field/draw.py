"""Draw and score the hand-judged sample of field findings (benchmarks/field/judged.tsv).

    python benchmarks/check_field.py --json findings.json        # the corpus run
    python benchmarks/field/draw.py draw findings.json --phase before > rows.tsv
    python benchmarks/field/draw.py show findings.json rows.tsv  # each row with its code
    python benchmarks/field/draw.py score                        # precision from judged.tsv
    python benchmarks/field/draw.py score --still-in later.json --corpus later.json

``draw`` is reproducible: findings are sorted, then a fixed seed samples each code (a stratum)
in proportion to its share of the corpus, with at least ``--min`` per code. ``score`` gives the
precision of the sample, TP / (TP + FP) with FP = not-on-loop + not-blocking (debatable apart),
per code and overall, and the overall figure re-weighted by each code's share of the corpus.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

__all__ = ["COLUMNS", "VERDICTS", "draw", "score"]

_HERE = Path(__file__).resolve().parent
JUDGED = _HERE / "judged.tsv"
CACHE = _HERE / ".cache"
COLUMNS = (
    "phase",
    "package",
    "code",
    "path",
    "line",
    "sink",
    "reach",
    "function",
    "verdict",
    "reason",
)
VERDICTS = ("TP", "not-on-loop", "not-blocking", "debatable")
_FALSE = ("not-on-loop", "not-blocking")


def _key(finding: dict[str, Any]) -> tuple[str, str, int, int, str, str]:
    return (
        finding["package"],
        finding["path"],
        finding["line"],
        finding["column"],
        finding["code"],
        finding["message"],
    )


def quotas(counts: Counter[str], size: int, least: int) -> dict[str, int]:
    """How many findings of each code to draw: proportional, at least ``least``, at most all."""
    total = sum(counts.values())
    return {
        code: min(count, max(least, round(size * count / total))) for code, count in counts.items()
    }


def draw(findings: list[dict[str, Any]], size: int, least: int, seed: int) -> list[dict[str, Any]]:
    """A stratified random sample of ``findings``, the same for the same input and seed."""
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in sorted(findings, key=_key):
        by_code[finding["code"]].append(finding)
    wanted = quotas(Counter({code: len(rows) for code, rows in by_code.items()}), size, least)
    rng = random.Random(seed)
    sample = [
        finding for code in sorted(by_code) for finding in rng.sample(by_code[code], wanted[code])
    ]
    return sorted(sample, key=_key)


def _row(finding: dict[str, Any], phase: str) -> dict[str, str]:
    context = finding.get("context") or {}
    return {
        "sink": sink(finding),
        "phase": phase,
        "package": finding["package"],
        "code": finding["code"],
        "path": finding["path"],
        "line": str(finding["line"]),
        "reach": str(context.get("kind") or "none"),
        "function": str(context.get("route") or context.get("function") or ""),
        "verdict": "",
        "reason": "",
    }


def sink(finding: dict[str, Any]) -> str:
    """``path:line`` of the blocking call: the last hop of the call path, else the finding."""
    hops = finding.get("call_path") or ()
    where = hops[-1] if hops else finding
    return f"{where['path']}:{where['line']}"


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a judged TSV file."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def still_reported(
    rows: list[dict[str, str]], findings: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """The rows whose finding ``findings`` still holds, their phase marked ``<phase>-kept``."""
    keys = {(f["package"], f["path"], str(f["line"]), f["code"]) for f in findings}
    return [
        {**row, "phase": f"{row['phase']}-kept"}
        for row in rows
        if (row["package"], row["path"], row["line"], row["code"]) in keys
    ]


def score(rows: list[dict[str, str]], corpus: Counter[str] | None) -> None:
    """Print the precision per code and overall, per phase."""
    for phase in sorted({row["phase"] for row in rows}):
        judged = [row for row in rows if row["phase"] == phase and row["verdict"]]
        bad = [row for row in judged if row["verdict"] not in VERDICTS]
        if bad:
            sys.exit(f"{phase}: unknown verdict {bad[0]['verdict']!r}; use one of {VERDICTS}")
        print(f"phase {phase}: {len(judged)} judged findings")
        print(f"{'code':<16} {'n':>4} {'TP':>4} {'off-loop':>8} {'not-blk':>7}", end="")
        print(f" {'debat':>5} {'precision':>9}")
        per_code: dict[str, Counter[str]] = defaultdict(Counter)
        for row in judged:
            per_code[row["code"]][row["verdict"]] += 1
        total: Counter[str] = Counter()
        for code in sorted(per_code):
            total.update(per_code[code])
            print(_line(code, per_code[code]))
        print(_line("all", total))
        per_reach: dict[str, Counter[str]] = defaultdict(Counter)
        for row in judged:
            per_reach[row["reach"]][row["verdict"]] += 1
        print("by reach (how the function holding the finding runs on the loop):")
        for reach in sorted(per_reach, key=lambda name: -sum(per_reach[name].values())):
            print(_line(reach, per_reach[reach]))
        if corpus:
            weighted = _weighted(per_code, corpus)
            print(f"precision weighted by each code's share of the corpus run: {weighted:.0%}")
        print()


def _precision(verdicts: Counter[str]) -> float | None:
    decided = verdicts["TP"] + sum(verdicts[name] for name in _FALSE)
    return verdicts["TP"] / decided if decided else None


def _line(code: str, verdicts: Counter[str]) -> str:
    precision = _precision(verdicts)
    shown = f"{precision:.0%}" if precision is not None else "-"
    counts = [
        verdicts["TP"],
        verdicts["not-on-loop"],
        verdicts["not-blocking"],
        verdicts["debatable"],
    ]
    return (
        f"{code:<16} {sum(verdicts.values()):>4} {counts[0]:>4} {counts[1]:>8} {counts[2]:>7}"
        f" {counts[3]:>5} {shown:>9}"
    )


def _weighted(per_code: dict[str, Counter[str]], corpus: Counter[str]) -> float:
    """Each code's sample precision, weighted by how many corpus findings (TP or FP) it has."""
    numerator = denominator = 0.0
    for code, verdicts in per_code.items():
        precision = _precision(verdicts)
        if precision is None:
            continue
        decided = sum(verdicts[name] for name in ("TP", *_FALSE)) / sum(verdicts.values())
        weight = corpus[code] * decided
        numerator += weight * precision
        denominator += weight
    return numerator / denominator if denominator else 0.0


def show(
    findings: list[dict[str, Any]], rows: list[dict[str, str]], root: Path, around: int
) -> None:
    """Each sampled finding with its message, call path and the code around it, for judging."""
    index = {(f["package"], f["path"], str(f["line"]), f["code"]): f for f in findings}
    for number, row in enumerate(rows, 1):
        finding = index.get((row["package"], row["path"], row["line"], row["code"]))
        if finding is None:
            print(f"#{number} not in the findings file: {row}")
            continue
        tree = next(root.glob(f"{row['package']}-*"), root)
        print(f"=== #{number} {row['package']} {row['code']} {row['path']}:{row['line']}")
        print(f"    {finding['message']}")
        for hop in finding.get("call_path") or ():
            print(f"    via {hop['function']} {hop['path']}:{hop['line']}")
        path, line = sink(finding).rsplit(":", 1)
        source = (tree / path).read_text(errors="replace").splitlines()
        at_line = int(line)
        for at in range(max(1, at_line - around), min(len(source), at_line + around) + 1):
            mark = ">>" if at == at_line else "  "
            print(f"{mark}{at:>6} {source[at - 1]}")


def main(argv: list[str] | None = None) -> int:
    """draw | show | score."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    drawing = commands.add_parser("draw", help="print a stratified sample as TSV rows")
    drawing.add_argument("findings", type=Path, help="JSON written by check_field.py --json")
    drawing.add_argument("--phase", default="before", help="label of the sample (before)")
    drawing.add_argument("--size", type=int, default=150, help="proportional sample size (150)")
    drawing.add_argument("--min", type=int, default=2, help="at least this many per code (2)")
    drawing.add_argument("--seed", type=int, default=11, help="random seed (11)")
    showing = commands.add_parser("show", help="print sampled findings with their source")
    showing.add_argument("findings", type=Path)
    showing.add_argument("rows", type=Path, nargs="?", default=JUDGED)
    showing.add_argument("--src", type=Path, default=CACHE / "src", help="unpacked packages")
    showing.add_argument("--around", type=int, default=6, help="lines of context (6)")
    scoring = commands.add_parser("score", help="precision of a judged sample")
    scoring.add_argument("rows", type=Path, nargs="?", default=JUDGED)
    scoring.add_argument("--corpus", type=Path, help="findings JSON, to weight codes by share")
    scoring.add_argument(
        "--still-in",
        type=Path,
        metavar="FINDINGS",
        help="score only the rows whose finding this run still reports (a later run whose "
        "findings are a subset of the sampled run's: the rows left are a random sample of it)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "draw":
            findings = json.loads(args.findings.read_text())
            sample = draw(findings, args.size, args.min, args.seed)
            writer = csv.DictWriter(sys.stdout, COLUMNS, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(_row(finding, args.phase) for finding in sample)
        elif args.command == "show":
            show(json.loads(args.findings.read_text()), read_rows(args.rows), args.src, args.around)
        else:
            corpus = None
            if args.corpus is not None:
                corpus = Counter(f["code"] for f in json.loads(args.corpus.read_text()))
            rows = read_rows(args.rows)
            if args.still_in is not None:
                rows = still_reported(rows, json.loads(args.still_in.read_text()))
            score(rows, corpus)
    except (OSError, json.JSONDecodeError, KeyError) as error:
        print(f"draw.py {args.command}: cannot read input: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
