"""The schedule validator and the contention model.

Hand-made valid schedules on small instances (chains, a DAG, cascades, variants, early exit,
context switches, contention, drops) must pass; a table of mutators injects one violation each,
which must be caught with the expected kind(s) and nothing else. A seeded list-scheduling
builder makes valid schedules for random small instances, and generic mutators break them.
Contention ends are checked against hand-computed values and an exact rational re-simulation.
The cases and the builder are in ``tests/support/valid_schedules.py`` (the metrics' tests use
them too); the mutator table names each case by its function there.
"""

from __future__ import annotations

import math
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from support.valid_schedules import (
    COMPLETED,
    DROPPED,
    RANDOM_SEEDS,
    VALID_CASES,
    Case,
    build,
    chain,
    edit,
    make,
    random_case,
    random_instance,
)

from rtmm_opt.errors import InputError
from rtmm_opt.instance import Instance, Settings
from rtmm_opt.instance.assemble import JobSpec, OpSpec
from rtmm_opt.schedule import (
    AcceleratorSequence,
    BandwidthShare,
    Schedule,
    ScheduleError,
    ViolationKind,
    context_reloads,
    required_op_mask,
    stretched_ends,
    validate,
)

# -- hand-made valid cases ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VALID_CASES))
def test_hand_made_schedules_are_valid(name):
    case = VALID_CASES[name]()
    report = validate(case.instance, case.schedule)
    assert report.ok, report.summary()
    report.raise_if_invalid()


# -- the mutator table ----------------------------------------------------------------------------
R, DEP, PREC, ELIG, OVER, DUR, DROP, SHAPE = (
    ViolationKind.RELEASE,
    ViolationKind.DEPENDENCY,
    ViolationKind.PRECEDENCE,
    ViolationKind.ELIGIBILITY,
    ViolationKind.OVERLAP,
    ViolationKind.DURATION,
    ViolationKind.DROP,
    ViolationKind.SHAPE,
)


def never_drop(case: Case, schedule: Schedule) -> tuple[Instance, Schedule]:
    return case.instance.with_settings(drops="never"), schedule


def no_contention(case: Case, schedule: Schedule) -> tuple[Instance, Schedule]:
    return case.instance.with_settings(contention=False), schedule


# (case, what is wrong, mutated schedule, optional instance change, the exact kinds expected)
MUTATIONS: list[tuple[str, str, Callable[[Schedule], Schedule], Callable | None, set]] = [
    (
        "chain",
        "first op starts before the release",
        lambda s: edit(s, run={0: (1, 1, 5)}),
        None,
        {R},
    ),
    (
        "chain",
        "op starts before its predecessor ends",
        lambda s: edit(s, run={1: (0, 5, 7)}),
        None,
        {PREC},
    ),
    (
        "chain",
        "op runs without its predecessor (job completed)",
        lambda s: edit(s, unrun=[1]),
        None,
        {PREC, DROP},
    ),
    (
        "chain",
        "op on an ineligible accelerator",
        lambda s: edit(s, run={1: (1, 6, 8)}),
        None,
        {ELIG},
    ),
    ("chain", "duration one too long", lambda s: edit(s, run={2: (1, 8, 11)}), None, {DUR}),
    ("chain", "duration one too short", lambda s: edit(s, run={2: (1, 8, 9)}), None, {DUR}),
    (
        "chain",
        "duration of the other accelerator",
        lambda s: edit(s, run={0: (0, 2, 6)}),
        None,
        {DUR},
    ),
    ("chain", "completed job misses an op", lambda s: edit(s, unrun=[2]), None, {DROP}),
    (
        "chain",
        "dropped job that ran everything",
        lambda s: edit(s, status={0: DROPPED}, drop_time={0: 10}),
        None,
        {DROP},
    ),
    (
        "chain_dropped",
        "op starts at the drop time",
        lambda s: edit(s, drop_time={0: 6}),
        None,
        {DROP},
    ),
    ("chain_dropped", "drop with drops=never", lambda s: s, never_drop, {DROP}),
    (
        "chain_dropped",
        "drop before the release",
        lambda s: edit(s, unrun=[0, 1], drop_time={0: 1}),
        None,
        {DROP},
    ),
    (
        "chain",
        "accelerator index out of range",
        lambda s: edit(s, run={0: (2, 2, 5)}),
        None,
        {SHAPE},
    ),
    (
        "chain",
        "status neither dropped nor completed",
        lambda s: edit(s, status={0: 2}),
        None,
        {SHAPE},
    ),
    ("chain", "variant the task does not have", lambda s: edit(s, variant={0: 1}), None, {SHAPE}),
    (
        "chain_dropped",
        "op that did not run has a start time",
        lambda s: replace(s, op_start=np.array([2, 6, 8])),
        None,
        {SHAPE},
    ),
    (
        "chain",
        "op arrays too short",
        lambda s: replace(s, op_end=s.op_end[:2]),
        None,
        {SHAPE},
    ),
    (
        "chain",
        "float times",
        lambda s: replace(s, op_start=s.op_start.astype(float)),
        None,
        {SHAPE},
    ),
    ("two_jobs", "overlap on one accelerator", lambda s: edit(s, run={1: (0, 2, 4)}), None, {OVER}),
    (
        "two_jobs",
        "op nested inside another",
        lambda s: edit(s, run={0: (0, 0, 3), 1: (0, 1, 3)}),
        None,
        {OVER},
    ),
    (
        "diamond",
        "join starts before its slower branch ends",
        lambda s: edit(s, run={3: (0, 5, 6)}),
        None,
        {PREC},
    ),
    (
        "diamond",
        "branches overlap on npu0",
        lambda s: edit(s, run={2: (0, 2, 6), 3: (1, 6, 7)}),
        None,
        {OVER},
    ),
    (
        "cascade",
        "dependent starts before its upstream completes",
        lambda s: edit(s, run={1: (1, 2, 4), 2: (1, 4, 5)}),
        None,
        {R},
    ),
    (
        "cascade_dropped",
        "dependent of a dropped job completes",
        lambda s: edit(s, run={1: (1, 0, 2), 2: (1, 2, 3)}, status={1: COMPLETED}),
        None,
        {DEP},
    ),
    (
        "cascade_dropped",
        "dependent of a dropped job runs an op",
        lambda s: edit(s, run={1: (1, 0, 2)}, drop_time={1: 4}),
        None,
        {DEP},
    ),
    (
        "variants",
        "an op of the non-chosen variant runs",
        lambda s: edit(s, run={0: (1, 0, 5)}),
        None,
        {ELIG},
    ),
    (
        "variants",
        "the job claims the other variant",
        lambda s: edit(s, variant={0: 0}),
        None,
        {ELIG, DROP},
    ),
    ("early_exit", "op past the exit runs", lambda s: edit(s, run={2: (0, 4, 7)}), None, {DROP}),
    ("early_exit", "completed without its exit op", lambda s: edit(s, unrun=[1]), None, {DROP}),
    (
        "early_exit_dag",
        "non-required op starts once the exit is known",
        lambda s: edit(s, run={2: (1, 4, 7)}),
        None,
        {DROP},
    ),
    (
        "context_switch",
        "gap too short for the reload",
        lambda s: edit(s, run={1: (0, 4, 6), 2: (0, 6, 8)}),
        None,
        {OVER},
    ),
    (
        "context_switch",
        "no gap at all for the reload",
        lambda s: edit(s, run={1: (0, 2, 4), 2: (0, 4, 6)}),
        None,
        {OVER},
    ),
    (
        "contention",
        "nominal duration despite contention",
        lambda s: edit(s, run={0: (0, 0, 10)}),
        None,
        {DUR},
    ),
    (
        "contention",
        "stretched one unit too far",
        lambda s: edit(s, run={1: (1, 0, 21)}),
        None,
        {DUR},
    ),
    ("contention", "stretched duration without contention", lambda s: s, no_contention, {DUR}),
]


@pytest.mark.parametrize(
    ("case_name", "mutate", "change_instance", "expected"),
    [pytest.param(c, m, i, e, id=f"{c}: {what}") for c, what, m, i, e in MUTATIONS],
)
def test_every_mutation_is_caught_with_its_kind(case_name, mutate, change_instance, expected):
    case = VALID_CASES[case_name]()
    schedule = mutate(case.schedule)
    instance = case.instance
    if change_instance is not None:
        instance, schedule = change_instance(case, schedule)
    report = validate(instance, schedule)
    assert report.kinds == {str(kind) for kind in expected}, report.summary()
    assert all(v.message for v in report.violations)
    with pytest.raises(ScheduleError) as raised:
        report.raise_if_invalid()
    assert not isinstance(raised.value, InputError)
    assert raised.value.report is report


def test_every_kind_is_exercised_by_the_table():
    assert {str(k) for _, _, _, _, kinds in MUTATIONS for k in kinds} == {
        str(k) for k in ViolationKind
    }


def test_drops_never_accepts_a_schedule_without_drops():
    case = chain()
    assert validate(case.instance.with_settings(drops="never"), case.schedule).ok


def test_violation_records_job_and_op():
    case = chain()
    report = validate(case.instance, edit(case.schedule, run={2: (1, 8, 11)}))
    (violation,) = report.violations
    assert (violation.kind, violation.job, violation.op) == (ViolationKind.DURATION, 0, 2)
    assert "op 2" in violation.message and "11" in violation.message


def test_messages_are_capped_per_kind_but_all_counted():
    jobs = [JobSpec(0, 0, 100, [OpSpec([2])]) for _ in range(30)]
    inst = build("many", jobs, accelerators=("a",))
    schedule = make(inst, {j: (0, 0, 3) for j in range(30)}, [COMPLETED] * 30)  # all one too long
    report = validate(inst, schedule, max_per_kind=5)
    assert report.counts == {"duration": 30, "overlap": 29}
    assert len(report.violations) == 10
    assert report.total == 59
    assert "duration: 30" in report.summary()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_validator_never_raises_on_garbage(data):
    case = VALID_CASES[data.draw(st.sampled_from(sorted(VALID_CASES)))]()
    n_ops, n_jobs = case.instance.n_ops, case.instance.n_jobs
    ints = st.integers(-3, 25)

    def column(size):
        return np.asarray(data.draw(st.lists(ints, min_size=size, max_size=size)), np.int64)

    schedule = Schedule(
        op_accelerator=column(n_ops),
        op_start=column(n_ops),
        op_end=column(n_ops),
        job_status=column(n_jobs),
        job_variant=column(n_jobs),
        job_drop_time=column(n_jobs),
    )
    report = validate(case.instance, schedule)
    assert report.ok == (report.total == 0)


def well_shaped_schedule(data, instance: Instance) -> Schedule:
    """A schedule that passes the shape check but may break any other rule: each op ran or not
    (accelerator in range, end = start + 0..8) or did not (-1 everywhere); statuses are
    dropped/completed; variants exist for the job's task."""
    n_ops, n_jobs = instance.n_ops, instance.n_jobs
    ran = data.draw(st.lists(st.booleans(), min_size=n_ops, max_size=n_ops))
    accelerator = np.full(n_ops, -1, np.int64)
    start = np.full(n_ops, -1, np.int64)
    end = np.full(n_ops, -1, np.int64)
    for op in np.flatnonzero(ran):
        accelerator[op] = data.draw(st.integers(0, instance.n_accelerators - 1))
        start[op] = data.draw(st.integers(0, 30))
        end[op] = start[op] + data.draw(st.integers(0, 8))
    status = [data.draw(st.sampled_from([DROPPED, COMPLETED])) for _ in range(n_jobs)]
    variant = [
        data.draw(st.integers(0, len(instance.tasks[int(task)].variants) - 1))
        for task in instance.job_task
    ]
    drop_time = data.draw(st.lists(st.integers(0, 30), min_size=n_jobs, max_size=n_jobs))
    return Schedule(
        accelerator,
        start,
        end,
        np.asarray(status, np.int64),
        np.asarray(variant, np.int64),
        np.asarray(drop_time, np.int64),
    )


def test_validator_never_raises_on_well_shaped_schedules():
    # Past the shape check every rule runs: across a fixed-seed run, every kind but shape shows
    # up, and shape never does.
    seen: Counter[str] = Counter()

    @settings(max_examples=200, deadline=None, derandomize=True, database=None)
    @given(st.data())
    def check(data):
        if data.draw(st.booleans()):
            instance = VALID_CASES[data.draw(st.sampled_from(sorted(VALID_CASES)))]().instance
        else:
            instance = random_instance(random.Random(data.draw(st.integers(0, 10**6))))
        report = validate(instance, well_shaped_schedule(data, instance))
        assert report.ok == (report.total == 0)
        assert ViolationKind.SHAPE not in report.kinds, report.summary()
        for kind in report.kinds:
            event(f"violation kind: {kind}")
        seen.update(report.kinds)

    check()
    assert set(seen) == {str(kind) for kind in ViolationKind} - {str(ViolationKind.SHAPE)}, seen


# -- required ops ---------------------------------------------------------------------------------


def test_required_op_mask_matches_instance_required_ops():
    for seed in range(30):
        inst = random_instance(random.Random(seed))
        rng = np.random.default_rng(seed)
        variants = np.array(
            [rng.integers(len(inst.tasks[t].variants)) for t in inst.job_task], np.int64
        )
        mask = required_op_mask(inst, variants)
        for job in range(inst.n_jobs):
            expected = set(inst.required_ops(job, int(variants[job])))
            assert {o for o in inst.ops_of(job) if mask[o]} == expected


# -- random list schedules and generic mutators ---------------------------------------------------


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_list_schedules_are_valid(seed):
    case = random_case(seed)
    report = validate(case.instance, case.schedule)
    assert report.ok, report.summary()


def _mutate_release(case: Case, rng: random.Random) -> Schedule | None:
    ran = case.schedule.executed
    if len(ran) == 0:
        return None
    op = int(rng.choice(list(ran)))
    shift = (
        int(case.schedule.op_start[op] - case.instance.job_release[case.instance.op_job[op]]) + 1
    )
    s = case.schedule
    return edit(
        s,
        run={
            op: (int(s.op_accelerator[op]), int(s.op_start[op]) - shift, int(s.op_end[op]) - shift)
        },
    )


def _mutate_precedence(case: Case, rng: random.Random) -> Schedule | None:
    s, inst = case.schedule, case.instance
    pairs = [
        (o, int(p)) for o in s.executed for p in inst.preds_of(int(o)) if s.op_accelerator[p] >= 0
    ]
    if not pairs:
        return None
    op, pred = rng.choice(pairs)
    shift = int(s.op_start[op] - s.op_end[pred]) + 1
    return edit(
        s,
        run={
            int(op): (
                int(s.op_accelerator[op]),
                int(s.op_start[op]) - shift,
                int(s.op_end[op]) - shift,
            )
        },
    )


def _mutate_eligibility(case: Case, rng: random.Random) -> Schedule | None:
    s, inst = case.schedule, case.instance
    options = [
        (int(o), a)
        for o in s.executed
        for a in range(inst.n_accelerators)
        if inst.op_duration[o, a] < 0
    ]
    if not options:
        return None
    op, acc = rng.choice(options)
    return edit(s, run={op: (acc, int(s.op_start[op]), int(s.op_end[op]))})


def _mutate_overlap(case: Case, rng: random.Random) -> Schedule | None:
    s = case.schedule
    ran = [int(o) for o in s.executed]
    if len(ran) < 2:
        return None
    host, guest = rng.sample(ran, 2)
    length = int(s.op_end[guest] - s.op_start[guest])
    begin = int(s.op_start[host])
    return edit(s, run={guest: (int(s.op_accelerator[host]), begin, begin + length)})


def _mutate_duration(case: Case, rng: random.Random) -> Schedule | None:
    s = case.schedule
    if len(s.executed) == 0:
        return None
    op = int(rng.choice(list(s.executed)))
    delta = rng.choice([-1, 1])
    return edit(
        s, run={op: (int(s.op_accelerator[op]), int(s.op_start[op]), int(s.op_end[op]) + delta)}
    )


def _mutate_missing_op(case: Case, rng: random.Random) -> Schedule | None:
    s, inst = case.schedule, case.instance
    done = [j for j in range(inst.n_jobs) if s.job_status[j] == COMPLETED]
    if not done:
        return None
    job = rng.choice(done)
    return edit(s, unrun=[rng.choice(inst.required_ops(job, int(s.job_variant[job])))])


def _mutate_drop_time(case: Case, rng: random.Random) -> Schedule | None:
    s, inst = case.schedule, case.instance
    jobs = [
        j
        for j in range(inst.n_jobs)
        if s.job_status[j] == DROPPED and any(s.op_accelerator[o] >= 0 for o in inst.ops_of(j))
    ]
    if not jobs:
        return None
    job = rng.choice(jobs)
    # the latest commit: the start, or the start of the context reload before it
    commit = s.op_start.copy()
    if inst.settings.context_switch:
        sequence = AcceleratorSequence.of(s.op_accelerator, s.op_start, s.op_end)
        reloaded = sequence.ops[context_reloads(inst, sequence)]
        commit[reloaded] -= inst.context_reload_time[
            inst.op_context[reloaded], s.op_accelerator[reloaded]
        ]
    latest = max(int(commit[o]) for o in inst.ops_of(job) if s.op_accelerator[o] >= 0)
    return edit(s, drop_time={job: max(latest, int(inst.job_release[job]))})


RANDOM_MUTATORS = {
    "release": (_mutate_release, R),
    "precedence": (_mutate_precedence, PREC),
    "eligibility": (_mutate_eligibility, ELIG),
    "overlap": (_mutate_overlap, OVER),
    "duration": (_mutate_duration, DUR),
    "missing op": (_mutate_missing_op, DROP),
    "op after drop": (_mutate_drop_time, DROP),
}


@pytest.mark.parametrize("mutator", sorted(RANDOM_MUTATORS))
def test_random_mutations_are_caught(mutator):
    mutate, kind = RANDOM_MUTATORS[mutator]
    applied = 0
    for seed in RANDOM_SEEDS:
        case = random_case(seed)
        mutated = mutate(case, random.Random(1000 + seed))
        if mutated is None:
            continue
        applied += 1
        report = validate(case.instance, mutated)
        assert str(kind) in report.kinds, f"seed {seed}: {report.summary()}"
    assert applied >= 10  # the generator gives every mutator enough material


def test_random_drops_never_is_caught():
    caught = 0
    for seed in RANDOM_SEEDS:
        case = random_case(seed)
        if np.any(case.schedule.job_status == DROPPED):
            report = validate(case.instance.with_settings(drops="never"), case.schedule)
            assert report.kinds == {"drop"}, report.summary()
            caught += 1
    assert caught >= 10


# -- contention -----------------------------------------------------------------------------------


def contention_instance(specs, bandwidth, accelerators=3):
    """One single-op job per (duration, dram_bytes) spec, eligible on every accelerator."""
    jobs = [
        JobSpec(
            0, 0, 10_000, [OpSpec([duration] * accelerators, dram_bytes=[volume] * accelerators)]
        )
        for duration, volume in specs
    ]
    return build(
        "bw",
        jobs,
        accelerators=tuple(f"a{i}" for i in range(accelerators)),
        settings=Settings(contention=True, dram_bandwidth=bandwidth),
    )


def ends_of(instance, starts):
    n = instance.n_ops
    return stretched_ends(
        instance, np.arange(n) % instance.n_accelerators, np.asarray(starts)
    ).tolist()


def test_two_ops_at_twice_the_bandwidth_both_stretch_by_two():
    # Each demands 100/10 = 10 = the bandwidth: total 2x, each runs at 1/2 speed: 10 -> 20.
    inst = contention_instance([(10, 100), (10, 100)], bandwidth=10.0)
    assert ends_of(inst, [0, 0]) == [20, 20]


def test_unequal_demands_share_in_proportion():
    # Demands 3 and 1 against bandwidth 2: each op gets half its demand, so both run at 1/2 speed.
    inst = contention_instance([(10, 30), (10, 10)], bandwidth=2.0)
    assert ends_of(inst, [0, 0]) == [20, 20]


def test_op_starting_halfway_through_another():
    # A alone 0..5 (half done). Then both at 1/2 speed: A's other half takes 10 -> ends 15; B has
    # done 5 of 10 by then, and finishes alone at full speed -> ends 20.
    inst = contention_instance([(10, 100), (10, 100)], bandwidth=10.0)
    assert ends_of(inst, [0, 5]) == [15, 20]


def test_no_contention_below_the_bandwidth():
    # Demands 4 + 5 = 9 <= 10: nominal durations.
    inst = contention_instance([(10, 40), (8, 40)], bandwidth=10.0)
    assert ends_of(inst, [0, 3]) == [10, 11]


def test_ops_without_dram_traffic_are_not_slowed():
    # A demands 20 against 10 (rate 1/2: 10 -> 20); B moves no bytes and keeps its speed.
    inst = contention_instance([(10, 200), (10, 0)], bandwidth=10.0)
    assert ends_of(inst, [0, 0]) == [20, 10]


def test_fractional_end_rounds_up():
    # Demand 4 against 3: rate 3/4, exact end 40/3 = 13.33 -> 14.
    inst = contention_instance([(10, 40)], bandwidth=3.0)
    assert ends_of(inst, [0]) == [14]


def test_integer_end_is_not_pushed_by_float_noise():
    # Three ops, demand 1 each, bandwidth 1: rate exactly 1/3 in theory; exact ends 30.
    inst = contention_instance([(10, 10)] * 3, bandwidth=1.0)
    assert ends_of(inst, [0, 0, 0]) == [30, 30, 30]


def test_without_contention_setting_ends_are_nominal():
    inst = contention_instance([(10, 100), (10, 100)], bandwidth=10.0).with_settings(
        contention=False
    )
    assert ends_of(inst, [0, 0]) == [10, 10]


def exact_ends(durations, volumes, starts, bandwidth) -> list[int]:
    """Independent reference: the same fluid model in exact rational arithmetic."""
    bw = Fraction(bandwidth)
    remaining = {i: Fraction(d) for i, d in enumerate(durations)}
    demand = {i: Fraction(v, d) for i, (d, v) in enumerate(zip(durations, volumes, strict=True))}
    pending = sorted(range(len(durations)), key=lambda i: (starts[i], i))
    running: set[int] = set()
    now = Fraction(0)
    result: dict[int, Fraction] = {}
    while pending or running:
        total = sum((demand[i] for i in running), Fraction(0))
        factor = Fraction(1) if total <= bw else bw / total
        rate = {i: (factor if demand[i] > 0 else Fraction(1)) for i in running}
        next_end = min((now + remaining[i] / rate[i] for i in running), default=None)
        next_start = Fraction(starts[pending[0]]) if pending else None
        step_to = (
            next_end
            if next_start is None or (next_end is not None and next_end <= next_start)
            else next_start
        )
        for i in running:
            remaining[i] -= rate[i] * (step_to - now)
        now = step_to
        for i in [i for i in running if remaining[i] == 0]:
            running.remove(i)
            result[i] = now
        while pending and starts[pending[0]] == now:
            running.add(pending.pop(0))
    return [max(starts[i] + durations[i], math.ceil(result[i])) for i in range(len(durations))]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 40), st.integers(0, 400), st.integers(0, 60)),
        min_size=1,
        max_size=7,
    ),
    st.integers(1, 40),
)
def test_stretched_ends_match_an_exact_rational_simulation(ops, bandwidth):
    durations, volumes, starts = (list(column) for column in zip(*ops, strict=True))
    inst = contention_instance(
        list(zip(durations, volumes, strict=True)), bandwidth=float(bandwidth), accelerators=1
    )
    got = stretched_ends(inst, np.zeros(len(ops), np.int64), np.asarray(starts)).tolist()
    assert got == exact_ends(durations, volumes, starts, bandwidth)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 30), st.integers(0, 300), st.integers(0, 50)),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.integers(0, 80), max_size=6),
)
def test_incremental_use_gives_the_batch_result(ops, probes):
    """An engine starting ops in time order, probing in between, sees the same ends."""
    durations, volumes, starts = (list(column) for column in zip(*ops, strict=True))
    inst = contention_instance(
        list(zip(durations, volumes, strict=True)), bandwidth=7.0, accelerators=1
    )
    batch = stretched_ends(inst, np.zeros(len(ops), np.int64), np.asarray(starts)).tolist()
    share = BandwidthShare(7.0)
    ends: dict[int, int] = {}
    events = sorted([(s, 1, i) for i, s in enumerate(starts)] + [(p, 0, -1) for p in probes])
    for at, is_start, op in events:
        ends.update(share.finish_until(at))
        if is_start:
            share.start(op, at, durations[op], volumes[op])
    ends.update(share.finish_all())
    assert [ends[i] for i in range(len(ops))] == batch


def test_bandwidth_share_rejects_misuse():
    share = BandwidthShare(5.0)
    share.start(0, 10, 4, 0)
    with pytest.raises(ValueError, match="before the last event"):
        share.start(1, 5, 4, 0)
    with pytest.raises(ValueError, match="finish_until"):
        share.start(1, 20, 4, 0)
    with pytest.raises(ValueError):
        BandwidthShare(0.0)


# -- scaling -------------------------------------------------------------------------------------


def serial_instance(n_jobs: int, ops_per_job: int) -> tuple[Instance, Schedule]:
    """Chains on two accelerators, jobs alternating (even jobs on npu0, where an op takes 2,
    odd jobs on npu1, where it takes 3), each accelerator's ops back to back in job order: a
    large valid schedule."""
    jobs = [
        JobSpec(
            0, 0, 10**12, [OpSpec([2, 3], preds=[k - 1] if k else []) for k in range(ops_per_job)]
        )
        for _ in range(n_jobs)
    ]
    inst = build("large", jobs)
    job = inst.op_job
    acc = (job % 2).astype(np.int64)
    duration = np.where(acc == 0, 2, 3)
    # Position of the op on its accelerator: the jobs before it there, then its place in the job.
    position = (job // 2) * ops_per_job + np.arange(inst.n_ops) - job * ops_per_job
    start = position * duration
    schedule = Schedule(
        acc,
        start,
        start + duration,
        np.ones(n_jobs, np.int64),
        np.zeros(n_jobs, np.int64),
        np.zeros(n_jobs, np.int64),
    )
    return inst, schedule


def test_serial_instance_is_what_its_docstring_says():
    inst, schedule = serial_instance(4, 3)
    assert inst.n_accelerators == 2
    assert schedule.op_accelerator.tolist() == [0] * 3 + [1] * 3 + [0] * 3 + [1] * 3
    assert schedule.op_start.tolist() == [0, 2, 4, 0, 3, 6, 6, 8, 10, 9, 12, 15]
    assert (schedule.op_end - schedule.op_start).tolist() == [2] * 3 + [3] * 3 + [2] * 3 + [3] * 3


def python_work(fn: Callable[[], object]) -> dict[str, int]:
    """How many Python-level calls and executed lines (``sys.settrace``), and calls of C
    functions from Python (``sys.setprofile``), ``fn()`` makes. Work done inside numpy's C loops
    is not seen: a count that does not grow with the input proves the Python side is O(1)."""
    counts = {"call": 0, "line": 0, "c_call": 0}

    def tracer(frame, event, arg):
        if event in counts:
            counts[event] += 1
        return tracer

    def profiler(frame, event, arg):
        if event == "c_call":
            counts["c_call"] += 1

    previous_trace, previous_profile = sys.gettrace(), sys.getprofile()
    sys.settrace(tracer)
    sys.setprofile(profiler)
    try:
        fn()
    finally:
        sys.settrace(previous_trace)
        sys.setprofile(previous_profile)
    return counts


def test_validation_does_python_work_independent_of_the_op_count():
    # Validation is vectorised: validating 20k ops runs the same Python lines and calls as
    # validating 2k (timings: benchmarks/bench_validator.py).
    small, large = serial_instance(500, 4), serial_instance(5_000, 4)
    assert validate(*small).ok and validate(*large).ok
    work = python_work(lambda: validate(*small))
    assert work["line"] > 0 and work["call"] > 0
    assert python_work(lambda: validate(*large)) == work


@pytest.mark.slow
def test_validation_does_python_work_independent_of_the_op_count_at_200k_ops():
    small, large = serial_instance(500, 4), serial_instance(50_000, 4)
    assert validate(*large).ok
    assert python_work(lambda: validate(*large)) == python_work(lambda: validate(*small))
