#!/usr/bin/env python3
"""How validation time grows with the number of ops.

A large valid schedule (chains of 4 ops on two accelerators, jobs alternating, each
accelerator's ops back to back; the instance of ``tests/schedule/test_validator.py``'s scaling
test) is validated ``--repeat`` times per size. Per size it prints the op count, the best time,
the time per op, and, between consecutive sizes and overall, the log-log slope of time against
ops (1 = linear; the validator is O(n log n), so slightly above 1 at most once fixed costs are
amortised).

    python benchmarks/bench_validator.py                     # 20k, 200k, 2M ops
    python benchmarks/bench_validator.py --sizes 20000 200000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt.instance import Instance, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.schedule import Schedule, validate

OPS_PER_JOB = 4


def serial_instance(n_jobs: int) -> tuple[Instance, Schedule]:
    """Jobs of 4 chained ops; even jobs on npu0 (an op takes 2), odd ones on npu1 (3)."""
    ops = [OpSpec([2, 3], preds=[k - 1] if k else []) for k in range(OPS_PER_JOB)]
    jobs = [JobSpec(0, 0, 10**12, ops) for _ in range(n_jobs)]
    inst = assemble("large", accelerators=("npu0", "npu1"), tasks=[TaskInfo("t", "m")], jobs=jobs)
    job = inst.op_job
    acc = (job % 2).astype(np.int64)
    duration = np.where(acc == 0, 2, 3)
    position = (job // 2) * OPS_PER_JOB + np.arange(inst.n_ops) - job * OPS_PER_JOB
    start = position * duration
    ones, zeros = np.ones(n_jobs, np.int64), np.zeros(n_jobs, np.int64)
    return inst, Schedule(acc, start, start + duration, ones, zeros, zeros)


def best_time(inst: Instance, schedule: Schedule, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        report = validate(inst, schedule)
        times.append(time.perf_counter() - began)
        if not report.ok:
            raise SystemExit(f"the benchmark schedule is invalid: {report.summary()}")
    return min(times)


def slope(a: tuple[int, float], b: tuple[int, float]) -> float:
    return math.log(b[1] / a[1]) / math.log(b[0] / a[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[20_000, 200_000, 2_000_000], help="op counts"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per size (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    points: list[tuple[int, float]] = []
    rows = []
    for size in args.sizes:
        inst, schedule = serial_instance(max(1, size // OPS_PER_JOB))
        seconds = best_time(inst, schedule, args.repeat)
        points.append((inst.n_ops, seconds))
        local = slope(points[-2], points[-1]) if len(points) > 1 else None
        rows.append([inst.n_ops, seconds, 1e9 * seconds / inst.n_ops, local])
    overall = slope(points[0], points[-1]) if len(points) > 1 else None
    if args.json:
        print(
            json.dumps(
                {
                    "rows": [
                        dict(zip(("ops", "best_s", "ns_per_op", "slope"), row, strict=True))
                        for row in rows
                    ],
                    "slope": overall,
                }
            )
        )
        return 0
    print(
        tabulate(
            rows,
            headers=["ops", f"best of {args.repeat} (s)", "ns/op", "log-log slope"],
            floatfmt=("d", ".4f", ".1f", ".3f"),
            missingval="-",
        )
    )
    if overall is not None:
        print(f"\nlog-log slope, {points[0][0]} -> {points[-1][0]} ops: {overall:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
