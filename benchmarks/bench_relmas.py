#!/usr/bin/env python3
"""RELMAS's decision cost against DREAM's and EDF's, measured in the same run.

Each scheduler is replayed over the same instances; every call of its ``decide`` is timed
(``time.perf_counter_ns``), the engine's own work excluded. Printed per scheduler and instance:
decisions, median, p99 and mean µs per decision, and the median's ratio to EDF's. Target
(docs/schedulers/relmas.md): RELMAS's median ≤ 100 µs with numpy inference.

    python benchmarks/bench_relmas.py           # multitenant heavy, model and layer granularity
    python benchmarks/bench_relmas.py --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt import load_workload, make_scheduler
from rtmm_opt.engine.contract import Policy
from rtmm_opt.engine.loop import Engine
from rtmm_opt.instance import Instance

SCHEDULERS = ("edf", "dream", "relmas")


def decision_times(instance: Instance, policy: Policy) -> list[int]:
    """Nanoseconds per ``decide`` call over one replay."""
    engine = Engine(instance, policy_name=policy.name)
    policy.reset(engine.static)
    view = engine.reset()
    times = []
    clock = time.perf_counter_ns
    while view is not None:
        start = clock()
        decision = policy.decide(view)
        times.append(clock() - start)
        view = engine.step(decision)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="replays per scheduler (interleaved)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    heavy = "instances/multitenant/heavy.yaml"
    cases = {
        "heavy, model, 1 s": load_workload(heavy, system="hetero-2s2e"),
        "heavy, layer, 50 ms": load_workload(
            heavy, system="hetero-2s2e", granularity="layer", duration_ns=50_000_000
        ),
        "heavy, model, 1 s, 4s4e": load_workload(heavy, system="hetero-4s4e"),
    }
    rows, results = [], []
    for label, instance in cases.items():
        samples: dict[str, list[int]] = {name: [] for name in SCHEDULERS}
        for _ in range(args.repeat):  # interleaved, so that drifts of the machine hit all alike
            for name in SCHEDULERS:
                samples[name] += decision_times(instance, make_scheduler(name))
        edf_median = statistics.median(samples["edf"]) / 1000
        for name in SCHEDULERS:
            us = np.asarray(samples[name]) / 1000
            median, p99 = float(np.median(us)), float(np.percentile(us, 99))
            result = {"instance": label, "scheduler": name, "decisions": len(us) // args.repeat,
                      "median_us": round(median, 2), "p99_us": round(p99, 2),
                      "mean_us": round(float(us.mean()), 2),
                      "median_vs_edf": round(median / edf_median, 2)}  # fmt: skip
            results.append(result)
            rows.append(list(result.values()))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(tabulate(rows, headers=["instance", "scheduler", "decisions", "median µs", "p99 µs",
                                  "mean µs", "median / EDF's"]))  # fmt: skip
    worst = max(r["median_us"] for r in results if r["scheduler"] == "relmas")
    print(f"\nRELMAS median per decision, worst instance: {worst} µs (target ≤ 100 µs)")


if __name__ == "__main__":
    main()
