"""Index rules (rtmm_opt/engine/index.py): the engine's own ready queue gives exactly the schedule
of calling the policy at every decision point.

Every policy that offers an index rule is replayed both ways, on random instances (DAG jobs,
cascades, variants, early exits, ineligible accelerators, one to three accelerators) and on
bundled scenarios at layer granularity, and the two schedules must agree in every array and
counter. The compiled core, which would replay FCFS and EDF on the event loop instead
(tests/engine/test_core.py), is off here.
"""

import random

import pytest
from support import (
    DYSTA,
    ROOT,
    assert_same_schedule,
    needs_dysta,
    random_chains,
    replay_stepped,
)
from support.valid_schedules import random_instance

from rtmm_opt.engine import Engine, replay
from rtmm_opt.engine.index import IndexRule
from rtmm_opt.instance import Settings
from rtmm_opt.instance.dysta import build_dysta_instance, read_requests, read_tables
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedulers import make_scheduler, scheduler_names

pytestmark = pytest.mark.usefixtures("pure_python")  # tests/conftest.py


INDEX_POLICIES = [
    ("fcfs", {}),
    ("edf", {}),
    ("edf", {"accelerator": "lowest_energy"}),
    ("fcfs", {"accelerator": "first_idle"}),
    ("sjf", {}),
    ("sjf", {"accelerator": "lowest_energy"}),
]


def test_the_index_policies_offer_a_rule_and_the_others_do_not():
    offering = set()
    instance = load_workload("VR_gaming", system="xrb4k-J", duration_ns=50_000_000)
    for name in scheduler_names():
        policy = make_scheduler(name)
        policy.reset(Engine(instance).static)
        rule = getattr(policy, "index_rule", lambda: None)()
        assert rule is None or isinstance(rule, IndexRule)
        if rule is not None:
            offering.add(name)
    assert offering == {"fcfs", "edf"}  # sjf: only without cascades (VR_gaming has one)
    dag = _random_chains(0, settings=Settings())
    assert dag.n_ops > 1
    sjf = make_scheduler("sjf")
    sjf.reset(Engine(dag).static)
    assert sjf.index_rule() is not None


@pytest.mark.parametrize("seed", range(150))
def test_index_rules_replay_random_instances_like_their_policies(seed):
    rng = random.Random(seed)
    instance = random_instance(rng).with_settings(context_switch=False)
    for name, params in INDEX_POLICIES:
        policy = make_scheduler(name, params)
        assert_same_schedule(
            replay(instance, policy), replay_stepped(instance, make_scheduler(name, params))
        )


@pytest.mark.parametrize(
    ("workload", "system"),
    [("VR_gaming", "xrb4k-M"), ("instances/multitenant/heavy.yaml", "hetero-2s2e")],
)
def test_index_rules_replay_scenarios_like_their_policies(workload, system):
    instance = load_workload(
        ROOT / workload if "/" in workload else workload, system=system, granularity="layer",
        duration_ns=200_000_000,
    )  # fmt: skip
    for name, params in INDEX_POLICIES:
        assert_same_schedule(
            replay(instance, make_scheduler(name, params)),
            replay_stepped(instance, make_scheduler(name, params)),
        )


def test_edf_dropping_expired_jobs_is_not_an_index_rule():
    instance = load_workload("VR_gaming", system="xrb4k-J", duration_ns=50_000_000)
    policy = make_scheduler("edf", {"drop_expired": True})
    policy.reset(Engine(instance).static)
    assert policy.index_rule() is None


def test_index_rules_need_a_loop_without_context_switches_or_contention():
    instance = random_instance(random.Random(3)).with_settings(context_switch=True)
    engine = Engine(instance)
    assert not engine.takes_index_rules
    policy = make_scheduler("edf")
    policy.reset(engine.static)
    with pytest.raises(ValueError, match="without context switches"):
        engine.run_index(policy.index_rule())
    assert_same_schedule(replay(instance, policy), replay_stepped(instance, make_scheduler("edf")))


# -- compat dysta: the Dysta loop, with a job's chain of layers run in one stretch -------------
DYSTA_COMPAT = Settings(drops="never", compat="dysta")


def _random_chains(seed, settings=DYSTA_COMPAT, accelerators=("acc",)):
    return random_chains(seed, settings=settings, accelerators=accelerators)


@pytest.mark.parametrize("seed", range(200))
def test_index_rules_replay_the_dysta_loop_like_their_policies(seed):
    instance = _random_chains(seed)
    for name in ("fcfs", "edf", "sjf"):
        assert_same_schedule(
            replay(instance, make_scheduler(name)), replay_stepped(instance, make_scheduler(name))
        )


@needs_dysta
def test_index_rules_replay_the_dysta_reference_import_like_their_policies():
    tables = read_tables(DYSTA / "latency_tables" / "eyerissv2")
    requests = read_requests(DYSTA / "reference" / "requests_eyerissv2_3_2_1.csv", tables)
    instance = build_dysta_instance(tables, requests)
    for name in ("fcfs", "edf", "sjf"):
        assert_same_schedule(
            replay(instance, make_scheduler(name)), replay_stepped(instance, make_scheduler(name))
        )


@pytest.mark.parametrize("seed", range(100))
def test_index_rules_replay_chains_on_several_accelerators_like_their_policies(seed):
    instance = _random_chains(
        seed, settings=Settings(), accelerators=("a", "b", "c")[: 1 + seed % 3]
    )
    for name, params in INDEX_POLICIES:
        rule_policy = make_scheduler(name, params)
        rule_policy.reset(Engine(instance).static)
        assert rule_policy.index_rule() is not None
        assert_same_schedule(replay(instance, make_scheduler(name, params)),
                     replay_stepped(instance, make_scheduler(name, params)))  # fmt: skip
