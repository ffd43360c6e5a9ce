"""The Gymnasium environment (docs/schedulers/relmas.md, "Environment"): Gymnasium's own checker,
experts replayed through it give their own schedules, the reward adds up to the SLA metric, and
the mask is exactly the legal pairs."""

import dataclasses

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env  # the test extra brings it: never skipped

from rtmm_opt import compute_metrics, get_system, make_scheduler, replay, validate
from rtmm_opt.rl.env import SchedulingEnv

MEDIUM = "instances/multitenant/medium.yaml"
HEAVY = "instances/multitenant/heavy.yaml"


def test_gymnasium_env_checker_passes():
    env = SchedulingEnv([MEDIUM, HEAVY], "hetero-2s2e", duration_ms=50, load=(0.5, 1.5))
    check_env(env, skip_render_check=True)


def test_reset_with_a_seed_repeats_the_trace():
    env = SchedulingEnv(MEDIUM, "hetero-2s2e", duration_ms=50, load=(0.5, 1.5))
    first, info_first = env.reset(seed=4)
    again, info_again = env.reset(seed=4)
    _, info_other = env.reset(seed=5)
    assert info_first["trace_seed"] == info_again["trace_seed"] != info_other["trace_seed"]
    for key in first:
        assert np.array_equal(first[key], again[key])


@pytest.mark.parametrize("expert", ["edf", "herald", "dysta", "sjf", "fcfs"])
def test_following_an_expert_reproduces_its_schedule(expert):
    env = SchedulingEnv(HEAVY, "hetero-2s2e", duration_ms=150, k=64, drop_late=False,
                        expert=make_scheduler(expert))  # fmt: skip
    _, info = env.reset(seed=3)
    done, steps = False, 0
    while not done:
        _, _, done, _, info = env.step(info["expert_action"])
        steps += 1
    assert steps > 50
    followed = env.schedule()
    assert validate(env.instance, followed).ok
    reference = replay(env.instance, make_scheduler(expert))
    for name in ("op_accelerator", "op_start", "op_end", "job_status"):
        assert np.array_equal(getattr(followed, name), getattr(reference, name)), name


def test_sla_reward_adds_up_to_the_metric():
    """With the bandwidth and energy terms off, an episode's return is 2 · on-time − requests,
    and the on-time count is the metrics module's SLA rate times the requests."""
    env = SchedulingEnv(HEAVY, "hetero-2s2e", duration_ms=150, bandwidth_weight=0.0,
                        energy_weight=0.0)  # fmt: skip
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=8)
    total, done = 0.0, False
    while not done:
        _, reward, done, _, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
        total += reward
    metrics = compute_metrics(env.instance, env.schedule())
    jobs = env.instance.n_jobs
    assert 0 < env.on_time < jobs
    assert env.on_time == round(metrics.sla_rate * jobs)
    assert info["sla_rate"] == pytest.approx(metrics.sla_rate)
    assert total == pytest.approx(2 * env.on_time - jobs)


def test_mask_is_the_legal_pairs():
    env = SchedulingEnv(MEDIUM, "hetero-2s2e", duration_ms=100, k=4)
    obs, info = env.reset(seed=1)
    rng = np.random.default_rng(1)
    checked = 0
    while env.view is not None:
        view = env.view
        candidates = env.point.observation.candidates
        idle = set(view.idle_accelerators)
        predicted = env.instance.op_predicted
        expected = np.zeros(obs["mask"].shape, bool)
        for slot, op in enumerate(candidates):
            assert view.is_ready(op)
            for acc in range(env.n_accelerators):
                expected[slot, acc] = acc in idle and predicted[op, acc] >= 0
        assert np.array_equal(obs["mask"].astype(bool), expected)
        assert np.array_equal(info["action_mask"], expected)
        assert expected.any()  # the environment only stops where there is a choice
        checked += 1
        obs, _, _, _, info = env.step(rng.uniform(-1, 1, env.action_space.shape))
    assert checked > 20


def test_bandwidth_penalty_lowers_the_reward_of_oversubscription():
    """Two runs of the same actions: the one that charges for bandwidth earns no more, and
    strictly less once the running ops ask for more than the DRAM gives."""
    returns = []
    narrow = dataclasses.replace(get_system("hetero-2s2e"), dram_bandwidth_gbps=16.0)
    for weight in (0.0, 5.0):
        env = SchedulingEnv(HEAVY, narrow, duration_ms=10, granularity="layer",
                            bandwidth_weight=weight, energy_weight=0.0)  # fmt: skip
        env.reset(seed=2)
        rng = np.random.default_rng(3)
        total, done = 0.0, False
        while not done:
            _, reward, done, _, _ = env.step(rng.uniform(0, 1, env.action_space.shape))
            total += reward
        returns.append(total)
    assert returns[1] < returns[0]


def test_several_systems_share_one_padded_space():
    """Two systems of 4 and 8 accelerators: arrays are 8 wide; on the 4-wide one the extra
    columns are masked, and an expert is still reproduced."""
    env = SchedulingEnv(HEAVY, ["hetero-2s2e", "hetero-4s4e"], duration_ms=60, k=64,
                        drop_late=False, expert=make_scheduler("edf"))  # fmt: skip
    check_env(SchedulingEnv(HEAVY, ["hetero-2s2e", "hetero-4s4e"], duration_ms=30),
              skip_render_check=True)  # fmt: skip
    widths = set()
    for seed in range(6):
        obs, info = env.reset(seed=seed)
        n_acc = env.instance.n_accelerators
        widths.add(n_acc)
        assert obs["mask"].shape == (64, 8) and not obs["mask"][:, n_acc:].any()
        done = False
        while not done:
            obs, _, done, _, info = env.step(info["expert_action"])
        reference = replay(env.instance, make_scheduler("edf"))
        assert np.array_equal(env.schedule().op_start, reference.op_start)
    assert widths == {4, 8}
