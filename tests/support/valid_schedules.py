"""Valid schedules on small instances, for the validator's tests and the metrics' tests.

Hand-made cases (chains, a DAG, cascades, variants, early exit, context switches, contention,
drops), each worked out in its comments, and a seeded list-scheduling builder that makes a valid
schedule for a random small instance (DAG jobs, a cascaded second task, variants, exits,
contexts). ``tests/schedule/test_validator.py`` checks that they are valid and breaks them one
violation at a time; ``tests/metrics/test_metrics.py`` computes metrics on them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rtmm_opt.instance import Instance, Settings, TaskInfo, Variant
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.schedule import JobStatus, Schedule, stretched_ends
from rtmm_opt.schedule.schedule import ARRAYS

ACCELERATORS = ("npu0", "npu1")
DROPPED, COMPLETED = int(JobStatus.DROPPED), int(JobStatus.COMPLETED)


def build(name, jobs, tasks=None, **options) -> Instance:
    return assemble(
        name,
        accelerators=options.pop("accelerators", ACCELERATORS),
        tasks=tasks or [TaskInfo("t", "m")],
        jobs=jobs,
        **options,
    )


def make(instance: Instance, runs, status, variant=None, drop_time=None) -> Schedule:
    """``runs``: {op: (accelerator, start, end)}; every other op did not run."""
    accelerator = np.full(instance.n_ops, -1, np.int64)
    start = np.full(instance.n_ops, -1, np.int64)
    end = np.full(instance.n_ops, -1, np.int64)
    for op, (acc, begin, finish) in runs.items():
        accelerator[op], start[op], end[op] = acc, begin, finish
    return Schedule(
        op_accelerator=accelerator,
        op_start=start,
        op_end=end,
        job_status=np.asarray(status, np.int64),
        job_variant=np.asarray(variant if variant is not None else [0] * instance.n_jobs, np.int64),
        job_drop_time=np.asarray(
            drop_time if drop_time is not None else [0] * instance.n_jobs, np.int64
        ),
    )


def edit(schedule: Schedule, *, run=None, unrun=(), status=None, variant=None, drop_time=None):
    """A copy of ``schedule`` with some ops (re)placed or removed and some job fields changed."""
    arrays = {name: getattr(schedule, name).copy() for name in ARRAYS}
    for op, (acc, begin, finish) in (run or {}).items():
        arrays["op_accelerator"][op], arrays["op_start"][op], arrays["op_end"][op] = (
            acc,
            begin,
            finish,
        )
    for op in unrun:
        arrays["op_accelerator"][op] = arrays["op_start"][op] = arrays["op_end"][op] = -1
    for name, changes in (
        ("job_status", status),
        ("job_variant", variant),
        ("job_drop_time", drop_time),
    ):
        for job, value in (changes or {}).items():
            arrays[name][job] = value
    return Schedule(**arrays)


# -- hand-made valid cases ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    instance: Instance
    schedule: Schedule


def chain() -> Case:
    # o0 -> o1 -> o2, migrating npu1 -> npu0 -> npu1; o1 is not eligible on npu1.
    ops = [OpSpec([3, 4]), OpSpec([2, -1], preds=[0]), OpSpec([4, 2], preds=[1])]
    inst = build("chain", [JobSpec(0, 2, 30, ops)])
    return Case(inst, make(inst, {0: (1, 2, 6), 1: (0, 6, 8), 2: (1, 8, 10)}, [COMPLETED]))


def chain_dropped() -> Case:
    # The same job dropped at 9 after two of its three ops.
    case = chain()
    return Case(
        case.instance, edit(case.schedule, unrun=[2], status={0: DROPPED}, drop_time={0: 9})
    )


def two_jobs() -> Case:
    inst = build(
        "two", [JobSpec(0, 0, 20, [OpSpec([3, -1])]), JobSpec(0, 0, 20, [OpSpec([2, -1])])]
    )
    return Case(inst, make(inst, {0: (0, 0, 3), 1: (0, 3, 5)}, [COMPLETED, COMPLETED]))  # touching


def diamond() -> Case:
    ops = [
        OpSpec([2, 2]),
        OpSpec([3, 3], preds=[0]),
        OpSpec([4, 4], preds=[0]),
        OpSpec([1, 1], preds=[1, 2]),
    ]
    inst = build("diamond", [JobSpec(0, 0, 30, ops)])
    return Case(
        inst, make(inst, {0: (0, 0, 2), 1: (0, 2, 5), 2: (1, 2, 6), 3: (0, 6, 7)}, [COMPLETED])
    )


def cascade() -> Case:
    # Job 1 (task "down") is released when job 0 (task "up") completes.
    tasks = [TaskInfo("up", "m0"), TaskInfo("down", "m1", depends_on=("up",))]
    jobs = [
        JobSpec(0, 0, 20, [OpSpec([3, 3])]),
        JobSpec(1, 0, 20, [OpSpec([2, 2]), OpSpec([1, 1], preds=[0])], upstream=[0]),
    ]
    inst = build("cascade", jobs, tasks)
    return Case(
        inst, make(inst, {0: (0, 0, 3), 1: (1, 3, 5), 2: (1, 5, 6)}, [COMPLETED, COMPLETED])
    )


def cascade_dropped() -> Case:
    case = cascade()
    schedule = make(case.instance, {}, [DROPPED, DROPPED], drop_time=[0, 0])
    return Case(case.instance, schedule)


def variants() -> Case:
    tasks = [TaskInfo("t", "m", variants=(Variant("big", 0.9), Variant("small", 0.7)))]
    ops = [
        OpSpec([5, 5], variant=0),
        OpSpec([5, 5], variant=0, preds=[0]),
        OpSpec([2, 2], variant=1),
    ]
    inst = build("variants", [JobSpec(0, 0, 20, ops)], tasks)
    return Case(inst, make(inst, {2: (0, 0, 2)}, [COMPLETED], variant=[1]))


def early_exit() -> Case:
    ops = [
        OpSpec([2, 2]),
        OpSpec([2, 2], preds=[0]),
        OpSpec([3, 3], preds=[1]),
        OpSpec([3, 3], preds=[2]),
    ]
    inst = build("exit", [JobSpec(0, 0, 30, ops, exit_op=1)])
    return Case(inst, make(inst, {0: (0, 0, 2), 1: (0, 2, 4)}, [COMPLETED]))


def early_exit_dag() -> Case:
    # o1 is the exit head; o2 (main path, not an ancestor of o1) started before the exit was known.
    ops = [OpSpec([2, 2]), OpSpec([2, 2], preds=[0]), OpSpec([3, 3], preds=[0])]
    inst = build("exit-dag", [JobSpec(0, 0, 30, ops, exit_op=1)])
    return Case(inst, make(inst, {0: (0, 0, 2), 1: (0, 2, 4), 2: (1, 3, 6)}, [COMPLETED]))


def context_switch() -> Case:
    jobs = [JobSpec(0, 0, 40, [OpSpec([2, 2], context=c)]) for c in (0, 1, 1)]
    inst = build(
        "contexts",
        jobs,
        contexts=("w0", "w1"),
        context_reload_time=[[3, 3], [3, 3]],
        context_reload_energy=[[7, 7], [11, 11]],
        settings=Settings(context_switch=True),
    )
    # The first op loads for free; 0 -> 1 needs a gap of 3; 1 -> 1 needs none.
    return Case(inst, make(inst, {0: (0, 0, 2), 1: (0, 5, 7), 2: (0, 7, 9)}, [COMPLETED] * 3))


def contention() -> Case:
    # Both ops demand 100 bytes / 10 units = the whole bandwidth (10): together they run at half
    # speed, so both take 20 instead of 10.
    jobs = [JobSpec(0, 0, 40, [OpSpec([10, 10], dram_bytes=[100, 100])]) for _ in range(2)]
    inst = build("contention", jobs, settings=Settings(contention=True, dram_bandwidth=10.0))
    return Case(inst, make(inst, {0: (0, 0, 20), 1: (1, 0, 20)}, [COMPLETED, COMPLETED]))


VALID_CASES: dict[str, Callable[[], Case]] = {
    f.__name__: f
    for f in (
        chain,
        chain_dropped,
        two_jobs,
        diamond,
        cascade,
        cascade_dropped,
        variants,
        early_exit,
        early_exit_dag,
        context_switch,
        contention,
    )
}


# -- random instances and a list-scheduling builder -----------------------------------------------


def random_instance(rng: random.Random, *, contention_on: bool = False) -> Instance:
    """Small random instance: DAG jobs, a cascaded second task, variants, exits, contexts."""
    n_acc = rng.choice([1, 2, 3])
    tasks = [
        TaskInfo("a", "ma", variants=(Variant("full"), Variant("lite"))),
        TaskInfo("b", "mb", depends_on=("a",)),
    ]
    jobs: list[JobSpec] = []
    last_a: int | None = None
    for _ in range(rng.randint(1, 6)):
        task = 1 if last_a is not None and rng.random() < 0.4 else 0
        n_variants = len(tasks[task].variants)
        ops: list[OpSpec] = []
        for variant in range(n_variants):
            base = len(ops)
            for k in range(rng.randint(1, 4)):
                durations = [rng.randint(1, 6) if rng.random() < 0.7 else -1 for _ in range(n_acc)]
                if all(d < 0 for d in durations):
                    durations[rng.randrange(n_acc)] = rng.randint(1, 6)
                preds = [base + p for p in range(k) if rng.random() < 0.6]
                ops.append(
                    OpSpec(
                        durations,
                        energies=[rng.randint(0, 900) if d > 0 else -1 for d in durations],
                        dram_bytes=[rng.randint(0, 60) if d > 0 else -1 for d in durations],
                        preds=preds,
                        variant=variant,
                        context=rng.randrange(2),
                    )
                )
        release = rng.randint(0, 10)
        exit_op = rng.randrange(len(ops)) if rng.random() < 0.3 else None
        upstream = [last_a] if task == 1 else []
        jobs.append(
            JobSpec(
                task, release, release + rng.randint(5, 40), ops, upstream=upstream, exit_op=exit_op
            )
        )
        if task == 0:
            last_a = len(jobs) - 1
    return build(
        "random",
        jobs,
        tasks,
        accelerators=tuple(f"acc{i}" for i in range(n_acc)),
        contexts=("c0", "c1"),
        context_reload_time=[[rng.randint(0, 3) for _ in range(n_acc)] for _ in range(2)],
        context_reload_energy=[[rng.randint(0, 50) for _ in range(n_acc)] for _ in range(2)],
        settings=Settings(
            context_switch=rng.random() < 0.5,
            contention=contention_on,
            dram_bandwidth=float(rng.randint(5, 30)) if contention_on else 0.0,
        ),
    )


def list_schedule(instance: Instance, rng: random.Random) -> Schedule:
    """A valid schedule by construction: jobs in order, each accelerator's timeline only grows.

    Some jobs are dropped part-way (their dependents with them). Under contention every op gets a
    slot long enough for the worst possible stretch, and its real end comes from
    :func:`stretched_ends`, which can only be earlier than the slot's end.
    """
    n_acc = instance.n_accelerators
    settings_ = instance.settings
    free = [0] * n_acc
    context_on = [-1] * n_acc
    accelerator = np.full(instance.n_ops, -1, np.int64)
    start = np.full(instance.n_ops, -1, np.int64)
    end = np.full(instance.n_ops, -1, np.int64)
    status = np.full(instance.n_jobs, COMPLETED, np.int64)
    variant = np.zeros(instance.n_jobs, np.int64)
    drop_time = np.zeros(instance.n_jobs, np.int64)
    worst_factor = 1.0
    if settings_.contention:
        demand = np.where(
            instance.op_duration > 0,
            instance.op_dram_bytes / np.maximum(instance.op_duration, 1),
            0,
        )
        worst_factor = max(1.0, n_acc * float(demand.max()) / settings_.dram_bandwidth)
    for job in range(instance.n_jobs):
        variant[job] = rng.randrange(len(instance.tasks[instance.job_task[job]].variants))
        ready = int(instance.job_release[job])
        upstream = [int(u) for u in instance.upstream_of(job)]
        if any(status[u] == DROPPED for u in upstream):
            status[job], drop_time[job] = DROPPED, ready
            continue
        for u in upstream:
            ready = max(ready, int(end[instance.required_ops(u, int(variant[u]))].max()))
        required = instance.required_ops(job, int(variant[job]))
        dropped = rng.random() < 0.25
        runs = required[: rng.randrange(len(required))] if dropped else required
        for op in runs:
            eligible = [int(a) for a in instance.eligible(op)]
            acc = rng.choice(eligible)
            begin = max([ready, free[acc]] + [int(end[p]) for p in instance.preds_of(op)])
            if settings_.context_switch and context_on[acc] not in (-1, instance.op_context[op]):
                begin = max(
                    begin,
                    free[acc] + int(instance.context_reload_time[instance.op_context[op], acc]),
                )
            begin += rng.choice([0, 0, 1, 3])
            length = int(instance.op_duration[op, acc])
            slot = math.ceil(length * worst_factor) + 1 if settings_.contention else length
            accelerator[op], start[op], end[op] = acc, begin, begin + slot
            free[acc], context_on[acc] = begin + slot, int(instance.op_context[op])
        if dropped:
            status[job] = DROPPED
            last_start = max([int(start[o]) for o in runs], default=-1)
            drop_time[job] = max(ready, last_start + 1) + rng.randint(0, 4)
    if settings_.contention:
        end = stretched_ends(instance, accelerator, start)
    return Schedule(accelerator, start, end, status, variant, drop_time)


RANDOM_SEEDS = range(60)


def random_case(seed: int) -> Case:
    rng = random.Random(seed)
    instance = random_instance(rng, contention_on=seed % 3 == 0)
    return Case(instance, list_schedule(instance, rng))
