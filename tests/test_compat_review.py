"""Review of the XRBench and Dysta compatibility modes: defects found by trying to break them,
and the guarantees they must keep.

Truth here is hand-computed timelines, an independent transcription of the Dysta simulator's
loop (``shared/dysta/README.md`` §3.4, written from the README in this file), the single-machine
makespan bound computed by hand, and the harness's own summary for XRBench.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import DYSTA, ROOT, XRBENCH

from rtmm_opt.cli.main import main
from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance import Settings, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import validate
from rtmm_opt.schedulers import make_scheduler, scheduler_names

DYSTA_SCHEDULERS = ("fcfs", "sjf", "prema", "planaria", "sdrm3", "dysta", "dysta_oracle")
DYSTA_COMPAT = Settings(drops="never", compat="dysta")


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"reference data not found at {path}")


def chains(*jobs, settings=DYSTA_COMPAT, accelerators=("acc",), predicted=None):
    """Jobs ``(release, deadline, durations...)`` as chains on every accelerator, task 0."""
    specs = []
    for index, (release, deadline, *durations) in enumerate(jobs):
        ops = [
            OpSpec(
                [d] * len(accelerators),
                predicted=None if predicted is None else [predicted[index][i]] * len(accelerators),
                preds=[i - 1] if i else [],
            )
            for i, d in enumerate(durations)
        ]
        specs.append(JobSpec(0, release, deadline, ops))
    return assemble(
        "tiny", accelerators=accelerators, tasks=[TaskInfo("t", "m")], jobs=specs, settings=settings
    )


def schedule_of(instance, starts, accelerators=None):
    """Every op run from ``starts`` (on accelerator 0 unless given), every job completed."""
    starts = np.asarray(starts, np.int64)
    accs = np.zeros(instance.n_ops, np.int64) if accelerators is None else np.asarray(accelerators)
    return Schedule(
        op_accelerator=accs,
        op_start=starts,
        op_end=starts + instance.op_duration[np.arange(instance.n_ops), accs],
        job_status=np.full(instance.n_jobs, JobStatus.COMPLETED, np.int64),
        job_variant=np.zeros(instance.n_jobs, np.int64),
        job_drop_time=np.zeros(instance.n_jobs, np.int64),
    )


def timeline(instance, schedule):
    return [
        [(int(schedule.op_start[o]), int(schedule.op_end[o])) for o in instance.ops_of(j)]
        for j in range(instance.n_jobs)
    ]


# -- rtmm import dysta: bad input is one line, exit 2 ------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--rate", "1e-300", "--slo-mult", "2"],  # arrivals ~1e299 s: float → int overflowed
        ["--rate", "3", "--slo-mult", "1e300"],  # deadlines ~1e299 s
    ],
)
def test_import_rejects_times_beyond_64_bit_instead_of_crashing(rtmm, tmp_path, flags):
    # Defect (fixed): round(inf) raised OverflowError, an internal error with exit 1.
    needs(DYSTA / "latency_tables")
    out = tmp_path / "x.json"
    status, _, err = rtmm(
        "import", "dysta", DYSTA / "latency_tables" / "sanger", "--requests", "3",
        "--seed", "1", *flags, "--out", out,
    )  # fmt: skip
    assert status == 2, err
    assert err.count("\n") == 1 and "overflows 64-bit integers" in err, err
    assert not out.exists()


def test_import_rejects_a_priority_the_instance_loader_would_reject(rtmm, tmp_path):
    # Defect (fixed): a priority of 10**30 was imported (exit 0) into an instance JSON that
    # `rtmm run` then refused ("tasks[..].priority: absurdly large value").
    needs(DYSTA / "reference")
    source = DYSTA / "reference" / "requests_sanger_60_2_1.csv"
    with source.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["priority"] = str(10**30)
    requests = tmp_path / "requests.csv"
    with requests.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "x.json"
    status, _, err = rtmm(
        "import", "dysta", DYSTA / "latency_tables" / "sanger", requests, "--out", out
    )
    assert status == 2, err
    assert err.count("\n") == 1 and str(requests) in err and "line 2 (priority)" in err, err
    assert not out.exists()


def test_a_table_with_a_byte_order_mark_reads_like_one_without(tmp_path):
    # Defect (fixed): a UTF-8 BOM (spreadsheet export) became part of the first column name,
    # and the table was "neither an EyerissV2 table (column sim_lat) nor a Sanger table".
    needs(DYSTA / "latency_tables")
    from rtmm_opt.instance.dysta import read_tables

    source = DYSTA / "latency_tables" / "eyerissv2" / "vgg16_block4_sparse20.csv"
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    for folder, prefix in ((plain, b""), (marked, b"\xef\xbb\xbf")):
        folder.mkdir()
        (folder / source.name).write_bytes(prefix + source.read_bytes())
    model = source.stem
    assert read_tables(marked).table(model).latency == read_tables(plain).table(model).latency


def test_instance_rejects_a_fractional_estimate():
    instance = chains((0, 10, 3, 3))
    data = instance.to_dict()
    data["ops"]["op_estimates"] = {"pattern": [[1.5], [2]]}
    with pytest.raises(InputError, match="op_estimates"):
        Instance.from_dict(data)


# -- the validator's rewind rule ----------------------------------------------------------------------


def test_a_chain_of_rewinds_may_overlap_ops_before_the_last_one():
    # A (t=0): [10] -> [0,10]. B (t=4): [3]. C (t=5): [3].
    # At 10 the queue is empty: B alone, clock back to 4: B [4,7]. At 7 the queue is empty
    # again and C arrived at 5 < 7: clock back to 5: C [5,8], which overlaps B *and* A.
    instance = chains((0, 100, 10), (4, 100, 3), (5, 100, 3))
    schedule = replay(instance, make_scheduler("fcfs"))
    assert timeline(instance, schedule) == [[(0, 10)], [(4, 7)], [(5, 8)]]
    assert validate(instance, schedule).ok
    # C not at its release (6): no rewind, so it overlaps B.
    assert validate(instance, schedule_of(instance, [0, 4, 6])).counts == {"overlap": 1}
    # B rewinding into A's first layer (A has layers 5, 5): A was still queued at 5.
    two_layers = chains((0, 100, 5, 5), (3, 100, 4))
    assert validate(two_layers, schedule_of(two_layers, [0, 5, 3])).counts == {"overlap": 2}


def test_the_validator_accepts_no_rewind_on_several_accelerators():
    # Defect (fixed): on two accelerators the rule's "queue empty" test looked at positions in
    # an accelerator-major order, so a job could "rewind" on accelerator b while an earlier
    # arrival (X, t=1) was still waiting for accelerator a until 20. The Dysta loop has one
    # accelerator (the engine refuses more); on more, an overlap is an overlap.
    instance = chains((1, 100, 10), (0, 100, 10), (5, 100, 2), accelerators=("a", "b"))
    schedule = schedule_of(instance, [20, 0, 5], accelerators=[0, 1, 1])
    assert validate(instance, schedule).counts == {"overlap": 1}


# -- the engine under compat dysta never produces what the validator rejects ---------------------------


def transcription(instance: Instance, rule: str) -> list[list[tuple[int, int]]]:
    """The Dysta simulator's loop (README §3.4) for FCFS or SJF on chains, in integers.

    FCFS picks the earliest arrival; SJF the smallest remaining predicted work (first in
    admission order on ties). Arrivals are admitted only strictly before the clock, or alone
    into an empty queue with the clock set to the arrival (possibly backwards)."""
    release = instance.job_release.tolist()
    order = sorted(range(instance.n_jobs), key=lambda j: (release[j], j))
    ops = [list(instance.ops_of(j)) for j in range(instance.n_jobs)]
    predicted = instance.op_predicted[:, 0].tolist()
    duration = instance.op_duration[:, 0].tolist()
    spans: list[list[tuple[int, int]]] = [[] for _ in range(instance.n_jobs)]
    queue: list[int] = []
    clock, k = 0, 0
    while k < len(order) or queue:
        if k < len(order):
            if not queue:
                queue.append(order[k])
                clock = release[order[k]]
                k += 1
            else:
                while k < len(order) and release[order[k]] < clock:
                    queue.append(order[k])
                    k += 1
        if rule == "fcfs":
            job = queue[0]
        else:
            remaining = [sum(predicted[o] for o in ops[j][len(spans[j]) :]) for j in queue]
            job = queue[remaining.index(min(remaining))]
        op = ops[job][len(spans[job])]
        spans[job].append((clock, clock + duration[op]))
        clock += duration[op]
        if len(spans[job]) == len(ops[job]):
            queue.remove(job)
    return spans


def test_a_rewind_to_the_start_of_the_op_it_follows_is_valid_whatever_the_job_indices():
    # Defect (fixed): J0 (t=1): [1]; J1 (t=0): [1, 1]. The loop runs J1 [0,1], [1,2] (J0's
    # arrival at 1 is not strictly before the boundary 1), then rewinds to J0's arrival: J0
    # [1,2]. J0's op and J1's second op start together; the validator took them in op-index
    # order (J0's first), saw J1's second layer "overlap" J0, and replay raised ScheduleError.
    instance = chains((1, 2, 1), (0, 2, 1, 1))
    for name in DYSTA_SCHEDULERS:
        schedule = replay(instance, make_scheduler(name))
        assert timeline(instance, schedule) == [[(1, 2)], [(0, 1), (1, 2)]], name


chain_jobs = st.lists(
    st.tuples(
        st.integers(0, 30),  # release
        st.integers(1, 60),  # slack to the deadline
        st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6)), min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=60, deadline=None)
@given(chain_jobs, st.booleans())
def test_engine_schedules_under_compat_dysta_are_valid_and_follow_the_loop(jobs, drops):
    # Small durations and releases make arrivals coincide with layer ends often.
    specs = [(r, r + slack, *[d for d, _ in layers]) for r, slack, layers in jobs]
    predicted = [[p for _, p in layers] for _, _, layers in jobs]
    instance = chains(
        *specs,
        predicted=predicted,
        settings=Settings(drops="allowed" if drops else "never", compat="dysta"),
    )
    for name in DYSTA_SCHEDULERS:
        schedule = replay(instance, make_scheduler(name))  # raises if the validator rejects it
        assert (schedule.job_status == JobStatus.COMPLETED).all(), name
        if name in ("fcfs", "sjf"):
            assert timeline(instance, schedule) == transcription(instance, name), name
    if drops:  # schedulers that drop: the engine's drop path under compat dysta
        for name in ("edf", "dream", "xrbench"):
            params = {"drop_expired": True} if name == "edf" else {}
            replay(instance, make_scheduler(name, params))


# -- every scheduler on Dysta imports; solve/compare on the clean problem ------------------------------


@pytest.fixture(scope="module")
def dysta_imports(tmp_path_factory):
    needs(DYSTA / "latency_tables")
    folder = tmp_path_factory.mktemp("imports")
    made = {}
    for data, rate in (("eyerissv2", "4"), ("sanger", "60")):
        out = folder / f"{data}.json"
        status = main(
            [
                "import", "dysta", str(DYSTA / "latency_tables" / data), "--rate", rate,
                "--requests", "12", "--seed", "2", "--slo-mult", "2", "--out", str(out),
            ]
        )  # fmt: skip
        assert status == 0
        made[data] = Instance.load(out)
    return made


@pytest.mark.parametrize("data", ["eyerissv2", "sanger"])
def test_every_scheduler_replays_a_dysta_import(dysta_imports, data):
    instance = dysta_imports[data]
    for name in scheduler_names():
        schedule = replay(instance, make_scheduler(name))  # validated; drops are never
        assert (schedule.job_status == JobStatus.COMPLETED).all(), name
        allowed = instance.with_settings(drops="allowed")
        replay(allowed, make_scheduler(name))


def test_the_xrbench_harness_replay_on_a_dysta_import_is_an_input_error(capsys, dysta_imports):
    # Defect (fixed): `--param compat=harness` made the harness replay wait for its next event,
    # which the Dysta loop (one op per decision) turned into a SchedulingError, exit 1.
    instance = dysta_imports["sanger"]
    with pytest.raises(InputError, match="compat 'harness'") as error:
        replay(instance, make_scheduler("xrbench", {"compat": "harness"}))
    assert error.value.field == "params.compat"


def test_the_oracle_solves_a_dysta_import_with_picosecond_units(rtmm, dysta_imports, tmp_path):
    # The oracle sees the clean problem (compat stripped). On one machine the optimal makespan
    # is that of any work-conserving order: jobs by release, each started at max(clock, r_j).
    instance = dysta_imports["eyerissv2"]
    path = tmp_path / "e.json"
    instance.to_json(path)
    status, out, err = rtmm(
        "compare", path, "--objective", "makespan", "--time-limit", "30",
        "--workers", "1", "--schedulers", "fcfs,dysta", "--json",
    )  # fmt: skip
    assert status == 0, err
    result = json.loads(out)
    assert result["compat_stripped"] == "dysta"
    clock = 0
    for job in np.argsort(instance.job_release, kind="stable").tolist():
        work = int(instance.op_duration[list(instance.ops_of(job)), 0].sum())
        clock = max(clock, int(instance.job_release[job])) + work
    makespan = clock - int(instance.job_release.min())
    assert result["oracle"]["status"] == "optimal"
    assert result["oracle"]["objective"] == makespan
    # the heuristics, replayed without rewinds, are work-conserving too
    assert [row["objective"] for row in result["schedulers"]] == [makespan, makespan]


# -- reproducibility ------------------------------------------------------------------------------------


def test_import_and_run_are_byte_identical_when_repeated(rtmm, tmp_path):
    needs(DYSTA / "latency_tables")
    outputs = []
    for attempt in range(2):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        status, _, err = rtmm(
            "import", "dysta", DYSTA / "latency_tables" / "eyerissv2", "--rate", "3",
            "--requests", "20", "--seed", "1", "--slo-mult", "2", "--out", folder / "i.json",
            "--requests-out", folder / "r.csv",
        )  # fmt: skip
        assert status == 0, err
        status, out, err = rtmm("run", folder / "i.json", "--scheduler", "dysta", "--json")
        assert status == 0, err
        outputs.append(((folder / "i.json").read_bytes(), (folder / "r.csv").read_bytes(), out))
    assert outputs[0] == outputs[1]


# -- XRBench .m scenarios ---------------------------------------------------------------------------


def xrbench_run(scenario, system, granularity, options, scheduler):
    kwargs = {"drops": "never"} if "never" in options else {}
    instance = load_workload(
        XRBENCH / "scenarios" / f"{scenario}.m",
        system=system,
        cost="table:xrbench",
        granularity=granularity,
        fps_scale=2.0 if "fps2" in options else 1.0,
        **kwargs,
    )
    assert instance.settings.compat == "xrbench"
    schedule = replay(instance, make_scheduler(scheduler))  # validated
    if "never" in options:
        assert (schedule.job_status == JobStatus.COMPLETED).all()


@pytest.mark.parametrize("system", ["xrb4k-A", "xrb4k-J", "xrb4k-M"])
def test_every_scheduler_replays_an_xrbench_scenario(system):
    needs(XRBENCH / "scenarios")
    for name in scheduler_names():
        xrbench_run("social_interactionB", system, "block:4", ("never",), name)


@pytest.mark.slow
@pytest.mark.parametrize(
    "scenario",
    [
        "VR_gaming",
        "AR_gaming",
        "AR_Assistant",
        "social_interactionA",
        "social_interactionB",
        "outdoor_activity_A",
        "outdoor_activity_B",
    ],
)
def test_every_scheduler_replays_every_xrbench_scenario(scenario):
    needs(XRBENCH / "scenarios")
    for system in ("xrb4k-A", "xrb4k-J", "xrb4k-M"):
        for granularity in ("model", "block:4", "layer"):
            for options in ((), ("never",), ("fps2",)):
                for name in scheduler_names():
                    xrbench_run(scenario, system, granularity, options, name)


@pytest.mark.parametrize("unit_ns", [10, 1000])
def test_the_harness_replay_holds_for_time_units_that_divide_a_ms(unit_ns):
    needs(XRBENCH / "reference" / "runs.csv")
    with (XRBENCH / "reference" / "runs.csv").open(newline="") as handle:
        (row,) = [
            r
            for r in csv.DictReader(handle)
            if (r["scenario"], r["hw_config"], r["dataflow"]) == ("VR_gaming", "Dual_4K", "WS_OS")
        ]
    instance = load_workload(
        XRBENCH / "scenarios" / "VR_gaming.m", system="xrb4k-J", cost="table:xrbench",
        time_unit_ns=unit_ns,
    )  # fmt: skip
    from rtmm_opt.metrics.metrics import compute_metrics

    score = compute_metrics(instance, replay(instance, make_scheduler("xrbench"))).xrbench_score
    assert math.isclose(score, float(row["overall_score"]), abs_tol=0.01)


def test_a_time_unit_that_does_not_divide_a_ms_is_refused_under_compat_xrbench():
    # releases rounded to 3 ns and ticks k x (rounded period) drift apart (62.12 -> 55.08 before
    # this was refused); the clean YAML scenario has no such grid and accepts the unit
    with pytest.raises(InputError, match="divide 1 ms") as error:
        load_workload(XRBENCH / "scenarios" / "VR_gaming.m", system="xrb4k-J", time_unit_ns=3)
    assert error.value.field == "time_unit_ns"
    clean = load_workload(ROOT / "instances/xrbench/VR_gaming.yaml", system="xrb4k-J",
                          time_unit_ns=3, duration_ns=50_000_000)  # fmt: skip
    assert clean.time_unit_ns == 3
