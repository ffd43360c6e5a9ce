"""RR, LLF and SJF (``rtmm_opt/schedulers/classic.py``) on hand-computed tiny instances.

Each instance is small enough to work the schedule out by hand; the comments give the
reasoning, and the tests assert every op's accelerator, start and end. ``replay`` validates
every schedule. The generic job-picking loop (pool, op, accelerator) is exercised through SJF.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance import Instance, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.schedule import Schedule
from rtmm_opt.schedulers import make_scheduler

Run = tuple[int, int, int]  # (accelerator, start, end)


def chain(
    release: int,
    deadline: int,
    *durations: int | Sequence[int],
    predicted: Sequence[int | Sequence[int]] | None = None,
    task: int = 0,
) -> JobSpec:
    """A job whose ops run one after the other; an int duration means one accelerator."""
    ops = []
    for index, duration in enumerate(durations):
        row = [duration] if isinstance(duration, int) else list(duration)
        guess = None
        if predicted is not None:
            value = predicted[index]
            guess = [value] if isinstance(value, int) else list(value)
        ops.append(OpSpec(row, predicted=guess, preds=[index - 1] if index else []))
    return JobSpec(task=task, release=release, deadline=deadline, ops=ops)


def build(jobs: Sequence[JobSpec], accelerators: Sequence[str] = ("a0",)) -> Instance:
    return assemble("tiny", accelerators=accelerators, tasks=[TaskInfo("t", "m")], jobs=jobs)


def timeline(instance: Instance, schedule: Schedule) -> list[list[Run]]:
    """Per job, its ops' (accelerator, start, end) in op order."""
    return [
        [
            (int(schedule.op_accelerator[op]), int(schedule.op_start[op]), int(schedule.op_end[op]))
            for op in range(
                int(instance.job_op_offsets[job]), int(instance.job_op_offsets[job + 1])
            )
        ]
        for job in range(instance.n_jobs)
    ]


def run(name: str, instance: Instance, **params: object) -> list[list[Run]]:
    return timeline(instance, replay(instance, make_scheduler(name, params)))


# -- round robin ------------------------------------------------------------------------------------


def test_rr_rotates_one_op_per_turn_and_late_jobs_join_at_the_back() -> None:
    # J0, J1: three 2-unit ops each, released at 0; J2: one 1-unit op, released at 3.
    # t=0  rotation [J0 J1]     -> J0.op0 [0,2]   rotation [J1 J0]
    # t=2                       -> J1.op0 [2,4]   rotation [J0 J1]
    # t=3  J2 released while the accelerator is busy: no decision
    # t=4  rotation [J0 J1 J2]  -> J0.op1 [4,6]   rotation [J1 J2 J0]
    # t=6                       -> J1.op1 [6,8]   rotation [J2 J0 J1]
    # t=8                       -> J2.op0 [8,9]   (J2 done)
    # t=9                       -> J0.op2 [9,11]; t=11 -> J1.op2 [11,13]
    instance = build([chain(0, 100, 2, 2, 2), chain(0, 100, 2, 2, 2), chain(3, 100, 1)])
    assert run("rr", instance) == [
        [(0, 0, 2), (0, 4, 6), (0, 9, 11)],
        [(0, 2, 4), (0, 6, 8), (0, 11, 13)],
        [(0, 8, 9)],
    ]


def test_rr_on_two_accelerators_serves_down_the_rotation() -> None:
    # Three jobs of two 2-unit ops, two identical accelerators (ties go to the lower index).
    # t=0 rotation [J0 J1 J2]: J0 -> a0, J1 -> a1; rotation [J2 J0 J1]
    # t=2 all three can run:   J2 -> a0, J0 -> a1; rotation [J1 J2 J0]
    # t=4                      J1 -> a0, J2 -> a1 (J0 is done)
    # (FCFS would run J0.op1 and J1.op1 at t=2.)
    jobs = [chain(0, 100, (2, 2), (2, 2)) for _ in range(3)]
    instance = build(jobs, accelerators=("a0", "a1"))
    assert run("rr", instance) == [
        [(0, 0, 2), (1, 2, 4)],
        [(1, 0, 2), (0, 4, 6)],
        [(0, 2, 4), (1, 4, 6)],
    ]
    assert run("fcfs", instance)[0] == [(0, 0, 2), (0, 2, 4)]


# -- least laxity first -----------------------------------------------------------------------------


def test_llf_runs_the_least_laxity_not_the_earliest_deadline() -> None:
    # J0: d=20, ops 8+8; J1: d=10, one op of 2; both released at 0.
    # t=0:  laxity J0 = 20-0-16 = 4, J1 = 10-0-2 = 8  -> J0.op0 [0,8]
    # t=8:  laxity J0 = 20-8-8 = 4,  J1 = 10-8-2 = 0  -> J1 [8,10]
    # t=10: J0.op1 [10,18]
    # EDF runs J1 first: [0,2].
    instance = build([chain(0, 20, 8, 8), chain(0, 10, 2)])
    assert run("llf", instance) == [[(0, 0, 8), (0, 10, 18)], [(0, 8, 10)]]
    assert run("edf", instance) == [[(0, 2, 10), (0, 10, 18)], [(0, 0, 2)]]


def test_llf_uses_predicted_remaining_work_and_ties_go_to_the_earlier_release() -> None:
    # J0: one op, actual 5, predicted 3. J1: one op of 2. Both released at 0.
    # J1 due at 9: laxity J0 = 10-0-3 = 7, J1 = 9-0-2 = 7, a tie -> J0 (released first) runs.
    # J1 due at 8: laxity J1 = 6 < 7 -> J1 runs first. (With J0's actual 5 its laxity would be
    # 5 and J0 would run first: LLF must use the prediction.)
    tie = build([chain(0, 10, 5, predicted=[3]), chain(0, 9, 2)])
    assert run("llf", tie) == [[(0, 0, 5)], [(0, 5, 7)]]
    urgent = build([chain(0, 10, 5, predicted=[3]), chain(0, 8, 2)])
    assert run("llf", urgent) == [[(0, 2, 7)], [(0, 0, 2)]]


# -- shortest job first -----------------------------------------------------------------------------


def test_sjf_preempts_at_op_boundaries_by_predicted_remaining_work() -> None:
    # J0 (t=0): ops 5+5. J1 (t=1): one op, actual 3 but predicted 6. J2 (t=2): ops 1+1.
    # t=0:  only J0                                   -> J0.op0 [0,5]
    # t=5:  remaining J0 5, J1 6 (predicted), J2 2    -> J2.op0 [5,6]
    # t=6:  J2 1                                      -> J2.op1 [6,7]
    # t=7:  J0 5 < J1 6                               -> J0.op1 [7,12]
    # t=12: J1 runs its actual 3 units                -> [12,15]
    instance = build([chain(0, 100, 5, 5), chain(1, 100, 3, predicted=[6]), chain(2, 100, 1, 1)])
    assert run("sjf", instance) == [
        [(0, 0, 5), (0, 7, 12)],
        [(0, 12, 15)],
        [(0, 5, 6), (0, 6, 7)],
    ]


def test_sjf_picks_jobs_then_the_earliest_finishing_idle_accelerator() -> None:
    # J0: 3 on a0, 6 on a1 (remaining = fastest = 3). J1: 4 on a0, 2 on a1 (remaining 2).
    # SJF picks J1 first; earliest finish sends it to a1 [0,2]; J0 takes a0 [0,3].
    # accelerator=first_idle: J1 takes a0 [0,4] (lowest index), J0 then a1 [0,6].
    instance = build([chain(0, 100, (3, 6)), chain(0, 100, (4, 2))], accelerators=("a0", "a1"))
    assert run("sjf", instance) == [[(0, 0, 3)], [(1, 0, 2)]]
    assert run("sjf", instance, accelerator="first_idle") == [[(1, 0, 6)], [(0, 0, 4)]]


def test_a_job_with_parallel_ready_ops_may_take_several_accelerators() -> None:
    # One job whose two ops have no precedence: both are ready at 0 and the job is picked
    # twice, one op per idle accelerator.
    job = JobSpec(task=0, release=0, deadline=100, ops=[OpSpec([2, 2]), OpSpec([3, 3])])
    instance = build([job], accelerators=("a0", "a1"))
    for name in ("rr", "llf", "sjf"):
        assert run(name, instance) == [[(0, 0, 2), (1, 0, 3)]], name


def test_ops_go_only_where_they_are_eligible() -> None:
    # J0 (shorter) may run on a1 only; J1 on both. At t=0 J0 is picked first and takes a1,
    # so J1 takes a0.
    instance = build([chain(0, 100, (-1, 2)), chain(0, 100, (5, 5))], accelerators=("a0", "a1"))
    assert run("sjf", instance) == [[(1, 0, 2)], [(0, 0, 5)]]
    assert run("rr", instance) == [[(1, 0, 2)], [(0, 0, 5)]]


@pytest.mark.parametrize("name", ["rr", "llf", "sjf"])
def test_bad_accelerator_rule_is_an_input_error(name: str) -> None:
    with pytest.raises(InputError, match="accelerator must be one of"):
        make_scheduler(name, {"accelerator": "fastest"})
