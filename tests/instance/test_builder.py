"""The instance builder and WORKLOAD loading: hand-computed cases, XRBench's own timelines."""

import csv
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, XRBENCH, needs_xrbench

from rtmm_opt.errors import InputError
from rtmm_opt.hardware.accelerator import Accelerator, System
from rtmm_opt.hardware.cost.base import LayerCost
from rtmm_opt.instance.builder import build_instance
from rtmm_opt.instance.workload import load_workload, read_workload
from rtmm_opt.scenario import (
    DeadlineRule,
    Dynamic,
    ExitPoint,
    Scenario,
    SparsityModel,
    Task,
    VariantSpec,
    generate_trace,
    load_scenario,
)
from rtmm_opt.workload import Layer, LayerType, ModelGraph

MS = 1_000_000


def chain(name: str, n: int) -> ModelGraph:
    # K=4, C=4, 3x3 filters: 144 weight bytes per layer (int8)
    return ModelGraph.chain(
        name, [Layer(f"l{i}", LayerType.CONV, K=4, C=4, Y=6, X=6, R=3, S=3) for i in range(n)]
    )


class FakeCost:
    """Per-layer costs straight from tables: cycles[model][layer][accelerator], etc."""

    name = "fake"

    def __init__(self, cycles, energy=None, dram=None, dram_pj=None):
        self.cycles, self.energy_table, self.dram = cycles, energy or {}, dram or {}
        if dram_pj is not None:
            self.energy = SimpleNamespace(dram_pj=dram_pj)

    def layer_cost(self, model, layer_index, system, accelerator_index):
        def get(table, default):
            return (
                table[model.name][layer_index][accelerator_index]
                if model.name in table
                else default
            )

        return LayerCost(
            cycles=get(self.cycles, 1.0),
            energy_nj=get(self.energy_table, 0.0),
            dram_bytes=get(self.dram, 0.0),
        )


SYSTEM = System(
    "duo",
    (
        Accelerator("big", "WS", pes=64, clock_ghz=1.0, offchip_bandwidth_gbps=10.0),
        Accelerator("little", "OS", pes=16, clock_ghz=2.0, offchip_bandwidth_gbps=5.0),
    ),
    dram_bandwidth_gbps=16.0,
)

# Two layers. big: 14 + 14 ns; little: (30 + 50) cycles at 2 GHz = 15 + 25 ns.
TWO = {"m": [[14, 30], [14, 50]]}
TWO_ENERGY = {"m": [[1.4, 2.6], [1.4, 2.6]]}
TWO_DRAM = {"m": [[100.4, 7.0], [100.4, 7.0]]}


def one_task(model=None, **fields):
    graph = model or chain("m", 2)
    fields.setdefault("fps", 100.0)
    return Scenario("s", (Task("a", graph.name, graph, **fields),))


def build(scenario, cost=None, **options):
    options.setdefault("duration_ns", 30 * MS)
    options.setdefault("seed", 0)
    return build_instance(scenario, SYSTEM, cost or FakeCost(TWO, TWO_ENERGY, TWO_DRAM), **options)


def test_model_granularity_rounds_the_segment_sum_once():
    inst = build(one_task(), time_unit_ns=10)
    assert inst.n_jobs == 3 and inst.n_ops == 3
    # big: ceil(28 / 10) = 3 (not 2 + 2); little: ceil(40 / 10) = 4
    assert inst.op_duration.tolist() == [[3, 4]] * 3
    assert inst.op_predicted.tolist() == [[3, 4]] * 3
    # energy 2.8 → 3 and 5.2 → 5 nJ; DRAM 200.8 → 201 and 14 bytes
    assert inst.op_energy.tolist() == [[3, 5]] * 3
    assert inst.op_dram_bytes.tolist() == [[201, 14]] * 3
    # 100 FPS: period 10 ms = 10^6 units of 10 ns; deadline = next frame
    assert inst.job_release.tolist() == [0, 1_000_000, 2_000_000]
    assert inst.job_deadline.tolist() == [1_000_000, 2_000_000, 3_000_000]
    assert inst.tasks[0].period == 1_000_000 and inst.time_unit_ns == 10
    assert np.isnan(inst.op_sparsity).all() and inst.job_exit_op.tolist() == [-1] * 3


def test_layer_granularity_rounds_each_layer():
    inst = build(one_task(), time_unit_ns=10, granularity="layer")
    assert inst.n_ops == 6 and inst.job_op_offsets.tolist() == [0, 2, 4, 6]
    # big: 14 ns → 2, 14 ns → 2; little: 15 ns → 2, 25 ns → 3
    assert inst.op_duration[:2].tolist() == [[2, 2], [2, 3]]
    assert inst.op_energy[:2].tolist() == [[1, 3], [1, 3]]
    assert inst.op_segment.tolist() == [0, 1] * 3
    assert [inst.preds_of(o).tolist() for o in range(4)] == [[], [0], [], [2]]


def test_block_coarsening():
    graph = chain("m4", 4)  # equal MACs: block:2 = layers {0, 1} and {2, 3}
    cost = FakeCost({"m4": [[10, 10], [20, 20], [30, 30], [40, 40]]})
    scenario = one_task(graph)
    blocks = build(scenario, cost, time_unit_ns=7, granularity="block:2")
    assert blocks.op_duration[:2, 0].tolist() == [math.ceil(30 / 7), math.ceil(70 / 7)]  # 5, 10
    assert blocks.op_duration[:2, 1].tolist() == [math.ceil(15 / 7), math.ceil(35 / 7)]  # 3, 5
    layers = build(scenario, cost, time_unit_ns=7, granularity="layer")
    assert layers.op_duration[:4, 0].tolist() == [2, 3, 5, 6]
    whole = build(scenario, cost, time_unit_ns=7)
    assert whole.op_duration[0].tolist() == [math.ceil(100 / 7), math.ceil(50 / 7)]  # 15, 8


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=6),
    st.integers(1, 50),
)
def test_rounding_once_per_segment_property(cycles, unit):
    graph = chain("r", len(cycles))
    cost = FakeCost({"r": [[c0, c1] for c0, c1 in cycles]})
    scenario = one_task(graph)
    whole = build(scenario, cost, time_unit_ns=unit, duration_ns=MS)
    layers = build(scenario, cost, time_unit_ns=unit, duration_ns=MS, granularity="layer")
    for a, clock in ((0, 1), (1, 2)):
        total_ns = sum(c[a] for c in cycles) / clock
        assert whole.op_duration[0, a] == max(1, math.ceil(total_ns / unit - 1e-9))
        summed = int(layers.op_duration[: len(cycles), a].sum())
        assert whole.op_duration[0, a] <= summed <= whole.op_duration[0, a] + len(cycles)


def test_deadline_rules():
    graph = chain("m", 2)
    ms_rule = one_task(graph, poisson=300.0, deadline=DeadlineRule("ms", 3.0), fps=None)
    inst = build(ms_rule, duration_ns=200 * MS)
    assert inst.n_jobs > 20 and np.all(inst.job_deadline - inst.job_release == 3 * MS)
    assert inst.tasks[0].period is None
    # isolated latency: the whole model on its fastest accelerator = min(28, 40) ns
    slo_rule = one_task(graph, fps=100.0, deadline=DeadlineRule("slo", 2.5))
    inst = build(slo_rule, time_unit_ns=1)
    assert np.all(inst.job_deadline - inst.job_release == math.ceil(2.5 * 28))


def test_cascades():
    graph, down = chain("m", 2), chain("d", 1)
    for probability, expected in ((0.0, 0), (1.0, 3)):
        scenario = Scenario(
            "c",
            (
                Task("up", "m", graph, fps=100.0),
                Task("down", "d", down, depends_on=("up",), trigger_probability=probability),
            ),
        )
        inst = build(scenario)
        dependents = np.flatnonzero(inst.job_task == 1)
        assert len(dependents) == expected
        for job in dependents:
            (up,) = inst.upstream_of(int(job)).tolist()
            assert inst.job_task[up] == 0 and inst.job_frame[up] == inst.job_frame[job]
            assert inst.job_release[up] == inst.job_release[job] and up < job
        assert inst.tasks[1].depends_on == ("up",)


def test_early_exit():
    graph = chain("m3", 3)
    cost = FakeCost({"m3": [[10, 10], [20, 20], [30, 30]]})
    exits = Dynamic(early_exit=(ExitPoint(1, 1.0),))  # every sample leaves after layer 1
    scenario = one_task(graph, dynamic=exits)
    whole = build(scenario, cost)
    assert whole.job_exit_op.tolist() == [0, 1, 2]  # the one op of each job
    assert whole.op_duration[0].tolist() == [30, 15]  # layers 0-1 only: 30 ns; 15 ns at 2 GHz
    assert whole.op_predicted[0].tolist() == [60, 30]  # the scheduler is told the full cost
    layers = build(scenario, cost, granularity="layer")
    assert layers.job_exit_op.tolist() == [1, 4, 7]
    assert layers.op_duration[:3, 0].tolist() == [10, 20, 30]
    assert layers.required_ops(0) == [0, 1]
    never = build(one_task(graph, dynamic=Dynamic(early_exit=(ExitPoint(0, 1e-12),))), cost)
    assert never.job_exit_op.tolist() == [-1] * 3


def test_variants_and_contexts():
    graph = chain("m", 2)
    variants = (
        VariantSpec("full", graph, "m", 1.0, 0.9),
        VariantSpec("half", graph, "m", 0.5, 0.8),
    )
    scenario = one_task(graph, dynamic=Dynamic(variants=variants))
    cost = FakeCost(TWO, TWO_ENERGY, TWO_DRAM, dram_pj=100.0)
    inst = build(scenario, cost, context_switch=True, granularity="layer")
    assert inst.n_ops == 3 * 4 and inst.op_variant[:4].tolist() == [0, 0, 1, 1]
    assert inst.op_segment[:4].tolist() == [0, 1, 0, 1]
    assert [inst.preds_of(o).tolist() for o in range(4)] == [[], [0], [], [2]]
    # half: ceil(0.5 · 14) = 7 on big; ceil(0.5 · 15) = 8 and ceil(0.5 · 25) = 13 on little
    assert inst.op_duration[2:4].tolist() == [[7, 8], [7, 13]]
    assert [(v.name, v.accuracy) for v in inst.tasks[0].variants] == [("full", 0.9), ("half", 0.8)]
    assert inst.contexts == ("m", "m@0.5") and inst.op_context[:4].tolist() == [0, 0, 1, 1]
    # weights 2 · 144 bytes; big 10 GB/s, little 5 GB/s; 100 pJ/byte
    assert inst.context_reload_time.tolist() == [[29, 58], [15, 29]]
    assert inst.context_reload_energy.tolist() == [[29, 29], [14, 14]]
    assert inst.settings.context_switch
    assert inst.required_ops(0, variant=1) == [2, 3]


def test_sparsity_makes_realised_durations_and_gamma_inputs():
    graph = chain("m", 2)
    sparsity = SparsityModel(mean=(0.5,), std=0.15)
    scenario = one_task(graph, dynamic=Dynamic(sparsity=sparsity))
    cost = FakeCost({"m": [[1000, 3000], [2000, 1000]]})
    inst = build(scenario, cost, granularity="layer", seed=4, duration_ns=100 * MS)
    trace = generate_trace(scenario, 100 * MS, 4)
    base = np.array([[1000, 1500], [2000, 500]])  # ns per layer and accelerator
    for j, job in enumerate(trace.jobs):
        factor, realised = job.outcome.latency_factor[0], job.outcome.sparsity[0]
        np.testing.assert_allclose(factor, 0.3 + 0.7 * (1 - realised) / 0.5)
        ops = list(inst.ops_of(j))
        assert (
            inst.op_duration[ops].tolist()
            == np.ceil(base * factor[:, None] - 1e-6).astype(int).tolist()
        )
        assert inst.op_predicted[ops].tolist() == base.tolist()
        np.testing.assert_allclose(inst.op_sparsity[ops], realised)
        np.testing.assert_allclose(inst.op_sparsity_mean[ops], 0.5)
    assert not np.array_equal(inst.op_duration, inst.op_predicted)
    whole = build(scenario, cost, seed=4, duration_ns=100 * MS)
    for j, job in enumerate(trace.jobs):
        # equal MACs: the op's sparsity is the plain mean of its layers'
        assert whole.op_sparsity[j] == pytest.approx(job.outcome.sparsity[0].mean())
        expected = np.ceil((base * job.outcome.latency_factor[0][:, None]).sum(axis=0) - 1e-6)
        assert whole.op_duration[j].tolist() == expected.astype(int).tolist()


def test_ineligible_layers():
    cost = FakeCost({"m": [[14, 30], [14, math.inf]]})
    whole = build(one_task(), cost)
    assert whole.op_duration[0].tolist() == [28, -1] and whole.op_predicted[0].tolist() == [28, -1]
    layers = build(one_task(), cost, granularity="layer")
    assert layers.op_duration[:2].tolist() == [[14, 15], [14, -1]]


def test_options_settings_and_metadata():
    inst = build(one_task(), fps_scale=2.0, time_unit_ns=5, drops="never", contention=True)
    assert inst.n_jobs == 6 and inst.tasks[0].period == 1_000_000  # 5 ms in 5 ns units
    assert inst.settings.drops == "never" and inst.settings.contention
    assert inst.settings.dram_bandwidth == 16.0 * 5  # GB/s = bytes/ns, times ns per unit
    assert inst.job_weight.tolist() == [1] * 6
    assert inst.metadata == {
        "scenario": "s",
        "scenario_source": "",
        "system": "duo",
        "cost_model": "fake",
        "granularity": "model",
        "duration_ns": 30 * MS,
        "seed": 0,
        "fps_scale": 2.0,
        "period_rounding": "exact",
        "time_unit_ns": 5,
    }
    for options, field in (
        ({"time_unit_ns": 0}, "time_unit_ns"),
        ({"granularity": "blocks:3"}, "granularity"),
        ({"fps_scale": -1.0}, "fps_scale"),
        ({"drops": "sometimes"}, "settings.drops"),
    ):
        with pytest.raises(InputError) as err:
            build(one_task(), **options)
        assert err.value.field == field


def test_priorities_become_weights_and_seeds_change_outcomes():
    graph = chain("m", 2)
    scenario = one_task(graph, priority=9, trigger_probability=0.5)
    a, b = (
        build(scenario, seed=1, duration_ns=MS * 500),
        build(scenario, seed=2, duration_ns=MS * 500),
    )
    assert set(a.job_weight.tolist()) == {9}
    assert a.job_frame.tolist() != b.job_frame.tolist()
    assert build(scenario, seed=1, duration_ns=MS * 500).content_hash == a.content_hash


# -- XRBench: the cost table reproduces the harness's own timelines ---------------------------


@needs_xrbench
def test_maestro_and_converted_yaml_build_the_same_instance(tmp_path):
    options = {"system": "xrb-Dual_4K-WS_OS", "cost": "table:xrbench", "seed": 3}
    direct = load_workload(XRBENCH / "scenarios" / "VR_gaming.m", **options)
    converted = load_workload(ROOT / "instances" / "xrbench" / "VR_gaming.yaml", **options)
    # The .m scenario reproduces the harness (compat: xrbench, floor(700 / period) requests);
    # the converted YAML is clean, and the same once it opts in.
    assert direct.settings.compat == "xrbench" and converted.settings.compat == "none"
    assert direct.n_jobs == 43 + 43 + 31 and direct.metadata["duration_ns"] == 700 * MS
    assert converted.n_jobs == 44 + 44 + 32
    text = (ROOT / "instances" / "xrbench" / "VR_gaming.yaml").read_text()
    opted = tmp_path / "VR_gaming.yaml"  # bundled model names: no relative paths to keep
    opted.write_text(text.replace("duration_ms: 700", "duration_ms: 700\ncompat: xrbench"))
    assert load_workload(opted, **options).content_hash == direct.content_hash


@needs_xrbench
@pytest.mark.parametrize(
    "system",
    [
        "xrb-Single_4K-WS",
        "xrb-Dual_4K-OS_OS",
        pytest.param("xrb-Quad_8K-WS_OS_WS_OS", marks=pytest.mark.slow),
    ],
)
def test_vr_gaming_durations_match_xrbench_timelines(system):
    inst = load_workload(XRBENCH / "scenarios" / "VR_gaming.m", system=system, cost="table:xrbench")
    hw, dataflow = system.split("-", 2)[1:]
    path = XRBENCH / "reference" / "schedule" / f"schedule_VR_gaming__{hw}__{dataflow}.csv"
    job_of = {
        (inst.tasks[t].name, int(f)): j
        for j, (t, f) in enumerate(zip(inst.job_task, inst.job_frame, strict=True))
    }
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        job = job_of[(row["Model Name"], int(row["Frame ID"]))]
        (op,) = inst.ops_of(job)
        accelerator = int(row["AcceleratorID"])
        latency_ns = (float(row["Completion Time (ms)"]) - float(row["Dispatch Time (ms)"])) * MS
        # timelines print float32 milliseconds: about 1e-4 ms of noise at 700 ms
        assert abs(inst.op_duration[op, accelerator] - latency_ns) < 200
        energy_nj = float(row["Energy (mJ)"]) * 1e6  # float32 too: relative precision 6e-8
        assert abs(inst.op_energy[op, accelerator] - energy_nj) <= 2 + 1.2e-7 * energy_nj


class CountingCost:
    """A cost model that counts its ``layer_cost`` look-ups and forwards everything else."""

    def __init__(self, inner):
        self.inner, self.lookups = inner, 0

    def layer_cost(self, *args, **kwargs):
        self.lookups += 1
        return self.inner.layer_cost(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_cost_lookups_do_not_grow_with_the_trace():
    # Each layer is priced once per accelerator and build, whatever the number of jobs
    # (timings: benchmarks/bench_builder.py).
    scenario = load_scenario(ROOT / "instances" / "xrbench" / "VR_gaming.yaml")
    from rtmm_opt.hardware.cost import make_cost_model
    from rtmm_opt.hardware.presets import get_system

    system, table = get_system("xrb4k-J"), make_cost_model("table:xrbench")
    models = {
        variant.graph.name: len(variant.graph) for t in scenario.tasks for variant in t.variants
    }
    assert sorted(models.values()) == [42, 63, 224]
    lookups = []
    for duration_ms in (10, 10_000):
        cost = CountingCost(table)
        inst = build_instance(
            scenario, system, cost, duration_ns=duration_ms * MS, seed=0, granularity="layer"
        )
        lookups.append((inst.n_ops, cost.lookups))
    (short_ops, short_lookups), (long_ops, long_lookups) = lookups
    assert long_ops == 625 * 42 + 625 * 63 + 455 * 224 and short_ops < long_ops / 100
    assert short_lookups == long_lookups == len(system) * sum(models.values())  # 2 x 329


# -- WORKLOAD files ---------------------------------------------------------------------------


def test_instance_files_pass_through(tmp_path):
    inst = build(one_task())
    path = tmp_path / "inst.json"
    inst.to_json(path)
    loaded = load_workload(
        path, system="ignored", granularity="layer", fps_scale=3.0, drops="never"
    )
    assert loaded.content_hash == inst.content_hash and loaded.settings.drops == "allowed"
    assert isinstance(read_workload(path), type(inst))


def test_scenario_workloads(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "kind: scenario\nname: w\nduration_ms: 50\n"
        "tasks:\n  - {name: a, model: ES_RITNet, fps: 100}\n"
    )
    inst = load_workload(path, system=SYSTEM, cost="analytical")
    assert inst.n_jobs == 5 and inst.metadata["cost_model"] == "analytical"
    assert load_workload(path, system=SYSTEM, duration_ns=20 * MS).n_jobs == 2
    with pytest.raises(InputError) as err:
        load_workload(path)
    assert err.value.field == "system"


def test_bad_workloads(tmp_path):
    model = ROOT / "models" / "ES_RITNet.yaml"
    with pytest.raises(InputError) as err:
        load_workload(model, system=SYSTEM)
    assert err.value.field == "kind" and "kind 'model'" in err.value.reason
    nothing = tmp_path / "n.yaml"
    nothing.write_text("name: x\n")
    with pytest.raises(InputError, match="neither"):
        read_workload(nothing)
    other = tmp_path / "o.json"
    other.write_text('{"format": "something-else"}')
    with pytest.raises(InputError) as err:
        read_workload(other)
    assert err.value.field == "format"
    with pytest.raises(InputError, match="no such file"):
        read_workload(tmp_path / "absent.yaml")


@settings(max_examples=30, deadline=None)
@given(
    n_layers=st.integers(2, 6),
    granularity=st.sampled_from(["model", "layer", "block:2", "block:3"]),
    unit=st.integers(1, 40),
    exit_layer=st.integers(0, 4),
    trigger=st.sampled_from([0.0, 0.5, 1.0]),
    seed=st.integers(0, 1000),
)
def test_random_dynamic_scenarios_build_consistent_instances(
    n_layers, granularity, unit, exit_layer, trigger, seed
):
    graph, small = chain("m", n_layers), chain("s", 2)
    dynamic = Dynamic(
        sparsity=SparsityModel((0.4,), std=0.2),
        early_exit=(ExitPoint(min(exit_layer, n_layers - 2), 0.5),),
        variants=(VariantSpec("full", graph, "m"), VariantSpec("small", small, "s", 0.7, 0.5)),
    )
    scenario = Scenario(
        "r",
        (
            Task("up", "m", graph, fps=200.0, dynamic=dynamic),
            Task("down", "s", small, depends_on=("up",), trigger_probability=trigger),
        ),
    )
    cost = FakeCost({"m": [[100 + 37 * i, 80 + 11 * i] for i in range(n_layers)]})
    inst = build(scenario, cost, granularity=granularity, time_unit_ns=unit, seed=seed)
    trace = generate_trace(scenario, 30 * MS, seed)
    assert inst.n_jobs == len(trace)
    n_segments = len(graph.segments(granularity)) + len(small.segments(granularity))
    for job in range(inst.n_jobs):
        ops = list(inst.ops_of(job))
        outcome = trace.jobs[job].outcome
        if inst.job_task[job] == 0:
            assert len(ops) == n_segments
            predicted = inst.op_predicted[ops]
            assert np.all(predicted >= 1)
            exit_op = int(inst.job_exit_op[job])
            assert (exit_op >= 0) == (outcome.exit_after is not None)
            if exit_op >= 0:
                assert exit_op in ops and inst.op_variant[exit_op] == 0
                # the exit op runs at most its full (realised) segment: the segment's layers
                # from the cost table, scaled by the job's realised latency factors
                layers = graph.segments(granularity)[int(inst.op_segment[exit_op])].layers
                factor = outcome.latency_factor[0]
                factor = np.ones(n_layers) if factor is None else factor
                full_ns = [
                    sum(
                        cost.cycles["m"][layer][a] / acc.clock_ghz * factor[layer]
                        for layer in layers
                    )
                    for a, acc in enumerate(SYSTEM.accelerators)
                ]
                full = [max(1, math.ceil(ns / unit - 1e-9)) for ns in full_ns]
                assert np.all(inst.op_duration[exit_op] >= 1)
                assert np.all(inst.op_duration[exit_op] <= full), (inst.op_duration[exit_op], full)
        else:
            (up,) = inst.upstream_of(job).tolist()
            assert inst.job_task[up] == 0 and inst.job_frame[up] == inst.job_frame[job]
    # predicted costs are static: the same for every job of a task
    first_ops = [list(inst.ops_of(j)) for j in np.flatnonzero(inst.job_task == 0)]
    assert all(
        np.array_equal(inst.op_predicted[o], inst.op_predicted[first_ops[0]]) for o in first_ops
    )


def test_prediction_is_the_expected_latency_under_a_latency_factor():
    from rtmm_opt.hardware.cost import make_cost_model
    from rtmm_opt.hardware.presets import get_system
    from rtmm_opt.instance.builder import build_instance
    from rtmm_opt.scenario.scenario import scenario_from_dict

    def scenario(dynamic):
        task = {
            "name": "t",
            "model": "AS_ED_TCN",
            "fps": 10,
            **({"dynamic": dynamic} if dynamic else {}),
        }
        return scenario_from_dict({"kind": "scenario", "name": "s", "tasks": [task]})

    system, cost = get_system("xrb4k-A"), make_cost_model("analytical")
    plain = build_instance(scenario(None), system, cost, duration_ns=10**8, seed=0)
    doubled = build_instance(
        scenario({"latency_factor": {"mean": 2.0, "std": 0.1}}),
        system,
        cost,
        duration_ns=10**8,
        seed=0,
    )
    # the static cost is the same; the prediction doubles with the factor's mean (±1 unit of rounding)
    assert abs(int(doubled.op_predicted[0, 0]) - 2 * int(plain.op_predicted[0, 0])) <= 1
