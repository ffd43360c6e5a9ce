"""The compiled core (rtmm_opt/engine/core.py, native.c): PREMA, Planaria, SDRM3 and the Dysta
key replayed whole in C under compat dysta give exactly the schedule of calling their
``decide`` at every layer boundary (the pure-Python reference, ``replay_stepped``), and the
core steps aside wherever it would not describe the replay.

The truth is the stepped Python replay, on instances made to hit the formulas' edges: random
chains with priorities 1/3/9 (PREMA's three thresholds), arrivals inside layers and clock
rewinds, equal remaining work and equal scores (ties), deadlines passed and deadlines met
exactly at a boundary (SDRM3's capped urgency, Planaria's infinite score and its negative
running maximum), measured and mean sparsities with NaNs and means of 1 (Dysta's γ), and Dysta
imports drawn at several rates on both architectures. Each test
also checks that the core ran: a comparison of the reference with itself could not fail.
"""

import csv
import math
import os
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from support import (
    DYSTA,
    ROOT,
    XRBENCH,
    assert_same_schedule,
    needs_dysta,
    needs_xrbench,
    replay_stepped,
)

from rtmm_opt.engine import Engine, replay
from rtmm_opt.engine import core as core_module
from rtmm_opt.engine.core import JobPickRule, compiled
from rtmm_opt.instance import Settings, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.dysta import build_dysta_instance, generate_requests, read_tables
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedulers import make_scheduler
from rtmm_opt.schedulers.prema import Prema

RULES = [
    ("prema", {}),
    ("planaria", {}),
    ("sdrm3", {}),
    ("sdrm3", {"alpha": 0.0}),
    ("sdrm3", {"alpha": 2.5}),
    ("dysta", {}),
    ("dysta", {"use_gamma": False, "beta": 0.5}),
    ("dysta", {"time_scale": 1.0, "beta": 2.0}),
    ("dysta_naive", {}),
    ("dysta_oracle", {}),
]
DYSTA_COMPAT = Settings(drops="never", compat="dysta")

needs_core = pytest.mark.skipif(
    compiled() is None, reason="the compiled core is not built or RTMM_PURE_PYTHON is set"
)


@pytest.mark.skipif(not os.environ.get("CI"), reason="only CI promises a C compiler")
def test_the_install_built_the_core_under_ci():
    """The README's install command builds the core on the machines CI runs on (setup.py); a
    silent fallback to pure Python would only show as lost speed."""
    if os.environ.get(core_module.PURE_PYTHON_VARIABLE, "") not in ("", "0"):
        pytest.skip("RTMM_PURE_PYTHON is set: the pure-Python run of the suite")
    assert compiled() is not None


@pytest.fixture
def core_runs(monkeypatch):
    """Counts the replays that the core took (Engine.run_compiled answering True)."""
    taken = []
    original = Engine.run_compiled

    def counting(engine, rule):
        ran = original(engine, rule)
        taken.append(ran)
        return ran

    monkeypatch.setattr(Engine, "run_compiled", counting)
    return taken


def prioritised_chains(seed: int, *, scale: int = 1) -> Instance:
    """Up to 14 chains of three tasks (priorities 1, 3, 9) with close releases, layers of equal
    lengths (ties of remaining work and of scores), deadlines from already tight to loose, and
    estimates off the realised durations; times times ``scale``."""
    rng = random.Random(seed)
    tasks = [TaskInfo(f"t{p}", "m", priority=p) for p in (1, 3, 9)]
    jobs, release = [], 0
    for _ in range(rng.randint(2, 14)):
        release += rng.choice([0, 0, 1, 2, 5, 20])
        layers = [rng.choice([1, 2, 2, 4, 7]) for _ in range(rng.randint(1, 10))]
        deadline = release + rng.choice([1, 3, 8, 15, 30, 90])
        ops = [
            OpSpec(
                [d * scale],
                predicted=[max(1, d + rng.choice([-1, 0, 0, 2])) * scale],
                preds=[i - 1] if i else [],
                # Dysta's gamma: measured against mean sparsity; NaN and a mean of 1 add no term
                sparsity=rng.choice([0.2, 0.5, 0.9, math.nan]),
                sparsity_mean=rng.choice([0.3, 0.5, 0.5, 1.0, math.nan]),
            )
            for i, d in enumerate(layers)
        ]
        jobs.append(JobSpec(rng.randrange(3), release * scale, deadline * scale, ops))
    return assemble("chains", accelerators=["acc"], tasks=tasks, jobs=jobs, settings=DYSTA_COMPAT)


def assert_core_matches_stepping(instance, taken, rules=RULES):
    for name, params in rules:
        before = len(taken)
        fast = replay(instance, make_scheduler(name, params))
        assert taken[before:] == [True], (name, params)
        assert_same_schedule(fast, replay_stepped(instance, make_scheduler(name, params)))


@needs_core
@pytest.mark.parametrize("seed", range(80))
def test_the_core_replays_random_chains_like_stepping(seed, core_runs):
    assert_core_matches_stepping(prioritised_chains(seed, scale=1 + seed % 3 * 1000), core_runs)


@needs_dysta
@needs_core
@pytest.mark.parametrize("architecture", ["eyerissv2", "sanger"])
def test_the_core_replays_dysta_imports_like_stepping(architecture, core_runs):
    tables = read_tables(DYSTA / "latency_tables" / architecture)
    scale = 20 if architecture == "sanger" else 1  # Sanger's layers are ~20x shorter
    for seed, rate in enumerate((2.0, 6.0, 15.0)):
        requests = generate_requests(tables, rate=rate * scale, count=60, seed=seed, slo_mult=2)
        instance = build_dysta_instance(tables, requests)
        assert_core_matches_stepping(instance, core_runs)
        # PREMA, SDRM3 and Dysta-naive reading the per-pattern estimates, Dysta op_predicted
        for name in ("prema", "sdrm3", "dysta_naive"):
            for estimates in ("pattern", "predicted"):
                params = {"estimates": estimates}
                fast = replay(instance, make_scheduler(name, params))
                assert core_runs[-1] is True
                assert_same_schedule(fast, replay_stepped(instance, make_scheduler(name, params)))


DYSTA_KEYS = [(name, params) for name, params in RULES if name.startswith("dysta")]


def random_dags(seed: int) -> Instance:
    """Up to 10 jobs of three tasks on one to three accelerators, for the core's event loop:
    each job a DAG of up to 6 ops (several ready at once), some ops ineligible on some
    accelerators, estimates off the durations (some far below), energies, sparsities (with
    NaNs and means of 1), releases in or out of index order, and a task cascaded on another,
    its jobs released by one or two upstream jobs (possibly before their own release)."""
    rng = random.Random(seed)
    n_acc = rng.choice([1, 2, 2, 3])
    tasks = [
        TaskInfo("a", "m", priority=1),
        TaskInfo("b", "m", priority=3, depends_on=("a",)),
        TaskInfo("c", "m", priority=9),
    ]
    jobs: list[JobSpec] = []
    a_jobs: list[int] = []
    release = 0
    for _ in range(rng.randint(1, 10)):
        # releases out of index order half the time (the queue's order is the release order)
        release = release + rng.choice([0, 0, 1, 3, 8]) if seed % 2 else rng.randint(0, 25)
        task = rng.choice([0, 2]) if not a_jobs else rng.choice([0, 1, 2])
        ops = []
        for k in range(rng.randint(1, 6)):
            durations = [
                rng.choice([1, 2, 3, 5]) if rng.random() < 0.75 else -1 for _ in range(n_acc)
            ]
            if all(d < 0 for d in durations):
                durations[rng.randrange(n_acc)] = rng.choice([2, 4])
            # estimates off the durations, some far below (ops that overrun their estimate)
            predicted = [
                d if d < 0 else max(1, d + rng.choice([-3, -1, 0, 0, 1])) for d in durations
            ]
            preds = [p for p in range(k) if rng.random() < 0.5]
            energies = [rng.randint(0, 50) if d >= 0 else -1 for d in durations]
            ops.append(
                OpSpec(
                    durations, energies=energies, predicted=predicted, preds=preds,
                    sparsity=rng.choice([0.1, 0.4, 0.8, math.nan]),
                    sparsity_mean=rng.choice([0.3, 0.5, 1.0, math.nan]),
                )
            )  # fmt: skip
        upstream = sorted(set(rng.sample(a_jobs, min(len(a_jobs), rng.choice([1, 2])))))
        jobs.append(
            JobSpec(
                task, release, release + rng.choice([2, 6, 15, 40]), ops,
                upstream=upstream if task == 1 else [],
            )
        )  # fmt: skip
        if task == 0:
            a_jobs.append(len(jobs) - 1)
    accelerators = [f"acc{i}" for i in range(n_acc)]
    return assemble("dags", accelerators=accelerators, tasks=tasks, jobs=jobs)


@needs_core
@pytest.mark.parametrize("seed", range(120))
def test_the_core_replays_the_event_loop_like_stepping(seed, core_runs):
    assert_core_matches_stepping(random_dags(seed), core_runs, DYSTA_KEYS)


@needs_core
@pytest.mark.parametrize(
    ("workload", "system"),
    [
        ("VR_gaming", "xrb4k-J"),
        ("VR_gaming", "xrb4k-M"),
        ("VR_gaming", "hetero-2s2e"),
        ("instances/multitenant/heavy.yaml", "hetero-2s2e"),
    ],
)
def test_the_core_replays_scenarios_like_stepping(workload, system, core_runs):
    instance = load_workload(
        ROOT / workload if "/" in workload else workload, system=system, granularity="layer",
        duration_ns=150_000_000,
    )  # fmt: skip
    assert_core_matches_stepping(instance, core_runs, DYSTA_KEYS)


@needs_core
def test_a_hand_computed_dysta_replay_on_two_accelerators(core_runs):
    """Job 0: ops 0 and 1 both ready at release 0 (a DAG), 4 long on either accelerator; job 1
    (released at 1) one op of 2, only on acc1. t=0: two idle accelerators, only job 0 ready:
    op 0 takes acc0 and op 1 acc1 (the ready order, the first idle of equal estimates). t=1:
    nothing idle. t=4: both end, job 0 done; job 1's op runs 4..6 on acc1."""
    tasks = [TaskInfo("t", "m")]
    jobs = [
        JobSpec(0, 0, 50, [OpSpec([4, 4]), OpSpec([4, 4])]),
        JobSpec(0, 1, 50, [OpSpec([-1, 2])]),
    ]
    instance = assemble("hand", accelerators=["acc0", "acc1"], tasks=tasks, jobs=jobs)
    schedule = replay(instance, make_scheduler("dysta"))
    assert core_runs == [True]
    assert schedule.op_accelerator.tolist() == [0, 1, 1]
    assert schedule.op_start.tolist() == [0, 0, 4] and schedule.op_end.tolist() == [4, 4, 6]
    # decision points: t=0 (both idle), t=4 (both idle again; t=1 has none idle)
    assert schedule.info == {"decisions": 2, "dispatches": 3}


@needs_core
def test_cascaded_jobs_join_the_queue_in_the_order_of_their_upstreams_ends(core_runs):
    """Jobs 0 and 1 (task a) run 0..4 on acc0 and acc1; at 4 they complete in that order and
    release jobs 2 and 3 (task b, cascaded, released at 4 and 2: both due, so both join the
    queue as their upstream ends: 2 first). Their keys are equal, so job 2 takes acc0."""
    tasks = [TaskInfo("a", "m"), TaskInfo("b", "m", depends_on=("a",))]
    jobs = [
        JobSpec(0, 0, 60, [OpSpec([4, 4])]),
        JobSpec(0, 0, 60, [OpSpec([4, 4])]),
        JobSpec(1, 4, 60, [OpSpec([3, 3])], upstream=[0]),
        JobSpec(1, 2, 60, [OpSpec([3, 3])], upstream=[1]),
    ]
    instance = assemble("cascade", accelerators=["acc0", "acc1"], tasks=tasks, jobs=jobs)
    schedule = replay(instance, make_scheduler("dysta"))
    assert core_runs == [True]
    assert schedule.op_accelerator.tolist() == [0, 1, 0, 1]
    assert schedule.op_start.tolist() == [0, 0, 4, 4]
    assert_same_schedule(schedule, replay_stepped(instance, make_scheduler("dysta")))


# -- FCFS and EDF -----------------------------------------------------------------------------------
HEAP_POLICIES = [("fcfs", {}), ("edf", {})]


@needs_core
@pytest.mark.parametrize("seed", range(100))
def test_the_core_replays_fcfs_and_edf_like_stepping(seed, core_runs):
    """Against the policies' decide at every decision point, and against their index rules in
    Python (the engine's own ready queue)."""
    instance = random_dags(seed)
    assert_core_matches_stepping(instance, core_runs, HEAP_POLICIES)
    for name, params in HEAP_POLICIES:
        policy = make_scheduler(name, params)
        engine = Engine(instance, policy_name=policy.name)
        policy.reset(engine.static)
        engine.run_index(policy.index_rule())
        assert_same_schedule(replay(instance, make_scheduler(name, params)), engine.schedule())


@needs_core
def test_fcfs_and_edf_in_the_core_on_scenarios(core_runs):
    for system in ("xrb4k-J", "hetero-2s2e"):
        instance = load_workload("VR_gaming", system=system, granularity="layer",
                                 duration_ns=300_000_000)  # fmt: skip
        assert_core_matches_stepping(instance, core_runs, HEAP_POLICIES)


def test_other_heap_policies_keep_their_index_rules():
    instance = random_dags(3)
    for name, params in [("edf", {"drop_expired": True}), ("fcfs", {"accelerator": "first_idle"}),
                         ("edf", {"accelerator": "lowest_energy"})]:  # fmt: skip
        policy = make_scheduler(name, params)
        policy.reset(Engine(instance).static)
        assert policy.compiled_rule() is None


# -- DREAM ------------------------------------------------------------------------------------------
DREAM_PARAMS = [
    {},
    {"lam": 2.0, "window_ms": 1e-5, "step": 2.0},  # windows of 10 time units: many adaptations
    {"lam": 0.0, "proactive_drop": False, "alpha": 0.0, "beta": 0.0},  # ties everywhere
    {"lam": 1.0, "adapt": False, "epsilon_ms": 1e-3},
]


def assert_dream_matches_stepping(instance, taken, params):
    """The schedules, and the weight tuner's read-outs (every window, the weights, whether it
    converged), as stepping leaves them."""
    before = len(taken)
    fast_policy, slow_policy = make_scheduler("dream", params), make_scheduler("dream", params)
    fast = replay(instance, fast_policy)
    assert taken[before:] == [True], params
    assert_same_schedule(fast, replay_stepped(instance, slow_policy))
    assert fast_policy.history == slow_policy.history
    assert fast_policy.weights == slow_policy.weights
    assert fast_policy.converged == slow_policy.converged
    return fast, fast_policy


@needs_core
@pytest.mark.parametrize("seed", range(100))
def test_the_core_replays_dream_like_stepping(seed, core_runs):
    instance = random_dags(seed)
    for params in DREAM_PARAMS:
        assert_dream_matches_stepping(instance, core_runs, params)


@needs_core
def test_the_random_dream_instances_drop_and_adapt(core_runs):
    """The comparisons above reach DREAM's proactive drops and its tuner's adaptation."""
    dropped = adapted = 0
    for seed in range(100):
        schedule, policy = assert_dream_matches_stepping(random_dags(seed), core_runs,
                                                         DREAM_PARAMS[1])  # fmt: skip
        dropped += int((schedule.job_status != 0).sum())
        adapted += sum(window.phase != "fixed" for window in policy.history)
    assert dropped > 0 and adapted > 0


@needs_core
@pytest.mark.parametrize(
    ("workload", "system", "cost"),
    [
        ("VR_gaming", "xrb4k-J", "table:xrbench"),
        ("VR_gaming", "xrb4k-M", "table:xrbench"),
        ("instances/multitenant/heavy.yaml", "hetero-2s2e", None),
    ],
)
def test_the_core_replays_dream_on_scenarios_like_stepping(workload, system, cost, core_runs):
    instance = load_workload(
        ROOT / workload if "/" in workload else workload, system=system, granularity="layer",
        duration_ns=400_000_000, **({"cost": cost} if cost else {}),
    )  # fmt: skip
    for params in ({}, {"window_ms": 20.0, "lam": 2.0}):
        assert_dream_matches_stepping(instance, core_runs, params)


@needs_core
def test_dream_steps_aside_for_variants_and_other_exponents(core_runs):
    ar = load_workload(ROOT / "instances/examples/ar_headset.yaml", system="hetero-2s2e",
                       granularity="layer", duration_ns=100_000_000)  # fmt: skip
    assert_same_schedule(
        replay(ar, make_scheduler("dream")), replay_stepped(ar, make_scheduler("dream"))
    )
    assert core_runs == [False]  # the AR example's gaze task has two variants
    policy = make_scheduler("dream", {"lam": 0.3})  # numpy's power may not be C's pow
    policy.reset(Engine(ar).static)
    assert policy.compiled_rule() is None


@needs_core
def test_an_error_in_the_weight_tuner_reaches_the_caller(monkeypatch):
    from rtmm_opt.schedulers.dream_tuning import WeightTuner

    def broken(self, now):
        raise RuntimeError("tuner failed")

    monkeypatch.setattr(WeightTuner, "observe", broken)
    with pytest.raises(RuntimeError, match="tuner failed"):
        replay(random_dags(4), make_scheduler("dream", {"window_ms": 1e-5}))


# -- the XRBench harness replay ------------------------------------------------------------------
XRB_COSTS = "table:xrbench"


def assert_harness_matches_stepping(instance, taken, params=None):
    before = len(taken)
    fast = replay(instance, make_scheduler("xrbench", params))
    assert taken[before:] == [True]
    assert_same_schedule(fast, replay_stepped(instance, make_scheduler("xrbench", params)))
    return fast


@needs_xrbench
@needs_core
@pytest.mark.parametrize("scenario", sorted((XRBENCH / "scenarios").glob("*.m")), ids=str)
def test_the_core_replays_the_xrbench_harness_like_stepping(scenario, core_runs):
    """Every XRBench scenario on one, two (big.LITTLE) and four accelerators, whole models,
    with a seed for the probabilistic triggers."""
    for system in ("xrb-Single_4K-WS", "xrb-Dual_4K_BigLittle-WS_OS", "xrb-Quad_4K-WS_OS_WS_OS"):
        instance = load_workload(scenario, system=system, cost=XRB_COSTS, granularity="model",
                                 duration_ns=300_000_000, seed=3)  # fmt: skip
        assert_harness_matches_stepping(instance, core_runs)


@needs_xrbench
@pytest.mark.slow
@needs_core
def test_the_core_replays_every_xrbench_reference_run_like_stepping(core_runs):
    for run in csv.DictReader((XRBENCH / "reference" / "runs.csv").open()):
        instance = load_workload(
            XRBENCH / "scenarios" / f"{run['scenario']}.m", cost=XRB_COSTS, granularity="model",
            system=f"xrb-{run['hw_config']}-{run['dataflow']}", duration_ns=700_000_000,
        )  # fmt: skip
        assert_harness_matches_stepping(instance, core_runs)


@needs_xrbench
@needs_core
@pytest.mark.parametrize("granularity", ["block:4", "layer"])
def test_the_core_runs_a_served_models_layers_back_to_back_like_stepping(granularity, core_runs):
    instance = load_workload(XRBENCH / "scenarios" / "VR_gaming.m", cost=XRB_COSTS,
                             system="xrb-Dual_4K_BigLittle-WS_OS", granularity=granularity,
                             duration_ns=200_000_000)  # fmt: skip
    assert_harness_matches_stepping(instance, core_runs)


def harness_instance(seed: int) -> Instance:
    """Periodic tasks under compat xrbench on one to three accelerators: a camera-rate task, a
    task cascaded on it (its frames released when their upstream frame ends), a slower one;
    models of one to three layers, some not runnable whole on every accelerator; deadlines from
    tight (frames dropped, cascades dropped with them) to loose; drops allowed or never."""
    rng = random.Random(seed)
    n_acc = rng.choice([1, 2, 3])
    periods = [rng.choice([10, 16, 20]), 0, rng.choice([25, 33, 50])]
    periods[1] = periods[0]
    tasks = [
        TaskInfo("camera", "m0", period=periods[0]),
        TaskInfo("after", "m1", period=periods[1], depends_on=("camera",)),
        TaskInfo("slow", "m2", period=periods[2]),
    ]
    shapes = []
    for _ in tasks:
        layers = []
        for _ in range(rng.randint(1, 3)):
            row = [rng.choice([2, 4, 7, 12]) if rng.random() < 0.8 else -1 for _ in range(n_acc)]
            if all(d < 0 for d in row):
                row[0] = 5
            layers.append(row)
        if all(any(layer[a] < 0 for layer in layers) for a in range(n_acc)):
            layers = [[abs(d) for d in layer] for layer in layers]  # runnable whole somewhere
        shapes.append(layers)
    jobs: list[JobSpec] = []
    camera_jobs: list[int] = []  # per frame, the camera's job
    for task, period in enumerate(periods):
        for frame, release in enumerate(range(0, 120, period)):
            slack = rng.choice([3, 8, period, 2 * period])
            ops = [OpSpec(row, preds=[i - 1] if i else []) for i, row in enumerate(shapes[task])]
            upstream = [camera_jobs[frame]] if task == 1 else []
            jobs.append(JobSpec(task, release, release + slack, ops, frame=frame,
                                upstream=upstream))  # fmt: skip
            if task == 0:
                camera_jobs.append(len(jobs) - 1)
    settings = Settings(drops=rng.choice(["allowed", "allowed", "never"]), compat="xrbench")
    accelerators = [f"acc{i}" for i in range(n_acc)]
    return assemble("harness", accelerators=accelerators, tasks=tasks, jobs=jobs,
                    settings=settings, time_unit_ns=100_000)  # fmt: skip


@needs_core
def test_the_core_replays_the_harness_on_random_periodic_tasks_like_stepping(core_runs):
    dropped = 0
    for seed in range(60):
        schedule = assert_harness_matches_stepping(harness_instance(seed), core_runs)
        dropped += int((schedule.job_status != 0).sum())
    assert dropped > 0  # the drop paths ran


@needs_core
def test_replays_in_threads_give_the_serial_schedules(core_runs):
    """The core runs without the GIL (its growing blocks are raw allocations): replays of the
    three loops in four threads at once give what they give one after another."""
    cases = [
        (harness_instance(7), "xrbench"),
        (random_dags(11), "dysta"),
        (prioritised_chains(13), "sdrm3"),
        (harness_instance(21), "xrbench"),
    ]
    serial = [replay(instance, make_scheduler(name)) for instance, name in cases * 3]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda case: replay(case[0], make_scheduler(case[1])), cases * 3))
    for one, other in zip(serial, threaded, strict=True):
        assert_same_schedule(one, other)
    assert all(core_runs) and len(core_runs) == 24


@needs_core
def test_the_clean_xrbench_policy_has_no_rule():
    instance = harness_instance(1)
    policy = make_scheduler("xrbench", {"compat": "none"})
    policy.reset(Engine(instance).static)
    assert policy.compiled_rule() is None


@needs_core
def test_a_hand_computed_prema_replay():
    """Two jobs on one accelerator. Job 0 (priority 1) is released at 0 with layers 4 and 4,
    job 1 (priority 9) at 1 with one layer of 2; estimates equal durations. t=0: job 0 alone
    runs its first layer. t=4: job 1 arrived (1 < 4): its token is set to 9 (fresh, not in M),
    job 0's grows by 1 * 0 / 8 to 1: M = 1, θ = 1, both candidates; job 1 has less work left
    (2 < 4) and runs 4..6; job 0's last layer runs 6..10."""
    tasks = [TaskInfo("low", "m", priority=1), TaskInfo("high", "m", priority=9)]
    jobs = [
        JobSpec(0, 0, 100, [OpSpec([4]), OpSpec([4], preds=[0])]),
        JobSpec(1, 1, 100, [OpSpec([2])]),
    ]
    instance = assemble("hand", accelerators=["acc"], tasks=tasks, jobs=jobs,
                        settings=DYSTA_COMPAT)  # fmt: skip
    schedule = replay(instance, make_scheduler("prema"))
    assert schedule.op_start.tolist() == [0, 6, 4]
    assert schedule.op_end.tolist() == [4, 10, 6]
    assert schedule.info == {"decisions": 3, "dispatches": 3}


@needs_core
def test_the_core_keeps_the_clock_rewind_of_the_dysta_loop(core_runs):
    """The queue empties at t=10 (job 0 done); job 1, released at 3, is admitted alone and
    the clock goes back to 3: its layer runs 3..5, overlapping job 0's (the quirk)."""
    jobs = [JobSpec(0, 0, 50, [OpSpec([10])]), JobSpec(0, 3, 50, [OpSpec([2])])]
    instance = assemble("rewind", accelerators=["acc"], tasks=[TaskInfo("t", "m")], jobs=jobs,
                        settings=DYSTA_COMPAT)  # fmt: skip
    for name in ("prema", "planaria", "sdrm3", "dysta", "dysta_oracle"):
        schedule = replay(instance, make_scheduler(name))
        assert schedule.op_start.tolist() == [0, 3] and schedule.op_end.tolist() == [10, 5]
    assert core_runs == [True] * 5


def test_the_core_steps_aside_where_it_does_not_describe_the_replay(monkeypatch, core_runs):
    instance = prioritised_chains(5)
    # not under compat dysta: the policy decides on the event loop
    plain = assemble("plain", accelerators=["acc"], tasks=[TaskInfo("t", "m")],
                     jobs=[JobSpec(0, 0, 9, [OpSpec([2]), OpSpec([3], preds=[0])])])  # fmt: skip
    replay(plain, make_scheduler("prema"))
    assert core_runs == [False]

    # a subclass may change the formula: no rule
    class Tweaked(Prema):
        pass

    policy = Tweaked()
    policy.reset(Engine(instance).static)
    assert policy.compiled_rule() is None
    # Dysta's reference sums add floats left to right: not in the core
    policy = make_scheduler("dysta", {"reference_sums": True})
    policy.reset(Engine(instance).static)
    assert policy.compiled_rule() is None
    # times too large for exact doubles
    huge = make_scheduler("prema")
    huge.reset(Engine(instance).static)
    rule = huge.compiled_rule()
    assert rule is not None
    engine = Engine(instance)
    big = JobPickRule("prema", rule.per_op, [2**52] * instance.n_jobs, rule.deadline)
    assert not engine.run_compiled(big)
    # variants and early exits (the AR example): not in the core's event loop
    ar = load_workload(ROOT / "instances/examples/ar_headset.yaml", system="hetero-2s2e",
                       granularity="layer", duration_ns=100_000_000)  # fmt: skip
    before = len(core_runs)
    assert_same_schedule(
        replay(ar, make_scheduler("dysta")), replay_stepped(ar, make_scheduler("dysta"))
    )
    assert core_runs[before:] == [False]
    # another accelerator rule: not either (contention and context switches are not offered
    # to the core at all, as for index rules: Engine.takes_index_rules)
    policy = make_scheduler("dysta", {"accelerator": "lowest_energy"})
    policy.reset(Engine(plain).static)
    assert not Engine(plain).run_compiled(policy.compiled_rule())
    # switched off
    monkeypatch.setenv(core_module.PURE_PYTHON_VARIABLE, "1")
    assert compiled() is None
    assert not Engine(instance).run_compiled(rule)
    assert_same_schedule(
        replay(instance, make_scheduler("sdrm3")),
        replay_stepped(instance, make_scheduler("sdrm3")),
    )
    assert core_runs[-1] is False


@needs_core
def test_a_core_built_from_another_source_is_not_used(tmp_path):
    assert core_module.load.__wrapped__() is compiled()  # built from the native.c beside it
    edited = tmp_path / "native.c"
    edited.write_text("/* an edited core */\n")
    with pytest.warns(RuntimeWarning, match="built from another version"):
        assert core_module.load.__wrapped__(edited) is None


def test_a_compiled_rule_names_a_known_formula():
    with pytest.raises(ValueError, match="rule must be one of"):
        JobPickRule("edf", [1], [1], [1])


@needs_core
def test_the_core_checks_its_buffers():
    core = compiled()
    ones, none = np.ones(2, np.int64), np.zeros(0)
    offsets = np.array([0, 1, 2], np.int64)

    def call(per_op=ones, offsets=offsets, op_start=None, gamma=False, sparsity=none):
        op_start = np.zeros(2, np.int64) if op_start is None else op_start
        buffers = (ones, ones, ones, offsets, np.arange(2), ones, per_op, sparsity, sparsity,
                   op_start, np.zeros(2, np.int64))  # fmt: skip
        return core.dysta_job_picks(3, 1.0, 1.0, 0.01, gamma, 2, 2, buffers)

    assert call() == (2, 2)  # two one-op jobs released at 1, each 1 long
    with pytest.raises(ValueError, match="per_op: expected 2"):
        call(per_op=ones[:1])
    with pytest.raises(ValueError, match="has no ops"):
        call(offsets=np.zeros(3, np.int64))
    with pytest.raises(BufferError):  # the outputs must be writable
        call(op_start=bytes(16))
    with pytest.raises(ValueError, match="sparsity: expected 2"):
        call(gamma=True)  # with gamma the sparsities are read
