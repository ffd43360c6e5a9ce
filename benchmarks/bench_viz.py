#!/usr/bin/env python3
"""How Gantt chart drawing and saving grow with the number of ops.

Periodic chains of 2–4 ops (6 tasks, 3 accelerators of different speeds, 1 time unit = 1 µs)
are list-scheduled greedily (each op on its earliest-finishing accelerator, a job that cannot
start before its deadline dropped at its release), with enough frames for about 1k, 10k and
100k ops by default. Per size it prints the ops, the collections drawn (one per task,
accelerator and job outcome, plus the late and drop markers: it should not grow with the ops),
the time of :func:`plot_gantt`, the time of saving a PNG, and the PNG's size.

    python benchmarks/bench_viz.py                    # ~1k, 10k, 100k ops
    python benchmarks/bench_viz.py --ops 1000 10000   # fewer
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
from matplotlib import pyplot as plt
from tabulate import tabulate

from rtmm_opt.instance import Instance, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.schedule import JobStatus, Schedule, validate
from rtmm_opt.viz import plot_gantt, save_figure

N_TASKS, N_ACC = 6, 3


def periodic_instance(target_ops: int, seed: int = 1) -> Instance:
    rng = np.random.default_rng(seed)
    tasks = [TaskInfo(f"task{t}", f"model{t}", period=4000 + 1500 * t) for t in range(N_TASKS)]
    speed = np.linspace(1.0, 2.2, N_ACC)
    chains = [rng.integers(300, 1200, int(rng.integers(2, 5))) for _ in tasks]
    frames = max(1, round(target_ops / sum(len(c) for c in chains)))
    jobs = []
    for t, (task, base) in enumerate(zip(tasks, chains, strict=True)):
        assert task.period is not None
        for frame in range(frames):
            release = frame * task.period
            ops = [
                OpSpec(
                    [int(b * s) for s in speed],
                    energies=[int(b)] * N_ACC,
                    preds=[k - 1] if k else [],
                )
                for k, b in enumerate(base.tolist())
            ]
            jobs.append(JobSpec(t, release, release + task.period, ops, frame=frame))
    jobs.sort(key=lambda job: job.release)
    return assemble(
        "periodic",
        accelerators=[f"acc{a}" for a in range(N_ACC)],
        tasks=tasks,
        jobs=jobs,
        time_unit_ns=1000,
    )


def list_schedule(instance: Instance) -> Schedule:
    """Greedy: jobs in release order, each op of the chain on its earliest-finishing
    accelerator; a job that cannot start before its deadline is dropped at its release."""
    free = np.zeros(instance.n_accelerators, np.int64)
    acc = np.full(instance.n_ops, -1, np.int64)
    start = np.full(instance.n_ops, -1, np.int64)
    end = np.full(instance.n_ops, -1, np.int64)
    status = np.full(instance.n_jobs, int(JobStatus.COMPLETED), np.int64)
    drop_time = np.zeros(instance.n_jobs, np.int64)
    for job in np.argsort(instance.job_release, kind="stable").tolist():
        release, deadline = int(instance.job_release[job]), int(instance.job_deadline[job])
        if int(free.min()) >= deadline:
            status[job], drop_time[job] = int(JobStatus.DROPPED), release
            continue
        ready = release
        for op in instance.ops_of(job):
            finish = np.maximum(free, ready) + instance.op_duration[op]
            a = int(np.argmin(finish))
            acc[op], start[op], end[op] = a, max(int(free[a]), ready), int(finish[a])
            free[a] = ready = int(finish[a])
    schedule = Schedule(
        acc, start, end, status, np.zeros(instance.n_jobs, np.int64), drop_time, "list"
    )
    report = validate(instance, schedule)
    if not report.ok:
        raise SystemExit(f"the benchmark schedule is invalid: {report.summary()}")
    return schedule


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ops", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="target op counts"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for target in args.ops:
            instance = periodic_instance(target)
            schedule = list_schedule(instance)
            began = time.perf_counter()
            figure, ax = plot_gantt(instance, schedule)
            plotted = time.perf_counter()
            path = save_figure(figure, Path(scratch) / f"gantt_{target}.png")
            saved = time.perf_counter()
            rows.append(
                [
                    instance.n_ops,
                    len(ax.collections),
                    plotted - began,
                    saved - plotted,
                    path.stat().st_size / 1024,
                ]
            )
            plt.close(figure)
    if args.json:
        keys = ("ops", "collections", "plot_s", "savefig_s", "file_kb")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows]))
        return 0
    print(
        tabulate(
            rows,
            headers=["ops", "collections", "plot (s)", "savefig (s)", "PNG (KB)"],
            floatfmt=("d", "d", ".3f", ".3f", ".0f"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
