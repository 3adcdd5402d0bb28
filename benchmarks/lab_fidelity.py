"""How close does the lab come to the model and to the seed?

One lab run of the scenarios chosen, printed as measured/model per scenario (goal: within
±10 %, the seeds' cases within ±5 %); with ``--seed-check``, case 3 at ``--scale 1`` with ab's
probe against the seed's 18 s (goal: within 2 %).

    python benchmarks/lab_fidelity.py                      # cases 1, 3, 4 at scale 0.1, open all
    python benchmarks/lab_fidelity.py --group all          # every scenario, default scale, ab
    python benchmarks/lab_fidelity.py --group all --scale 0.3 --json /tmp/fid.json
    python benchmarks/lab_fidelity.py --group db --db postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from loopsight.lab.runner import DEFAULT_SCALE, LabOptions, run_lab
from loopsight.lab.scenarios import select

_SEED_GROUPS = ("cases",)
_GOAL = 0.10
_SEED_GOAL = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", "-g", action="append", default=[], help="'all' for every group")
    parser.add_argument("--scenario", "-s", action="append", default=[])
    parser.add_argument("--scale", type=float, default=None, help="default 0.1 (0.03 with -g)")
    parser.add_argument("--open", dest="open_mode", default=None, help="default all (ab with -g)")
    parser.add_argument("--db", default=None, help="postgresql://... for the db group")
    parser.add_argument("--json", type=Path, default=None, help="write the lab's JSON here")
    parser.add_argument("--seed-check", action="store_true", help="also case3 at scale 1 (18 s)")
    args = parser.parse_args()
    wide = bool(args.group)
    names = args.scenario or ([] if wide else ["case1", "case3", "case4"])
    scale = args.scale if args.scale is not None else (DEFAULT_SCALE if wide else 0.1)
    open_mode = args.open_mode or ("ab" if wide else "all")
    options = LabOptions(scale, open_mode, database_url=args.db)
    print(
        f"measured/model, open={open_mode}, n=200 c=100, scale={scale:g},"
        f" db={options.database}, load average {os.getloadavg()[0]:.2f}"
    )
    lab = run_lab(select(names, args.group), options)
    ok = lab.aborted is None
    inside = modelled = 0
    for run in lab.runs:
        goal = _SEED_GOAL if run.scenario.group in _SEED_GROUPS else _GOAL
        if run.ratio is None or run.model is None:
            print(f"  {run.scenario.name:<26} measured {run.total_s:9.2f}  no model  {run.verdict}")
            ok &= not run.scenario.timed
            continue
        modelled += 1
        good = abs(run.ratio - 1.0) <= goal
        inside += good
        ok &= good
        print(
            f"  {run.scenario.name:<26} model {run.model.total_s:9.2f}"
            f"  measured {run.total_s:9.2f}  ratio {run.ratio:6.3f}"
            f"  {'ok' if good else f'MISSED (goal ±{goal:.0%})'}  {run.verdict}"
        )
    print(
        f"{inside}/{modelled} modelled within goal; {len(lab.runs)} run; load average"
        f" {os.getloadavg()[0]:.2f}; aborted: {lab.aborted}"
    )
    if args.json is not None:
        args.json.write_text(json.dumps(lab.to_json(), indent=1))

    if args.seed_check:
        print("case3 against the seed, open=ab, n=200 c=100, scale=1")
        (run,) = run_lab(select(["case3"]), LabOptions(1.0, "ab")).runs
        assert run.scenario.seed is not None
        ratio = run.total_s / run.scenario.seed.total_s
        good = abs(ratio - 1.0) <= 0.02
        ok &= good
        print(
            f"  case3: seed {run.scenario.seed.total_s:.2f} s  measured {run.total_s:.2f} s"
            f"  ratio {ratio:.4f}  {'ok' if good else 'MISSED (goal within 2 %)'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
