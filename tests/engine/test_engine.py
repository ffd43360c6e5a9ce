"""The replay engine, on hand-computed tiny instances.

Every schedule the engine produces here also goes through the validator (``replay`` checks it,
and the manual-stepping tests call ``validate`` themselves).
"""

from dataclasses import dataclass

import pytest

from rtmm_opt.engine import Decision, Engine, Notice, Policy, SchedulingError, replay
from rtmm_opt.instance import Settings, TaskInfo, Variant
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.schedule import JobStatus
from rtmm_opt.schedule.validator import validate
from rtmm_opt.schedulers import make_scheduler

TASKS = [TaskInfo("a", "ma", period=100), TaskInfo("b", "mb", period=100, depends_on=("a",))]


def chain(*durations, **kw):
    return [OpSpec(list(d), preds=[i - 1] if i else []) for i, d in enumerate(durations)]


def make(jobs, accelerators=("x",), tasks=TASKS, **settings):
    return assemble(
        "t", accelerators=accelerators, tasks=tasks, jobs=jobs, settings=Settings(**settings)
    )


@dataclass
class Script(Policy):
    """Dispatches each ready op (in readiness order) to the lowest idle eligible accelerator."""

    drop_at: dict | None = None  # {time: [jobs]}
    variants: dict | None = None  # {job: variant}, applied on release

    def decide(self, view):
        decision = Decision()
        for kind, job in view.notices:
            if kind == Notice.RELEASED and self.variants and job in self.variants:
                decision.variants[job] = self.variants[job]
        if decision.variants:
            return decision
        if self.drop_at and view.now in self.drop_at:
            decision.drops = [j for j in self.drop_at.pop(view.now) if j in view.active_jobs]
            return decision
        idle = view.idle_accelerators
        static = view.static
        for op in list(view.ready_ops):
            for acc in idle:
                if static.op_predicted[op, acc] >= 0:
                    decision.dispatches.append((op, acc))
                    idle.remove(acc)
                    break
        return decision


def test_edf_orders_by_deadline_on_one_accelerator():
    # job0: release 0, deadline 50, ops 10+10; job1: release 5, deadline 20, op 4.
    # EDF: t=0 job0.op0 [0,10); t=10 job1 (deadline 20) [10,14); t=14 job0.op1 [14,24).
    inst = make(
        [
            JobSpec(0, 0, 50, chain([10], [10])),
            JobSpec(0, 5, 20, [OpSpec([4])]),
        ]
    )
    schedule = replay(inst, make_scheduler("edf"))
    assert schedule.op_start.tolist() == [0, 14, 10]
    assert schedule.op_end.tolist() == [10, 24, 14]
    assert schedule.job_status.tolist() == [JobStatus.COMPLETED] * 2


def test_cascade_releases_on_upstream_completion_not_before_frame():
    # job1 (task b) depends on job0. job0 ends at 30 > b's frame release 0: released at 30.
    # job3 depends on job2 (ends 45), but its frame release is 60: released at 60.
    inst = make(
        [
            JobSpec(0, 0, 100, [OpSpec([30])]),
            JobSpec(1, 0, 100, [OpSpec([5])], upstream=[0]),
            JobSpec(0, 40, 140, [OpSpec([5])]),
            JobSpec(1, 60, 160, [OpSpec([5])], upstream=[2]),
        ]
    )
    schedule = replay(inst, Script())
    assert schedule.op_start.tolist() == [0, 30, 40, 60]


def test_drop_cascades_to_dependents():
    inst = make(
        [
            JobSpec(0, 0, 100, chain([10], [10])),
            JobSpec(1, 0, 100, [OpSpec([5])], upstream=[0]),
        ]
    )
    schedule = replay(inst, Script(drop_at={10: [0]}))
    assert schedule.job_status.tolist() == [JobStatus.DROPPED, JobStatus.DROPPED]
    assert schedule.op_accelerator.tolist() == [0, -1, -1]  # op0 ran, nothing after the drop
    assert schedule.job_drop_time.tolist() == [10, 10]


def test_drops_never_rejects_a_drop():
    inst = make([JobSpec(0, 0, 100, chain([10], [10]))], drops="never")
    with pytest.raises(SchedulingError, match="drops: never"):
        replay(inst, Script(drop_at={10: [0]}))


def test_early_exit_completes_the_job_at_the_exit_op():
    inst = make([JobSpec(0, 0, 100, chain([10], [10], [10]), exit_op=1)])
    schedule = replay(inst, Script())
    assert schedule.job_status.tolist() == [JobStatus.COMPLETED]
    assert schedule.op_end.tolist() == [10, 20, -1]
    assert schedule.completion_times(inst).tolist() == [20]


def test_variant_choice_runs_that_variant_only():
    tasks = [TaskInfo("a", "m", variants=(Variant("full", 0.9), Variant("lite", 0.7)))]
    ops = [OpSpec([10], variant=0), OpSpec([10], variant=0, preds=[0]), OpSpec([6], variant=1)]
    inst = make([JobSpec(0, 0, 100, ops)], tasks=tasks)
    schedule = replay(inst, Script(variants={0: 1}))
    assert schedule.job_variant.tolist() == [1]
    assert schedule.op_accelerator.tolist() == [-1, -1, 0]
    assert schedule.op_end.tolist() == [-1, -1, 6]


def test_variant_change_after_start_is_illegal():
    tasks = [TaskInfo("a", "m", variants=(Variant("full"), Variant("lite")))]
    ops = [OpSpec([10], variant=0), OpSpec([10], variant=0, preds=[0]), OpSpec([6], variant=1)]
    engine = Engine(make([JobSpec(0, 0, 100, ops)], tasks=tasks), policy_name="p")
    engine.reset()
    view = engine.step(Decision(dispatches=[(0, 0)]))
    assert view is not None and view.now == 10
    with pytest.raises(SchedulingError, match="p at t=10: illegal variant change for job 0"):
        engine.step(Decision(variants={0: 1}))


def test_context_switch_delays_the_next_model():
    # ops alternate models a, b, a on one accelerator; reload costs 3 for any model.
    inst = assemble(
        "ctx",
        accelerators=("x",),
        tasks=[TaskInfo("a", "ma"), TaskInfo("b", "mb")],
        jobs=[
            JobSpec(0, 0, 100, [OpSpec([5], context=0)]),
            JobSpec(1, 0, 100, [OpSpec([5], context=1)]),
            JobSpec(0, 0, 100, [OpSpec([5], context=0)]),
        ],
        contexts=("ma", "mb"),
        context_reload_time=[[3], [3]],
        context_reload_energy=[[7], [7]],
        settings=Settings(context_switch=True),
    )
    schedule = replay(inst, Script())
    # first op loads for free: [0,5); b reloads 3: [8,13); a reloads 3: [16,21)
    assert schedule.op_start.tolist() == [0, 8, 16]
    assert schedule.op_end.tolist() == [5, 13, 21]


def test_contention_stretches_overlapping_ops_by_the_predicted_factor():
    # Two ops on two accelerators, each alone takes 10 and moves 100 bytes: demand 10 B/unit
    # each, 20 together on a 10 B/unit DRAM: both run at half speed and end at 20.
    inst = assemble(
        "bw",
        accelerators=("x", "y"),
        tasks=[TaskInfo("a", "m")],
        jobs=[
            JobSpec(0, 0, 100, [OpSpec([10, 10], dram_bytes=[100, 100])]),
            JobSpec(0, 0, 100, [OpSpec([10, 10], dram_bytes=[100, 100])]),
        ],
        settings=Settings(contention=True, dram_bandwidth=10.0),
    )
    schedule = replay(inst, Script())
    assert schedule.op_end.tolist() == [20, 20]
    # An op that starts while another runs: job0 (20 units, 200 B: demand 10) on y from 0;
    # job1.op0 on x from 0 without DRAM traffic (never slowed); job1.op1 (4 units, 40 B:
    # demand 10) on x from 10. From 10 the demand is 20 on a 10 B/unit DRAM, both at half
    # speed: job1.op1 needs 8 -> ends 18; job0 has 10 left at 10, 6 left at 18 -> ends 24.
    inst2 = assemble(
        "bw2",
        accelerators=("x", "y"),
        tasks=[TaskInfo("a", "m")],
        jobs=[
            JobSpec(0, 0, 100, [OpSpec([-1, 20], dram_bytes=[-1, 200])]),
            JobSpec(0, 0, 100, [OpSpec([10, -1]), OpSpec([4, -1], dram_bytes=[40, -1], preds=[0])]),
        ],
        settings=Settings(contention=True, dram_bandwidth=10.0),
    )
    schedule2 = replay(inst2, Script())
    assert schedule2.op_start.tolist() == [0, 0, 10]
    assert schedule2.op_end.tolist() == [24, 10, 18]


def test_completions_come_before_releases_at_the_same_time():
    # job0 ends at 5 when job1 is released: one decision at t=5 sees both facts.
    inst = make([JobSpec(0, 0, 50, [OpSpec([5])]), JobSpec(0, 5, 50, [OpSpec([5])])])
    engine = Engine(inst)
    view = engine.reset()
    view = engine.step(Decision(dispatches=[(0, 0)]))
    assert view.now == 5
    assert [kind for kind, _ in view.notices] == [
        Notice.OP_DONE,
        Notice.JOB_DONE,
        Notice.RELEASED,
        Notice.OP_READY,
    ]
    assert view.idle_accelerators == [0] and list(view.ready_ops) == [1]


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        (Decision(dispatches=[(1, 0)]), "op 1, which is not ready"),
        (Decision(dispatches=[(0, 1)]), "accelerator 1, where it is not eligible"),
        (Decision(dispatches=[(0, 0), (2, 0)]), "accelerator 0, which is not idle"),
        (Decision(drops=[3]), "drop of job 3"),
        (Decision(wake_at=0), "wake-up at 0"),
        (Decision(dispatches=[(9, 0)]), r"op 9, which is not ready \(it is unknown\)"),
    ],
)
def test_illegal_decisions_name_the_policy_and_the_decision(decision, message):
    inst = make(
        [JobSpec(0, 0, 50, chain([5, -1], [5, 5])), JobSpec(0, 0, 50, [OpSpec([5, 5])])],
        accelerators=("x", "y"),
    )
    engine = Engine(inst, policy_name="mine")
    engine.reset()
    with pytest.raises(SchedulingError, match=f"mine at t=0: illegal .*{message}"):
        engine.step(decision)


def test_a_policy_that_never_dispatches_is_reported():
    inst = make([JobSpec(0, 0, 50, [OpSpec([5])])])
    engine = Engine(inst, policy_name="lazy")
    engine.reset()
    with pytest.raises(SchedulingError, match="lazy: nothing left to happen"):
        engine.step(None)


def test_wake_up_gives_a_decision_point_when_nothing_happens():
    inst = make([JobSpec(0, 0, 50, [OpSpec([5])])])
    engine = Engine(inst)
    view = engine.reset()
    assert view.now == 0
    view = engine.step(Decision(wake_at=7))
    assert view.now == 7 and view.notices == []
    assert engine.step(Decision(dispatches=[(0, 0)])) is None
    schedule = engine.schedule()
    assert schedule.op_start.tolist() == [7]
    assert validate(inst, schedule).ok


def test_step_api_exposes_only_released_jobs_and_predictions():
    inst = make(
        [
            JobSpec(0, 0, 50, [OpSpec([5], predicted=[8])]),
            JobSpec(0, 20, 70, [OpSpec([5])]),
        ]
    )
    engine = Engine(inst)
    view = engine.reset()
    assert list(view.active_jobs) == [0]  # job 1 is not released yet
    assert view.static.op_predicted[0, 0] == 8
    with pytest.raises(SchedulingError, match="not finished"):
        view.actual_duration(0)
    view = engine.step(Decision(dispatches=[(0, 0)]))
    # nothing is active between 5 and 20: the next decision point is job 1's release
    assert view.now == 20 and view.actual_duration(0) == 5


def test_same_instance_same_schedule():
    inst = make([JobSpec(0, r, r + 30, chain([7], [3])) for r in range(0, 100, 9)])
    first = replay(inst, make_scheduler("edf"))
    second = replay(inst, make_scheduler("edf"))
    assert first.to_dict() == second.to_dict()


def test_drop_while_the_last_op_runs_is_a_valid_drop():
    # job0's only op runs on x over [0, 10); job1 (on y) is released at 5, where the policy
    # drops job0. Ops are not preempted: it still ends at 10, and the job stays dropped.
    inst = make(
        [JobSpec(0, 0, 100, [OpSpec([10, -1])]), JobSpec(0, 5, 100, [OpSpec([-1, 1])])],
        accelerators=("x", "y"),
    )
    schedule = replay(inst, Script(drop_at={5: [0]}))
    assert schedule.job_status.tolist() == [JobStatus.DROPPED, JobStatus.COMPLETED]
    assert schedule.op_end.tolist() == [10, 6]
    assert schedule.job_drop_time.tolist()[0] == 5


def test_edf_drop_expired_keeps_its_ready_ops():
    # job1 (deadline 8) cannot start before job0 ends at 10: dropped at 10; job2 then runs.
    inst = make(
        [
            JobSpec(0, 0, 50, [OpSpec([10])]),
            JobSpec(0, 1, 8, [OpSpec([3])]),
            JobSpec(0, 2, 60, [OpSpec([3])]),
        ]
    )
    schedule = replay(inst, make_scheduler("edf", {"drop_expired": True}))
    assert schedule.job_status.tolist() == [
        JobStatus.COMPLETED,
        JobStatus.DROPPED,
        JobStatus.COMPLETED,
    ]
    assert schedule.op_start.tolist() == [0, -1, 10]


def test_variant_change_notices_only_ops_still_ready():
    tasks = [TaskInfo("a", "m", variants=(Variant("full"), Variant("lite")))]
    ops = [OpSpec([10, 10], variant=0), OpSpec([6, 6], variant=1)]
    other = [OpSpec([10, 10], variant=0), OpSpec([4, 4], variant=1)]
    inst = make([JobSpec(0, 0, 100, ops), JobSpec(0, 0, 100, other)], tasks=tasks,
                accelerators=("x", "y"))  # fmt: skip
    engine = Engine(inst)
    engine.reset()
    # switch job 0 to its lite variant and dispatch that op at once; job 1 keeps variant 0
    view = engine.step(Decision(variants={0: 1}, dispatches=[(1, 0)]))
    # At 6 the lite op is done: op 0 left with the full variant, op 1 was dispatched at once, so
    # neither is noticed as ready; job 1's op 2 is still ready (noticed at the release).
    assert view.now == 6 and list(view.ready_ops) == [2] and not view.is_ready(0)
    assert view.notices == [(Notice.OP_DONE, 1), (Notice.JOB_DONE, 0)]
    # The same change without a dispatch: decided again at once, with the lite op noticed as
    # ready and the full one no longer ready.
    engine.reset()
    view = engine.step(Decision(variants={0: 1}))
    assert view.now == 0 and list(view.ready_ops) == [2, 1] and not view.is_ready(0)
    assert view.notices == [(Notice.OP_READY, 1)]


def test_a_policy_that_only_keeps_waking_is_reported():
    @dataclass
    class Sleeper(Policy):
        def decide(self, view):
            return Decision(wake_at=view.now + 1)

    inst = make([JobSpec(0, 0, 50, [OpSpec([5])])])
    with pytest.raises(SchedulingError, match="nothing happened but wake-ups"):
        replay(inst, Sleeper())
