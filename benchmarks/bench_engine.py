#!/usr/bin/env python3
"""Replay speed and memory of the engine, against a naive reference loop of the same run.

1. Throughput: a 10 s ``VR_gaming`` trace (XRBench, ``xrb4k-J``, MAESTRO costs) at layer
   granularity, replayed with ``edf``, ``dream`` and ``dysta``: operation dispatches per second
   (best of ``--repeat`` runs, validation excluded) and peak traced memory (tracemalloc, a
   separate run). In the same run, a naive EDF that re-sorts every ready op at every decision
   is timed on the same instance, and the ratio is printed.
2. Scaling: the same scenario under growing load (``fps_scale``, ``drops never``) so the ready
   queue grows. Per load it prints the mean number of ready ops at a decision and the time per
   dispatch of the engine's EDF (a heap) and of the naive loop (a sort per decision). The
   engine's cost should grow no worse than O(log n) in the queue length; the naive loop's
   grows like n log n.

    python benchmarks/bench_engine.py            # full run
    python benchmarks/bench_engine.py --quick    # 2 s trace, fewer loads (a smoke test)
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt.engine import Decision, Engine, Policy, StaticInfo, View
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedulers import make_scheduler, scheduler_names
from rtmm_opt.schedulers.base import choose_accelerator

SCENARIO = Path(__file__).resolve().parents[1] / "instances" / "xrbench" / "VR_gaming.yaml"


@dataclass
class NaiveEDF(Policy):
    """The baseline: at every decision, sort all ready ops by (deadline, release, job, op)."""

    def reset(self, static: StaticInfo) -> None:
        self.static = static

    def decide(self, view: View) -> Decision | None:
        static = self.static
        deadline, op_job = static.job_deadline, static.op_job
        ranked = sorted(
            view.ready_ops,
            key=lambda op: (
                int(deadline[op_job[op]]),
                view.job_release(int(op_job[op])),
                int(op_job[op]),
                op,
            ),
        )
        idle = view.idle_accelerators
        decision = Decision()
        for op in ranked:
            if not idle:
                break
            acc = choose_accelerator(static, op, idle)
            if acc >= 0:
                decision.dispatches.append((op, acc))
                idle.remove(acc)
        return decision


def timed_replay(instance: Any, policy: Policy) -> tuple[float, int, float]:
    """Seconds, dispatches, and the mean number of ready ops seen at a decision."""
    gc.collect()
    engine = Engine(instance, policy_name=policy.name or "naive")
    start = time.perf_counter()
    policy.reset(StaticInfo.of(instance))
    view = engine.reset()
    queued = 0
    while view is not None:
        queued += len(engine.ready)
        view = engine.step(policy.decide(view))
    elapsed = time.perf_counter() - start
    return elapsed, engine.dispatches, queued / max(1, engine.decisions)


def peak_memory(instance: Any, policy: Policy) -> int:
    gc.collect()
    tracemalloc.start()
    engine = Engine(instance, policy_name=policy.name)
    policy.reset(StaticInfo.of(instance))
    view = engine.reset()
    while view is not None:
        view = engine.step(policy.decide(view))
    engine.schedule()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def best_of(repeat: int, instance: Any, make: Any) -> tuple[float, int, float]:
    runs = [timed_replay(instance, make()) for _ in range(repeat)]
    return min(runs, key=lambda run: run[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 2 s trace and two loads")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    duration_ns = (2 if args.quick else 10) * 1_000_000_000
    build = dict(system="xrb4k-J", cost="table:xrbench", granularity="layer", seed=0)

    instance = load_workload(SCENARIO, duration_ns=duration_ns, **build)
    results: dict[str, Any] = {
        "instance": {"jobs": instance.n_jobs, "ops": instance.n_ops, "hash": instance.content_hash},
        "throughput": {},
        "scaling": [],
    }
    naive_seconds, naive_dispatches, _ = best_of(args.repeat, instance, NaiveEDF)
    naive_rate = naive_dispatches / naive_seconds
    available = set(scheduler_names())
    for name in ("edf", "dream", "dysta"):
        if name not in available:
            results["throughput"][name] = None
            continue
        seconds, dispatches, queued = best_of(
            args.repeat, instance, lambda n=name: make_scheduler(n)
        )
        results["throughput"][name] = {
            "dispatches": dispatches,
            "seconds": seconds,
            "dispatches_per_s": dispatches / seconds,
            "mean_ready_ops": queued,
            "peak_memory_mb": peak_memory(instance, make_scheduler(name)) / 2**20,
        }
    results["naive_edf"] = {"seconds": naive_seconds, "dispatches_per_s": naive_rate}

    loads = (1.0, 2.0) if args.quick else (1.0, 1.5, 2.0, 3.0, 4.0)
    scaling_ns = 1_000_000_000 if not args.quick else 500_000_000
    for scale in loads:
        loaded = load_workload(
            SCENARIO, duration_ns=scaling_ns, fps_scale=scale, drops="never", **build
        )
        edf = best_of(args.repeat, loaded, lambda: make_scheduler("edf"))
        naive = best_of(args.repeat, loaded, NaiveEDF)
        results["scaling"].append(
            {
                "fps_scale": scale,
                "ops": loaded.n_ops,
                "mean_ready_ops": edf[2],
                "edf_us_per_dispatch": 1e6 * edf[0] / edf[1],
                "naive_us_per_dispatch": 1e6 * naive[0] / naive[1],
            }
        )

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    info = results["instance"]
    seconds = duration_ns // 10**9
    print(f"VR_gaming {seconds} s, layer granularity: {info['jobs']} jobs, {info['ops']} ops")
    rows = []
    for name, row in results["throughput"].items():
        if row is None:
            rows.append((name, "not registered", "", "", ""))
            continue
        rate = row["dispatches_per_s"]
        rows.append(
            (name, f"{rate:,.0f}", f"{rate / naive_rate:.2f}x", f"{row['peak_memory_mb']:.1f}",
             f"{row['mean_ready_ops']:.2f}")
        )  # fmt: skip
    rows.append(("naive edf", f"{naive_rate:,.0f}", "1.00x", "", ""))
    print(tabulate(rows, ["scheduler", "dispatches/s", "vs naive", "peak MB", "mean ready"]))
    print("\nscaling with the ready queue (drops never):")
    scaling = [
        (row["fps_scale"], row["ops"], row["mean_ready_ops"], row["edf_us_per_dispatch"],
         row["naive_us_per_dispatch"], row["naive_us_per_dispatch"] / row["edf_us_per_dispatch"])
        for row in results["scaling"]
    ]  # fmt: skip
    headers = ["fps x", "ops", "mean ready", "edf us/dispatch", "naive us/dispatch", "naive/edf"]
    print(tabulate(scaling, headers, floatfmt=".2f"))
    first, last = results["scaling"][0], results["scaling"][-1]
    growth = last["edf_us_per_dispatch"] / first["edf_us_per_dispatch"]
    naive_growth = last["naive_us_per_dispatch"] / first["naive_us_per_dispatch"]
    queue_growth = max(last["mean_ready_ops"], 1.0) / max(first["mean_ready_ops"], 1.0)
    print(
        f"\nqueue {queue_growth:.0f}x longer: edf cost per dispatch x{growth:.2f}, "
        f"naive x{naive_growth:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
