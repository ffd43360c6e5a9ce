#!/usr/bin/env python3
"""How instance building time grows with the trace length.

Builds the ``VR_gaming`` scenario (XRBench, ``xrb4k-J``, MAESTRO costs) at layer granularity
for growing windows (1 s, 10 s, 100 s by default) and prints per window the jobs, the ops, the
best build time of ``--repeat`` builds and the ops built per second. The cost table is loaded
(and its cache warmed) by a short build first, so only building is timed.

    python benchmarks/bench_builder.py                 # 1 s, 10 s, 100 s
    python benchmarks/bench_builder.py --seconds 1 10  # shorter
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt.hardware.cost import make_cost_model
from rtmm_opt.hardware.presets import get_system
from rtmm_opt.instance.builder import build_instance
from rtmm_opt.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "instances" / "xrbench" / "VR_gaming.yaml"
MS = 1_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, nargs="+", default=[1.0, 10.0, 100.0], help="trace windows"
    )
    parser.add_argument("--repeat", type=int, default=3, help="builds per window (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    scenario = load_scenario(SCENARIO)
    system, cost = get_system("xrb4k-J"), make_cost_model("table:xrbench")
    build_instance(scenario, system, cost, duration_ns=10 * MS, seed=0)  # warm the table cache
    rows = []
    for seconds in args.seconds:
        best = float("inf")
        for _ in range(args.repeat):
            began = time.perf_counter()
            inst = build_instance(
                scenario,
                system,
                cost,
                duration_ns=round(seconds * 1000 * MS),
                seed=0,
                granularity="layer",
            )
            best = min(best, time.perf_counter() - began)
        rows.append([seconds, inst.n_jobs, inst.n_ops, best, inst.n_ops / best])
    headers = ["window (s)", "jobs", "ops", f"build, best of {args.repeat} (s)", "ops/s"]
    if args.json:
        keys = ("window_s", "jobs", "ops", "build_s", "ops_per_s")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows]))
        return 0
    print(tabulate(rows, headers=headers, floatfmt=("g", "d", "d", ".3f", ",.0f")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
