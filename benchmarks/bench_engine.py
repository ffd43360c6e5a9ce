#!/usr/bin/env python3
"""Replay speed, memory and start-up of the engine, against reference loops of the same run.

1. Per-op replay cost (target 1): a 10 s ``VR_gaming`` trace (XRBench, ``xrb4k-J``, MAESTRO
   costs) at layer granularity, replayed by :func:`~rtmm_opt.engine.replay` (validation
   excluded; best of ``--repeat``) with ``edf``, ``dysta`` and ``dream``: microseconds per
   dispatch, and the ratio to a minimal pure-Python heap loop over the same ops timed in the
   same run (:func:`minimal_loop`; targets: edf ≤ 2x, dysta ≤ 3x, dream ≤ 6x). A naive EDF that
   re-sorts every ready op at every decision is timed too, and the three with the compiled core
   off (``RTMM_PURE_PYTHON=1``, ``rtmm_opt/engine/core.py``).
2. Memory (target 4): the peak traced memory (tracemalloc) of a whole replay, engine, policy
   and schedule, on a freshly loaded instance, per op, at the 10 s trace and at a 60 s trace
   (about 1 M ops; ``--quick``: 2 s and 4 s): target ≤ 250 bytes per op, and linear.
3. Start-up (target 5): ``rtmm --help``, ``rtmm run --help``, ``rtmm models list`` and a short
   ``rtmm run --json``, each in a fresh interpreter: wall time (best of ``--repeat``; the
   package's bytecode compiled first, as an installed package has it) and which heavy
   libraries (SciPy, OR-Tools, matplotlib, ...) it imported; target: none.
4. Scaling: the same scenario under growing load (``fps_scale``, ``drops never``) so the ready
   queue grows. Per load it prints the mean number of ready ops at a decision and the time per
   dispatch of the stepped EDF policy (a heap; ``Engine.step``, not the index rule) and of the
   naive loop (a sort per decision). The policy's cost should grow no worse than O(log n) in
   the queue length; the naive loop's grows like n log n.

Timings are wall-clock on a possibly shared machine: quote the ratios, which are measured in
the same run.

    python benchmarks/bench_engine.py            # full run
    python benchmarks/bench_engine.py --quick    # 2 s trace, fewer loads (a smoke test)
"""

from __future__ import annotations

import argparse
import compileall
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from heapq import heappop, heappush
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabulate import tabulate

from rtmm_opt.engine import Decision, Engine, Policy, StaticInfo, View, replay
from rtmm_opt.engine.core import PURE_PYTHON_VARIABLE, compiled
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedulers import make_scheduler
from rtmm_opt.schedulers.base import choose_accelerator

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "instances" / "xrbench" / "VR_gaming.yaml"
HEAVY = ("scipy", "ortools", "matplotlib", "optuna", "dask", "torch", "gymnasium", "pandas",
         "networkx", "tabulate")  # fmt: skip
# networkx and tabulate are reported but allowed where used (model graphs, printed tables)
USED = {"networkx", "tabulate"}
STARTUP = {
    "rtmm --help": ["--help"],
    "rtmm run --help": ["run", "--help"],
    "rtmm models list": ["models", "list"],
    "rtmm run VR_gaming 100ms --json": ["run", "VR_gaming", "--scheduler", "edf", "--duration",
                                        "100ms", "--json"],
}  # fmt: skip


def minimal_loop(instance: Instance) -> tuple[float, int]:
    """The reference: a minimal pure-Python heap loop over the instance's ops.

    One heap of (time, sequence, op, end of the job's ops); each job's ops run one after the
    other from its release, on the first accelerator they are eligible on; each pop records
    the op's start and end and pushes the job's next op. Seconds and ops run.
    """
    duration = instance.op_duration.tolist()
    offsets = instance.job_op_offsets.tolist()
    release = instance.job_release.tolist()
    start_of = [0] * instance.n_ops
    end_of = [0] * instance.n_ops
    gc.collect()
    begin = time.perf_counter()
    heap: list[tuple[int, int, int, int]] = []
    sequence = 0
    for job, at in enumerate(release):
        sequence += 1
        heappush(heap, (at, sequence, offsets[job], offsets[job + 1]))
    ops = 0
    while heap:
        now, _, op, end = heappop(heap)
        if op < end:
            row = duration[op]
            length = row[0] if row[0] >= 0 else max(row)
            start_of[op] = now
            end_of[op] = now + length
            sequence += 1
            heappush(heap, (now + length, sequence, op + 1, end))
            ops += 1
    return time.perf_counter() - begin, ops


def replay_seconds(instance: Instance, name: str, repeat: int) -> tuple[float, int]:
    """Best-of-``repeat`` seconds of ``replay`` (no validation), and the dispatches."""
    best = None
    for _ in range(repeat):
        gc.collect()
        begin = time.perf_counter()
        schedule = replay(instance, make_scheduler(name), check=False)
        elapsed = time.perf_counter() - begin
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    return best, int(schedule.info["dispatches"])


def replay_peak(path: Path, name: str) -> tuple[int, int]:
    """Peak traced bytes of one whole replay on a freshly loaded instance, and its ops."""
    instance = Instance.load(path)
    gc.collect()
    tracemalloc.start()
    replay(instance, make_scheduler(name), check=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, instance.n_ops


def startup(argv: list[str], repeat: int) -> dict[str, Any]:
    """Wall time of ``rtmm ARGV`` in a fresh interpreter, and the heavy libraries it imported."""
    probe = (
        "import contextlib, io, sys\n"
        "from rtmm_opt.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True).stdout.split()  # fmt: skip
    seconds = []
    for _ in range(repeat):
        begin = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rtmm_opt", *argv], capture_output=True, check=True)
        seconds.append(time.perf_counter() - begin)
    return {"seconds": min(seconds), "imported": imported}


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


def best_of(repeat: int, instance: Any, make: Any) -> tuple[float, int, float]:
    runs = [timed_replay(instance, make()) for _ in range(repeat)]
    return min(runs, key=lambda run: run[0])


TARGETS = {"edf": 2.0, "dysta": 3.0, "dream": 6.0}  # x the minimal loop, per op


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short traces and two loads")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (best kept)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    duration_ns = (2 if args.quick else 10) * 1_000_000_000
    long_ns = (4 if args.quick else 60) * 1_000_000_000
    build = dict(system="xrb4k-J", cost="table:xrbench", granularity="layer", seed=0)

    # Whole-process timings read the package's bytecode, as an installed package does (pip
    # compiles it); without it (PYTHONDONTWRITEBYTECODE and no __pycache__) every process
    # would compile the sources again, about 70 ms.
    compileall.compile_dir(str(ROOT / "rtmm_opt"), quiet=1)
    instance = load_workload(SCENARIO, duration_ns=duration_ns, **build)
    results: dict[str, Any] = {
        "instance": {"jobs": instance.n_jobs, "ops": instance.n_ops, "hash": instance.content_hash},
        "per_op": {},
        "memory": {},
        "startup": {},
        "scaling": [],
    }
    # 1. per-op cost against the minimal loop, interleaved so both see the same machine load
    minimal = min(minimal_loop(instance)[0] for _ in range(args.repeat))
    results["minimal_us_per_op"] = 1e6 * minimal / instance.n_ops
    for name in TARGETS:
        seconds, dispatches = replay_seconds(instance, name, args.repeat)
        minimal = min(minimal, minimal_loop(instance)[0])
        results["per_op"][name] = {"seconds": seconds, "dispatches": dispatches}
    results["minimal_us_per_op"] = 1e6 * minimal / instance.n_ops
    for row in results["per_op"].values():
        row["us_per_dispatch"] = 1e6 * row["seconds"] / row["dispatches"]
        row["ratio"] = row["us_per_dispatch"] / results["minimal_us_per_op"]
    naive_seconds, naive_dispatches, _ = best_of(args.repeat, instance, NaiveEDF)
    results["naive_edf_us_per_dispatch"] = 1e6 * naive_seconds / naive_dispatches
    # with the compiled core off (rtmm_opt/engine/core.py): the pure-Python fallback
    results["core_off_us_per_dispatch"] = {}
    if compiled() is not None:
        os.environ[PURE_PYTHON_VARIABLE] = "1"
        try:
            for name in TARGETS:
                seconds, dispatches = replay_seconds(instance, name, args.repeat)
                results["core_off_us_per_dispatch"][name] = 1e6 * seconds / dispatches
        finally:
            del os.environ[PURE_PYTHON_VARIABLE]

    # 2. memory per op, at two lengths
    with tempfile.TemporaryDirectory() as folder:
        paths = {duration_ns: Path(folder) / "short.json", long_ns: Path(folder) / "long.json"}
        instance.to_json(paths[duration_ns])
        load_workload(SCENARIO, duration_ns=long_ns, **build).to_json(paths[long_ns])
        for length, path in paths.items():
            for name in TARGETS:
                peak, ops = replay_peak(path, name)
                results["memory"].setdefault(name, []).append(
                    {"seconds_of_trace": length // 10**9, "ops": ops, "bytes_per_op": peak / ops}
                )

    # 3. start-up
    for label, argv in STARTUP.items():
        results["startup"][label] = startup(argv, args.repeat)

    # 4. scaling of the stepped policy with the ready queue
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
    print(f"\n1. per-op replay cost; minimal heap loop {results['minimal_us_per_op']:.2f} us/op")
    rows = [
        (name, f"{row['us_per_dispatch']:.2f}", f"{row['ratio']:.1f}x", f"<= {TARGETS[name]:g}x",
         "met" if row["ratio"] <= TARGETS[name] else "missed")
        for name, row in results["per_op"].items()
    ]  # fmt: skip
    rows.append(("naive edf (sort per decision, stepped)",
                 f"{results['naive_edf_us_per_dispatch']:.2f}", "", "", ""))  # fmt: skip
    for name, off in results["core_off_us_per_dispatch"].items():
        rows.append((f"{name}, compiled core off", f"{off:.2f}",
                     f"{off / results['minimal_us_per_op']:.1f}x", "", ""))  # fmt: skip
    print(tabulate(rows, ["scheduler", "us/dispatch", "vs minimal", "target", ""]))
    print("\n2. peak memory of a replay per op (target <= 250 B/op, linear)")
    rows = [
        (name, *(f"{m['bytes_per_op']:.0f} B/op ({m['ops']:,} ops)" for m in measured))
        for name, measured in results["memory"].items()
    ]
    print(tabulate(rows, ["scheduler", f"{seconds} s trace", f"{long_ns // 10**9} s trace"]))
    print("\n3. start-up (target: no heavy library that the command does not use)")
    rows = []
    for label, row in results["startup"].items():
        unused = [m for m in row["imported"] if m not in USED]
        used = [m for m in row["imported"] if m in USED]
        rows.append((label, f"{row['seconds']:.2f}", " ".join(unused) or "none",
                     " ".join(used) or "-"))  # fmt: skip
    print(tabulate(rows, ["command", "wall s", "heavy imports", "used (graphs, tables)"]))
    print("\n4. scaling of the stepped EDF policy with the ready queue (drops never):")
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
