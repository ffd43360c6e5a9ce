"""Scenario files: the format, the XRBench `.m` loader, and every kind of bad input."""

import math
import textwrap
from pathlib import Path

import pytest
from support import ROOT, XRBENCH, needs_xrbench

from rtmm_opt.errors import InputError
from rtmm_opt.scenario import DeadlineRule, Scenario, Task, load_scenario
from rtmm_opt.workload import Layer, LayerType, ModelGraph
from rtmm_opt.workload.library import get_model

XRBENCH_SCENARIOS = XRBENCH / "scenarios"

BUNDLED = sorted((ROOT / "instances").rglob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def chain(name: str, n: int = 3) -> ModelGraph:
    return ModelGraph.chain(
        name, [Layer(f"l{i}", LayerType.CONV, K=4, C=4, Y=6, X=6) for i in range(n)]
    )


# -- the format ---------------------------------------------------------------------------------


def test_full_example_reads_every_field(tmp_path):
    path = write(
        tmp_path,
        """
        kind: scenario
        name: demo
        description: a demo
        source: hand-written
        duration_ms: 250
        tasks:
          - name: seg
            model: ES_RITNet
            fps: 60
            phase_ms: 2
            jitter_ms: 0.5
            priority: 3
            dynamic:
              sparsity: {mean: 0.4, std: 0.05, correlation: 0.5, dense_fraction: 0.2}
          - name: gaze
            model: GE_FBNet_C
            depends_on: [seg]
            trigger_probability: 0.25
            deadline: {ms: 20}
            dynamic:
              early_exit:
                - {after_layer: 10, probability: 0.2}
                - {after_layer: 0.5, probability: 0.3}
              variants:
                - {name: full, accuracy: 0.9}
                - {name: small, latency_scale: 0.5, accuracy: 0.8}
          - name: serve
            model: HT_hand_graph_cnn_half
            poisson: 3.5
            deadline: {slo: 2}
            dynamic:
              latency_factor: {mean: 1.0, std: 0.2, distribution: gamma, per: layer}
        """,
    )
    scenario = load_scenario(path)
    assert scenario.name == "demo" and scenario.source == "hand-written"
    assert scenario.duration_ns == 250_000_000 and scenario.period_rounding == "exact"
    seg, gaze, serve = scenario.tasks
    assert (seg.fps, seg.phase_ms, seg.jitter_ms, seg.priority) == (60.0, 2.0, 0.5, 3)
    assert seg.deadline == DeadlineRule("period")
    assert seg.dynamic.sparsity is not None and seg.dynamic.sparsity.mean == (0.4,)
    assert (seg.dynamic.sparsity.correlation, seg.dynamic.sparsity.dense_fraction) == (0.5, 0.2)
    assert gaze.depends_on == ("seg",) and gaze.trigger_probability == 0.25
    assert gaze.fps is None and gaze.deadline == DeadlineRule("ms", 20.0)
    # GE_FBNet_C has 63 layers: fraction 0.5 exits after the first ceil(31.5) = 32 layers
    assert len(gaze.graph) == 63
    assert [(e.after_layer, e.probability) for e in gaze.dynamic.early_exit] == [
        (10, 0.2),
        (31, 0.3),
    ]
    assert [(v.name, v.latency_scale, v.accuracy) for v in gaze.variants] == [
        ("full", 1.0, 0.9),
        ("small", 0.5, 0.8),
    ]
    assert gaze.variants[1].graph is gaze.graph
    assert serve.poisson == 3.5 and serve.deadline == DeadlineRule("slo", 2.0)
    assert serve.dynamic.latency_factor is not None and serve.dynamic.latency_factor.per == "layer"
    # the cascaded task inherits its upstream's exact period
    assert scenario.period_ns(1) == pytest.approx(1e9 / 60)
    assert scenario.period_ns(2) is None
    assert scenario.topological_order == (0, 1, 2)


def test_defaults_and_model_paths_relative_to_the_file(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny.yaml").write_text(
        "kind: model\nname: tiny\nlayers:\n"
        "  - {name: c, type: conv, K: 4, C: 4, Y: 8, X: 8, R: 3, S: 3}\n"
    )
    path = write(
        tmp_path,
        "kind: scenario\nname: d\ntasks:\n  - {name: t, model: models/tiny.yaml, fps: 30}\n",
    )
    (task,) = load_scenario(path).tasks
    assert task.model == "models/tiny.yaml" and task.graph.name == "tiny"
    assert (task.priority, task.trigger_probability, task.phase_ms, task.jitter_ms) == (
        1,
        1.0,
        0.0,
        0.0,
    )
    assert task.deadline.kind == "period" and [v.name for v in task.variants] == ["default"]


def test_period_rounding():
    tasks = tuple(Task(f"t{fps}", "m", chain("m"), fps=float(fps)) for fps in (60, 45, 30, 3))
    floor = Scenario("x", tasks, period_rounding="ms_floor")
    exact = Scenario("x", tasks)
    # the XRBench harness: 1000 / FPS in integer milliseconds
    assert [floor.period_ns(i) for i in range(4)] == [16e6, 22e6, 33e6, 333e6]
    assert [exact.period_ns(i) for i in range(4)] == pytest.approx(
        [1e9 / 60, 1e9 / 45, 1e9 / 30, 1e9 / 3]
    )


def test_rate_scaling():
    base = Scenario(
        "x",
        (
            Task("a", "m", chain("m"), fps=30.0),
            Task("b", "m", chain("m"), poisson=4.0, deadline=DeadlineRule("ms", 5.0)),
        ),
    )
    scaled = base.scaled(2.0)
    assert (scaled.tasks[0].fps, scaled.tasks[1].poisson) == (60.0, 8.0)
    assert base.scaled(1.0) is base
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(InputError) as err:
            base.scaled(bad)
        assert err.value.field == "fps_scale"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT / "instances")))
def test_bundled_scenarios_load(path):
    scenario = load_scenario(path)
    assert scenario.tasks and scenario.source
    if "xrbench" in path.parts:
        assert scenario.period_rounding == "ms_floor" and scenario.duration_ms == 700


@needs_xrbench
@pytest.mark.parametrize("path", sorted(XRBENCH_SCENARIOS.rglob("*.m")), ids=lambda p: p.stem)
def test_maestro_scenario_equals_converted_yaml(path):
    direct = load_scenario(path)
    relative = path.relative_to(XRBENCH_SCENARIOS).with_suffix(".yaml")
    converted = load_scenario(ROOT / "instances" / "xrbench" / relative)
    assert direct.name == converted.name
    assert direct.period_rounding == converted.period_rounding == "ms_floor"
    assert direct.duration_ms == converted.duration_ms == 700
    for a, b in zip(direct.tasks, converted.tasks, strict=True):
        assert (a.name, a.fps, a.depends_on, a.trigger_probability) == (
            b.name,
            b.fps,
            b.depends_on,
            b.trigger_probability,
        )
        assert a.graph.layers == b.graph.layers == get_model(a.name).layers


@needs_xrbench
def test_maestro_scenario_fields():
    scenario = load_scenario(XRBENCH_SCENARIOS / "AR_Assistant.m")
    asr = scenario.tasks[scenario.task_index("ASR_EM_24L")]
    assert asr.depends_on == ("KD_res8_narrow",) and asr.trigger_probability == 0.5
    assert asr.fps == 3.0 and len(asr.graph) == 120
    sweep = load_scenario(XRBENCH_SCENARIOS / "probability_sweep" / "VR_gaming_25p.m")
    assert sweep.tasks[1].trigger_probability == 0.25


# -- bad input: every error names the file and the field ----------------------------------------

TASK = "  - name: a\n    model: ES_RITNet\n    fps: 60\n"


def scenario_text(*tasks: str, header: str = "") -> str:
    return "kind: scenario\nname: bad\n" + header + "tasks:\n" + "".join(tasks)


BAD = {
    "unknown top key": (scenario_text(TASK, header="taks_extra: 1\n"), "taks_extra", "unknown key"),
    "typo top key": ("kind: scenario\nname: b\ntaks:\n" + TASK, "taks", "did you mean 'tasks'"),
    "wrong kind": ("kind: model\nname: b\ntasks:\n" + TASK, "kind", "expected 'scenario'"),
    "no tasks": ("kind: scenario\nname: b\ntasks: []\n", "tasks", "at least one task"),
    "unknown task key": (
        scenario_text(TASK + "    fsp: 3\n"),
        "tasks[0].fsp",
        "did you mean 'fps'",
    ),
    "missing model": (scenario_text("  - {name: a, fps: 60}\n"), "tasks[0].model", "missing"),
    "unknown model": (
        scenario_text("  - {name: a, model: ES_RITnet, fps: 60}\n"),
        "tasks[0].model",
        "did you mean 'ES_RITNet'",
    ),
    "missing model file": (
        scenario_text("  - {name: a, model: nowhere/m.yaml, fps: 60}\n"),
        "tasks[0].model",
        "no such model file",
    ),
    "zero fps": (scenario_text("  - {name: a, model: ES_RITNet, fps: 0}\n"), "tasks[0].fps", "> 0"),
    "negative fps": (
        scenario_text("  - {name: a, model: ES_RITNet, fps: -5}\n"),
        "tasks[0].fps",
        "> 0",
    ),
    "nan fps": (
        scenario_text("  - {name: a, model: ES_RITNet, fps: .nan}\n"),
        "tasks[0].fps",
        "finite",
    ),
    "absurd fps": (
        scenario_text("  - {name: a, model: ES_RITNet, fps: 1.0e+12}\n"),
        "tasks[0].fps",
        "<=",
    ),
    "text fps": (
        scenario_text("  - {name: a, model: ES_RITNet, fps: sixty}\n"),
        "tasks[0].fps",
        "number",
    ),
    "fps and poisson": (
        scenario_text("  - {name: a, model: ES_RITNet, fps: 60, poisson: 3}\n"),
        "tasks[0].fps",
        "not both",
    ),
    "no rate": (scenario_text("  - {name: a, model: ES_RITNet}\n"), "tasks[0].fps", "needs a rate"),
    "zero poisson": (
        scenario_text("  - {name: a, model: ES_RITNet, poisson: 0, deadline: {ms: 5}}\n"),
        "tasks[0].poisson",
        "> 0",
    ),
    "poisson with period deadline": (
        scenario_text("  - {name: a, model: ES_RITNet, poisson: 3}\n"),
        "tasks[0].deadline",
        "no period",
    ),
    "unknown deadline word": (
        scenario_text(TASK + "    deadline: periodic\n"),
        "tasks[0].deadline",
        "did you mean 'period'",
    ),
    "deadline number": (scenario_text(TASK + "    deadline: 20\n"), "tasks[0].deadline", "{ms: X}"),
    "deadline key typo": (
        scenario_text(TASK + "    deadline: {sol: 2}\n"),
        "tasks[0].deadline.sol",
        "did you mean 'slo'",
    ),
    "deadline both": (
        scenario_text(TASK + "    deadline: {slo: 2, ms: 3}\n"),
        "tasks[0].deadline",
        "exactly one",
    ),
    "zero slo": (scenario_text(TASK + "    deadline: {slo: 0}\n"), "tasks[0].deadline.slo", "> 0"),
    "negative ms": (
        scenario_text(TASK + "    deadline: {ms: -1}\n"),
        "tasks[0].deadline.ms",
        "> 0",
    ),
    "trigger above 1": (
        scenario_text(TASK + "    trigger_probability: 1.5\n"),
        "tasks[0].trigger_probability",
        "<= 1",
    ),
    "zero priority": (scenario_text(TASK + "    priority: 0\n"), "tasks[0].priority", "> 0"),
    "fractional priority": (
        scenario_text(TASK + "    priority: 1.5\n"),
        "tasks[0].priority",
        "integer",
    ),
    "negative phase": (scenario_text(TASK + "    phase_ms: -1\n"), "tasks[0].phase_ms", ">= 0"),
    "phase without unit": (
        scenario_text(TASK + "    phase: 1\n"),
        "tasks[0].phase",
        "did you mean 'phase_ms'",
    ),
    "jitter above period": (
        scenario_text(TASK + "    jitter_ms: 17\n"),
        "tasks[0].jitter_ms",
        "shorter than the period",
    ),
    "duplicate task": (scenario_text(TASK, TASK), "tasks[1].name", "duplicate"),
    "unknown dependency": (
        scenario_text(TASK, "  - {name: b, model: GE_FBNet_C, depends_on: [aa]}\n"),
        "tasks[1].depends_on[0]",
        "unknown task 'aa'",
    ),
    "self dependency": (
        scenario_text("  - {name: a, model: ES_RITNet, fps: 60, depends_on: [a]}\n"),
        "tasks[0].depends_on[0]",
        "depends on itself",
    ),
    "cyclic dependencies": (
        scenario_text(
            "  - {name: a, model: ES_RITNet, fps: 60, depends_on: [c]}\n",
            "  - {name: b, model: ES_RITNet, depends_on: [a]}\n",
            "  - {name: c, model: ES_RITNet, depends_on: [b]}\n",
        ),
        "tasks[0].depends_on",
        "cyclic task dependencies: a -> b -> c -> a",
    ),
    "cascaded poisson": (
        scenario_text(
            TASK,
            "  - {name: b, model: GE_FBNet_C, poisson: 3, depends_on: [a], deadline: {ms: 5}}\n",
        ),
        "tasks[1].poisson",
        "cascaded",
    ),
    "cascade faster than upstream": (
        scenario_text(TASK, "  - {name: b, model: GE_FBNet_C, fps: 120, depends_on: [a]}\n"),
        "tasks[1].fps",
        "longer than",
    ),
    "bad period rounding": (
        scenario_text(TASK, header="period_rounding: ms_ceil\n"),
        "period_rounding",
        "did you mean 'ms_floor'",
    ),
    "sparsity mean 1": (
        scenario_text(TASK + "    dynamic: {sparsity: {mean: 1.0}}\n"),
        "tasks[0].dynamic.sparsity.mean",
        "<= 0.95",
    ),
    "sparsity list length": (
        scenario_text(TASK + "    dynamic: {sparsity: {mean: [0.1, 0.2]}}\n"),
        "tasks[0].dynamic.sparsity.mean",
        "2 values for 42 layers",
    ),
    "sparsity list value": (
        scenario_text(TASK + "    dynamic: {sparsity: {mean: [0.1, .nan" + ", 0.1" * 40 + "]}}\n"),
        "tasks[0].dynamic.sparsity.mean[1]",
        "finite",
    ),
    "unknown dynamic key": (
        scenario_text(TASK + "    dynamic: {sparsty: {mean: 0.5}}\n"),
        "tasks[0].dynamic.sparsty",
        "did you mean 'sparsity'",
    ),
    "bad factor distribution": (
        scenario_text(TASK + "    dynamic: {latency_factor: {distribution: normal}}\n"),
        "tasks[0].dynamic.latency_factor.distribution",
        "valid: lognormal",
    ),
    "uniform factor too wide": (
        scenario_text(TASK + "    dynamic: {latency_factor: {distribution: uniform, std: 0.9}}\n"),
        "tasks[0].dynamic.latency_factor.std",
        "mean/√3",
    ),
    "exit after last layer": (
        scenario_text(TASK + "    dynamic: {early_exit: [{after_layer: 41, probability: 0.5}]}\n"),
        "tasks[0].dynamic.early_exit[0].after_layer",
        "valid: 0..40",
    ),
    "exit fraction above 1": (
        scenario_text(TASK + "    dynamic: {early_exit: [{after_layer: 1.5, probability: 0.5}]}\n"),
        "tasks[0].dynamic.early_exit[0].after_layer",
        "(0, 1)",
    ),
    "exit probabilities above 1": (
        scenario_text(
            TASK + "    dynamic: {early_exit: [{after_layer: 3, probability: 0.6}, "
            "{after_layer: 5, probability: 0.6}]}\n"
        ),
        "tasks[0].dynamic.early_exit",
        "add up to 1.2",
    ),
    "exit zero probability": (
        scenario_text(TASK + "    dynamic: {early_exit: [{after_layer: 3, probability: 0}]}\n"),
        "tasks[0].dynamic.early_exit[0].probability",
        "> 0",
    ),
    "duplicate variant": (
        scenario_text(
            TASK + "    dynamic: {variants: [{name: v}, {name: v, latency_scale: 0.5}]}\n"
        ),
        "tasks[0].dynamic.variants[1].name",
        "duplicate",
    ),
    "zero latency scale": (
        scenario_text(TASK + "    dynamic: {variants: [{name: v, latency_scale: 0}]}\n"),
        "tasks[0].dynamic.variants[0].latency_scale",
        "> 0",
    ),
    "unknown variant model": (
        scenario_text(TASK + "    dynamic: {variants: [{name: v, model: NoSuchNet}]}\n"),
        "tasks[0].dynamic.variants[0].model",
        "unknown model",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_scenario_files(tmp_path, case):
    text, field, reason = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.file == str(path)
    assert err.value.field == field, str(err.value)
    assert reason in err.value.reason, str(err.value)


def test_malformed_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_scenario(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="malformed YAML"):
        load_scenario(write(tmp_path, "kind: scenario\ntasks: [\n"))


def test_bad_maestro_scenarios(tmp_path):
    layer = "Layer c { Type: CONV Dimensions: { N: 1, K: 4, C: 4, Y: 8, X: 8, R: 3, S: 3 } }"
    no_fps = write(tmp_path, f"Network A {{\n{layer}\n}}\n", "nofps.m")
    with pytest.raises(InputError) as err:
        load_scenario(no_fps)
    assert (err.value.file, err.value.field) == (str(no_fps), "networks.A.FPS")
    cyclic = write(
        tmp_path,
        f"Network A {{ FPS: 30 Dependency: {{ B }} {layer} }}\n"
        f"Network B {{ FPS: 30 Dependency: {{ A }} {layer} }}\n",
        "cyclic.m",
    )
    with pytest.raises(InputError, match="cyclic"):
        load_scenario(cyclic)


def test_programmatic_scenarios_are_checked_too():
    with pytest.raises(InputError, match="cyclic task dependencies: a -> b -> a"):
        Scenario(
            "x",
            (
                Task("a", "m", chain("m"), fps=10.0, depends_on=("b",)),
                Task("b", "m", chain("m"), depends_on=("a",)),
            ),
        )
    with pytest.raises(InputError) as err:
        Scenario("x", (Task("a", "m", chain("m"), fps=2000.0),), period_rounding="ms_floor")
    assert err.value.field == "tasks[0].fps" and "period of 0 ms" in err.value.reason
