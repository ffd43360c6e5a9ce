"""The multi-tenant scenarios (``instances/multitenant/``): tenants reach the instance, the
offered load stated in each description is what the cost model gives, and a scenario builds
and runs under DRAM contention on ``hetero-2s2e`` with every scheduler producing a valid
schedule."""

import re

import pytest
from support import ROOT

from rtmm_opt.engine.loop import replay
from rtmm_opt.hardware.cost.analytical import AnalyticalCostModel
from rtmm_opt.hardware.presets import get_system
from rtmm_opt.instance.builder import build_instance
from rtmm_opt.metrics import compute_metrics
from rtmm_opt.scenario.scenario import load_scenario, scenario_from_dict
from rtmm_opt.schedule.validator import validate
from rtmm_opt.schedulers import make_scheduler, scheduler_names

FOLDER = ROOT / "instances" / "multitenant"
SYSTEM = get_system("hetero-2s2e")
COST = AnalyticalCostModel()


def offered_load(scenario):
    """Σ_t λ_t / Σ_a 1/T_t,a with T_t,a the whole-model latency (ns at 1 GHz) on accelerator a."""
    load = 0.0
    for task in scenario.tasks:
        graph = task.graph
        capacity = 0.0
        for acc in range(len(SYSTEM)):
            cycles = sum(COST.layer_cost(graph, i, SYSTEM, acc).cycles for i in range(len(graph)))
            capacity += 1e9 / cycles  # requests per second (1 GHz clock)
        load += task.poisson / capacity
    return load


@pytest.mark.parametrize("name", ["light", "medium", "heavy"])
def test_description_states_the_measured_offered_load(name):
    scenario = load_scenario(FOLDER / f"{name}.yaml")
    stated = float(re.search(r"cost model: ([0-9.]+)", scenario.description).group(1))
    assert offered_load(scenario) == pytest.approx(stated, abs=0.005)
    assert all(task.poisson and task.deadline.kind == "slo" for task in scenario.tasks)
    assert {task.tenant for task in scenario.tasks} >= {"alice", "bob", "carol"}


def test_offered_loads_increase_from_light_to_heavy():
    loads = [
        offered_load(load_scenario(FOLDER / f"{n}.yaml")) for n in ("light", "medium", "heavy")
    ]
    assert loads == sorted(loads) and loads[0] < 0.5 < loads[-1] < 1.0


def test_tenant_defaults_to_the_task_name_and_reaches_the_instance():
    scenario = scenario_from_dict(
        {"kind": "scenario", "name": "s", "tasks": [
            {"name": "a", "model": "MobileNetV2", "poisson": 10, "deadline": {"slo": 2}},
            {"name": "b", "model": "MnasNet", "poisson": 10, "deadline": {"slo": 2},
             "tenant": "t1"},
        ]}
    )  # fmt: skip
    assert [task.tenant for task in scenario.tasks] == ["a", "t1"]
    instance = build_instance(scenario, SYSTEM, COST, duration_ns=50_000_000, seed=1)
    assert [task.tenant for task in instance.tasks] == ["a", "t1"]
    assert [("tenant" in t) for t in instance.to_dict()["tasks"]] == [False, True]


def test_medium_runs_under_contention_with_every_scheduler_valid():
    scenario = load_scenario(FOLDER / "medium.yaml")
    instance = build_instance(
        scenario, SYSTEM, COST, duration_ns=60_000_000, seed=3, contention=True
    )
    assert instance.settings.contention and instance.n_jobs > 20
    assert (instance.op_dram_bytes > 0).all()
    tenants = set()
    for name in scheduler_names():
        schedule = replay(instance, make_scheduler(name))
        assert validate(instance, schedule).ok, name
        metrics = compute_metrics(instance, schedule)
        assert 0 < metrics.utilisation <= 1 and 0 <= metrics.sla_rate <= 1, name
        tenants |= set(metrics.per_tenant)
    assert tenants == {"alice", "bob", "carol"}
