"""The CP-SAT oracle against exhaustive enumeration on many random tiny instances.

A seeded generator builds instances of at most 6 ops on 2 accelerators with the features the
oracle models: ineligible (op, accelerator) pairs, chains and small DAGs, releases, deadlines,
cascaded jobs (upstream), job weights, variants, a realised early exit and context-switch
costs, under ``drops: allowed`` and ``never``. On each, the enumerator below, written without
any oracle code, finds the optimum of one objective, and the test checks that the oracle's status
is optimal, its objective equals the optimum, its bound is at most the optimum (equal when
optimal), its schedule passes the validator, and it is no worse than any registered scheduler.

Why enumeration over semi-active schedules is exact. Fix the decisions that are not times: which
jobs complete and with which variant, which accelerator runs each required op, and the order of
the ops on each accelerator. Starting every op as early as release, upstream completion,
predecessors, the previous op on its accelerator and the context reload allow (the semi-active
schedule) gives, by induction along that order, every op an end no later than in any other
schedule with the same decisions. So for an objective that, under fixed decisions, is *regular*
(non-decreasing in every completion time C_j), some semi-active schedule is optimal. Energy is
constant under fixed decisions (context reloads depend only on the order). Tardiness and makespan
are regular, and so is ``misses``: its late literal [C_j > d_j] is a step that only rises with
C_j; sums of these stay regular, and ``uxcost`` = energy × miss rate is a constant times a
regular function. ANTT is Σ (C_j − R_j)/T_iso,j, and for a cascaded job R_j is its upstream's
completion: finishing the upstream later can *lower* the dependent's term, so ANTT is not regular
with cascades, and the ANTT cases here have none. A dropped job runs nothing and no op past a
realised early exit runs: such ops would only add load and energy, so the enumeration leaves
them out.

The enumerator computes each candidate's objective with its own formulas (docs/design.md §3); the
optimum is the project's :func:`evaluate` on the best candidate's schedule. The enumerator's
value is checked against :func:`evaluate` on that schedule and on a sample of other candidates,
and the best schedule against the validator, so the enumerator itself is tested too.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections import Counter
from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from rtmm_opt.engine import Engine, StaticInfo
from rtmm_opt.errors import InputError
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Instance, Settings, TaskInfo, Variant
from rtmm_opt.oracle import evaluate, parse_objective, solve
from rtmm_opt.schedule.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import validate
from rtmm_opt.schedulers import make_scheduler, scheduler_names

MAX_OPS = 6
ACCELERATORS = ("npu0", "npu1")
# (objective, drops); every case i uses CASE_KINDS[i % len(CASE_KINDS)].
CASE_KINDS = (
    ("misses", "allowed"),
    ("misses", "never"),
    ("misses+0.001*energy", "allowed"),
    ("misses+0.001*energy", "never"),
    ("tardiness", "never"),
    ("makespan", "never"),
    ("energy", "never"),
    ("antt", "never"),
    ("uxcost", "never"),
    ("misses+0.5*accuracy_loss", "allowed"),
)
N_CASES = 20 * len(CASE_KINDS)  # 200
RELATIVE = 1e-9  # float noise in sums of float terms
ANTT_RELATIVE = 1e-6  # the solver's ANTT weights are rounded (see terms._antt_term)

# Job shapes: the predecessors of each op (local indices; ops are in topological order).
SHAPES: dict[str, tuple[tuple[int, ...], ...]] = {
    "single": ((),),
    "chain2": ((), (0,)),
    "chain3": ((), (0,), (1,)),
    "fork": ((), (0,), (0,)),
    "join": ((), (), (0, 1)),
    "diamond": ((), (0,), (0,), (1, 2)),
}


# -- the generator -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    instance: Instance
    objective: str
    features: frozenset[str]


def _op(rng: random.Random, preds: tuple[int, ...], variant: int, big_energy: bool) -> OpSpec:
    durations = [rng.randint(1, 6) for _ in ACCELERATORS]
    if rng.random() < 0.3:
        durations[rng.randrange(len(ACCELERATORS))] = -1  # an ineligible pair
    scale = 100_000 if big_energy else 1
    energies = [rng.randint(1, 30) * scale if d > 0 else -1 for d in durations]
    return OpSpec(
        durations, energies=energies, preds=preds, variant=variant, context=rng.randrange(2)
    )


def make_case(index: int) -> Case:
    """Case ``index``: a seeded random instance and the objective it is solved for."""
    objective, drops = CASE_KINDS[index % len(CASE_KINDS)]
    rng = random.Random(7919 * index + 17)
    features: set[str] = {f"drops:{drops}"}
    big_energy = objective == "uxcost"  # whole millijoules, so uxcost is not vanishingly small
    cascades_allowed = objective != "antt"  # ANTT is not regular with cascades (module docstring)
    tight = objective in ("uxcost", "misses", "misses+0.001*energy", "misses+0.5*accuracy_loss")
    tasks: list[TaskInfo] = []
    jobs: list[JobSpec] = []
    n_ops = 0
    n_jobs = rng.randint(1, 3)
    for j in range(n_jobs):
        room = MAX_OPS - n_ops - (n_jobs - j - 1)  # leave one op for each later job
        with_variants = room >= 3 and rng.random() < (0.6 if "accuracy" in objective else 0.2)
        if with_variants:
            # Variant 0: a two-op chain; variant 1: one cheaper op. The task has both.
            ops = [
                _op(rng, (), 0, big_energy),
                _op(rng, (0,), 0, big_energy),
                _op(rng, (), 1, big_energy),
            ]
            variants = (Variant("full", 1.0), Variant("lite", 0.7))
            features.add("variants")
        else:
            shape = rng.choice([s for s, preds in SHAPES.items() if len(preds) <= room])
            ops = [_op(rng, preds, 0, big_energy) for preds in SHAPES[shape]]
            variants = (Variant("default"),)
            features.add("dag" if shape in ("fork", "join", "diamond") else "chain")
        exit_op = None
        if len(ops) >= 2 and rng.random() < 0.2:
            exit_op = 0 if with_variants else rng.randrange(len(ops) - 1)
            features.add("early_exit")
        upstream: tuple[int, ...] = ()
        if j > 0 and cascades_allowed and rng.random() < 0.35:
            upstream = (rng.randrange(j),)
            features.add("cascade")
        release = rng.randint(0, 4)
        slack = rng.randint(1, 6) if tight else rng.randint(2, 14)
        weight = rng.choice((1, 1, 1, 2, 3)) if "misses" in objective else 1
        if weight > 1:
            features.add("weights")
        tasks.append(TaskInfo(f"task{j}", f"model{j}", period=20, variants=variants))
        jobs.append(
            JobSpec(
                task=j, release=release, deadline=release + slack, ops=ops, weight=weight,
                upstream=upstream, exit_op=exit_op,
            )
        )  # fmt: skip
        n_ops += len(ops)
    if any(d < 0 for job in jobs for op in job.ops for d in op.durations):
        features.add("ineligible")
    context_switch = rng.random() < 0.25
    extra: dict[str, object] = {}
    if context_switch:
        features.add("context_switch")
        extra = dict(
            contexts=("weights_a", "weights_b"),
            context_reload_time=[[rng.randint(1, 3) for _ in ACCELERATORS] for _ in range(2)],
            context_reload_energy=[[rng.randint(0, 5) for _ in ACCELERATORS] for _ in range(2)],
        )
    instance = assemble(
        f"bruteforce-{index}", accelerators=ACCELERATORS, tasks=tasks, jobs=jobs,
        settings=Settings(drops=drops, context_switch=context_switch), **extra,  # type: ignore[arg-type]
    )  # fmt: skip
    return Case(instance, objective, frozenset(features))


# -- the enumerator (independent of the oracle) --------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """One semi-active schedule: per op (accelerator, start, end); per job its variant or None."""

    variant: tuple[int | None, ...]
    placement: dict[int, tuple[int, int, int]]


def _required(instance: Instance, job: int, variant: int) -> list[int]:
    """The job's ops of ``variant``; with a realised early exit in it, those up to and including
    the exit op (ops are in topological order; Instance.required_ops documents the rule)."""
    first, stop = int(instance.job_op_offsets[job]), int(instance.job_op_offsets[job + 1])
    ops = [o for o in range(first, stop) if instance.op_variant[o] == variant]
    exit_op = int(instance.job_exit_op[job])
    if exit_op < 0 or exit_op not in ops:
        return ops
    return [o for o in ops if o <= exit_op]


def _preds(instance: Instance, op: int) -> list[int]:
    lo, hi = int(instance.op_pred_offsets[op]), int(instance.op_pred_offsets[op + 1])
    return [int(p) for p in instance.op_preds[lo:hi]]


def _upstream(instance: Instance, job: int) -> list[int]:
    lo, hi = int(instance.job_upstream_offsets[job]), int(instance.job_upstream_offsets[job + 1])
    return [int(u) for u in instance.job_upstream[lo:hi]]


def _job_options(instance: Instance) -> list[tuple[int | None, ...]]:
    """Every consistent choice of drop (None) or variant per job."""
    per_job = []
    for job in range(instance.n_jobs):
        n_variants = len(instance.tasks[int(instance.job_task[job])].variants)
        options: list[int | None] = list(range(n_variants))
        if instance.settings.drops == "allowed":
            options.append(None)
        per_job.append(options)
    return [
        choice
        for choice in itertools.product(*per_job)
        if all(
            choice[job] is None or all(choice[u] is not None for u in _upstream(instance, job))
            for job in range(instance.n_jobs)
        )
    ]


def _linear_extensions(ops: list[int], before: dict[int, set[int]]) -> list[list[int]]:
    """Every order of ``ops`` in which no op precedes one of its ``before`` ops."""
    if not ops:
        return [[]]
    orders = []
    for op in ops:
        if before[op] & set(ops):
            continue
        rest = [o for o in ops if o != op]
        orders.extend([op, *tail] for tail in _linear_extensions(rest, before))
    return orders


def _simulate(
    instance: Instance,
    choice: tuple[int | None, ...],
    required: dict[int, list[int]],
    accelerator: dict[int, int],
    sequences: tuple[list[int], ...],
) -> dict[int, tuple[int, int, int]] | None:
    """The semi-active schedule of these decisions, or None if the orders form a cycle."""
    op_job = {op: job for job, ops in required.items() for op in ops}
    previous: dict[int, int | None] = {}
    for sequence in sequences:
        for i, op in enumerate(sequence):
            previous[op] = sequence[i - 1] if i else None
    end: dict[int, int] = {}
    pending = sorted(op_job)
    switching = instance.settings.context_switch
    while pending:
        waiting = []
        for op in pending:
            job = op_job[op]
            upstream_ops = [o for u in _upstream(instance, job) for o in required[u]]
            before = previous[op]
            needs = _preds(instance, op) + upstream_ops + ([before] if before is not None else [])
            if not all(o in end for o in needs):
                waiting.append(op)
                continue
            start = max([int(instance.job_release[job]), *(end[o] for o in needs)])
            if before is not None and switching:
                acc = accelerator[op]
                context, before_context = instance.op_context[op], instance.op_context[before]
                if context != before_context:
                    start = max(
                        start, end[before] + int(instance.context_reload_time[context, acc])
                    )
            end[op] = start + int(instance.op_duration[op, accelerator[op]])
        if len(waiting) == len(pending):
            return None  # the accelerator orders contradict the precedences
        pending = waiting
    return {op: (accelerator[op], end[op] - int(instance.op_duration[op, accelerator[op]]), e)
            for op, e in end.items()}  # fmt: skip


def enumerate_candidates(instance: Instance) -> list[Candidate]:
    """Every semi-active schedule of every job choice, op placement and accelerator order."""
    candidates = []
    for choice in _job_options(instance):
        required = {
            job: _required(instance, job, variant)
            for job, variant in enumerate(choice)
            if variant is not None
        }
        ops = sorted(op for job_ops in required.values() for op in job_ops)
        # An op must come after its ancestors and after every op of its upstream jobs.
        before: dict[int, set[int]] = {}
        op_job = {op: job for job, job_ops in required.items() for op in job_ops}
        for op in ops:
            ancestors = set(_preds(instance, op))
            for p in list(ancestors):
                ancestors |= before.get(p, set())
            for u in _upstream(instance, op_job[op]):
                ancestors |= set(required[u])
                for o in required[u]:
                    ancestors |= before[o]
            before[op] = ancestors
        eligible = [
            [a for a in range(instance.n_accelerators) if instance.op_duration[op, a] >= 0]
            for op in ops
        ]
        for accs in itertools.product(*eligible):
            accelerator = dict(zip(ops, accs, strict=True))
            per_accelerator = [
                [op for op in ops if accelerator[op] == a] for a in range(instance.n_accelerators)
            ]
            for sequences in itertools.product(
                *(_linear_extensions(group, before) for group in per_accelerator)
            ):
                placement = _simulate(instance, choice, required, accelerator, sequences)
                if placement is not None:
                    candidates.append(Candidate(choice, placement))
    return candidates


def own_value(instance: Instance, candidate: Candidate, objective: str) -> float:
    """The candidate's objective by docs/design.md §3's definitions, computed here from scratch."""
    n_jobs = instance.n_jobs
    placement = candidate.placement
    completion: dict[int, int] = {}
    for job, variant in enumerate(candidate.variant):
        if variant is not None:
            completion[job] = max(placement[op][2] for op in _required(instance, job, variant))
    deadline, release = instance.job_deadline, instance.job_release
    late = [j for j, c in completion.items() if c > deadline[j]]
    dropped = [j for j in range(n_jobs) if j not in completion]
    misses = sum(int(instance.job_weight[j]) for j in [*late, *dropped])
    energy = sum(int(instance.op_energy[op, acc]) for op, (acc, _, _) in placement.items())
    if instance.settings.context_switch:
        for acc in range(instance.n_accelerators):
            sequence = sorted((s, op) for op, (a, s, _) in placement.items() if a == acc)
            for (_, before), (_, op) in itertools.pairwise(sequence):
                context = instance.op_context[op]
                if context != instance.op_context[before]:
                    energy += int(instance.context_reload_energy[context, acc])
    values = {
        "misses": float(misses),
        "energy": float(energy),
        "tardiness": float(sum(max(0, c - deadline[j]) for j, c in completion.items())),
        "makespan": float(max(completion.values(), default=int(release.min())) - release.min()),
    }
    if objective == "uxcost":
        return energy / 1e6 * (len(late) + len(dropped)) / n_jobs
    if objective == "antt":
        total = 0.0
        for job, c in completion.items():
            effective = max([int(release[job]), *(completion[u] for u in _upstream(instance, job))])
            total += max(c - effective, 1) / _isolated(instance, job, candidate.variant[job] or 0)
        return total / n_jobs
    if objective == "misses+0.001*energy":
        return values["misses"] + 0.001 * values["energy"]
    if objective.startswith("misses+") and objective.endswith("*accuracy_loss"):
        weight = float(objective.removeprefix("misses+").removesuffix("*accuracy_loss"))
        loss = 0.0
        for job in completion:
            accuracies = [v.accuracy for v in instance.tasks[int(instance.job_task[job])].variants]
            loss += max(accuracies) - accuracies[candidate.variant[job] or 0]
        return values["misses"] + weight * loss
    return values[objective]


def _isolated(instance: Instance, job: int, variant: int) -> int:
    """Critical path of the required ops, each on its fastest accelerator."""
    finish: dict[int, int] = {}
    for op in _required(instance, job, variant):
        fastest = min(int(d) for d in instance.op_duration[op] if d >= 0)
        finish[op] = fastest + max(
            (finish[p] for p in _preds(instance, op) if p in finish), default=0
        )
    return max(finish.values())


def to_schedule(instance: Instance, candidate: Candidate) -> Schedule:
    accelerator = np.full(instance.n_ops, -1, np.int64)
    start, end = accelerator.copy(), accelerator.copy()
    for op, (acc, s, e) in candidate.placement.items():
        accelerator[op], start[op], end[op] = acc, s, e
    completed = [v is not None for v in candidate.variant]
    return Schedule(
        op_accelerator=accelerator,
        op_start=start,
        op_end=end,
        job_status=np.array(
            [JobStatus.COMPLETED if c else JobStatus.DROPPED for c in completed], np.int64
        ),
        job_variant=np.array([v or 0 for v in candidate.variant], np.int64),
        job_drop_time=np.where(completed, 0, instance.job_release).astype(np.int64),
        producer="bruteforce",
    )


@dataclass(frozen=True)
class Optimum:
    value: float
    schedule: Schedule
    candidates: int


def brute_force(instance: Instance, objective: str, sample_seed: int = 0) -> Optimum:
    """The optimum over every candidate, with :func:`evaluate` cross-checking the own values."""
    spec = parse_objective(objective)
    candidates = enumerate_candidates(instance)
    assert candidates, "every generated instance has a schedule"
    values = [own_value(instance, c, objective) for c in candidates]
    best = min(range(len(candidates)), key=values.__getitem__)
    rng = random.Random(sample_seed)
    for k in [best, *rng.sample(range(len(candidates)), min(4, len(candidates)))]:
        schedule = to_schedule(instance, candidates[k])
        assert validate(instance, schedule).ok, validate(instance, schedule).summary()
        assert evaluate(instance, schedule, spec) == pytest.approx(values[k], rel=RELATIVE)
    schedule = to_schedule(instance, candidates[best])
    return Optimum(evaluate(instance, schedule, spec), schedule, len(candidates))


# -- heuristics ----------------------------------------------------------------------------------
SCHEDULERS = scheduler_names()
MAX_DECISIONS = 5_000  # tiny instances need a few dozen; more means the run does not terminate


def bounded_replay(instance: Instance, name: str) -> Schedule:
    """``engine.replay`` with a cap on decisions, so a policy that never finishes fails instead
    of hanging the suite."""
    policy = make_scheduler(name)
    engine = Engine(instance, policy_name=name)
    policy.reset(StaticInfo.of(instance))
    view = engine.reset()
    for _ in range(MAX_DECISIONS):
        if view is None:
            schedule = engine.schedule()
            report = validate(instance, schedule)
            assert report.ok, (name, report.summary())
            return schedule
        view = engine.step(policy.decide(view))
    raise AssertionError(f"{name} made {MAX_DECISIONS} decisions without finishing")


def fits_one_accelerator(instance: Instance) -> bool:
    """Whether every job's ops (of every variant) all run on some single accelerator, which the
    XRBench policy needs (it runs whole models on one accelerator)."""
    return all(
        bool(np.any(np.all(instance.op_duration[list(instance.ops_of(job))] >= 0, axis=0)))
        for job in range(instance.n_jobs)
    )


# -- the tests -----------------------------------------------------------------------------------
@cache
def case(index: int) -> Case:
    return make_case(index)


def test_the_generator_covers_every_feature():
    seen = Counter(f for i in range(N_CASES) for f in case(i).features)
    for feature in ("drops:allowed", "drops:never", "variants", "early_exit", "cascade",
                    "context_switch", "ineligible", "dag", "chain", "weights"):  # fmt: skip
        assert seen[feature] >= 5, (feature, seen)
    assert all(case(i).instance.n_ops <= MAX_OPS for i in range(N_CASES))


def test_the_enumerator_on_a_hand_computed_instance():
    # Two one-op jobs, both only on npu0 (3 and 4 units), released at 0, deadlines 3 and 5:
    # whichever runs second ends at 7 and is late, so one miss at best (drops never).
    # With drops allowed, dropping the 4-unit job gives the same one miss.
    # Tardiness: A then B = 0 + 2 = 2; B then A = 4 + 1 = 5 → 2. Makespan 7 either way.
    jobs = [
        JobSpec(task=0, release=0, deadline=3, ops=[OpSpec([3, -1])]),
        JobSpec(task=1, release=0, deadline=5, ops=[OpSpec([4, -1])]),
    ]
    tasks = [TaskInfo("a", "m"), TaskInfo("b", "m")]
    never = assemble("hand", accelerators=ACCELERATORS, tasks=tasks, jobs=jobs,
                     settings=Settings(drops="never"))  # fmt: skip
    assert brute_force(never, "misses").value == 1
    assert brute_force(never, "tardiness").value == 2
    assert brute_force(never, "makespan").value == 7
    assert brute_force(never.with_settings(drops="allowed"), "misses").value == 1
    # ANTT: T_iso = 3 and 4; A first gives (3/3 + 7/4)/2 = 1.375, B first (4/4 + 7/3)/2 = 1.667.
    assert brute_force(never, "antt").value == pytest.approx(1.375)


def test_xrbench_terminates_when_no_accelerator_fits_a_whole_job():
    # One job: op 0 runs only on npu0, op 1 only on npu1. No accelerator runs the whole model.
    job = JobSpec(task=0, release=0, deadline=10, ops=[OpSpec([1, -1]), OpSpec([-1, 1], preds=[0])])
    instance = assemble(
        "split-job", accelerators=ACCELERATORS, tasks=[TaskInfo("a", "m", period=20)],
        jobs=[job], settings=Settings(drops="never"),
    )  # fmt: skip
    assert not fits_one_accelerator(instance)
    with contextlib.suppress(InputError):  # refusing the instance with a clear reason is fine
        bounded_replay(instance, "xrbench")


def test_antt_with_variants_minimal():
    # Once an int64 overflow of the ANTT weights with one term per variant (model_invalid).
    # One job, two one-op variants of 1 time unit: the optimum is ANTT 1 (either variant alone).
    task = TaskInfo("t", "m", variants=(Variant("full"), Variant("lite")))
    job = JobSpec(task=0, release=0, deadline=10, ops=[OpSpec([1]), OpSpec([1], variant=1)])
    instance = assemble("antt-variants", accelerators=("npu0",), tasks=[task], jobs=[job],
                        settings=Settings(drops="never"))  # fmt: skip
    result = solve(instance, "antt", time_limit=10, workers=1)
    assert result.status == "optimal" and result.objective == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("objective", "expected", "misses", "lite_jobs"),
    [
        ("misses", 0.0, 0, 1),
        ("misses+0.5*accuracy_loss", 0.15, 0, 1),
        ("misses+5*accuracy_loss", 1.0, 1, 0),
    ],
)
def test_accuracy_loss_prices_the_cheaper_variant(objective, expected, misses, lite_jobs):
    # One accelerator, two jobs released at 0 with variants full (accuracy 1.0, 4 units) and
    # lite (0.7, 2 units); deadlines 4 and 6. Both full: A [0,4], B [4,8] late: one miss.
    # B lite: A [0,4], B [4,6], no miss, loss 0.3 (A lite, B full: the same loss).
    #   misses alone: 0, with a lite job for free (the oracle's blind spot without the term);
    #   misses + 0.5·loss: min(1, 0.15) = 0.15; misses + 5·loss: min(1, 1.5) = 1, both full.
    task = TaskInfo("t", "m", variants=(Variant("full", 1.0), Variant("lite", 0.7)))
    jobs = [
        JobSpec(task=0, release=0, deadline=d, ops=[OpSpec([4]), OpSpec([2], variant=1)])
        for d in (4, 6)
    ]
    instance = assemble("accuracy", accelerators=("npu0",), tasks=[task], jobs=jobs,
                        settings=Settings(drops="never"))  # fmt: skip
    assert brute_force(instance, objective).value == pytest.approx(expected)
    result = solve(instance, objective, time_limit=10, workers=1)
    assert result.status == "optimal" and result.objective == pytest.approx(expected)
    assert result.bound == pytest.approx(expected)
    assert int((result.schedule.job_variant == 1).sum()) == lite_jobs
    assert evaluate(instance, result.schedule, parse_objective("misses")) == misses


@pytest.mark.parametrize("objective", ["antt+makespan", "misses+antt"])
def test_antt_in_a_weighted_sum_minimal(objective):
    # Once every weighted sum with antt overflowed: the other terms were scaled by ~2^62.
    # One job, one op of 1 unit on one accelerator, released at 0: ANTT 1, makespan 1, no miss.
    job = JobSpec(task=0, release=0, deadline=10, ops=[OpSpec([1])])
    instance = assemble("antt-sum", accelerators=("npu0",), tasks=[TaskInfo("t", "m")],
                        jobs=[job], settings=Settings(drops="never"))  # fmt: skip
    result = solve(instance, objective, time_limit=10, workers=1)
    expected = {"antt+makespan": 2.0, "misses+antt": 1.0}[objective]
    assert result.status == "optimal" and result.objective == pytest.approx(expected)


@pytest.mark.parametrize("index", range(N_CASES))
def test_oracle_matches_brute_force(index):
    current = case(index)
    instance, objective = current.instance, current.objective
    optimum = brute_force(instance, objective, sample_seed=index)
    result = solve(instance, objective, time_limit=10, workers=1, seed=0)
    assert result.schedule is not None, result.status
    report = validate(instance, result.schedule)
    assert report.ok, report.summary()
    spec = parse_objective(objective)
    assert result.objective == pytest.approx(evaluate(instance, result.schedule, spec), rel=1e-12)
    assert result.bound is not None and result.objective is not None
    if objective == "antt":
        # Rounded ANTT weights: the incumbent may be off by the rounding, the bound never above.
        assert result.solver["status"] == "optimal"
        assert result.objective <= optimum.value * (1 + ANTT_RELATIVE) + 1e-12
        assert result.objective >= optimum.value * (1 - RELATIVE)  # nothing beats an optimum
        assert result.bound <= optimum.value * (1 + RELATIVE)
    else:
        assert result.status == "optimal", (result.status, result.objective, result.bound)
        assert result.objective == pytest.approx(optimum.value, rel=RELATIVE, abs=1e-12)
        assert result.bound == pytest.approx(optimum.value, rel=RELATIVE, abs=1e-12)
    evaluated, refused = 0, []
    for name in SCHEDULERS:
        try:
            heuristic = bounded_replay(instance, name)
        except InputError as error:  # the scheduler cannot run with these settings
            refused.append((name, str(error)))
            continue
        value = evaluate(instance, heuristic, spec)
        tolerance = ANTT_RELATIVE if objective == "antt" else RELATIVE
        assert result.objective <= value + tolerance * max(1.0, abs(value)), (name, value)
        assert optimum.value <= value + RELATIVE * max(1.0, abs(value)), (name, value)
        evaluated += 1
    # every scheduler runs on every case (measured on all of them): none is skipped silently
    assert evaluated == len(SCHEDULERS) > 0, refused
