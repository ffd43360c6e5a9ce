"""Index rules (rtmm_opt/engine/index.py): the engine's own ready queue gives exactly the schedule
of calling the policy at every decision point.

Every policy that offers an index rule is replayed both ways, on random instances (DAG jobs,
cascades, variants, early exits, ineligible accelerators, one to three accelerators) and on
bundled scenarios at layer granularity, and the two schedules must agree in every array and
counter.
"""

import random

import numpy as np
import pytest
from support import ROOT
from support.valid_schedules import random_instance

from rtmm_opt.engine import Engine, replay
from rtmm_opt.engine.index import IndexRule
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.schedulers import make_scheduler, scheduler_names

INDEX_POLICIES = [
    ("fcfs", {}),
    ("edf", {}),
    ("edf", {"accelerator": "lowest_energy"}),
    ("fcfs", {"accelerator": "first_idle"}),
]


def _stepped(instance, policy):
    """The schedule of calling ``decide`` at every decision point (no index rule)."""
    engine = Engine(instance, policy_name=policy.name)
    policy.reset(engine.static)
    view = engine.reset()
    while view is not None:
        view = engine.step(policy.decide(view))
    return engine.schedule()


def _assert_same(a, b):
    for name in ("op_accelerator", "op_start", "op_end", "job_status", "job_variant",
                 "job_drop_time"):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.info == b.info and a.producer == b.producer


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
    assert offering == {"fcfs", "edf"}


@pytest.mark.parametrize("seed", range(150))
def test_index_rules_replay_random_instances_like_their_policies(seed):
    rng = random.Random(seed)
    instance = random_instance(rng).with_settings(context_switch=False)
    for name, params in INDEX_POLICIES:
        policy = make_scheduler(name, params)
        _assert_same(replay(instance, policy), _stepped(instance, make_scheduler(name, params)))


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
        _assert_same(
            replay(instance, make_scheduler(name, params)),
            _stepped(instance, make_scheduler(name, params)),
        )


def test_edf_dropping_expired_jobs_is_not_an_index_rule():
    instance = load_workload("VR_gaming", system="xrb4k-J", duration_ns=50_000_000)
    policy = make_scheduler("edf", {"drop_expired": True})
    policy.reset(Engine(instance).static)
    assert policy.index_rule() is None


def test_index_rules_need_the_plain_event_loop():
    instance = random_instance(random.Random(3)).with_settings(context_switch=True)
    engine = Engine(instance)
    assert not engine.takes_index_rules
    policy = make_scheduler("edf")
    policy.reset(engine.static)
    with pytest.raises(ValueError, match="plain event loop"):
        engine.run_index(policy.index_rule())
    _assert_same(replay(instance, policy), _stepped(instance, make_scheduler("edf")))
