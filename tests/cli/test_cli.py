"""The rtmm command line: JSON outputs, exit codes and one-line errors."""

import json
import subprocess
import sys

import pytest

XRBENCH_MODELS = {
    "ASR_EM_24L", "AS_ED_TCN", "D2go_FastRCNN", "DE_midas_v21_small", "DR_RGBd_200", "ES_RITNet",
    "GE_FBNet_C", "HT_hand_graph_cnn_half", "KD_res8_narrow", "OD_D2go_FasterRCNN",
    "PD_Plane_RCNN_Quarter", "SS_HRViT_b1",
}  # fmt: skip
MAESTRO_MODELS = {
    "GoogLeNet", "MnasNet", "MobileNetV2", "ResNet50", "SqueezeNet1_0", "TransformerEncoder",
    "VGG16",
}  # fmt: skip  (converted from MAESTRO's model files, scripts/convert_maestro_models.py)


def test_models_list_json(rtmm):
    status, out, _ = rtmm("models", "list", "--json")
    assert status == 0
    models = {entry["name"]: entry for entry in json.loads(out)}
    assert set(models) == XRBENCH_MODELS | MAESTRO_MODELS
    # ES_RITNet: 42 layers; MACs summed by hand from the .m file's MAESTRO convention
    assert models["ES_RITNet"]["layers"] == 42
    assert models["ES_RITNet"]["macs"] == 1_040_138_240
    assert models["D2go_FastRCNN"]["macs"] == models["OD_D2go_FasterRCNN"]["macs"]


def test_models_show_json_without_system(rtmm):
    status, out, _ = rtmm("models", "show", "AS_ED_TCN", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["name"] == "AS_ED_TCN" and len(data["layers"]) == 4
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]


def test_models_import_round_trip(tmp_path, rtmm):
    source = tmp_path / "two.m"
    layer = "Layer c1 { Type: CONV Dimensions: { N: 1, K: 4, C: 3, Y: 8, X: 8, R: 3, S: 3 } }"
    source.write_text(f"Network a/b {{ {layer} }}\n")
    status, out, _ = rtmm("models", "import", str(source), "--out", str(tmp_path / "m"), "--json")
    assert status == 0
    written = json.loads(out)["written"]
    assert written[0]["macs"] == 4 * 3 * 9 * 6 * 6
    assert (tmp_path / "m" / "a_b.yaml").exists()  # no directory escape from the model name
    status, out, _ = rtmm("models", "show", written[0]["file"], "--json")
    assert status == 0 and json.loads(out)["macs"] == 4 * 3 * 9 * 6 * 6


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["models", "show", "ES_RITnet"], "did you mean 'ES_RITNet'"),
        (["models", "frobnicate"], "invalid choice"),
        (["validate", "missing.yaml"], "missing.yaml: no such file"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_with_one_line(rtmm, argv, message):
    status, out, err = rtmm(*argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_validate_reports_kinds(tmp_path, rtmm):
    status, out, _ = rtmm("validate", "models/ES_RITNet.yaml", "--json")
    assert status == 0
    assert json.loads(out)["files"][0]["kind"] == "model"
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: modle\nname: x\n")
    status, _, err = rtmm("validate", str(bad))
    assert status == 2 and "kind: unknown kind 'modle'" in err


def test_python_dash_m_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "rtmm_opt", "models", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert len(json.loads(done.stdout)) == len(XRBENCH_MODELS | MAESTRO_MODELS) == 19


def test_build_uses_scenario_duration_and_overrides_drops(tmp_path, rtmm):
    out_file = tmp_path / "vr.json"
    status, out, _ = rtmm(
        "build", "instances/xrbench/VR_gaming.yaml", "--system", "xrb4k-J",
        "--cost", "table:xrbench", "--out", str(out_file), "--json",
    )  # fmt: skip
    assert status == 0
    jobs = {task["task"]: task["jobs"] for task in json.loads(out)["tasks"]}
    # 700 ms window, periods 16 ms and 22 ms (XRBench truncates 1000/FPS): 44, 44 and 32 frames
    assert jobs == {"ES_RITNet": 44, "GE_FBNet_C": 44, "HT_hand_graph_cnn_half": 32}
    status, out, _ = rtmm("build", str(out_file), "--drops", "never", "--json")
    assert status == 0 and json.loads(out)["settings"]["drops"] == "never"


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--seed", "-3", "--seed"),
        ("--seed", "x", "--seed"),
        ("--duration", "=abc", "--duration"),
        ("--granularity", "block:0", "--granularity"),
        ("--fps-scale", "0", "--fps-scale"),
        ("--drops", "sometimes", "--drops"),
        ("--system", "xrb4k-Z", "xrb4k"),
        ("--cost", "tabel:x", "cost"),
    ],
)
def test_build_rejects_bad_options(rtmm, flag, value, field):
    argv = ["build", "instances/examples/ar_headset.yaml"]
    argv += [f"{flag}{value}"] if value.startswith("=") else [flag, value]
    status, out, err = rtmm(*argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and field in err


def run_json(rtmm, *argv):
    status, out, err = rtmm(*argv, "--json")
    assert status == 0, err
    return out


def test_run_json_follows_the_contract_and_is_reproducible(rtmm):
    argv = ("run", "instances/examples/ar_headset.yaml", "--scheduler", "edf", "--duration", "300ms",
            "--granularity", "block:2", "--seed", "3")  # fmt: skip
    first = run_json(rtmm, *argv)
    data = json.loads(first)
    assert {"scheduler", "instance_hash", "valid", "metrics"} <= set(data)
    assert data["valid"] is True and data["scheduler"] == "edf"
    for key in ("miss_rate", "drop_rate", "late_rate", "tardiness", "energy_mJ", "makespan", "antt",
                "throughput", "stp", "sla_rate", "xrbench_score", "uxcost"):  # fmt: skip
        assert key in data["metrics"]
    assert run_json(rtmm, *argv) == first  # byte-identical
    other_seed = json.loads(run_json(rtmm, *argv[:-1], "4"))
    assert other_seed["instance_hash"] != data["instance_hash"]  # triggers, sparsity, exits differ


def test_run_with_several_schedulers_equals_one_run_each(rtmm):
    """--scheduler a,b,c replays each on the same instance in one process: its JSON list holds
    exactly what the single runs print, in the order given."""
    argv = ("run", "instances/examples/ar_headset.yaml", "--duration", "300ms", "--granularity",
            "block:2", "--seed", "3")  # fmt: skip
    several = json.loads(run_json(rtmm, *argv, "--scheduler", "sjf,edf,dream"))
    assert [r["scheduler"] for r in several] == ["sjf", "edf", "dream"]
    for result in several:
        single = json.loads(run_json(rtmm, *argv, "--scheduler", result["scheduler"]))
        assert result == single
    status, out, err = rtmm(*argv, "--scheduler", "sjf,edf")
    assert status == 0, err
    table = out.splitlines()
    assert table[1].split()[:2] == ["scheduler", "valid"]
    assert [line.split()[0] for line in table[3:]] == ["sjf", "edf"]


@pytest.mark.parametrize(
    ("schedulers", "extra", "field", "message"),
    [
        ("edf,edf", (), "--scheduler", "edf given twice"),
        ("edf,,fcfs", (), "--scheduler", "expected NAME or NAME,NAME"),
        ("edf,nope", (), "scheduler", "unknown scheduler 'nope'"),
        ("edf,fcfs", ("--schedule", "s.csv"), "--schedule", "give one --scheduler"),
        ("edf,fcfs", ("--param", "alpha=1"), "params.alpha", "has no parameter"),
    ],
)
def test_run_with_several_schedulers_refuses_before_work(rtmm, tmp_path, schedulers, extra, field,
                                                         message):  # fmt: skip
    extra = tuple(str(tmp_path / item) if item == "s.csv" else item for item in extra)
    status, out, err = rtmm("run", "instances/examples/ar_headset.yaml", "--scheduler", schedulers,
                            *extra)  # fmt: skip
    assert status == 2 and out == ""
    assert f"{field}:" in err and message in err
    assert not (tmp_path / "s.csv").exists()


def test_run_rejects_unknown_scheduler_listing_valid_names(rtmm):
    status, _, err = rtmm("run", "instances/examples/ar_headset.yaml", "--scheduler", "edff")
    assert status == 2 and "did you mean 'edf'" in err and "fcfs" in err


def test_run_writes_schedule_csv(tmp_path, rtmm):
    target = tmp_path / "out" / "s.csv"
    status, _, err = rtmm(
        "run", "instances/xrbench/VR_gaming.yaml", "--scheduler", "fcfs", "--cost",
        "table:xrbench", "--duration", "100ms", "--schedule", str(target),
    )  # fmt: skip
    assert status == 0, err
    lines = target.read_text().splitlines()
    assert (
        lines[0]
        == "op,job,task,frame,segment,variant,accelerator,start,end,job_finish,job_finish_s"
    )
    assert len(lines) > 1


def test_solve_json_contract_and_honest_status(rtmm):
    out = run_json(
        rtmm, "solve", "instances/xrbench/VR_gaming.yaml", "--cost", "table:xrbench",
        "--duration", "100ms", "--granularity", "block:2", "--time-limit", "20", "--workers", "2",
        "--hint", "edf",
    )  # fmt: skip
    data = json.loads(out)
    assert {"status", "objective", "bound", "gap", "wall_s", "metrics"} <= set(data)
    assert data["bound"] <= data["objective"]
    if data["status"] == "optimal":
        assert data["gap"] == 0 and data["bound"] == data["objective"]
    # the reported objective is the metric recomputed from the schedule: misses = dropped + late
    metrics = data["metrics"]
    assert data["objective"] <= metrics["jobs"] * 3  # weighted by task priority (at most 3 here)
    assert (metrics["dropped"] + metrics["late"] == 0) == (data["objective"] == 0)


def test_compare_oracle_is_never_worse_than_a_scheduler(rtmm):
    out = run_json(
        rtmm, "compare", "instances/examples/ar_headset.yaml", "--cost", "table:xrbench",
        "--duration", "200ms", "--granularity", "block:4", "--time-limit", "20", "--workers", "2",
        "--schedulers", "edf,fcfs",
    )  # fmt: skip
    data = json.loads(out)
    oracle = data["oracle"]
    assert [row["name"] for row in data["schedulers"]] == ["edf", "fcfs"]
    for row in data["schedulers"]:
        assert oracle["objective"] <= row["objective"]
        assert row["gap"] is None or 0 <= row["gap"] <= 1


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["--objective", "misess"], "did you mean 'misses'"),
        (["--objective", "energy"], "drops never"),
        (["--time-limit", "-1"], "--time-limit"),
        (["--workers", "x"], "--workers"),
        (["--hint", "edf,nope"], "--hint"),
    ],
)
def test_solve_rejects_bad_options(rtmm, argv, field):
    status, out, err = rtmm("solve", "instances/examples/ar_headset.yaml", *argv)
    assert status == 2 and out == "" and field in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("option", "flag"),
    [
        (["--fps-scale", "2"], "--fps-scale"),
        (["--duration", "2s"], "--duration"),
        (["--system", "xrb4k-A"], "--system"),
        (["--granularity", "layer"], "--granularity"),
        (["--contention"], "--contention"),
    ],
)
def test_build_options_on_an_instance_file_are_refused_not_ignored(tmp_path, rtmm, option, flag):
    instance = tmp_path / "vr.json"
    status, _, err = rtmm(
        "build", "instances/xrbench/VR_gaming.yaml", "--duration", "50ms",
        "--out", str(instance),
    )  # fmt: skip
    assert status == 0, err
    status, out, err = rtmm("run", str(instance), "--scheduler", "edf", *option)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert str(instance) in err and flag in err and "already built" in err
    # --drops applies to an instance, and --seed seeds the solver
    status, out, err = rtmm("run", str(instance), "--scheduler", "edf", "--drops", "never")
    assert status == 0, err
