#!/usr/bin/env python3
"""Run the bundled studies and write their reports into docs/studies/<name>/.

    python scripts/run_studies.py                     # all four
    python scripts/run_studies.py load_scaling --workers 2

Each study is ``scripts/studies/<name>.yaml``; its results go to ``out/studies/<name>.db``
(resumable: a second run skips the cells already done) and its report, opened by the
hand-written ``scripts/studies/<name>.md``, to ``docs/studies/<name>/``. It is exactly

    rtmm sweep scripts/studies/NAME.yaml --db out/studies/NAME.db [--workers N]
    rtmm report out/studies/NAME.db --out docs/studies/NAME --intro scripts/studies/NAME.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rtmm_opt.cli.main import main as rtmm

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "scripts" / "studies"


def main(argv: list[str] | None = None) -> int:
    names = sorted(p.stem for p in STUDIES.glob("*.yaml"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[[], *names], help="studies (default: all)")
    parser.add_argument("--workers", default=None, help="Dask workers (default: one per core)")
    args = parser.parse_args(argv)
    for name in args.names or names:
        db = REPO / "out" / "studies" / f"{name}.db"
        sweep = ["sweep", str(STUDIES / f"{name}.yaml"), "--db", str(db)]
        if args.workers is not None:
            sweep += ["--workers", args.workers]
        if rtmm(sweep) not in (0,):
            return 1
        report = ["report", str(db), "--out", str(REPO / "docs" / "studies" / name)]
        intro = STUDIES / f"{name}.md"
        if intro.exists():
            report += ["--intro", str(intro)]
        if rtmm(report) != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
