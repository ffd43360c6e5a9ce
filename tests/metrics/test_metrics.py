"""Metrics (docs/design.md §3) on a tiny hand-computed instance; cross-checks of the vectorised helpers."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from support.valid_schedules import RANDOM_SEEDS, early_exit_dag, random_case
from support.valid_schedules import context_switch as context_switch_case

from rtmm_opt.instance import TaskInfo, Variant
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.metrics import completion_times, compute_metrics, isolated_latencies, job_energy_nj
from rtmm_opt.schedule import JobStatus, Schedule, validate

MJ = 1_000_000  # nJ
D, C = int(JobStatus.DROPPED), int(JobStatus.COMPLETED)


def det_ops():
    """Variant 0 ("full"): chain o0 -> o1; variant 1 ("lite"): one op."""
    return [
        OpSpec([4, 6], energies=[2 * MJ, 1 * MJ]),
        OpSpec([6, 10], energies=[3 * MJ, 3 * MJ // 2], preds=[0]),
        OpSpec([3, 5], energies=[1 * MJ, MJ // 2], variant=1),
    ]


def track_ops():
    return [OpSpec([5, 8], energies=[1 * MJ, 4 * MJ // 10])]


def tiny():
    """Three frames of det -> track (cascade), one time unit = 0.5 ms. Ops by index:

    frame 0: J0 det  ops 0,1,2  J1 track op 3
    frame 1: J2 det  ops 4,5,6  J3 track op 7
    frame 2: J4 det  ops 8,9,10 J5 track op 11
    """
    tasks = [
        TaskInfo("det", "m", variants=(Variant("full", 0.9), Variant("lite", 0.7))),
        TaskInfo("track", "t", depends_on=("det",)),
    ]
    jobs = []
    for frame in range(3):
        release = 20 * frame
        jobs.append(JobSpec(0, release, release + 20, det_ops(), frame=frame))
        jobs.append(
            JobSpec(1, release, release + 20, track_ops(), frame=frame, upstream=[2 * frame])
        )
    instance = assemble(
        "tiny", accelerators=("big", "little"), tasks=tasks, jobs=jobs, time_unit_ns=500_000
    )
    runs = {
        0: (0, 0, 4),  # J0 full on big: 0..4, 4..10 -> C0 = 10, on time (d = 20)
        1: (0, 4, 10),
        3: (1, 10, 18),  # J1 released at C0 = 10, little 10..18 -> C1 = 18, on time
        6: (1, 38, 43),  # J2 lite on little 38..43 -> C2 = 43 > d = 40: late by 3 units
        8: (0, 40, 44),  # J4 full: first op only, then dropped at 45
    }
    accelerator = np.full(instance.n_ops, -1, np.int64)
    start, end = accelerator.copy(), accelerator.copy()
    for op, (acc, begin, finish) in runs.items():
        accelerator[op], start[op], end[op] = acc, begin, finish
    schedule = Schedule(
        op_accelerator=accelerator,
        op_start=start,
        op_end=end,
        job_status=np.array([C, C, C, D, D, D]),
        job_variant=np.array([0, 0, 1, 0, 0, 0]),
        job_drop_time=np.array([0, 0, 0, 43, 45, 45]),
    )
    return instance, schedule


def test_tiny_schedule_is_valid():
    instance, schedule = tiny()
    assert validate(instance, schedule).ok


def test_tiny_metrics_by_hand():
    m = compute_metrics(*tiny())
    assert (m.jobs, m.completed, m.dropped, m.late) == (6, 3, 3, 1)
    assert m.miss_rate == pytest.approx(4 / 6)  # J3, J4, J5 dropped + J2 late
    assert m.drop_rate == pytest.approx(3 / 6)
    assert m.late_rate == pytest.approx(1 / 6)
    assert m.sla_rate == pytest.approx(2 / 6)  # J0, J1
    assert m.tardiness == 3  # J2: 43 - 40
    assert m.tardiness_ms == pytest.approx(1.5)
    # J0 2 + 3 mJ, J1 0.4, J2 0.5, J4 (dropped, its op 8 ran) 2 mJ
    assert m.energy_mJ == pytest.approx(7.9)
    assert m.makespan == 43  # last completion 43 - first release 0
    assert m.makespan_ms == pytest.approx(21.5)
    assert m.throughput == pytest.approx(3 / 0.0215)  # jobs per second
    # (C - R) / T_iso: J0 (10 - 0) / (4 + 6) = 1; J1 released at C0 = 10: (18 - 10) / 5 = 1.6;
    # J2 (lite, fastest 3): (43 - 20) / 3
    assert m.antt == pytest.approx((1 + 1.6 + 23 / 3) / 3)
    assert m.stp == pytest.approx(1 + 5 / 8 + 3 / 23)
    assert m.uxcost == pytest.approx(7.9 * 4 / 6)


def rt(lateness_ms):
    return 1 / (1 + math.exp(15 * lateness_ms))


def en(energy_mj):
    return (1500 - energy_mj) / 1500


def test_tiny_xrbench_score_by_hand():
    m = compute_metrics(*tiny())
    # Lateness in ms (0.5 ms units): J0 -10 units = -5 ms; J1 -2 = -1 ms; J2 +3 = +1.5 ms.
    rt0, rt1, rt2 = rt(-5), rt(-1), rt(1.5)
    en0, en1, en2 = en(5), en(0.4), en(0.5)
    det, track = m.per_task["det"], m.per_task["track"]
    # det: N = 3 (J0, J2, J4), 1 dropped; track: N = 3 (J1, J3, J5), 2 dropped.
    assert det.xrbench_ux == pytest.approx(2 / 3)
    assert track.xrbench_ux == pytest.approx(1 / 3)
    assert det.xrbench_rt == pytest.approx((rt0 + rt2) / 2)
    assert det.xrbench_en == pytest.approx((en0 + en2) / 2)
    assert track.xrbench_rt == pytest.approx(rt1)
    s_det = (rt0 * en0 + rt2 * en2) / 3 * (2 / 3)
    s_track = rt1 * en1 / 3 * (1 / 3)
    assert det.xrbench_score == pytest.approx(100 * s_det)
    assert track.xrbench_score == pytest.approx(100 * s_track)
    assert m.xrbench_score == pytest.approx(100 * (s_det + s_track) / 2)


def test_tiny_per_task_breakdown():
    m = compute_metrics(*tiny())
    det, track = m.per_task["det"], m.per_task["track"]
    assert (det.jobs, det.completed, det.dropped, det.late) == (3, 2, 1, 1)
    assert (track.jobs, track.completed, track.dropped, track.late) == (3, 1, 2, 0)
    assert det.energy_mJ == pytest.approx(7.5)
    assert track.energy_mJ == pytest.approx(0.4)
    assert det.tardiness == 3 and track.tardiness == 0
    assert det.antt == pytest.approx((1 + 23 / 3) / 2)
    assert track.stp == pytest.approx(5 / 8)
    assert det.miss_rate == pytest.approx(2 / 3) and track.miss_rate == pytest.approx(2 / 3)
    assert det.sla_rate == pytest.approx(1 / 3) and track.sla_rate == pytest.approx(1 / 3)


def test_to_dict_keys_and_json():
    m = compute_metrics(*tiny())
    data = m.to_dict()
    spec_keys = {
        "miss_rate",
        "drop_rate",
        "late_rate",
        "tardiness",
        "energy_mJ",
        "makespan",
        "antt",
        "throughput",
        "stp",
        "sla_rate",
        "xrbench_score",
        "uxcost",
    }
    counts = {"jobs", "completed", "dropped", "late"}
    extra = {"tardiness_ms", "makespan_ms", "accuracy", "accuracy_loss", "per_task", "per_tenant",
             "utilisation", "utilisation_per_accelerator"}  # fmt: skip
    assert set(data) == spec_keys | counts | extra
    assert set(data["per_task"]) == {"det", "track"}
    text = json.dumps(data, sort_keys=True)
    assert text == json.dumps(compute_metrics(*tiny()).to_dict(), sort_keys=True)  # deterministic
    assert json.loads(text)["per_task"]["det"]["dropped"] == 1


def test_accuracy_of_the_variants_run():
    # Task with variants full (0.9) and lite (0.6); three jobs: two complete, one in each
    # variant, one is dropped (it counts in neither mean). accuracy = (0.9 + 0.6)/2 = 0.75,
    # accuracy_loss = (0 + 0.3)/2 = 0.15. A task without variants has accuracy 1, loss 0.
    task = TaskInfo("v", "m", variants=(Variant("full", 0.9), Variant("lite", 0.6)))
    jobs = [
        JobSpec(task=0, release=0, deadline=100, ops=[OpSpec([2]), OpSpec([1], variant=1)])
        for _ in range(3)
    ]
    jobs.append(JobSpec(task=1, release=0, deadline=100, ops=[OpSpec([1])]))
    instance = assemble("acc", accelerators=("a",), tasks=[task, TaskInfo("plain", "m")],
                        jobs=jobs)  # fmt: skip
    # ops: job0 (0 full, 1 lite), job1 (2, 3), job2 (4, 5), job3 (6)
    schedule = Schedule(
        op_accelerator=np.array([0, -1, -1, 0, -1, -1, 0]),
        op_start=np.array([0, -1, -1, 2, -1, -1, 3]),
        op_end=np.array([2, -1, -1, 3, -1, -1, 4]),
        job_status=np.array([JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.DROPPED,
                             JobStatus.COMPLETED]),
        job_variant=np.array([0, 1, 0, 0]),
        job_drop_time=np.array([0, 0, 0, 0]),
    )  # fmt: skip
    metrics = compute_metrics(instance, schedule)
    assert metrics.per_task["v"].accuracy == pytest.approx(0.75)
    assert metrics.per_task["v"].accuracy_loss == pytest.approx(0.15)
    assert metrics.per_task["plain"].accuracy == 1.0
    assert metrics.per_task["plain"].accuracy_loss == 0.0
    assert metrics.accuracy == pytest.approx((0.9 + 0.6 + 1.0) / 3)
    assert metrics.accuracy_loss == pytest.approx(0.3 / 3)


def test_completion_on_the_deadline_is_not_late():
    instance = assemble(
        "edge",
        accelerators=("a",),
        tasks=[TaskInfo("t", "m")],
        jobs=[JobSpec(0, 0, 5, [OpSpec([5])]), JobSpec(0, 0, 11, [OpSpec([6])])],
    )
    schedule = Schedule(
        np.array([0, 0]),
        np.array([0, 5]),
        np.array([5, 11]),
        np.array([C, C]),
        np.zeros(2, np.int64),
        np.zeros(2, np.int64),
    )
    m = compute_metrics(instance, schedule)
    assert (m.late, m.sla_rate, m.tardiness) == (0, 1.0, 0)
    late = Schedule(
        np.array([0, 0]),
        np.array([1, 6]),
        np.array([6, 12]),
        np.array([C, C]),
        np.zeros(2, np.int64),
        np.zeros(2, np.int64),
    )
    m = compute_metrics(instance, late)
    assert (m.late, m.tardiness) == (2, 2)


def test_context_reload_energy_is_counted_once_per_switch():
    case = context_switch_case()
    # Three ops with zero op energy: contexts 0, 1, 1 on npu0 -> one reload of w1 on npu0 (11 nJ);
    # the first load is free.
    assert job_energy_nj(case.instance, case.schedule).tolist() == [0, 11, 0]
    assert compute_metrics(case.instance, case.schedule).energy_mJ == pytest.approx(11e-6)
    no_switch = case.instance.with_settings(context_switch=False)
    assert compute_metrics(no_switch, case.schedule).energy_mJ == 0


def test_early_exit_completion_and_wasted_energy():
    case = early_exit_dag()
    energies = np.array([[1, 1], [10, 10], [100, 100]], np.int64)
    instance = assemble(
        "exit-energy",
        accelerators=("npu0", "npu1"),
        tasks=[TaskInfo("t", "m")],
        jobs=[
            JobSpec(
                0,
                0,
                30,
                [
                    OpSpec([2, 2], energies=energies[0]),
                    OpSpec([2, 2], energies=energies[1], preds=[0]),
                    OpSpec([3, 3], energies=energies[2], preds=[0]),
                ],
                exit_op=1,
            )
        ],
    )
    assert validate(instance, case.schedule).ok
    # The job completes when its exit op (op 1) ends at 4; op 2 (started before the exit was
    # known, ending at 6) still spent its energy.
    assert completion_times(instance, case.schedule).tolist() == [4]
    m = compute_metrics(instance, case.schedule)
    assert m.makespan == 4
    assert m.energy_mJ == pytest.approx(111e-6)
    assert m.antt == pytest.approx(1.0)  # T_iso = 2 + 2 along the exit path


def test_nothing_completed():
    instance, _ = tiny()
    nothing = Schedule.empty(instance)
    m = compute_metrics(instance, nothing)
    assert (m.completed, m.dropped, m.makespan, m.throughput, m.antt, m.stp) == (
        0,
        6,
        0,
        0.0,
        0.0,
        0.0,
    )
    assert (m.miss_rate, m.sla_rate, m.xrbench_score, m.energy_mJ, m.uxcost) == (
        1.0,
        0.0,
        0.0,
        0.0,
        0.0,
    )
    assert m.per_task["det"].xrbench_rt == 0.0


def test_very_late_jobs_score_zero_without_overflow():
    instance = assemble(
        "late",
        accelerators=("a",),
        tasks=[TaskInfo("t", "m")],
        jobs=[JobSpec(0, 0, 1, [OpSpec([10**9])])],
        time_unit_ns=1_000_000,  # 1 ms units: 1e9 ms late
    )
    schedule = Schedule(
        np.array([0]), np.array([0]), np.array([10**9]), np.array([C]), np.array([0]), np.array([0])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = compute_metrics(instance, schedule)
    assert m.xrbench_score == 0.0
    assert m.per_task["t"].xrbench_rt == 0.0


@pytest.mark.parametrize("seed", RANDOM_SEEDS[:30])
def test_vectorised_helpers_match_the_instance_and_schedule(seed):
    case = random_case(seed)
    instance, schedule = case.instance, case.schedule
    variants = schedule.job_variant
    expected = [instance.isolated_latency(j, int(variants[j])) for j in range(instance.n_jobs)]
    assert isolated_latencies(instance, variants).tolist() == expected
    assert (
        completion_times(instance, schedule).tolist()
        == schedule.completion_times(instance).tolist()
    )
    m = compute_metrics(instance, schedule)
    executed = schedule.executed
    op_energy = int(instance.op_energy[executed, schedule.op_accelerator[executed]].sum())
    if not instance.settings.context_switch:
        assert m.energy_mJ == pytest.approx(op_energy / 1e6, abs=0)
    else:
        assert m.energy_mJ >= op_energy / 1e6
    assert m.completed + m.dropped == m.jobs == instance.n_jobs
    assert sum(t.jobs for t in m.per_task.values()) == m.jobs
    assert math.isclose(sum(t.energy_mJ for t in m.per_task.values()), m.energy_mJ)
    assert m.miss_rate == pytest.approx(m.drop_rate + m.late_rate)
    assert m.sla_rate == pytest.approx(1 - m.miss_rate)
