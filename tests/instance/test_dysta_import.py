"""``rtmm import dysta``: the Dysta simulator's tables and requests, against its own dumps.

Truth: the reference runs of the authors' simulator in ``shared/dysta/reference`` (derived
tables, request tables, per-request finish times, metrics), the Sanger example of the README
(§1.2), and hand-written bad inputs (malformed tables, times beyond 64 bits, priorities the
instance loader would refuse, a byte-order mark); an import and a run repeated give the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
from support import DYSTA, needs_dysta

from rtmm_opt.engine import replay
from rtmm_opt.errors import InputError
from rtmm_opt.instance import Instance
from rtmm_opt.instance.dysta import (
    build_dysta_instance,
    generate_requests,
    read_model_order,
    read_requests,
    read_tables,
    sanger_latency,
    write_requests,
)
from rtmm_opt.schedulers import make_scheduler
from rtmm_opt.validation.dysta import run_reference

REFERENCE = DYSTA / "reference"
SAMPLE = {"eyerissv2": 3, "sanger": 60}  # the sample's rate per set (slo 2, seed 1)
SCHEDULERS = ("fcfs", "sjf", "prema", "planaria", "sdrm3", "dysta", "dysta_oracle")

pytestmark = needs_dysta


def tables_of(data: str):
    order = read_model_order(REFERENCE / "meta" / f"models_{data}.csv")
    return read_tables(DYSTA / "latency_tables" / data, model_order=order)


def rows(path: Path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# -- tables ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["eyerissv2", "sanger"])
def test_derived_tables_equal_the_simulators_dumps(data):
    tables = tables_of(data)
    averages = rows(REFERENCE / "meta" / f"lut_avg_{data}.csv")
    assert len(averages) == sum(tables.table(m).n_layers for m in tables.models)
    for row in averages:
        model, layer = row["model"], int(row["layer_indx"])
        assert tables.table(model).avg_latency[layer] == float(row["avg_lat_per_pattern_s"])
        assert tables.avg_latency_model[model][layer] == float(row["avg_lat_per_model_s"])
        assert tables.table(model).avg_sparsity[layer] == float(row["avg_sparsity_stored"])
    for row in rows(REFERENCE / "meta" / f"model_summary_{data}.csv"):
        table = tables.table(row["model"])
        assert table.arch == row["arch"]
        assert (table.n_layers, len(table.samples)) == (int(row["n_layers"]), int(row["n_samples"]))
        assert table.mean_isolated == float(row["target_lat_per_pattern_s"])
        assert tables.target_latency[row["model"]] == float(row["target_lat_per_model_s"])
        assert sum(table.avg_latency) == float(row["est_isolated_pattern_s"])
        assert sum(tables.avg_latency_model[row["model"]]) == float(row["est_isolated_model_s"])
    assert list(tables.models) == [
        r["model"] for r in rows(REFERENCE / "meta" / f"models_{data}.csv")
    ]


@pytest.mark.parametrize("data", ["eyerissv2", "sanger"])
def test_per_sample_latencies_equal_the_executed_layers(data):
    # every layer the simulator ran has the latency the importer computed, bit for bit
    # (for Sanger this checks the latency formula on every executed row)
    tables = tables_of(data)
    tag = f"{data}_{SAMPLE[data]}_2_1"
    requests = read_requests(REFERENCE / f"requests_{tag}.csv", tables)
    with gzip.open(REFERENCE / "exec" / f"exec_{tag}_dysta.csv.gz", "rt") as file:
        executed = list(csv.DictReader(file))
    assert len(executed) == sum(tables.table(r.model).n_layers for r in requests)
    for row in executed:
        request = requests[int(row["reqst_indx"])]
        table = tables.table(request.model)
        latency = table.latency[table.row(request.sample_id)][int(row["layer_indx"])]
        assert latency == float(row["latency_s"])


def test_sanger_latency_example_and_closed_form():
    # README §1.2: d = 0.2, b = 0.8, L = 512 -> n = 2048·d/b = 512:
    # 0.000884736 + 512·(896 + 512)/8·1e-9 + 0.000294912·0.25 = 1.048576 ms
    assert math.isclose(sanger_latency(0.2, 0.8), 1.048576e-3, rel_tol=1e-12)
    for density, balance in [(0.05, 0.9), (0.5, 0.6), (0.9, 1.0)]:
        n = 2048 * density / balance
        closed = 0.000884736 + n * (896 + n) / 8 * 1e-9 + 0.000294912 * density / balance
        assert math.isclose(sanger_latency(density, balance), closed, rel_tol=1e-12)
    # L = 128, d/b = 0.25: n = 128; linear 128·768·768·6/1e9/2048 = 0.000221184 s; cycles
    # (128/64)·((768+64) + (128+64))·(128/64) = 4096 -> 4.096e-6 s; projection
    # 128·768·768·2/1e9/(2048/0.2·0.8) = 1.8432e-5 s
    assert math.isclose(sanger_latency(0.2, 0.8, 128), 0.000243712, rel_tol=1e-12)


# -- requests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["eyerissv2", "sanger"])
def test_generator_reproduces_the_reference_request_tables(data, tmp_path):
    tables = tables_of(data)
    requests = generate_requests(tables, rate=SAMPLE[data], count=300, seed=1, slo_mult=2)
    target = tmp_path / "requests.csv"
    write_requests(target, requests, tables)
    reference = REFERENCE / f"requests_{data}_{SAMPLE[data]}_2_1.csv"
    assert target.read_bytes() == reference.read_bytes()
    assert read_requests(reference, tables) == requests


def test_imported_instance_layout():
    tables = tables_of("eyerissv2")
    requests = read_requests(REFERENCE / "requests_eyerissv2_3_2_1.csv", tables)
    instance = build_dysta_instance(tables, requests)
    assert instance.accelerators == ("eyerissv2",)
    assert instance.settings.compat == "dysta" and instance.settings.drops == "never"
    assert instance.time_unit_ns == 0.001  # 1 ps
    first = requests[0]  # resnet50_unstructured_sparse20, sample 0, priority 3
    task = instance.tasks[int(instance.job_task[0])]
    assert (task.name, task.model, task.priority) == (f"{first.model}@p3", first.model, 3)
    table = tables.table(first.model)
    ops = instance.ops_of(0)
    assert len(ops) == table.n_layers == 54
    picoseconds = [round(v * 1e12) for v in table.latency[table.row(first.sample_id)]]
    assert instance.op_duration[ops, 0].tolist() == picoseconds
    assert instance.op_predicted[ops, 0].tolist() == [
        round(v * 1e12) for v in tables.avg_latency_model[first.model]
    ]
    assert instance.op_estimates["pattern"][ops, 0].tolist() == [
        round(v * 1e12) for v in table.avg_latency
    ]
    assert instance.op_sparsity[ops].tolist() == list(table.sparsity[table.row(first.sample_id)])
    assert instance.op_sparsity_mean[ops].tolist() == list(table.avg_sparsity)
    assert int(instance.job_release[0]) == round(first.arrival_s * 1e12)
    assert int(instance.job_deadline[0]) == round(first.deadline_s * 1e12)
    # one chain per request; job index = request index; frames count per (model, priority)
    assert all(instance.preds_of(op).tolist() == [op - 1] for op in list(ops)[1:])
    assert instance.job_frame.max() >= 1
    again = Instance.from_dict(json.loads(instance.to_json()))
    assert again.content_hash == instance.content_hash
    assert np.array_equal(again.op_estimates["pattern"], instance.op_estimates["pattern"])


def test_estimate_sets_choose_what_the_schedulers_read():
    tables = tables_of("eyerissv2")
    instance = build_dysta_instance(
        tables, read_requests(REFERENCE / "requests_eyerissv2_3_2_1.csv", tables)
    )

    def starts(name, **params):
        return replay(instance, make_scheduler(name, params)).op_start.tolist()

    # dysta reads the pattern set by default, dysta_naive op_predicted (per architecture)
    assert starts("dysta") == starts("dysta", estimates="pattern")
    assert starts("dysta") != starts("dysta", estimates="predicted")
    assert starts("dysta_naive") == starts("dysta_naive", estimates="predicted")
    assert starts("dysta_naive") != starts("dysta_naive", estimates="pattern")
    # the baselines read op_predicted unless told otherwise
    assert starts("sjf") == starts("sjf", estimates="auto")
    assert starts("sjf") != starts("sjf", estimates="pattern")
    with pytest.raises(InputError, match=r"unknown estimate set .patern..*did you mean .pattern."):
        starts("prema", estimates="patern")
    # without the set, dysta's "auto" falls back to op_predicted
    plain = Instance.from_dict({**instance.to_dict(), "ops": {
        k: v for k, v in instance.to_dict()["ops"].items() if k != "op_estimates"}})  # fmt: skip
    assert replay(plain, make_scheduler("dysta")).op_start.tolist() == starts(
        "dysta", estimates="predicted"
    )


def test_estimate_sets_are_validated():
    tables = tables_of("sanger")
    instance = build_dysta_instance(
        tables, generate_requests(tables, rate=60, count=3, seed=1, slo_mult=2)
    )
    data = instance.to_dict()
    for name, matrix, match in [
        ("auto", instance.op_predicted.tolist(), "other than predicted and auto"),
        ("x", instance.op_predicted.tolist()[:-1], "has shape"),
        ("x", [[0]] * instance.n_ops, ">= 1 exactly where"),
    ]:
        bad = {**data, "ops": {**data["ops"], "op_estimates": {name: matrix}}}
        with pytest.raises(InputError, match=match):
            Instance.from_dict(bad)
    # no estimate sets: no key in the JSON, so hashes of older instances stay the same
    bare = {**data, "ops": {k: v for k, v in data["ops"].items() if k != "op_estimates"}}
    assert "op_estimates" not in Instance.from_dict(bare).to_dict()["ops"]


# -- the command line against the reference runs -----------------------------------------------


def cli_reference_run(rtmm, tmp_path, data, scheduler):
    """``rtmm import dysta`` + ``rtmm run --json --schedule`` against one reference run."""
    tag = f"{data}_{SAMPLE[data]}_2_1"
    instance = tmp_path / f"{tag}.json"
    status, _, err = rtmm(
        "import", "dysta", DYSTA / "latency_tables" / data,
        REFERENCE / f"requests_{tag}.csv", "--out", instance,
        "--model-order", REFERENCE / "meta" / f"models_{data}.csv",
    )  # fmt: skip
    assert status == 0, err
    schedule = tmp_path / f"{tag}_{scheduler}.csv"
    status, out, err = rtmm(
        "run", instance, "--scheduler", scheduler, "--json", "--schedule", schedule
    )
    assert status == 0, err
    result = json.loads(out)
    assert result["valid"] is True
    unit_ns = json.loads(instance.read_text())["time_unit_ns"]
    finish = {}
    for row in rows(schedule):
        finish[int(row["job"])] = int(row["job_finish"]) * unit_ns / 1e9
        assert float(row["job_finish_s"]) == finish[int(row["job"])]  # the same, in seconds
    theirs = rows(REFERENCE / f"result_{tag}_{scheduler}.csv")
    assert sorted(finish) == [int(r["reqst_indx"]) for r in theirs]
    difference = max(abs(finish[int(r["reqst_indx"])] - float(r["finish_s"])) for r in theirs)
    assert difference <= 3e-11  # the README's claim: every reference run within 3e-11 s
    (index,) = [
        r
        for r in rows(REFERENCE / "index.csv")
        if r["set"] == data and r["scheduler"] == scheduler and r["rate"] == str(SAMPLE[data])
    ]
    metrics = result["metrics"]
    assert metrics["miss_rate"] == float(index["violation_rate"])
    assert math.isclose(metrics["antt"], float(index["antt"]), rel_tol=1e-9)
    assert math.isclose(metrics["throughput"], float(index["stp"]), rel_tol=1e-9)
    return difference


@pytest.mark.parametrize("data,scheduler", [("eyerissv2", "dysta"), ("sanger", "prema")])
def test_cli_reproduces_reference_runs(rtmm, tmp_path, data, scheduler):
    assert cli_reference_run(rtmm, tmp_path, data, scheduler) < 1e-9  # 1 ps units


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("data", ["eyerissv2", "sanger"])
def test_cli_reproduces_every_reference_run(rtmm, tmp_path, data, scheduler):
    cli_reference_run(rtmm, tmp_path, data, scheduler)


def test_validation_record_of_a_reference_run():
    record = run_reference(REFERENCE, DYSTA / "latency_tables", "sanger", 60, 2, 1, "sdrm3")
    assert record.agrees() and record.max_finish_diff_s < 1e-9
    assert record.rewinds_ours == record.rewinds_theirs == 5
    assert record.to_dict()["theirs"]["violation_rate"] == 0.6833333333333333
    with pytest.raises(InputError, match="no run with set=sanger, rate=61"):
        run_reference(REFERENCE, DYSTA / "latency_tables", "sanger", 61, 2, 1, "sdrm3")


def test_cli_generates_requests_and_solve_strips_compat(rtmm, tmp_path):
    instance, table = tmp_path / "small.json", tmp_path / "requests.csv"
    status, out, err = rtmm(
        "import", "dysta", DYSTA / "latency_tables" / "sanger", "--rate", "60",
        "--requests", "5", "--seed", "1", "--slo-mult", "2", "--requests-out", table,
        "--model-order", REFERENCE / "meta" / "models_sanger.csv", "--out", instance, "--json",
    )  # fmt: skip
    assert status == 0, err
    assert json.loads(out)["jobs"] == 5
    # the first five rows of the reference table (same seed, one stream)
    reference = (REFERENCE / "requests_sanger_60_2_1.csv").read_bytes().split(b"\r\n")
    assert table.read_bytes().split(b"\r\n")[:6] == reference[:6]
    status, out, err = rtmm(
        "solve",
        instance,
        "--time-limit",
        "10",
        "--workers",
        "1",
        "--hint",
        "fcfs",
        "--json",
    )
    assert status == 0, err
    assert json.loads(out)["compat_stripped"] == "dysta"


# -- bad input ----------------------------------------------------------------------------------


def copy_tables(target: Path, data: str = "sanger") -> Path:
    target.mkdir()
    for source in (DYSTA / "latency_tables" / data).glob("*.csv"):
        (target / source.name).write_bytes(source.read_bytes())
    return target


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def bad_inputs(tmp_path: Path):
    """(argv, the file the error must name, a fragment of the reason) per case."""
    requests = REFERENCE / "requests_sanger_60_2_1.csv"
    cases = []

    def case(name, mutate, reason, use_requests=None):
        folder = copy_tables(tmp_path / name)
        named = mutate(folder)
        cases.append(([folder, use_requests or requests], named, reason))

    bart = "load_balance_bart_glue_128.csv"
    case("column", lambda f: (edit(f / bart, "50%-skip,", "50pc-skip,"), f / bart)[1],
         "neither an EyerissV2 table")  # fmt: skip
    case("batch", lambda f: (edit(f / bart, "batch-indx,", "batch,"), f / bart)[1],
         "batch-indx: missing column")  # fmt: skip
    case("number", lambda f: (edit(f / bart, "0.832021,", "fast,", 1), f / bart)[1],
         "expected a number")  # fmt: skip

    def drop_row(folder):
        lines = (folder / bart).read_text().splitlines(keepends=True)
        (folder / bart).write_text("".join(lines[:5] + lines[6:]))  # sample 0, layer 4
        return folder / bart

    case("pair", drop_row, "sample 0 has no row for layer 4")

    def empty(folder):
        for file in folder.glob("*.csv"):
            file.unlink()
        return folder

    case("empty", empty, "no latency tables")

    def mixed(folder):
        source = DYSTA / "latency_tables" / "eyerissv2" / "vgg16_filter_sparse20.csv"
        (folder / source.name).write_bytes(source.read_bytes())
        return folder

    case("mixed", mixed, "mixes table formats")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(requests.read_text().replace("load_balance_bart_glue_128", "bart", 1))
    case("model", lambda f: unknown, "unknown model 'bart'", use_requests=unknown)
    unordered = tmp_path / "unordered.csv"
    text = requests.read_text().splitlines(keepends=True)
    unordered.write_text("".join([text[0], text[2], text[1], *text[3:]]))
    case("order", lambda f: unordered, "expected request 0 here", use_requests=unordered)
    nosample = tmp_path / "nosample.csv"
    nosample.write_text(requests.read_text().replace(",0,3,", ",9,3,", 1))
    case("sample", lambda f: nosample, "has no sample 9", use_requests=nosample)
    return cases


def test_bad_inputs_are_one_line_errors_naming_the_file(rtmm, tmp_path):
    for args, named, reason in bad_inputs(tmp_path):
        status, _, err = rtmm("import", "dysta", *args, "--out", tmp_path / "x.json")
        assert status == 2, (named, err)
        assert err.count("\n") == 1 and str(named) in err and reason in err, err
        assert not (tmp_path / "x.json").exists()
    folder = DYSTA / "latency_tables" / "sanger"
    for args, flag in [
        ([folder / "nope", REFERENCE / "requests_sanger_60_2_1.csv"], "no such directory"),
        ([folder, "--rate", "60"], "--requests"),
        ([folder, REFERENCE / "requests_sanger_60_2_1.csv", "--rate", "60"], "--rate"),
        ([folder, "--rate", "x", "--requests", "3", "--seed", "1", "--slo-mult", "2"], "--rate"),
        ([folder, "--rate", "60", "--requests", "0", "--seed", "1", "--slo-mult", "2"], "--requests"),
        ([folder, REFERENCE / "requests_sanger_60_2_1.csv", "--requests-out", "r.csv"], "--requests-out"),
        ([folder, REFERENCE / "requests_sanger_60_2_1.csv", "--model-order", REFERENCE / "index.csv"],
         "index.csv: model: missing column"),
        ([folder, REFERENCE / "requests_sanger_60_2_1.csv", "--model-order",
          REFERENCE / "meta" / "models_eyerissv2.csv"], "has no latency table"),
    ]:  # fmt: skip
        status, _, err = rtmm("import", "dysta", *args, "--out", tmp_path / "x.json")
        assert status == 2 and err.count("\n") == 1 and flag in err, err


@pytest.mark.parametrize(
    "flags",
    [
        ["--rate", "1e-300", "--slo-mult", "2"],  # arrivals ~1e299 s: float → int overflowed
        ["--rate", "3", "--slo-mult", "1e300"],  # deadlines ~1e299 s
    ],
)
def test_import_rejects_times_beyond_64_bit_instead_of_crashing(rtmm, tmp_path, flags):
    # Defect (fixed): round(inf) raised OverflowError, an internal error with exit 1.
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
    source = DYSTA / "latency_tables" / "eyerissv2" / "vgg16_block4_sparse20.csv"
    plain, marked = tmp_path / "plain", tmp_path / "marked"
    for folder, prefix in ((plain, b""), (marked, b"\xef\xbb\xbf")):
        folder.mkdir()
        (folder / source.name).write_bytes(prefix + source.read_bytes())
    model = source.stem
    assert read_tables(marked).table(model).latency == read_tables(plain).table(model).latency


# -- reproducibility ------------------------------------------------------------------------------


def test_import_and_run_are_byte_identical_when_repeated(rtmm, tmp_path):
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
