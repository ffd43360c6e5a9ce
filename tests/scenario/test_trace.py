"""The seeded trace generator: properties (hypothesis), statistics and XRBench's frame grid."""

import csv
import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from support import XRBENCH, needs_xrbench

from rtmm_opt.errors import InputError
from rtmm_opt.scenario import (
    DeadlineRule,
    Dynamic,
    ExitPoint,
    LatencyFactorModel,
    Scenario,
    SparsityModel,
    Task,
    generate_trace,
    load_scenario,
)
from rtmm_opt.workload import Layer, LayerType, ModelGraph

MS = 1_000_000


def chain(name: str, n: int = 3) -> ModelGraph:
    return ModelGraph.chain(
        name, [Layer(f"l{i}", LayerType.CONV, K=4, C=4, Y=6, X=6) for i in range(n)]
    )


def task(name: str, n_layers: int = 3, **fields) -> Task:
    return Task(name, name, chain(name, n_layers), **fields)


def signature(trace, names=None):
    """Comparable rows: (task, frame, release, deadline, upstream (task, frame), outcome)."""
    tasks = trace.scenario.tasks
    rows = []
    for job in trace.jobs:
        name = tasks[job.task].name
        if names is not None and name not in names:
            continue
        upstream = tuple(
            (tasks[trace.jobs[u].task].name, trace.jobs[u].frame) for u in job.upstream
        )
        outcome = (
            tuple(None if f is None else f.tolist() for f in job.outcome.latency_factor),
            tuple(None if s is None else s.tolist() for s in job.outcome.sparsity),
            job.outcome.exit_after,
        )
        rows.append((name, job.frame, job.release_ns, job.deadline_ns, upstream, outcome))
    return rows


# -- random scenarios ----------------------------------------------------------------------------


@st.composite
def dynamics(draw, n_layers):
    sparsity = factor = None
    exits = ()
    if draw(st.booleans()):
        sparsity = SparsityModel(
            mean=(draw(st.floats(0, 0.9)),),
            std=draw(st.floats(0, 0.3)),
            correlation=draw(st.floats(0, 1)),
        )
    if draw(st.booleans()):
        factor = LatencyFactorModel(
            std=draw(st.floats(0, 0.5)),
            distribution=draw(st.sampled_from(["lognormal", "gamma"])),
            per=draw(st.sampled_from(["sample", "layer"])),
        )
    if n_layers > 1 and draw(st.booleans()):
        exits = (ExitPoint(draw(st.integers(0, n_layers - 2)), draw(st.floats(0.01, 1))),)
    return Dynamic(sparsity, factor, exits)


@st.composite
def scenarios(draw):
    tasks: list[Task] = []
    fps_of: dict[str, float | None] = {}  # effective fps; None for Poisson-derived streams
    for i in range(draw(st.integers(1, 4))):
        name = f"t{i}"
        n_layers = draw(st.integers(1, 5))
        kinds = ["fps", "poisson", "cascade"] if tasks else ["fps", "poisson"]
        kind = draw(st.sampled_from(kinds))
        trigger = draw(st.sampled_from([1.0, 0.0, 0.5, 0.9]))
        dynamic = draw(dynamics(n_layers))
        common = {
            "trigger_probability": trigger,
            "dynamic": dynamic,
            "priority": draw(st.integers(1, 9)),
        }
        if kind == "fps":
            fps = draw(st.floats(1, 400))
            jitter = draw(st.floats(0, 0.95)) * 1000 / fps
            tasks.append(
                task(
                    name,
                    n_layers,
                    fps=fps,
                    phase_ms=draw(st.floats(0, 40)),
                    jitter_ms=jitter,
                    **common,
                )
            )
            fps_of[name] = fps
        elif kind == "poisson":
            rate = draw(st.floats(1, 400))
            tasks.append(
                task(name, n_layers, poisson=rate, deadline=DeadlineRule("ms", 5.0), **common)
            )
            fps_of[name] = None
        else:
            ups = draw(
                st.lists(
                    st.sampled_from([t.name for t in tasks]), min_size=1, max_size=2, unique=True
                )
            )
            periodic = [fps_of[u] for u in ups]
            own = draw(st.booleans()) and all(f is not None for f in periodic)
            if own:
                fps = min(f for f in periodic if f is not None) * draw(st.floats(0.2, 1.0))
                tasks.append(task(name, n_layers, fps=fps, depends_on=tuple(ups), **common))
                fps_of[name] = fps
            else:
                rule = (
                    DeadlineRule("period")
                    if len(ups) == 1 and periodic[0] is not None
                    else DeadlineRule("ms", 7.0)
                )
                tasks.append(task(name, n_layers, depends_on=tuple(ups), deadline=rule, **common))
                fps_of[name] = periodic[0] if len(ups) == 1 else None
    return Scenario("random", tuple(tasks))


durations = st.integers(1, 300).map(lambda ms: ms * MS + 17)
seeds = st.integers(0, 2**32)


@settings(max_examples=60, deadline=None)
@given(scenarios(), durations, seeds)
def test_same_seed_same_trace(scenario, duration, seed):
    assert signature(generate_trace(scenario, duration, seed)) == signature(
        generate_trace(scenario, duration, seed)
    )


@settings(max_examples=80, deadline=None)
@given(scenarios(), durations, seeds)
def test_trace_structure(scenario, duration, seed):
    trace = generate_trace(scenario, duration, seed)
    assume(trace.jobs)  # an empty trace (trigger 0, a short window) would check nothing per job
    releases = [job.release_ns for job in trace.jobs]
    assert releases == sorted(releases)
    assert all(0 <= r < duration for r in releases)
    seen = set()
    for j, job in enumerate(trace.jobs):
        t = scenario.tasks[job.task]
        assert job.deadline_ns > job.release_ns
        assert (job.task, job.frame) not in seen
        seen.add((job.task, job.frame))
        if t.trigger_probability == 0.0:
            raise AssertionError("a task with trigger probability 0 made a job")
        # cascade: exactly the frame-i job of every upstream task, earlier in the list
        assert len(job.upstream) == len(t.depends_on)
        for up, up_name in zip(job.upstream, t.depends_on, strict=True):
            upstream = trace.jobs[up]
            assert up < j and scenario.tasks[upstream.task].name == up_name
            assert upstream.frame == job.frame and upstream.release_ns <= job.release_ns
        n_layers = len(t.graph)
        exit_after = job.outcome.exit_after
        assert exit_after is None or 0 <= exit_after <= n_layers - 2
        for factor in job.outcome.latency_factor:
            assert factor is None or (factor.shape == (n_layers,) and np.all(factor >= 0))
    # a dependent frame with trigger 1 exists whenever all its upstream frames exist
    by_task = defaultdict(set)
    for job in trace.jobs:
        by_task[job.task].add(job.frame)
    for i, t in enumerate(scenario.tasks):
        if t.depends_on and t.trigger_probability == 1.0 and t.fps is None:
            common = set.intersection(*(by_task[scenario.task_index(u)] for u in t.depends_on))
            assert by_task[i] == common


@settings(max_examples=60, deadline=None)
@given(scenarios(), durations, durations, seeds)
def test_longer_window_extends_shorter(scenario, first, second, seed):
    short, long = sorted((first, second))
    cut = [row for row in signature(generate_trace(scenario, long, seed)) if row[2] < short]
    assume(cut)  # [] == [] would say nothing
    assert signature(generate_trace(scenario, short, seed)) == cut


@settings(max_examples=40, deadline=None)
@given(scenarios(), durations, seeds)
def test_adding_a_task_leaves_the_others_alone(scenario, duration, seed):
    extra = task(
        "extra", 2, fps=90.0, trigger_probability=0.5, dynamic=Dynamic(SparsityModel((0.5,)))
    )
    bigger = Scenario("bigger", (extra, *scenario.tasks))
    names = {t.name for t in scenario.tasks}
    alone = signature(generate_trace(scenario, duration, seed))
    assume(alone)  # [] == [] would say nothing
    assert signature(generate_trace(bigger, duration, seed), names) == alone


def test_periodic_frames_hand_computed():
    scenario = Scenario("p", (task("a", fps=30.0, phase_ms=5.0),))
    trace = generate_trace(scenario, 100 * MS, 0)
    # period 33.333… ms: nominal 5, 38.33, 71.67 ms (105 ms is outside the window)
    assert [(j.frame, j.release_ns, j.deadline_ns) for j in trace.jobs] == [
        (0, 5_000_000, 38_333_333),
        (1, 38_333_333, 71_666_667),
        (2, 71_666_667, 105_000_000),
    ]


def test_jitter_delays_release_not_deadline():
    scenario = Scenario("j", (task("a", fps=100.0, jitter_ms=4.0),))
    trace = generate_trace(scenario, 1000 * MS, 3)
    delays = np.array([j.release_ns - j.frame * 10 * MS for j in trace.jobs])
    assert (
        len(trace) == 100
        and delays.min() >= 0
        and delays.max() <= 4 * MS
        and delays.std() > 0.5 * MS
    )
    assert all(j.deadline_ns == (j.frame + 1) * 10 * MS for j in trace.jobs)


def test_deadline_rules():
    scenario = Scenario(
        "d",
        (
            task("slo", poisson=50.0, deadline=DeadlineRule("slo", 2.5)),
            task("ms", poisson=50.0, deadline=DeadlineRule("ms", 3.0)),
        ),
    )
    trace = generate_trace(scenario, 500 * MS, 1, isolated_latency={"slo": 1_000_001.0, "ms": 1.0})
    assert {job.task for job in trace.jobs} == {0, 1}  # both rules are exercised below
    for job in trace.jobs:
        budget = math.ceil(2.5 * 1_000_001) if job.task == 0 else 3 * MS
        assert job.deadline_ns - job.release_ns == budget
    with pytest.raises(InputError) as err:
        generate_trace(scenario, 500 * MS, 1)
    assert err.value.field == "tasks[0].deadline"


def test_cascade_with_trigger_probabilities():
    never = Scenario(
        "c", (task("up", fps=60.0), task("down", depends_on=("up",), trigger_probability=0.0))
    )
    assert {j.task for j in generate_trace(never, 1000 * MS, 0).jobs} == {0}
    always = Scenario(
        "c", (task("up", fps=60.0, trigger_probability=0.5), task("down", depends_on=("up",)))
    )
    trace = generate_trace(always, 1000 * MS, 0)
    up = {j.frame for j in trace.jobs if j.task == 0}
    down = {j.frame for j in trace.jobs if j.task == 1}
    assert up == down and 0 < len(up) < 60


def test_different_seeds_change_random_parts():
    scenario = Scenario(
        "s",
        (
            task("a", fps=200.0, trigger_probability=0.5),
            task("b", poisson=200.0, deadline=DeadlineRule("ms", 1.0)),
        ),
    )
    first, second = (generate_trace(scenario, 1000 * MS, seed) for seed in (0, 1))
    assert [j.frame for j in first.jobs if j.task == 0] != [
        j.frame for j in second.jobs if j.task == 0
    ]
    assert [j.release_ns for j in first.jobs if j.task == 1] != [
        j.release_ns for j in second.jobs if j.task == 1
    ]


# -- statistics (fixed seeds; bounds at 5 standard deviations) -------------------------------------


def test_poisson_counts_and_gaps():
    scenario = Scenario("p", (task("a", poisson=200.0, deadline=DeadlineRule("ms", 1.0)),))
    trace = generate_trace(scenario, 50_000 * MS, 7)
    assert abs(len(trace) - 10_000) < 5 * 100  # Poisson: sd = sqrt(10^4)
    gaps = np.diff([0] + [j.release_ns for j in trace.jobs])
    assert abs(gaps.mean() / 5e6 - 1) < 5 * 0.01  # mean gap 5 ms; sd of the mean 1 %
    assert abs(gaps.std() / gaps.mean() - 1) < 0.05  # exponential: cv = 1


def test_trigger_rate():
    scenario = Scenario("t", (task("a", fps=1000.0, trigger_probability=0.3),))
    count = len(generate_trace(scenario, 10_000 * MS, 11))
    assert abs(count - 3000) < 5 * math.sqrt(10_000 * 0.3 * 0.7)


def test_sparsity_model_statistics():
    model = SparsityModel(mean=(0.5,), std=0.1, correlation=0.7, dense_fraction=0.3)
    scenario = Scenario("s", (task("a", n_layers=4, fps=1000.0, dynamic=Dynamic(sparsity=model)),))
    trace = generate_trace(scenario, 10_000 * MS, 5)
    sparsity = np.stack([j.outcome.sparsity[0] for j in trace.jobs])
    factor = np.stack([j.outcome.latency_factor[0] for j in trace.jobs])
    # the latency model, recomputed from the realised sparsity (Dysta README §1.3 shape)
    np.testing.assert_allclose(factor, 0.3 + 0.7 * (1 - sparsity) / (1 - 0.5))
    assert abs(sparsity.mean() - 0.5) < 0.01 and abs(sparsity.std() - 0.1) < 0.005
    assert abs(factor.mean() - 1.0) < 0.02
    # layers of one sample share the per-sample shift: correlation ρ between layers
    assert abs(np.corrcoef(sparsity[:, 0], sparsity[:, 1])[0, 1] - 0.7) < 0.05


@pytest.mark.parametrize("distribution", ["lognormal", "gamma", "uniform"])
def test_latency_factor_distributions(distribution):
    model = LatencyFactorModel(mean=1.2, std=0.3, distribution=distribution, per="sample")
    scenario = Scenario(
        "f", (task("a", n_layers=3, fps=1000.0, dynamic=Dynamic(latency_factor=model)),)
    )
    factors = np.stack(
        [j.outcome.latency_factor[0] for j in generate_trace(scenario, 20_000 * MS, 2).jobs]
    )
    assert np.all(factors[:, 0] == factors[:, 1])  # one factor per sample
    assert abs(factors[:, 0].mean() - 1.2) < 5 * 0.3 / math.sqrt(20_000)
    assert abs(factors[:, 0].std() - 0.3) < 0.015
    per_layer = Scenario(
        "f",
        (
            task(
                "a",
                n_layers=3,
                fps=1000.0,
                dynamic=Dynamic(latency_factor=LatencyFactorModel(std=0.3, per="layer")),
            ),
        ),
    )
    layered = np.stack(
        [j.outcome.latency_factor[0] for j in generate_trace(per_layer, 2000 * MS, 2).jobs]
    )
    assert abs(np.corrcoef(layered[:, 0], layered[:, 1])[0, 1]) < 0.1


def test_early_exit_shares():
    exits = (ExitPoint(1, 0.2), ExitPoint(3, 0.3))
    scenario = Scenario(
        "e", (task("a", n_layers=6, fps=1000.0, dynamic=Dynamic(early_exit=exits)),)
    )
    outcomes = [j.outcome.exit_after for j in generate_trace(scenario, 10_000 * MS, 9).jobs]
    n = len(outcomes)
    for value, share in ((1, 0.2), (3, 0.3), (None, 0.5)):
        assert abs(outcomes.count(value) / n - share) < 5 * math.sqrt(share * (1 - share) / n)


def test_bad_arguments():
    scenario = Scenario("b", (task("a", fps=10.0),))
    for duration in (0, -5, 1.5, 10**14):
        with pytest.raises(InputError) as err:
            generate_trace(scenario, duration, 0)
        assert err.value.field == "duration"
    for seed in (-1, 1.5, True):
        with pytest.raises(InputError) as err:
            generate_trace(scenario, MS, seed)
        assert err.value.field == "seed"
    with pytest.raises(InputError, match="jobs"):
        generate_trace(Scenario("b", (task("a", fps=1e6),)), 10**13, 0)


# -- XRBench's frame grid -------------------------------------------------------------------------


@needs_xrbench
def test_vr_gaming_frames_match_the_xrbench_harness():
    scenario = load_scenario(XRBENCH / "scenarios" / "VR_gaming.m")
    trace = generate_trace(scenario, 700 * MS, 0)
    frames = defaultdict(list)
    for job in trace.jobs:
        frames[scenario.tasks[job.task].name].append((job.frame, job.release_ns, job.deadline_ns))
    # the .m scenario says compat: xrbench, so the harness's floor(700 / period) requests
    for name, period_ms, count in (
        ("ES_RITNet", 16, 43),
        ("GE_FBNet_C", 16, 43),
        ("HT_hand_graph_cnn_half", 22, 31),
    ):
        assert frames[name] == [
            (i, i * period_ms * MS, (i + 1) * period_ms * MS) for i in range(count)
        ]
    # every frame the harness ran exists here, with the harness's deadline
    deadlines = {(name, f): d for name, rows in frames.items() for f, _, d in rows}
    files = sorted((XRBENCH / "reference" / "schedule").glob("schedule_VR_gaming__*.csv"))
    assert files
    for path in files:
        with path.open() as handle:
            for row in csv.DictReader(handle):
                key = (row["Model Name"], int(row["Frame ID"]))
                assert key in deadlines, f"{path.name}: frame {key} missing"
                assert deadlines[key] == round(float(row["Deadline Time (ms)"]) * MS)
