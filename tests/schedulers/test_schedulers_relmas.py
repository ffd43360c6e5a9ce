"""RELMAS without PyTorch: its observation (hand-computed), its decoding, its numpy actor and
checkpoint file, and the scheduler on the bundled multi-tenant scenarios (docs/schedulers/relmas.md)."""

import json
import math

import numpy as np
import pytest

from rtmm_opt import compute_metrics, load_workload, make_scheduler, replay, validate
from rtmm_opt.engine.contract import Decision
from rtmm_opt.engine.loop import Engine
from rtmm_opt.errors import InputError
from rtmm_opt.instance import Settings, TaskInfo
from rtmm_opt.instance.assemble import JobSpec, OpSpec, assemble
from rtmm_opt.schedule import JobStatus
from rtmm_opt.schedulers.relmas import default_policy_path
from rtmm_opt.schedulers.relmas_net import Actor
from rtmm_opt.schedulers.relmas_state import (
    CANDIDATE_FEATURES,
    GLOBAL_FEATURES,
    PAIR_FEATURES,
    Encoder,
    decode,
    expert_scores,
)


def two_jobs():
    """Two accelerators (fast, slow), DRAM bandwidth 10 bytes per time unit.

    Job 0 (task t, priority 1): release 0, deadline 100, a chain op0 → op1; op0 takes 10 on the
    fast accelerator and 40 on the slow one (energy 5 / 2, DRAM bytes 50 / 80); op1 20 on both.
    Job 1 (task u, priority 2): release 0, deadline 50, op2 takes 5 / 10.
    """
    jobs = [
        JobSpec(0, 0, 100, [OpSpec([10, 40], energies=[5, 2], dram_bytes=[50, 80]),
                            OpSpec([20, 20], energies=[1, 1], dram_bytes=[0, 0], preds=[0])]),
        JobSpec(1, 0, 50, [OpSpec([5, 10], energies=[1, 1], dram_bytes=[0, 0])]),
    ]  # fmt: skip
    return assemble(
        "two",
        accelerators=("fast", "slow"),
        tasks=[TaskInfo("t", "m", priority=1), TaskInfo("u", "m", priority=2)],
        jobs=jobs,
        settings=Settings(dram_bandwidth=10.0),
    )


def first_observation(k=8):
    engine = Engine(two_jobs())
    view = engine.reset()
    encoder = Encoder(k=k)
    encoder.reset(engine.static)
    encoder.observe(view)
    return encoder.encode(view), view


def test_observation_worked_by_hand():
    obs, _ = first_observation()
    # remaining work: job 0 = 10 + 20 = 30, job 1 = 5 (fastest accelerator); slack
    # job 0 = (100 - 30) / 100 = 0.7 < job 1 = (50 - 5) / 50 = 0.9: op0 is candidate 0
    assert obs.candidates == [0, 2]
    pair = {name: i for i, name in enumerate(PAIR_FEATURES)}
    cand = {name: len(PAIR_FEATURES) + i for i, name in enumerate(CANDIDATE_FEATURES)}
    expected_pairs = {
        # (slot, acc): latency, slowdown, slack if run here, bandwidth need, energy excess
        (0, 0): (10 / 100, 0.0, (70 + 10 - 10) / 100, 50 / 10 / 10, (5 / 2 - 1) / 4),
        (0, 1): (40 / 100, math.log2(4) / 4, (70 + 10 - 40) / 100, 80 / 40 / 10, 0.0),
        (1, 0): (5 / 50, 0.0, (45 + 5 - 5) / 50, 0.0, 0.0),
        (1, 1): (10 / 50, math.log2(2) / 4, (45 + 5 - 10) / 50, 0.0, 0.0),
    }
    for (slot, acc), values in expected_pairs.items():
        got = [obs.pairs[slot, acc, pair[name]] for name in PAIR_FEATURES]
        assert got == pytest.approx(values, abs=1e-6), (slot, acc)
    # slack, slack if waiting (fastest accelerator idle: the same), priority, waited, work left
    assert obs.pairs[0, 0, [cand[n] for n in CANDIDATE_FEATURES]] == pytest.approx(
        [0.7, 0.7, 0.5, 0.0, 1.0], abs=1e-6
    )
    assert obs.pairs[1, 1, [cand[n] for n in CANDIDATE_FEATURES]] == pytest.approx(
        [0.9, 0.9, 1.0, 0.0, 1.0], abs=1e-6
    )
    assert obs.pairs[2:].sum() == 0 and not obs.mask[2:].any()
    assert obs.mask[:2].all()
    expected_glob = [2 / 32, 2 / 32, 1.0, 0.0, 0.0, 35 / (2 * 75)]
    assert list(GLOBAL_FEATURES)[3] == "bandwidth_in_use"
    assert obs.glob == pytest.approx(expected_glob, abs=1e-6)


def test_observation_after_a_dispatch_sees_the_busy_accelerator():
    engine = Engine(two_jobs())
    view = engine.reset()
    encoder = Encoder()
    encoder.reset(engine.static)
    encoder.observe(view)
    # op2 on the fast accelerator (0..5), op0 on the slow one (0..40): at t=5 the fast one is
    # idle, nothing is ready (op1 waits for op0), and op0 uses 80 / 40 / 10 = 0.2 of the DRAM
    view = engine.step(Decision(dispatches=[(2, 0), (0, 1)]))
    encoder.observe(view)
    obs = encoder.encode(view)
    assert view.now == 5 and obs.candidates == [] and not obs.mask.any()
    assert obs.glob[GLOBAL_FEATURES.index("bandwidth_in_use")] == pytest.approx(0.2)
    assert obs.glob[GLOBAL_FEATURES.index("idle_accelerators")] == pytest.approx(0.5)
    assert obs.glob[GLOBAL_FEATURES.index("active_jobs")] == pytest.approx(1 / 32)


def test_encoder_without_bandwidth_zeroes_the_bandwidth_features():
    engine = Engine(two_jobs())
    view = engine.reset()
    encoder = Encoder(bandwidth=False)
    encoder.reset(engine.static)
    encoder.observe(view)
    obs = encoder.encode(view)
    assert not obs.pairs[..., PAIR_FEATURES.index("bandwidth_need")].any()
    assert obs.pairs[0, 0, PAIR_FEATURES.index("latency")] == pytest.approx(0.1)


def test_decode_takes_positive_pairs_greedily_each_op_and_accelerator_once():
    obs, view = first_observation()
    scores = np.full(obs.mask.shape, -1.0)
    scores[0, 0], scores[0, 1], scores[1, 0], scores[1, 1] = 0.5, 0.9, 0.8, -0.2
    decision = decode(obs, scores, view)
    assert decision.dispatches == [(0, 1), (2, 0)]
    scores[1, 0] = -0.1  # op2 is held back; op0 still goes to the slow accelerator
    assert decode(obs, scores, view).dispatches == [(0, 1)]


def test_decode_never_leaves_every_accelerator_idle():
    obs, view = first_observation()
    scores = np.full(obs.mask.shape, -0.5)
    scores[1, 1] = -0.1  # the least negative legal pair
    scores[5, 0] = 1.0  # an empty slot: ignored
    assert decode(obs, scores, view).dispatches == [(2, 1)]


def test_expert_scores_decode_back_to_the_expert_dispatches():
    obs, view = first_observation()
    decision = Decision(dispatches=[(2, 0), (0, 1)])
    assert sorted(decode(obs, expert_scores(obs, decision), view).dispatches) == [(0, 1), (2, 0)]


def test_actor_checkpoint_round_trip(tmp_path):
    actor = Actor.random(3, recurrent=True, k=4)
    path = tmp_path / "a.npz"
    actor.save(path)
    again = Actor.load(path)
    obs, _ = first_observation(k=4)
    assert np.array_equal(actor.scores(obs.pairs, obs.glob), again.scores(obs.pairs, obs.glob))
    # the recurrent state moves: a second call with the same input gives other scores
    assert not np.array_equal(
        actor.scores(obs.pairs, obs.glob), Actor.load(path).scores(obs.pairs, obs.glob)
    )
    assert again.k == 4 and again.recurrent and again.bandwidth


def test_mlp_actor_has_no_memory():
    actor = Actor.random(3, recurrent=False)
    obs, _ = first_observation()
    assert np.array_equal(actor.scores(obs.pairs, obs.glob), actor.scores(obs.pairs, obs.glob))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip", "not a RELMAS checkpoint"),
        (None, "no such file"),
    ],
)
def test_bad_checkpoint_is_an_input_error(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        Actor.load(path)


def test_checkpoint_with_wrong_shapes_is_refused(tmp_path):
    actor = Actor.random(0)
    path = tmp_path / "a.npz"
    actor.save(path)
    data = dict(np.load(path))
    data["pair2.w"] = np.zeros((3, 3))
    np.savez(path, **data)
    with pytest.raises(InputError, match=r"pair2\.w has shape"):
        Actor.load(path)
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(InputError, match="format"):
        Actor.load(tmp_path / "other.npz")


def test_shipped_checkpoint_is_trained():
    actor = Actor.load(default_policy_path())
    assert actor.meta["trained"] is True
    assert actor.meta["algorithm"] in ("ddpg", "td3")
    assert "multitenant" in json.dumps(actor.meta["config"]["scenarios"])


def multitenant(load="medium", seed=5, duration_ns=200_000_000, **options):
    return load_workload(f"instances/multitenant/{load}.yaml", system="hetero-2s2e",
                         duration_ns=duration_ns, seed=seed, **options)  # fmt: skip


@pytest.mark.parametrize("policy", ["default", "random", "untrained"])
def test_relmas_replays_are_valid_and_repeatable(policy):
    instance = multitenant()
    first = replay(instance, make_scheduler("relmas", {"policy": policy, "seed": 2}))
    second = replay(instance, make_scheduler("relmas", {"policy": policy, "seed": 2}))
    assert validate(instance, first).ok
    for name in ("op_accelerator", "op_start", "op_end", "job_status"):
        assert np.array_equal(getattr(first, name), getattr(second, name))


def test_trained_policy_beats_the_random_one():
    """The shipped actor learnt something: on a held-out heavy trace it meets more SLAs than
    random scores do (measured: see docs/schedulers/relmas.md)."""
    instance = multitenant("heavy", seed=77)
    trained = compute_metrics(instance, replay(instance, make_scheduler("relmas")))
    rand = compute_metrics(
        instance, replay(instance, make_scheduler("relmas", {"policy": "random"}))
    )
    assert trained.sla_rate > rand.sla_rate + 0.05


def test_periodic_cycles_dispatch_only_at_cycle_boundaries():
    instance = multitenant("light", granularity="layer", duration_ns=20_000_000)
    cycle_ns = 50_000  # 50 µs
    schedule = replay(instance, make_scheduler("relmas", {"cycle_us": 50.0}))
    starts = schedule.op_start[schedule.op_accelerator >= 0]
    assert len(starts) > 100
    assert (starts % cycle_ns == 0).all()
    every_point = replay(instance, make_scheduler("relmas"))
    assert (every_point.op_start[every_point.op_accelerator >= 0] % cycle_ns != 0).any()


def test_late_requests_are_dropped_only_once_late():
    instance = multitenant("heavy")
    schedule = replay(instance, make_scheduler("relmas"))
    dropped = schedule.job_status == JobStatus.DROPPED
    assert dropped.any()
    assert (schedule.job_drop_time[dropped] > instance.job_deadline[dropped]).all()
    kept = replay(instance, make_scheduler("relmas", {"drop_late": False}))
    assert not (kept.job_status == JobStatus.DROPPED).any()


def test_rtmm_run_relmas_reports_the_sla_rate(rtmm):
    code, out, _ = rtmm("run", "instances/multitenant/light.yaml", "--system",
                           "hetero-4s4e", "--scheduler", "relmas", "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["valid"] and 0 < data["metrics"]["sla_rate"] <= 1
    assert set(data["metrics"]["per_tenant"]) == {"alice", "bob", "carol"}


def test_rtmm_run_with_a_broken_checkpoint_exits_2(rtmm, tmp_path):
    bad = tmp_path / "p.npz"
    bad.write_text("weights")
    code, _, err = rtmm("run", "instances/multitenant/light.yaml", "--system",
                           "hetero-2s2e", "--scheduler", "relmas", "--param", f"policy={bad}")  # fmt: skip
    assert code == 2
    assert "params.policy" in err and "not a RELMAS checkpoint" in err
