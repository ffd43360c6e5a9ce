"""Running ahead (``Policy.hold``, rtmm_opt/engine/contract.py): under compat dysta, a policy
that answers for a run of layer boundaries at once gives exactly the schedule of calling its
``decide`` at every boundary.

Every policy with a ``hold`` is replayed both ways on random chains (arrivals inside layers,
clock rewinds, ties) and on Dysta imports drawn at several request rates (priorities 1/3/9,
estimates that differ from the realised durations, measured sparsities), and the two schedules
must agree in every array and counter. The runs must also be taken: a test that never ran
ahead could not fail. The compiled core (rtmm_opt/engine/core.py), which would replay PREMA,
Planaria and SDRM3 without their holds, is off here.
"""

import pytest
from support import DYSTA, assert_same_schedule, needs_dysta, random_chains, replay_stepped

from rtmm_opt.engine import Policy, SchedulingError, replay
from rtmm_opt.instance import Settings
from rtmm_opt.instance.dysta import build_dysta_instance, generate_requests, read_tables
from rtmm_opt.schedulers import make_scheduler, scheduler_names

pytestmark = pytest.mark.usefixtures("pure_python")  # tests/conftest.py


HOLDING = [
    ("prema", {}),
    ("planaria", {}),
    ("sdrm3", {}),
    ("sdrm3", {"alpha": 0.0}),
    ("llf", {}),
    ("rr", {}),
    ("dysta", {}),
    ("dysta", {"use_gamma": False, "beta": 0.5}),
    ("dysta_naive", {}),
    ("dysta_oracle", {}),
]


def _replay_counting(instance, name, params):
    """``replay``, and how many boundaries the policy's hold kept."""
    policy = make_scheduler(name, params)
    kept = []
    hold = policy.hold

    def counting(run):
        answer = hold(run)
        assert 0 <= answer < len(run.times)
        kept.append(answer)
        return answer

    policy.hold = counting
    return replay(instance, policy), sum(kept)


def test_the_job_picking_and_dysta_policies_hold():
    # sjf too, but on chains its index rule runs instead (rtmm_opt/engine/index.py)
    holding = {name for name, _ in HOLDING} | {"sjf"}
    for name in scheduler_names():
        overrides = type(make_scheduler(name)).hold is not Policy.hold
        assert overrides == (name in holding), name


@pytest.mark.parametrize("seed", range(60))
def test_holding_replays_random_chains_like_deciding_at_every_layer(seed):
    instance = random_chains(
        seed,
        settings=Settings(drops="never", compat="dysta"),
        min_jobs=2,
        max_layers=12,
        max_slack=120,
        noisy_estimates=True,
    )
    for name, params in HOLDING:
        held, _ = _replay_counting(instance, name, params)
        assert_same_schedule(held, replay_stepped(instance, make_scheduler(name, params)))


@needs_dysta
@pytest.mark.parametrize("architecture", ["eyerissv2", "sanger"])
def test_holding_replays_dysta_imports_like_deciding_at_every_layer(architecture):
    tables = read_tables(DYSTA / "latency_tables" / architecture)
    scale = 20 if architecture == "sanger" else 1  # Sanger's layers are ~20x shorter
    kept = dict.fromkeys(range(len(HOLDING)), 0)
    for seed, rate in enumerate((2.0, 6.0, 15.0)):
        requests = generate_requests(tables, rate=rate * scale, count=60, seed=seed, slo_mult=2)
        instance = build_dysta_instance(tables, requests)
        for index, (name, params) in enumerate(HOLDING):
            held, count = _replay_counting(instance, name, params)
            assert_same_schedule(held, replay_stepped(instance, make_scheduler(name, params)))
            kept[index] += count
    assert all(kept.values()), kept


def test_a_hold_that_keeps_more_than_the_run_is_an_error():
    instance = random_chains(3, settings=Settings(drops="never", compat="dysta"), min_jobs=2)
    policy = make_scheduler("planaria")
    policy.hold = lambda run: len(run.times)
    with pytest.raises(SchedulingError, match="hold kept"):
        replay(instance, policy)
