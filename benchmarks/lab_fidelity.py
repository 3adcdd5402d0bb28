"""How close does the lab come to the model and to the seed?

Two runs, printed side by side:
1. cases 1, 3, 4 at ``--scale 0.1``, connections opened ``all``: measured/model per case
   (goal: every ratio within 0.95-1.05);
2. case 3 at ``--scale 1`` with ab's probe (``--open ab``): measured total time against the
   seed's 18 s (goal: within 2 %).

    python benchmarks/lab_fidelity.py            # both parts, about 25 s
    python benchmarks/lab_fidelity.py --quick    # part 1 only
"""

from __future__ import annotations

import argparse

from loopsight.lab.runner import LabOptions, run_lab
from loopsight.lab.scenarios import select


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--quick", action="store_true", help="skip the 18 s full-scale run")
    args = parser.parse_args()
    ok = True

    print(f"part 1: measured/model, open=all, n=200 c=100, scale={args.scale:g}")
    lab = run_lab(select(["case1", "case3", "case4"]), LabOptions(args.scale, "all"))
    for run in lab.runs:
        assert run.model is not None
        assert run.ratio is not None
        good = 0.95 <= run.ratio <= 1.05
        ok &= good
        print(
            f"  {run.scenario.name}: model {run.model.total_s:7.2f} s"
            f"  measured {run.total_s:7.2f} s"
            f"  ratio {run.ratio:.3f}  {'ok' if good else 'MISSED (goal 0.95-1.05)'}"
        )

    if not args.quick:
        print("part 2: case3 against the seed, open=ab, n=200 c=100, scale=1")
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
