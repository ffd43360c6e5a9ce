"""Perfetto trace export and Gantt charts, on hand-made schedules whose events are known."""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import json
import sys

import numpy as np
import pytest

from rtmm_opt.errors import InputError
from rtmm_opt.instance import TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Instance
from rtmm_opt.metrics import compute_metrics
from rtmm_opt.schedule import JobStatus, Schedule, validate
from rtmm_opt.viz import (
    plot_gantt,
    plot_gantt_pair,
    save_figure,
    save_gantt,
    task_colors,
    trace_events,
    write_trace,
)

D, C = int(JobStatus.DROPPED), int(JobStatus.COMPLETED)
UNIT_NS = 500  # one time unit = 0.5 µs: trace times are half the schedule's integers


def three_jobs() -> tuple[Instance, Schedule]:
    """3 jobs on 2 accelerators: J0 on time, J1 late, J2 dropped after running one op.

    op  job  task    on    start end   (time units)
    0   J0   detect  npu0  0     4
    1   J0   detect  npu0  4     7     J0 completes at 7  <= deadline 20
    2   J1   track   npu1  2     6     J1 completes at 6  >  deadline 5: late by 1
    3   J2   detect  npu1  10    16    J2 dropped at 16 (op 4 never runs)
    """
    tasks = [TaskInfo("detect", "m_det"), TaskInfo("track", "m_trk")]

    def detect_ops() -> list[OpSpec]:
        return [
            OpSpec([4, 6], energies=[40, 60]),
            OpSpec([3, 5], energies=[30, 50], preds=[0]),
        ]

    jobs = [
        JobSpec(0, release=0, deadline=20, ops=detect_ops(), frame=0),
        JobSpec(1, release=2, deadline=5, ops=[OpSpec([5, 4], energies=[50, 40])], frame=0),
        JobSpec(0, release=10, deadline=18, ops=detect_ops(), frame=1),
    ]
    instance = assemble(
        "three-jobs", accelerators=("npu0", "npu1"), tasks=tasks, jobs=jobs, time_unit_ns=UNIT_NS
    )
    schedule = Schedule(
        op_accelerator=np.array([0, 0, 1, 1, -1]),
        op_start=np.array([0, 4, 2, 10, -1]),
        op_end=np.array([4, 7, 6, 16, -1]),
        job_status=np.array([C, C, D]),
        job_variant=np.zeros(3, np.int64),
        job_drop_time=np.array([0, 0, 16]),
        producer="hand",
    )
    report = validate(instance, schedule)
    assert report.ok, report.summary()
    return instance, schedule


def list_schedule(instance: Instance, producer: str = "list") -> Schedule:
    """A greedy list schedule: jobs in release order, each op on its earliest-finishing
    accelerator. A job that cannot start before its deadline is dropped at its release; an
    even-numbered job already past its deadline after an op is dropped there (so some dropped
    jobs have wasted work). Chains only (each op follows the previous one)."""
    free = np.zeros(instance.n_accelerators, np.int64)
    acc = np.full(instance.n_ops, -1, np.int64)
    start = np.full(instance.n_ops, -1, np.int64)
    end = np.full(instance.n_ops, -1, np.int64)
    status = np.full(instance.n_jobs, C, np.int64)
    drop_time = np.zeros(instance.n_jobs, np.int64)
    for job in np.argsort(instance.job_release, kind="stable").tolist():
        ready = int(instance.job_release[job])
        deadline = int(instance.job_deadline[job])
        ops = list(instance.ops_of(job))
        if int(free.min()) > deadline:
            status[job], drop_time[job] = D, ready
            continue
        for k, op in enumerate(ops):
            durations = instance.op_duration[op]
            eligible = np.flatnonzero(durations >= 0)
            finish = np.maximum(free[eligible], ready) + durations[eligible]
            choice = int(eligible[np.argmin(finish)])
            acc[op], start[op] = choice, max(int(free[choice]), ready)
            end[op] = start[op] + durations[choice]
            free[choice] = ready = int(end[op])
            if ready > deadline and job % 2 == 0 and k < len(ops) - 1:
                status[job], drop_time[job] = D, ready
                break
    schedule = Schedule(
        acc, start, end, status, np.zeros(instance.n_jobs, np.int64), drop_time, producer
    )
    report = validate(instance, schedule)
    assert report.ok, report.summary()
    return schedule


def periodic_instance(
    n_tasks: int = 4, frames: int = 12, accelerators: int = 3, seed: int = 0
) -> Instance:
    """Periodic chains of 2–4 ops, 1 time unit = 1 µs, accelerators of different speeds."""
    rng = np.random.default_rng(seed)
    tasks = [TaskInfo(f"task{t}", f"model{t}", period=4000 + 1500 * t) for t in range(n_tasks)]
    speed = np.linspace(1.0, 2.2, accelerators)
    jobs = []
    for t, task in enumerate(tasks):
        assert task.period is not None
        n_ops = int(rng.integers(2, 5))
        base = rng.integers(300, 1200, n_ops)
        for frame in range(frames):
            release = frame * task.period
            ops = [
                OpSpec(
                    [int(b * s) for s in speed],
                    energies=[int(b)] * accelerators,
                    preds=[k - 1] if k else [],
                )
                for k, b in enumerate(base.tolist())
            ]
            jobs.append(JobSpec(t, release, release + task.period, ops, frame=frame))
    jobs.sort(key=lambda job: job.release)
    return assemble(
        "periodic",
        accelerators=[f"acc{a}" for a in range(accelerators)],
        tasks=tasks,
        jobs=jobs,
        time_unit_ns=1000,
    )


# -- Perfetto trace -----------------------------------------------------------------------------


def by_phase(trace: dict, phase: str) -> list[dict]:
    return [e for e in trace["traceEvents"] if e["ph"] == phase]


def test_trace_tracks_are_named_and_ordered():
    instance, schedule = three_jobs()
    meta = by_phase(trace_events(instance, schedule), "M")
    names = {(e["name"], e.get("tid")): e["args"] for e in meta}
    assert len(meta) == 7
    assert names[("process_name", None)] == {"name": "system (three-jobs)"}
    assert [names[("thread_name", tid)]["name"] for tid in (1, 2, 3)] == ["npu0", "npu1", "jobs"]
    assert [names[("thread_sort_index", tid)]["sort_index"] for tid in (1, 2, 3)] == [0, 1, 2]
    assert {e["pid"] for e in meta} == {1}


def test_trace_has_one_complete_event_per_executed_op():
    instance, schedule = three_jobs()
    ops = by_phase(trace_events(instance, schedule), "X")
    # (name, track, ts µs, dur µs, late) from the hand schedule, times x 0.5 µs.
    expected = [
        ("detect#0/s0", 1, 0.0, 2.0, False),
        ("track#0/s0", 2, 1.0, 2.0, True),
        ("detect#0/s1", 1, 2.0, 1.5, False),
        ("detect#1/s0", 2, 5.0, 3.0, False),
    ]
    assert [(e["name"], e["tid"], e["ts"], e["dur"], e["args"]["late"]) for e in ops] == expected
    assert [e["cat"] for e in ops] == ["detect", "track", "detect", "detect"]
    first = ops[0]["args"]
    assert first == {
        "job": 0,
        "op": 0,
        "frame": 0,
        "segment": 0,
        "variant": "default",
        "deadline_us": 10.0,
        "late": False,
        "energy_nJ": 40,
    }
    assert ops[3]["args"]["energy_nJ"] == 60  # op 3 ran on npu1
    assert all(isinstance(e["ts"], float) and isinstance(e["dur"], float) for e in ops)


def test_trace_marks_releases_misses_and_drops_on_the_jobs_track():
    instance, schedule = three_jobs()
    instants = by_phase(trace_events(instance, schedule), "i")
    assert {(e["tid"], e["s"]) for e in instants} == {(3, "t")}
    assert [(e["cat"], e["name"], e["ts"]) for e in instants] == [
        ("release", "release detect#0", 0.0),
        ("release", "release track#0", 1.0),
        ("miss", "miss track#0", 2.5),  # at J1's deadline (5 units)
        ("release", "release detect#1", 5.0),
        ("drop", "drop detect#1", 8.0),  # J2's drop time (16 units)
    ]
    miss = instants[2]["args"]
    assert miss["completion_us"] == 3.0 and miss["lateness_us"] == 0.5


def test_trace_counts_active_jobs():
    instance, schedule = three_jobs()
    counters = by_phase(trace_events(instance, schedule), "C")
    # J0 active [0, 7), J1 [2, 6), J2 [10, 16) in time units.
    assert [(e["ts"], e["args"]["jobs"]) for e in counters] == [
        (0.0, 1),
        (1.0, 2),
        (3.0, 1),
        (3.5, 0),
        (5.0, 1),
        (8.0, 0),
    ]
    assert {e["name"] for e in counters} == {"active"}
    assert not by_phase(trace_events(instance, schedule, active_jobs=False), "C")


def test_trace_is_exactly_these_events_sorted_and_deterministic(tmp_path):
    instance, schedule = three_jobs()
    metrics = compute_metrics(instance, schedule)
    trace = trace_events(instance, schedule, metrics=metrics)
    events = trace["traceEvents"]
    assert len(events) == 7 + 4 + 5 + 6
    assert [e["ph"] for e in events[:7]] == ["M"] * 7
    timed = [e["ts"] for e in events[7:]]
    assert timed == sorted(timed)
    assert trace["displayTimeUnit"] == "ms"
    assert trace["metadata"]["instance_hash"] == instance.content_hash
    assert trace["metadata"]["producer"] == "hand"
    assert trace["metadata"]["metrics"]["late"] == 1
    assert trace["metadata"]["metrics"]["dropped"] == 1

    first = write_trace(tmp_path / "a.json", instance, schedule, metrics=metrics)
    second = write_trace(tmp_path / "b.json", instance, schedule, metrics=metrics)
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_text()) == json.loads(json.dumps(trace))
    zipped = write_trace(tmp_path / "a.json.gz", instance, schedule, metrics=metrics)
    assert gzip.decompress(zipped.read_bytes()) == first.read_bytes()
    assert (
        zipped.read_bytes()
        == write_trace(tmp_path / "b.json.gz", instance, schedule, metrics=metrics).read_bytes()
    )


def test_trace_of_a_cascade():
    """A dependent is released when its upstream completes; a cascade-dropped one never is."""
    tasks = [TaskInfo("detect", "m"), TaskInfo("gaze", "g", depends_on=("detect",))]
    jobs = [
        JobSpec(0, 0, 10, [OpSpec([3])], frame=0),
        JobSpec(1, 0, 10, [OpSpec([2])], frame=0, upstream=[0]),
        JobSpec(0, 10, 20, [OpSpec([3])], frame=1),
        JobSpec(1, 10, 20, [OpSpec([2])], frame=1, upstream=[2]),
    ]
    instance = assemble("cascade", accelerators=("npu",), tasks=tasks, jobs=jobs, time_unit_ns=1000)
    schedule = Schedule(
        op_accelerator=np.array([0, 0, -1, -1]),
        op_start=np.array([0, 3, -1, -1]),
        op_end=np.array([3, 5, -1, -1]),
        job_status=np.array([C, C, D, D]),
        job_variant=np.zeros(4, np.int64),
        job_drop_time=np.array([0, 0, 12, 12]),
    )
    assert validate(instance, schedule).ok
    trace = trace_events(instance, schedule)
    instants = [(e["name"], e["ts"]) for e in by_phase(trace, "i")]
    assert instants == [
        ("release detect#0", 0.0),
        ("release gaze#0", 3.0),  # when detect#0 completed
        ("release detect#1", 10.0),
        ("drop detect#1", 12.0),
        ("drop gaze#1", 12.0),  # never released
    ]
    drops = [e["args"]["released"] for e in by_phase(trace, "i") if e["cat"] == "drop"]
    assert drops == [True, False]
    # detect#0 [0,3), gaze#0 [3,5), detect#1 [10,12); gaze#1 never active.
    counters = [(e["ts"], e["args"]["jobs"]) for e in by_phase(trace, "C")]
    assert counters == [(0.0, 1), (5.0, 0), (10.0, 1), (12.0, 0)]


def test_trace_write_errors_are_input_errors(tmp_path):
    instance, schedule = three_jobs()
    with pytest.raises(InputError, match="cannot write"):
        write_trace(tmp_path / "missing" / "t.json", instance, schedule)


# -- Gantt charts -------------------------------------------------------------------------------

needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None,
    reason="matplotlib is not installed (pip install 'rtmm-opt[plot]')",
)


def bar_collections(ax) -> dict[str, list[tuple[float, float]]]:
    """gid -> [(x0, x1)] of each bar, read back from the drawn paths."""
    bars = {}
    for collection in ax.collections:
        gid = collection.get_gid() or ""
        if gid.startswith("ops/"):
            extents = []
            for path in collection.get_paths():
                xs = path.vertices[:, 0]
                extents.append((round(float(xs.min()), 9), round(float(xs.max()), 9)))
            bars[gid] = sorted(extents)
    return bars


def collection(ax, gid):
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, f"{gid}: {len(found)} collections"
    return found[0]


@needs_matplotlib
def test_gantt_bars_rows_and_markers():
    instance, schedule = three_jobs()
    figure, ax = plot_gantt(instance, schedule)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["npu0", "npu1", "dropped"]
    ms = UNIT_NS / 1e6  # one time unit in ms
    assert bar_collections(ax) == {
        "ops/detect/0/on_time": [(0.0, 4 * ms), (4 * ms, 7 * ms)],
        "ops/track/1/late": [(2 * ms, 6 * ms)],
        "ops/detect/1/dropped": [(10 * ms, 16 * ms)],
    }
    from matplotlib.colors import to_hex

    late = collection(ax, "ops/track/1/late")
    assert to_hex(late.get_edgecolor()[0]) == "#d62728"
    assert late.get_linewidth()[0] > 0
    assert collection(ax, "ops/detect/1/dropped").get_hatch() == "////"
    # a × at J1's completion (6 units) on npu1's row, a ▼ at J2's drop (16 units) on the drop row
    np.testing.assert_allclose(collection(ax, "late").get_offsets(), [[6 * ms, 1]])
    np.testing.assert_allclose(collection(ax, "dropped").get_offsets(), [[16 * ms, 2]])
    colors = task_colors(2)
    bars = collection(ax, "ops/detect/0/on_time")
    np.testing.assert_allclose(bars.get_facecolor()[0], colors[0])
    assert "1 late, 1 dropped" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["detect", "track"] and len(legend) == 4
    assert figure is ax.figure


@needs_matplotlib
def test_gantt_time_range_draws_only_visible_ops():
    instance, schedule = three_jobs()
    _, ax = plot_gantt(instance, schedule, time_range=(0.0, 0.0025), title="zoom")
    assert set(bar_collections(ax)) == {"ops/detect/0/on_time", "ops/track/1/late"}
    assert ax.get_xlim() == (0.0, 0.0025)
    assert ax.get_title() == "zoom"


@needs_matplotlib
def test_gantt_without_misses_has_no_marker_rows(tmp_path):
    instance = periodic_instance(frames=4)
    relaxed = dataclasses.replace(instance, job_deadline=instance.job_deadline * 10)
    schedule = list_schedule(relaxed)
    assert np.all(schedule.job_status == C)
    _, ax = plot_gantt(relaxed, schedule)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["acc0", "acc1", "acc2"]
    assert not [c for c in ax.collections if c.get_gid() in ("late", "dropped")]
    assert sum(len(v) for v in bar_collections(ax).values()) == relaxed.n_ops


@needs_matplotlib
def test_save_gantt_formats(tmp_path):
    instance, schedule = three_jobs()
    png = save_gantt(tmp_path / "g.png", instance, schedule)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    svg_a = save_gantt(tmp_path / "a.svg", instance, schedule).read_bytes()
    svg_b = save_gantt(tmp_path / "b.svg", instance, schedule).read_bytes()
    assert svg_a.startswith(b"<?xml") and svg_a == svg_b
    assert save_gantt(tmp_path / "g.pdf", instance, schedule).read_bytes()[:5] == b"%PDF-"
    with pytest.raises(InputError, match=r"unsupported image format '\.jpg'"):
        save_gantt(tmp_path / "g.jpg", instance, schedule)
    with pytest.raises(InputError, match="cannot write"):
        save_gantt(tmp_path / "missing" / "g.png", instance, schedule)


@needs_matplotlib
def test_gantt_pair_shares_the_time_axis(tmp_path):
    instance, schedule = three_jobs()
    # The same jobs with J2 completed on npu0 after J0: nothing dropped.
    better = Schedule(
        op_accelerator=np.array([0, 0, 1, 0, 0]),
        op_start=np.array([0, 4, 2, 10, 14]),
        op_end=np.array([4, 7, 6, 14, 17]),
        job_status=np.array([C, C, C]),
        job_variant=np.zeros(3, np.int64),
        job_drop_time=np.zeros(3, np.int64),
    )
    assert validate(instance, better).ok
    figure, (upper, lower) = plot_gantt_pair(instance, better, schedule, ("oracle", "edf"))
    assert upper.get_xlim() == lower.get_xlim()
    ms = UNIT_NS / 1e6
    low, high = upper.get_xlim()
    assert low <= 0 and high >= 17 * ms  # both charts' ops fit: "better" ends at 17 units
    rows = ["npu0", "npu1", "dropped"]  # the same rows in both, though only one dropped
    assert [t.get_text() for t in upper.get_yticklabels()] == rows
    assert [t.get_text() for t in lower.get_yticklabels()] == rows
    assert upper.get_title().startswith("oracle") and lower.get_title().startswith("edf")
    # J1 cannot make its deadline anywhere (release 2 + 4 > 5): late in both.
    assert upper.get_title().endswith("1 late, 0 dropped")
    assert lower.get_title().endswith("1 late, 1 dropped")
    assert len(bar_collections(upper)) == 1 + 1  # detect on npu0, late track on npu1
    # J2's ▼ at its drop (16 units) on the lower chart's drop row; no ▼ on the upper chart
    np.testing.assert_allclose(collection(lower, "dropped").get_offsets(), [[16 * ms, 2]])
    assert not [c for c in upper.collections if c.get_gid() == "dropped"]
    out = save_figure(figure, tmp_path / "pair.png")
    assert out.stat().st_size > 5000


def test_missing_matplotlib_is_an_input_error(monkeypatch):
    instance, schedule = three_jobs()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InputError, match=r"pip install 'rtmm-opt\[plot\]'"):
        plot_gantt(instance, schedule)


@needs_matplotlib
def test_gantt_artists_do_not_grow_with_the_op_count(tmp_path):
    # One artist per (task, accelerator, outcome) group, whatever the number of ops: 10x the
    # ops draws the same kinds of artists, within the same bound (timings and file sizes:
    # benchmarks/bench_viz.py).
    n_tasks, n_acc = 6, 3
    bound = n_tasks * n_acc * 3 + 2  # bar groups (task x accelerator x outcome), × and ▼ marks
    others = []
    for frames in (70, 700):
        instance = periodic_instance(n_tasks=n_tasks, frames=frames, accelerators=n_acc, seed=1)
        assert instance.n_ops == 16 * frames  # 1,120 and 11,200 ops
        schedule = list_schedule(instance)
        _, ax = plot_gantt(instance, schedule)
        bars = bar_collections(ax)
        assert sum(len(v) for v in bars.values()) == len(schedule.executed)
        assert not ax.patches and not ax.lines and not ax.texts and not ax.images
        assert len(ax.collections) <= bound
        assert {c.get_gid() for c in ax.collections} == {*bars, "late", "dropped"}
        # Dense: faces only, so red edges and hatches do not paint over the task colours.
        drawn = [c for c in ax.collections if (c.get_gid() or "").startswith("ops/")]
        assert any(c.get_gid().endswith("/late") for c in drawn)
        assert all(c.get_linewidth()[0] == 0 and not c.get_hatch() for c in drawn)
        # everything else (spines, axes, title, legend) is fixed
        others.append(
            sorted(type(c).__name__ for c in ax.get_children() if c not in ax.collections)
        )
    assert others[0] == others[1] and len(others[0]) <= 12
    png = save_figure(ax.figure, tmp_path / "big.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
