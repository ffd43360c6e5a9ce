"""DREAM (``rtmm_opt/schedulers/dream.py``): MapScore, proactive drop, variants, adaptation.

The tiny instances use a time unit of 1 ms, so every number in the comments is in ms (energy
in nJ). MapScores are worked out by hand from the formulas of docs/schedulers/dream.md; the real scenarios
check validity (``replay`` validates every schedule), determinism and the measured behaviour
reported in docs/schedulers/dream.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from support import ROOT

from rtmm_opt.engine import Decision, View, replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance import Instance, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Settings, Variant
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.schedule import JobStatus
from rtmm_opt.schedulers import make_scheduler, parse_params
from rtmm_opt.schedulers.dream import Dream, map_scores

VR_GAMING = ROOT / "instances" / "xrbench" / "VR_gaming.yaml"
SOCIAL_A = ROOT / "instances" / "xrbench" / "social_interactionA.yaml"
SOCIAL_B = ROOT / "instances" / "xrbench" / "social_interactionB.yaml"
AR_HEADSET = ROOT / "instances" / "examples" / "ar_headset.yaml"
MS = 1_000_000  # ns


def chain(
    release: int,
    deadline: int,
    *ops: tuple[Sequence[int], Sequence[int]],
    task: int = 0,
    upstream: Sequence[int] = (),
) -> JobSpec:
    """A job of ops run one after the other; each op is (durations, energies) per accelerator."""
    specs = [
        OpSpec(list(durations), energies=list(energies), preds=[k - 1] if k else [])
        for k, (durations, energies) in enumerate(ops)
    ]
    return JobSpec(task=task, release=release, deadline=deadline, ops=specs, upstream=upstream)


def tiny(
    jobs: Sequence[JobSpec],
    tasks: Sequence[TaskInfo],
    accelerators: Sequence[str] = ("acc0", "acc1"),
    drops: str = "allowed",
) -> Instance:
    return assemble(
        "dream-tiny",
        accelerators=accelerators,
        tasks=tasks,
        jobs=jobs,
        settings=Settings(drops=drops),
        time_unit_ns=MS,
    )


def fixed(**params: object) -> Dream:
    """DREAM with the given weights and no adaptation (so the weights are what we set)."""
    policy = make_scheduler("dream", {"adapt": False, **params})
    assert isinstance(policy, Dream)
    return policy


# -- MapScore -------------------------------------------------------------------------------------


def test_map_scores_by_hand():
    # job A: R(a) = [20, 30], E(a) = [80, 50]; slack 40, waited 30, period 100
    #   U = 20/40 = 0.5; F = 30/100 = 0.3; P(0) = (20/20)(50/80) = 0.625, P(1) = (20/30)(50/50)
    #   alpha=2, beta=1: 0.5 + 0.6 + [0.625, 0.6667] = [1.725, 1.76667]
    # job B: R(a) = [12, 6], E(a) = [40, 40]; slack 25, waited 0, period 50
    #   U = 6/25 = 0.24; F = 0; P = [6/12, 1] = [0.5, 1] -> [0.74, 1.24]
    scores = map_scores(
        np.array([[20.0, 30.0], [12.0, 6.0]]),
        np.array([[80.0, 50.0], [40.0, 40.0]]),
        slack=np.array([40.0, 25.0]),
        waited=np.array([30.0, 0.0]),
        period=np.array([100.0, 50.0]),
        alpha=2.0,
        beta=1.0,
        lam=1.0,
        epsilon=0.01,
    )
    assert scores == pytest.approx(np.array([[1.725, 1.1 + 2 / 3], [0.74, 1.24]]))


def test_map_scores_energy_exponent_and_epsilon():
    # lam = 0.5: P(0) = 1 * sqrt(50/80) = 0.790569; P(1) = (20/30) * 1
    # slack -5 (past the deadline): U = R*/eps = 20/0.01 = 2000
    scores = map_scores(
        np.array([[20.0, 30.0]]),
        np.array([[80.0, 50.0]]),
        slack=np.array([-5.0]),
        waited=np.array([0.0]),
        period=np.array([100.0]),
        alpha=1.0,
        beta=1.0,
        lam=0.5,
        epsilon=0.01,
    )
    assert scores == pytest.approx(np.array([[2000.790569, 2000 + 2 / 3]]))


def two_jobs_two_accelerators() -> Instance:
    # A (task a, period 100): ops [10, 20] ms / [50, 20] nJ then [10, 10] ms / [30, 30] nJ,
    #   deadline 40: R = [20, 30], E = [80, 50]
    # B (task b, period 50): one op [12, 6] ms / [40, 40] nJ, deadline 25: R = [12, 6]
    # C (task a): one op [5, 5] ms / [10, 10] nJ, deadline 100
    tasks = [TaskInfo("a", "m", period=100), TaskInfo("b", "m", period=50)]
    jobs = [
        chain(0, 40, ([10, 20], [50, 20]), ([10, 10], [30, 30]), task=0),
        chain(0, 25, ([12, 6], [40, 40]), task=1),
        chain(0, 100, ([5, 5], [10, 10]), task=0),
    ]
    return tiny(jobs, tasks)


def test_mapscore_dispatch_on_two_jobs_and_two_accelerators():
    # t = 0, alpha = beta = lam = 1, nobody waited (F = 0):
    #   A: U = 20/40 = 0.5,  P = [0.625, 0.6667] -> [1.125, 1.1667]
    #   B: U = 6/25 = 0.24,  P = [0.5, 1]        -> [0.74, 1.24]
    #   C: U = 5/100 = 0.05, P = [1, 1]          -> [1.05, 1.05]
    # greedy: B on acc1 (1.24) first; acc1 is taken, so A (1.125 > C's 1.05) gets acc0.
    # t = 6: B is done, acc1 idle; C is the only job with a ready op -> C on acc1 [6, 11].
    # t = 10: A's second op on acc0, the only idle accelerator (C holds acc1 until 11).
    instance = two_jobs_two_accelerators()
    schedule = replay(instance, fixed(alpha=1.0, beta=1.0, lam=1.0))
    runs = [
        (int(schedule.op_accelerator[op]), int(schedule.op_start[op]), int(schedule.op_end[op]))
        for op in range(instance.n_ops)
    ]
    assert runs == [(0, 0, 10), (0, 10, 20), (1, 0, 6), (1, 6, 11)]
    assert (schedule.job_status == JobStatus.COMPLETED).all()


def test_beta_zero_breaks_ties_by_the_job_fastest_accelerator():
    # beta = 0: A scores 0.5, B 0.24, C 0.05 on both accelerators. A goes first, to acc0,
    # where its rest is fastest (20 < 30); B takes acc1 (the only idle one left).
    instance = two_jobs_two_accelerators()
    schedule = replay(instance, fixed(alpha=1.0, beta=0.0))
    assert schedule.op_accelerator.tolist()[:3] == [0, 0, 1]
    assert schedule.op_start.tolist()[:3] == [0, 10, 0]


# -- proactive drop -------------------------------------------------------------------------------


def competing_jobs(drops: str = "allowed") -> Instance:
    # one accelerator. X: op 8 ms, deadline 10 (U = 0.8). Y: op 6 ms, deadline 12 (U = 0.5).
    # Z is Y's cascaded dependent (released when Y completes). X runs first; at t = 8 Y has
    # 12 - 8 = 4 ms left for 6 ms of work: it cannot make it, so DREAM drops it, and Z with it.
    tasks = [TaskInfo("x", "m", period=100), TaskInfo("y", "m", period=100),
             TaskInfo("z", "m", period=100, depends_on=("y",))]  # fmt: skip
    jobs = [
        chain(0, 10, ([8], [1]), task=0),
        chain(0, 12, ([6], [1]), task=1),
        chain(0, 30, ([2], [1]), task=2, upstream=[1]),
    ]
    return tiny(jobs, tasks, accelerators=("acc0",), drops=drops)


def test_proactive_drop_of_an_infeasible_job_cascades_to_its_dependent():
    instance = competing_jobs()
    schedule = replay(instance, fixed())
    assert schedule.job_status.tolist() == [
        JobStatus.COMPLETED,
        JobStatus.DROPPED,
        JobStatus.DROPPED,
    ]
    assert int(schedule.job_drop_time[1]) == 8
    assert schedule.op_accelerator.tolist() == [0, -1, -1]


def test_a_job_infeasible_at_release_is_dropped_at_once():
    tasks = [TaskInfo("t", "m", period=100)]
    instance = tiny([chain(3, 8, ([10, 20], [1, 1]))], tasks)  # 5 ms of slack, 10 ms of work
    schedule = replay(instance, fixed())
    assert schedule.job_status.tolist() == [JobStatus.DROPPED]
    assert int(schedule.job_drop_time[0]) == 3


def test_drops_disabled_keep_every_job_and_run_it_late():
    instance = competing_jobs(drops="never")
    schedule = replay(instance, fixed())
    assert (schedule.job_status == JobStatus.COMPLETED).all()
    # X [0, 8], Y [8, 14] (late: deadline 12), Z [14, 16]
    assert schedule.op_start.tolist() == [0, 8, 14]
    metrics = compute_metrics(instance, schedule)
    assert (metrics.dropped, metrics.late) == (0, 1)


def test_proactive_drop_can_be_turned_off():
    schedule = replay(competing_jobs(), fixed(proactive_drop=False))
    assert (schedule.job_status == JobStatus.COMPLETED).all()


# -- variants -------------------------------------------------------------------------------------


def variant_job(release: int, deadline: int, big: int, small: int, task: int) -> JobSpec:
    """One job with two alternative single-op variants: 0 (big) and 1 (small)."""
    ops = [OpSpec([big], energies=[1], variant=0, segment=0),
           OpSpec([small], energies=[1], variant=1, segment=0)]  # fmt: skip
    return JobSpec(task=task, release=release, deadline=deadline, ops=ops)


SUPERNET = TaskInfo("net", "m", period=100,
                    variants=(Variant("big", accuracy=0.9), Variant("small", accuracy=0.8)))  # fmt: skip


def test_variant_most_accurate_when_idle():
    # slack 50 >= 1.2 * 10; utilisation 10/100 = 0.1 <= 0.8: the big variant fits
    instance = tiny([variant_job(0, 50, big=10, small=4, task=0)], [SUPERNET], ("acc0",))
    schedule = replay(instance, fixed())
    assert schedule.job_variant.tolist() == [0]
    assert schedule.op_end.tolist() == [10, -1]


def test_variant_small_when_the_slack_is_short():
    # slack 11 < 1.2 * 10 = 12: big does not fit; small: 1.2 * 4 = 4.8 <= 11
    instance = tiny([variant_job(0, 11, big=10, small=4, task=0)], [SUPERNET], ("acc0",))
    schedule = replay(instance, fixed())
    assert schedule.job_variant.tolist() == [1]
    assert schedule.op_start.tolist() == [-1, 0]
    assert (schedule.job_status == JobStatus.COMPLETED).all()


def test_variant_small_when_the_predicted_utilisation_is_high():
    # a busy task L (period 10, 7 ms per job): utilisation 0.7 before the supernet job.
    # big: 0.7 + 20/100 = 0.9 > 0.8 -> under load; small: 0.7 + 4/100 = 0.74 fits.
    # The slack test passes for both: 1.2 * (20 + 7) = 32.4 <= 200.
    # Without L the big variant fits (0.2).
    busy = TaskInfo("busy", "m", period=10)
    jobs = [chain(0, 10, ([7], [1]), task=1), variant_job(0, 200, big=20, small=4, task=0)]
    loaded = tiny(jobs, [SUPERNET, busy], ("acc0",))
    assert replay(loaded, fixed()).job_variant.tolist() == [0, 1]
    idle = tiny([variant_job(0, 200, big=20, small=4, task=0)], [SUPERNET, busy], ("acc0",))
    assert replay(idle, fixed()).job_variant.tolist() == [0]


class RecordingDream(Dream):
    """DREAM that records its variant choices: ``(time, {job: variant})``."""

    choices: list[tuple[int, dict[int, int]]]

    def decide(self, view: View) -> Decision | None:
        decision = super().decide(view)
        if decision is not None and decision.variants:
            self.choices.append((view.now, dict(decision.variants)))
        return decision


def test_variant_small_while_a_backlog_eats_the_slack_then_back_to_accurate():
    # job L (8 ms, due at 15) is ahead of the supernet job (due at 20) on one accelerator
    # (utilisation is low: periods of 1000 ms).
    # t = 0: big: 1.2 * (10 + 8/1) = 21.6 > 20 -> under load; small: 1.2 * (4 + 8) = 14.4 fits.
    #        L goes first (U = 8/15 > 4/20), so the supernet job has not started...
    # t = 8: ... and is re-evaluated: no backlog, slack 12 >= 1.2 * 10: big fits again.
    #        It runs [8, 18], on time.
    slow = TaskInfo("net", "m", period=1000, variants=SUPERNET.variants)
    other = TaskInfo("other", "m", period=1000)
    jobs = [chain(0, 15, ([8], [1]), task=1), variant_job(0, 20, big=10, small=4, task=0)]
    policy = RecordingDream(adapt=False)
    policy.choices = []
    schedule = replay(tiny(jobs, [slow, other], ("acc0",)), policy)
    assert policy.choices == [(0, {1: 1}), (8, {1: 0})]
    assert schedule.job_variant.tolist() == [0, 0]
    assert schedule.op_start.tolist() == [0, 8, -1]
    assert (schedule.job_status == JobStatus.COMPLETED).all()


def test_nothing_fits_takes_the_fastest_variant_and_drops_it_if_hopeless():
    # slack 3 < small's 4: the small variant is chosen, then dropped (3 < R* = 4)
    instance = tiny([variant_job(0, 3, big=10, small=4, task=0)], [SUPERNET], ("acc0",))
    schedule = replay(instance, fixed())
    assert schedule.job_variant.tolist() == [1]
    assert schedule.job_status.tolist() == [JobStatus.DROPPED]


# -- incremental state ----------------------------------------------------------------------------


class CheckedDream(Dream):
    """DREAM that checks its incremental rows against a brute-force sum after each decision."""

    checked: int = 0

    def decide(self, view: View) -> Decision | None:
        decision = super().decide(view)
        static = view.static
        dispatched = {op for op, _ in decision.dispatches} if decision else set()
        dropped = set(decision.drops) if decision else set()
        variants = decision.variants if decision else {}
        for job in view.active_jobs:
            if job in dropped:
                continue
            variant = variants.get(job, view.job_variant(job))
            rest = [
                op
                for op in static.ops_of(job)
                if static.op_variant[op] == variant
                and view.op_start(op) < 0
                and op not in dispatched
            ]
            assert self._rest_latency[job].tolist() == self._op_latency[rest].sum(axis=0).tolist()
            assert self._rest_energy[job].tolist() == self._op_energy[rest].sum(axis=0).tolist()
            self.checked += 1
        return decision


def test_incremental_remaining_work_equals_a_brute_force_sum():
    instance = scenario(AR_HEADSET, "layer", 200, fps_scale=1.5)
    policy = CheckedDream()
    replay(instance, policy)
    assert policy.checked > 1000


# -- real scenarios -------------------------------------------------------------------------------


@cache
def scenario(path: Path, granularity: str, duration_ms: int, fps_scale: float = 1.0) -> Instance:
    return load_workload(
        path, system="xrb4k-J", cost="table:xrbench", duration_ns=duration_ms * MS,
        granularity=granularity, seed=0, fps_scale=fps_scale,
    )  # fmt: skip


@pytest.mark.parametrize("granularity", ["model", "block:4", "layer"])
def test_vr_gaming_valid_and_deterministic(granularity):
    instance = scenario(VR_GAMING, granularity, 200)
    first = replay(instance, make_scheduler("dream"))  # replay validates the schedule
    again = replay(instance, make_scheduler("dream"))
    assert first.to_dict() == again.to_dict()


def test_ar_headset_valid_with_variants_early_exits_and_cascades():
    instance = scenario(AR_HEADSET, "layer", 200, fps_scale=1.5)
    first = replay(instance, make_scheduler("dream"))
    again = replay(instance, make_scheduler("dream"))
    assert first.to_dict() == again.to_dict()
    # what the name promises is in the instance: 3 realised early exits (all taken: those jobs
    # completed on the variant holding the exit) and 15 cascaded (gaze after eye) jobs
    exits = np.flatnonzero(instance.job_exit_op >= 0)
    assert len(exits) == 3
    assert np.all(first.job_status[exits] == JobStatus.COMPLETED)
    assert np.all(first.job_variant[exits] == instance.op_variant[instance.job_exit_op[exits]])
    cascaded = [job for job in range(instance.n_jobs) if len(instance.upstream_of(job))]
    assert len(cascaded) == 15
    assert {instance.tasks[instance.job_task[job]].name for job in cascaded} == {"gaze_estimation"}
    hand_tracking = instance.job_task == 2
    # at 1.5x the rate the hand tracker is under load: the half-width variant is used
    assert (first.job_variant[hand_tracking] == 1).sum() > hand_tracking.sum() // 2
    # at the nominal rate the system is not loaded: the full variant, and nothing missed
    nominal = scenario(AR_HEADSET, "layer", 200)
    schedule = replay(nominal, make_scheduler("dream"))
    assert (schedule.job_variant == 0).all()
    assert compute_metrics(nominal, schedule).miss_rate == 0.0


def test_dream_beats_edf_on_uxcost_when_overloaded():
    # measured (docs/schedulers/dream.md): VR_gaming, layer, 200 ms, 1.5x the frame rates:
    # EDF misses 94 % (everything runs late), DREAM drops 28 % and is never late.
    instance = scenario(VR_GAMING, "layer", 200, fps_scale=1.5)
    edf = compute_metrics(instance, replay(instance, make_scheduler("edf")))
    dream = compute_metrics(instance, replay(instance, make_scheduler("dream")))
    assert dream.uxcost < edf.uxcost / 5
    assert dream.miss_rate < edf.miss_rate
    assert dream.late == 0


# -- adaptation -----------------------------------------------------------------------------------


def test_adaptation_on_a_flat_cost_shrinks_to_a_fixed_point_in_four_cycles():
    # social_interactionB misses nothing (EDF neither): every window costs 0, the gradient is 0
    # and the step shrinks 1 -> 0.5 -> 0.25 -> 0.125 -> 0.0625 < min_step 0.1: converged after
    # 4 cycles of 4 windows at the initial weights.
    instance = scenario(SOCIAL_B, "model", 2000)
    policy = make_scheduler("dream", {"window_ms": 100.0})
    assert isinstance(policy, Dream)
    replay(instance, policy)
    phases = [window.phase for window in policy.history]
    assert phases[:16] == ["alpha+", "alpha-", "beta+", "beta-"] * 4
    assert set(phases[16:]) == {"fixed"}
    assert policy.converged
    assert policy.weights == (policy.alpha, policy.beta)
    # the probes of the first cycle: alpha +- 0.5, beta +- 0.5 around (1, 3)
    assert [(w.alpha, w.beta) for w in policy.history[:4]] == [
        (1.5, 3.0),
        (0.5, 3.0),
        (1.0, 3.5),
        (1.0, 2.5),
    ]


def test_adaptation_improves_poor_initial_weights_deterministically():
    # social_interactionA at model granularity is overloaded (EDF misses 99 %). Starting from
    # weights that score badly here (beta = 0.5, lam = 1), the adaptation raises beta and the
    # run's UXCost falls (measured: 36019 -> 31452, docs/schedulers/dream.md); it converges within
    # 8 cycles and is deterministic.
    instance = scenario(SOCIAL_A, "model", 5000)
    poor = {"alpha": 1.0, "beta": 0.5, "lam": 1.0}
    static = compute_metrics(instance, replay(instance, fixed(**poor)))
    runs = []
    for _ in range(2):
        policy = make_scheduler("dream", poor)
        assert isinstance(policy, Dream)
        runs.append((compute_metrics(instance, replay(instance, policy)), policy))
    (adapted, policy), (again, other) = runs
    assert adapted.uxcost < 0.9 * static.uxcost
    assert adapted.uxcost == again.uxcost
    assert policy.history == other.history
    assert policy.converged
    assert sum(window.phase != "fixed" for window in policy.history) <= 8 * 4
    assert policy.weights[1] > poor["beta"]


# -- parameters -----------------------------------------------------------------------------------


def test_parameters_from_the_command_line():
    policy = make_scheduler("dream", parse_params(["alpha=2", "adapt=false", "window_ms=50"]))
    assert isinstance(policy, Dream)
    assert (policy.alpha, policy.adapt, policy.window_ms) == (2.0, False, 50.0)


@pytest.mark.parametrize(
    "params",
    [{"alpha": -1.0}, {"window_ms": 0.0}, {"step_shrink": 1.0}, {"beta": 9.0},
     {"variant_utilisation_threshold": 0.0}, {"alpha": "high"}, {"gamma": 1.0}],
)  # fmt: skip
def test_bad_parameters_are_input_errors(params):
    with pytest.raises(InputError):
        make_scheduler("dream", params)
