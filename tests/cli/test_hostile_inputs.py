"""Hostile inputs: small files that ask for unbounded resources, integers that would overflow,
values that a parser would silently reinterpret. Each goes through the command a user runs and
must end in exit 2 with one short line naming the file or flag (docs/scenarios.md, "Limits"),
or be read correctly.

Truth: hand-counted alias expansions and job/op estimates, the instance's own arrays, and for
the property test the definitions of the metrics (finite, and non-negative where they cannot be
negative).
"""

import json
import math
import time
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import run_cli

from rtmm_opt.instance import Instance

SYSTEM = "xrb4k-J"


def run(capsys, *argv):
    """``support.run_cli`` with a numpy overflow (a RuntimeWarning) raised: it is a defect, too."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return run_cli(capsys, *argv)


def refused(status, out, err, *words):
    """Exit 2 with one short line on stderr that holds every word."""
    assert status == 2, (status, err)
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith("rtmm: error: ") and "Traceback" not in err, err
    assert len(err) < 600, f"{len(err)} characters: {err[:200]}..."
    for word in words:
        assert str(word) in err, f"{word!r} not in {err!r}"


def scenario(tmp_path, tasks, name="sc.yaml", extra=""):
    path = tmp_path / name
    path.write_text(f"kind: scenario\nname: sc\n{extra}tasks:\n{tasks}")
    return path


def model(tmp_path, layers, name="m.yaml"):
    path = tmp_path / name
    lines = "".join(f"  - {layer}\n" for layer in layers)
    path.write_text(f"kind: model\nname: m\nlayers:\n{lines}")
    return path


def laughs(levels, width=9):
    """A YAML "billion laughs" prefix: a0 holds ``width`` scalars, a(k) ``width`` aliases of
    a(k-1), so a(k) expands to about width^(k+1) nodes."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for k in range(1, levels + 1):
        lines.append(f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# == 1. unbounded resources from small inputs ======================================================


def test_billion_laughs_is_refused_while_composing(tmp_path, capsys):
    # 9 levels of 9 aliases: ~10^9 nodes expanded, 600 bytes on disk
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs(9) + "kind: scenario\nname: *a9\ntasks: []\n")
    assert path.stat().st_size < 1024
    started = time.perf_counter()
    status, out, err = run(capsys, "build", path)
    assert time.perf_counter() - started < 5
    refused(status, out, err, path, "aliases expand to more than 100,000 nodes",
            "RTMM_MAX_YAML_ALIAS_NODES")  # fmt: skip


def test_alias_expansion_is_counted_exactly(tmp_path, capsys, monkeypatch):
    # x is a list of 9 scalars: 10 nodes. Three aliases of it add 3 × 10 = 30 nodes. The file is
    # no scenario (x and y are unknown keys), so it is refused either way; what differs is why.
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "kind: scenario\nname: sc\nx: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\ny: [*x, *x, *x]\n"
    )
    monkeypatch.setenv("RTMM_MAX_YAML_ALIAS_NODES", "29")
    refused(*run(capsys, "build", path), path, "line 4", "more than 29 nodes")
    monkeypatch.setenv("RTMM_MAX_YAML_ALIAS_NODES", "30")
    refused(*run(capsys, "build", path), path, "unknown key 'x'")


def test_recursive_alias_and_deep_nesting_are_refused(tmp_path, capsys):
    recursive = scenario(tmp_path, "  - &t {name: t, model: ES_RITNet, fps: 1, x: [*t]}\n")
    refused(*run(capsys, "build", recursive), recursive, "refers to a node that contains it")
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    refused(*run(capsys, "build", deep), deep, "nested deeper than 100 levels")
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 50_000 + "]" * 50_000)
    refused(*run(capsys, "build", deep_json), deep_json, "nested too deeply")


def test_jobs_are_limited_before_the_trace_is_drawn(tmp_path, capsys, monkeypatch):
    # 10^6 fps over 10 s: 10^7 jobs, refused in no time and with no memory spent
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 1000000}\n")
    started = time.perf_counter()
    status, out, err = run(capsys, "build", path, "--duration", "10s")
    assert time.perf_counter() - started < 5
    refused(status, out, err, path, "tasks[0].fps", "1e+07 jobs", "1,000,000", "RTMM_MAX_JOBS")
    # A cascaded task makes as many jobs as its upstream: 2 × (10 fps × 1 s + 1) = 22.
    cascade = scenario(
        tmp_path,
        "  - {name: a, model: KD_res8_narrow, fps: 10}\n"
        "  - {name: b, model: KD_res8_narrow, depends_on: [a]}\n",
        name="cascade.yaml",
    )
    monkeypatch.setenv("RTMM_MAX_JOBS", "21")
    refused(*run(capsys, "build", cascade, "--duration", "1s"), "about 22 jobs", "RTMM_MAX_JOBS")
    monkeypatch.setenv("RTMM_MAX_JOBS", "22")
    status, out, err = run(capsys, "build", cascade, "--duration", "1s", "--json")
    assert status == 0, err
    assert json.loads(out)["jobs"] <= 22


def test_ops_are_limited_from_jobs_times_ops_per_job(tmp_path, capsys, monkeypatch):
    # KD_res8_narrow has 8 layers; 10 fps over 1 s is estimated at 10 + 1 jobs: 88 layer ops
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 10}\n")
    flags = ("--duration", "1s", "--granularity", "layer", "--system", "xrb4k-A")
    monkeypatch.setenv("RTMM_MAX_OPS", "87")
    refused(*run(capsys, "build", path, *flags), path, "about 88 ops", "RTMM_MAX_OPS")
    monkeypatch.setenv("RTMM_MAX_OPS", "88")
    status, out, err = run(capsys, "build", path, *flags, "--json")
    assert status == 0, err
    assert json.loads(out)["ops"] == 10 * 8
    # on 8 accelerators every op counts twice (8 / 4): 176 > 88
    system = tmp_path / "eight.yaml"
    system.write_text(
        "kind: system\nname: s\naccelerators:\n  - {name: a, count: 8, dataflow: WS, pes: 256}\n"
    )
    refused(*run(capsys, "build", path, *flags[:4], "--system", system), "about 176 ops")


def test_default_ops_limit_stops_a_high_rate_at_layer_granularity(tmp_path, capsys):
    # SS_HRViT_b1: 423 layers; 100 fps × 100 s ≈ 4.2 million ops, more than 6 GB if built
    path = scenario(tmp_path, "  - {name: t, model: SS_HRViT_b1, fps: 100}\n")
    started = time.perf_counter()
    status, out, err = run(
        capsys, "run", path, "--scheduler", "fcfs", "--granularity", "layer", "--duration", "100s"
    )
    assert time.perf_counter() - started < 10
    refused(status, out, err, path, "4.23e+06 ops", "2,000,000", "RTMM_MAX_OPS")


def test_a_bad_limit_setting_names_the_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RTMM_MAX_OPS", "lots")
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 10}\n")
    refused(*run(capsys, "build", path), "$RTMM_MAX_OPS", "'lots'")


def dysta_tables(tmp_path, layers=2):
    """A tiny EyerissV2 latency table: samples 0..6 (the simulator draws those), ``layers``."""
    folder = tmp_path / "tables"
    folder.mkdir()
    rows = ["sim_lat,overall-sparsity,batch-indx,layer-indx"]
    rows += [f"0.001,0.5,{s},{k}" for s in range(7) for k in range(layers)]
    (folder / "net_a.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_import_dysta_requests_are_limited_before_they_are_drawn(tmp_path, capsys, monkeypatch):
    tables, out = dysta_tables(tmp_path), tmp_path / "x.json"
    flags = ("--rate", "3", "--seed", "1", "--slo-mult", "2", "--out", out)
    started = time.perf_counter()
    status, stdout, err = run(capsys, "import", "dysta", tables, "--requests", 10**9, *flags)
    assert time.perf_counter() - started < 5
    refused(status, stdout, err, "--requests", "1e+09 jobs", "RTMM_MAX_JOBS")
    assert not out.exists()
    # 2 layers per request: 40 requests are 80 ops
    monkeypatch.setenv("RTMM_MAX_OPS", "79")
    refused(*run(capsys, "import", "dysta", tables, "--requests", 40, *flags), "RTMM_MAX_OPS")
    monkeypatch.setenv("RTMM_MAX_OPS", "80")
    status, stdout, err = run(capsys, "import", "dysta", tables, "--requests", 40, *flags)
    assert status == 0, err
    assert Instance.load(out).n_ops == 80


def test_a_job_shop_file_cannot_declare_a_huge_machine_count(tmp_path, capsys):
    # FJS: one op, declared on 10^8 machines: an instance of 10^8 columns
    path = tmp_path / "wide.fjs"
    path.write_text("1 100000000\n1 1 1 5\n")
    refused(*run(capsys, "solve", path, "--format", "fjs"), path, "RTMM_MAX_OPS")


def test_errors_quote_a_short_excerpt_of_a_huge_value(tmp_path, capsys):
    path = scenario(tmp_path, f"  - {{name: t, model: KD_res8_narrow, fps: {'9' * 4000}x}}\n")
    refused(*run(capsys, "build", path), path, "tasks[0].fps", "...")
    key = scenario(tmp_path, f"  - {{name: t, model: KD_res8_narrow, {'k' * 1000}: 1}}\n")
    refused(*run(capsys, "build", key), key, "unknown key")


# == 2. integer overflow reported as a valid result ==============================================


HUGE_LAYER = "{name: c1, type: conv, K: 1048576, C: 1048576, Y: 512, X: 512}"  # 2^58 MACs


def test_huge_layers_inside_the_dimension_limits_are_refused_not_wrapped(tmp_path, capsys):
    # Defect: 100 jobs of this model gave negative tardiness and energy, "valid schedule"
    model(tmp_path, [HUGE_LAYER, HUGE_LAYER.replace("c1", "c2")])
    path = scenario(tmp_path, "  - {name: t, model: m.yaml, fps: 100}\n")
    refused(*run(capsys, "run", path, "--scheduler", "fcfs"), path, "tasks[0].model",
            "task 't'", "2^60")  # fmt: skip
    # 3×3 filters: one layer is already 2^58 · 9 MACs > 2^60; the model file is named
    big = model(tmp_path, [HUGE_LAYER.replace("}", ", R: 3, S: 3}")], name="big.yaml")
    path = scenario(tmp_path, "  - {name: t, model: big.yaml, fps: 1}\n", name="big_sc.yaml")
    refused(*run(capsys, "run", path, "--scheduler", "fcfs"), big, "layers[0]", "MACs", "2^60")


def test_a_huge_layer_within_the_limits_runs_with_exact_metrics(tmp_path, capsys):
    # One job of a 2^58-MAC layer: every figure fits, so it runs, and its metrics are the
    # instance's own numbers (no wrap-around anywhere).
    model(tmp_path, [HUGE_LAYER])
    path = scenario(tmp_path, "  - {name: t, model: m.yaml, fps: 1}\n")
    out_file = tmp_path / "inst.json"
    assert run(capsys, "build", path, "--out", out_file)[0] == 0
    instance = Instance.load(out_file)
    status, out, err = run(capsys, "run", out_file, "--scheduler", "fcfs", "--json")
    assert status == 0, err
    metrics = json.loads(out)["metrics"]
    assert instance.n_jobs == 1 and metrics["completed"] == 1
    eligible = instance.op_duration[0] >= 0
    assert any(  # the op's energy where it ran, about 1.8e16 nJ, not a wrapped-around figure
        math.isclose(metrics["energy_mJ"] * 1e6, energy, rel_tol=1e-12)
        for energy in instance.op_energy[0][eligible].tolist()
    )
    assert metrics["tardiness"] >= 0
    assert metrics["makespan"] >= instance.op_duration[0][eligible].min()


def built_instance(tmp_path, capsys, tasks="  - {name: t, model: KD_res8_narrow, fps: 10}\n"):
    path = scenario(tmp_path, tasks, name="base.yaml")
    out = tmp_path / "base.json"
    status, _, err = run(capsys, "build", path, "--duration", "300ms", "--out", out)
    assert status == 0, err
    return json.loads(out.read_text())


def test_huge_durations_in_an_instance_file_are_refused(tmp_path, capsys):
    data = built_instance(tmp_path, capsys)
    path = tmp_path / "huge.json"

    def set_durations(data, op, value, columns=("op_duration", "op_predicted")):
        for column in columns:
            row = data["ops"][column][op]
            data["ops"][column][op] = [value if d >= 0 else -1 for d in row]

    for value, words in ((9 * 10**18, ["op_duration", "2^60"]), (2**70, ["op_duration", "64"])):
        set_durations(data, 0, value)
        path.write_text(json.dumps(data))
        refused(*run(capsys, "run", path, "--scheduler", "fcfs"), path, *words)
    # each one fits, their sum does not: 3 ops of 2^59 units
    data = built_instance(tmp_path, capsys)
    for op in range(3):
        set_durations(data, op, 2**59, columns=("op_duration",))
    path.write_text(json.dumps(data))
    refused(*run(capsys, "run", path, "--scheduler", "fcfs"), path, "op_duration", "longest")


def test_huge_durations_in_a_job_shop_file_are_refused(tmp_path, capsys):
    # Defect: OverflowError, an internal error with exit 1
    path = tmp_path / "huge.txt"
    path.write_text("1 2\n0 9000000000000000000 1 9000000000000000000\n")
    refused(*run(capsys, "solve", path, "--format", "jsplib"), path, "line 2", "2^60")
    path.write_text("1 2\n0 900000000000000000 1 900000000000000000\n")
    refused(*run(capsys, "solve", path, "--format", "jsplib"), path, "add up to", "2^60")


def test_huge_schedule_times_are_refused(tmp_path, capsys):
    built_instance(tmp_path, capsys)
    instance = Instance.load(tmp_path / "base.json")
    schedule = {
        "op_accelerator": [0] * instance.n_ops,
        "op_start": [0] * instance.n_ops,
        "op_end": [2**62] * instance.n_ops,
        "job_status": [1] * instance.n_jobs,
        "job_variant": [0] * instance.n_jobs,
        "job_drop_time": [0] * instance.n_jobs,
    }
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(schedule))
    refused(*run(capsys, "validate", tmp_path / "base.json", "--schedule", path), path,
            "op_end[0]", "2^60")  # fmt: skip


LAYER_TYPES = ("conv", "dwconv", "fc", "matmul", "pool", "elementwise")
DIMENSION = st.one_of(
    st.integers(1, 8), st.sampled_from([64, 512, 2**12, 2**16, 2**20]), st.integers(1, 2**20)
)
LAYER = st.fixed_dictionaries(
    {
        "type": st.sampled_from(LAYER_TYPES),
        **{d: DIMENSION for d in ("N", "K", "C", "Y", "X")},
        **{d: st.integers(1, 16) for d in ("R", "S")},
        "bytes_per_element": st.sampled_from([1, 2, 64]),
    }
)
NON_NEGATIVE = {  # metrics that cannot be negative by definition (xrbench EN and score can)
    "jobs", "completed", "dropped", "late", "miss_rate", "drop_rate", "late_rate", "tardiness",
    "tardiness_ms", "energy_mJ", "makespan", "makespan_ms", "antt", "throughput", "stp",
    "sla_rate", "accuracy", "accuracy_loss", "uxcost",
}  # fmt: skip


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    layers=st.lists(LAYER, min_size=1, max_size=3),
    fps=st.sampled_from([1, 30, 1000]),
    granularity=st.sampled_from(["model", "layer"]),
)
def test_extreme_shapes_give_finite_metrics_or_an_input_error(
    tmp_path, capsys, layers, fps, granularity
):
    entries = [
        "{" + f"name: l{i}, " + ", ".join(f"{k}: {v}" for k, v in layer.items()) + "}"
        for i, layer in enumerate(layers)
    ]
    model(tmp_path, entries)
    path = scenario(tmp_path, f"  - {{name: t, model: m.yaml, fps: {fps}}}\n")
    status, out, err = run(
        capsys, "run", path, "--scheduler", "fcfs", "--granularity", granularity,
        "--duration", "100ms", "--json",
    )  # fmt: skip
    if status == 2:
        refused(status, out, err)
        assert str(path) in err or str(tmp_path / "m.yaml") in err, err
        return
    assert status == 0, err
    result = json.loads(out)
    assert result["valid"] is True
    for scope in [result["metrics"], *result["metrics"]["per_task"].values()]:
        for key, value in scope.items():
            if isinstance(value, int | float):
                assert math.isfinite(value), (key, value)
                if key in NON_NEGATIVE:
                    assert value >= 0, (key, value)


# == 3. inputs that are silently reinterpreted ===================================================


def test_duplicate_keys_are_refused_in_yaml_and_json(tmp_path, capsys):
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 10, fps: 20}\n")
    refused(*run(capsys, "build", path), path, "line 4", "duplicate key 'fps'")
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 10}\n", extra="name: b\n")
    refused(*run(capsys, "build", path), path, "duplicate key 'name'", "line 2")
    # a merged key may be overridden: that is what merging is for, not a duplicate
    merged = scenario(
        tmp_path,
        "  - &a {name: a, model: KD_res8_narrow, fps: 10}\n  - {<<: *a, name: b, fps: 20}\n",
        name="merged.yaml",
    )
    status, out, err = run(capsys, "build", merged, "--duration", "1s", "--json")
    assert status == 0, err
    assert [task["jobs"] for task in json.loads(out)["tasks"]] == [10, 20]
    data = built_instance(tmp_path, capsys)
    text = json.dumps(data).replace('"name": ', '"name": "x", "name": ', 1)
    path = tmp_path / "dup.json"
    path.write_text(text)
    refused(*run(capsys, "run", path, "--scheduler", "fcfs"), path, "duplicate key 'name'")


def test_yaml_12_numbers_are_read_as_numbers(tmp_path, capsys):
    # Defect: YAML 1.1 read 1e12 as a string and reported "expected a number"
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 1e12}\n")
    refused(*run(capsys, "build", path), path, "tasks[0].fps", "must be <= 1e+06")
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 1.5e1}\n")
    status, out, err = run(capsys, "build", path, "--duration", "1s", "--json")
    assert status == 0, err
    assert json.loads(out)["jobs"] == 15  # 15 fps for 1 s
    # YAML 1.1 would read these as a sexagesimal 90 and a boolean: here they stay text
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 1:30}\n")
    refused(*run(capsys, "build", path), "tasks[0].fps", "expected a number, got '1:30'")
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 10}\n",
                    extra="compat: on\n")  # fmt: skip
    refused(*run(capsys, "build", path), "compat", "unknown value 'on'")


def schedule_of(tmp_path, capsys):
    """A valid schedule of the built instance (fcfs), as JSON data."""
    built_instance(tmp_path, capsys)
    instance = Instance.load(tmp_path / "base.json")
    from rtmm_opt.engine import replay
    from rtmm_opt.schedulers import make_scheduler

    return replay(instance, make_scheduler("fcfs")).to_dict()


def test_schedule_columns_must_hold_integers(tmp_path, capsys):
    data = schedule_of(tmp_path, capsys)
    path, instance = tmp_path / "schedule.json", tmp_path / "base.json"
    path.write_text(json.dumps(data))
    assert run(capsys, "validate", instance, "--schedule", path)[0] == 0
    for column, value in (("op_start", 1.5), ("op_end", "7"), ("job_status", True)):
        bad = json.loads(json.dumps(data))
        bad[column][0] = value
        path.write_text(json.dumps(bad))
        refused(*run(capsys, "validate", instance, "--schedule", path), path, f"{column}[0]",
                "expected an integer")  # fmt: skip
    for info in ([["a", 1]], "text"):
        bad = {**data, "info": info}
        path.write_text(json.dumps(bad))
        refused(*run(capsys, "validate", instance, "--schedule", path), path, "info",
                "expected a mapping")  # fmt: skip


def test_instance_files_are_read_strictly(tmp_path, capsys):
    data = built_instance(tmp_path, capsys)  # on xrb4k-J: two accelerators
    path = tmp_path / "bad.json"

    def twice(names):
        return [names[0]] * len(names)

    cases = [
        (("ops", "op_duration", 0, 0), 2.5, "op_duration[0][0]"),
        (("jobs", "job_release", 0), "0", "job_release[0]"),
        (("accelerators",), twice(data["accelerators"]), "duplicate name"),
        (("metadata",), [["a", 1]], "metadata"),
        (("ops", "op_sparsity", 0), 1.5, "op_sparsity"),
        (("ops", "op_sparsity_mean", 0), -0.1, "op_sparsity_mean"),
        (("tasks", 0, "depends_on"), [3], "depends_on[0]"),
    ]
    for keys, value, word in cases:
        bad = json.loads(json.dumps(data))
        target = bad
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
        path.write_text(json.dumps(bad))
        refused(*run(capsys, "run", path, "--scheduler", "fcfs"), path, word)


def test_duplicate_accelerator_names_in_a_system_file(tmp_path, capsys):
    system = tmp_path / "sys.yaml"
    system.write_text(
        "kind: system\nname: s\naccelerators:\n"
        "  - {name: a, count: 2, dataflow: WS, pes: 1024}\n"
        "  - {name: a1, dataflow: OS, pes: 1024}\n"
    )
    path = scenario(tmp_path, "  - {name: t, model: KD_res8_narrow, fps: 10}\n")
    refused(*run(capsys, "build", path, "--system", system), system, "accelerators[1].name",
            "'a1' is used twice")  # fmt: skip
    system.write_text(
        "kind: system\nname: s\naccelerators:\n  - {name: a, dataflow: WS, pes: 1024, name: b}\n"
    )
    refused(*run(capsys, "build", path, "--system", system), system, "duplicate key 'name'")


def test_sparsity_outside_zero_one_is_refused(tmp_path, capsys):
    layer = "{name: c, type: conv, K: 4, C: 4, Y: 8, X: 8, sparsity: {input_mean: 1.5}}"
    model(tmp_path, [layer])
    path = scenario(tmp_path, "  - {name: t, model: m.yaml, fps: 10}\n")
    refused(*run(capsys, "build", path), "layers[0].sparsity.input_mean", "must be <= 1")
    dynamic = "dynamic: {sparsity: {mean: -0.2}}"
    path = scenario(tmp_path, f"  - {{name: t, model: KD_res8_narrow, fps: 10, {dynamic}}}\n")
    refused(*run(capsys, "build", path), "tasks[0].dynamic.sparsity.mean", "must be >= 0")


def test_models_import_refuses_colliding_file_names_before_writing(tmp_path, capsys):
    layer = "Layer c1 { Type: CONV Dimensions: { N: 1, K: 4, C: 3, Y: 8, X: 8, R: 3, S: 3 } }"
    first, second = tmp_path / "one.m", tmp_path / "two.m"
    first.write_text(f"Network a/b {{ {layer} }}\n")
    second.write_text(f"Network a_b {{ {layer} }}\n")
    out = tmp_path / "models"
    status, stdout, err = run(capsys, "models", "import", first, second, "--out", out)
    refused(status, stdout, err, "'a/b'", str(first), "'a_b'", str(second), "a_b.yaml")
    assert not out.exists()
    second.write_text(f"Network A_B {{ {layer} }}\n")  # the same file on a case-insensitive disk
    refused(*run(capsys, "models", "import", first, second, "--out", out), "'A_B'")
    second.write_text(f"Network c {{ {layer} }}\n")
    status, stdout, err = run(capsys, "models", "import", first, second, "--out", out)
    assert status == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a_b.yaml", "c.yaml"]


def test_names_that_look_like_numbers_survive_models_import(tmp_path, capsys):
    # The writer quotes what a YAML 1.2 (or 1.1) reader would take for a number or a boolean.
    layer = "Dimensions: { N: 1, K: 4, C: 3, Y: 8, X: 8, R: 3, S: 3 }"
    source = tmp_path / "numbers.m"
    source.write_text(
        f"Network 1e3 {{ Layer 0o17 {{ Type: CONV {layer} }} Layer yes {{ Type: CONV {layer} }} }}"
    )
    out = tmp_path / "models"
    assert run(capsys, "models", "import", source, "--out", out)[0] == 0
    status, stdout, err = run(capsys, "models", "show", out / "1e3.yaml", "--json")
    assert status == 0, err
    shown = json.loads(stdout)
    assert shown["name"] == "1e3"
    assert [layer["name"] for layer in shown["layers"]] == ["0o17", "yes"]
