"""RELMAS's training: DDPG (or TD3) on :class:`~rtmm_opt.rl.env.SchedulingEnv`, in PyTorch.

``rtmm train relmas`` calls :func:`train`. The actor is the numpy actor's architecture
(:mod:`rtmm_opt.schedulers.relmas_net`): an LSTM cell over the global features, whose state is
carried from one decision point to the next, and a shared pair network scoring every
(candidate, accelerator) pair. The critic reads every pair's features with the actor's score for
it, pools them (masked mean and max) and adds the global features. Training:

1. **Demonstrations** (optional, ``expert``): for the first ``demo_steps`` steps the environment
   follows an expert scheduler; the actor is then fitted to the expert's scores on those steps
   (mean squared error on the legal pairs, ``demo_epochs`` passes).
2. **DDPG**: Gaussian exploration noise on the scores (``noise``, decaying linearly to a tenth),
   a replay buffer, target networks with soft updates (``tau``), one gradient step per
   environment step once ``learning_starts`` transitions are stored. ``twin=True`` is TD3:
   twin critics (the smaller target), target-policy smoothing and delayed actor updates.
   The LSTM is trained one step deep: each transition stores the recurrent state the actor had
   before it, and the target networks start from the state stored after it. With
   demonstrations, the actor's loss adds ``demo_weight`` times its squared distance to the
   expert's scores on a batch of demonstrations (as TD3+BC does, with the critic's term
   normalised by its mean magnitude), so that it improves on the expert without forgetting it.
3. **Selection**: every ``eval_every`` steps the actor is replayed, as the ``relmas`` scheduler,
   on validation traces (seeds ``VALIDATION_SEEDS`` of every training scenario at the load
   range's ends and middle); the checkpoint is the actor with the best mean SLA rate there
   (the evaluation in ``docs/schedulers/relmas.md`` uses other seeds).

One thread, seeded (NumPy, PyTorch and the environment): the same configuration and seed write
the same checkpoint. Beside the checkpoint ``X.npz``: ``X.curve.csv`` (one row per episode) and
``X.curve.png`` (if matplotlib is installed).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rtmm_opt.engine.loop import replay
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.metrics.metrics import compute_metrics
from rtmm_opt.rl.env import SchedulingEnv
from rtmm_opt.schedulers.registry import make_scheduler
from rtmm_opt.schedulers.relmas import Relmas
from rtmm_opt.schedulers.relmas_net import Actor
from rtmm_opt.schedulers.relmas_state import (
    BANDWIDTH_GLOBAL,
    BANDWIDTH_PAIR,
    GLOBAL_FEATURES,
    N_INPUTS,
)

CURVE_COLUMNS = ("episode", "step", "return", "sla_rate", "on_time", "jobs", "load", "validation")
VALIDATION_SEEDS = (9001, 9002)


@dataclass
class TrainConfig:
    """What ``rtmm train relmas`` takes (module docstring)."""

    scenarios: list[str]
    system: str | list[str]
    steps: int = 20_000
    seed: int = 0
    duration_ms: float = 200.0
    load: tuple[float, float] = (0.5, 1.5)
    granularity: str = "model"
    cycle_us: float = 0.0
    k: int = 8
    recurrent: bool = True
    bandwidth: bool = True
    twin: bool = False
    expert: str | None = "herald"
    demo_steps: int = 2_000
    demo_epochs: int = 30
    demo_weight: float = 0.2
    eval_every: int = 2_000
    gamma: float = 0.97
    tau: float = 0.005
    actor_lr: float = 3e-4
    critic_lr: float = 1e-3
    batch: int = 64
    buffer: int = 100_000
    learning_starts: int = 500
    noise: float = 0.3
    hidden: int = 16
    width: int = 32
    bandwidth_weight: float = 0.5
    energy_weight: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict)


class TorchActor(nn.Module):
    def __init__(self, recurrent: bool, hidden: int, width: int) -> None:
        super().__init__()
        g = len(GLOBAL_FEATURES)
        self.recurrent = recurrent
        self.hidden = hidden
        self.lstm = nn.LSTMCell(g, hidden) if recurrent else None
        self.embed = None if recurrent else nn.Linear(g, hidden)
        self.pair1 = nn.Linear(N_INPUTS + hidden, width)
        self.pair2 = nn.Linear(width, width)
        self.out = nn.Linear(width, 1)

    def forward(
        self, pairs: torch.Tensor, glob: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.lstm is not None:
            h, c = self.lstm(glob, (h, c))
        else:
            assert self.embed is not None
            h = torch.tanh(self.embed(glob))
        b, k, a, _ = pairs.shape
        x = torch.cat([pairs, h[:, None, None, :].expand(b, k, a, self.hidden)], dim=-1)
        x = torch.relu(self.pair2(torch.relu(self.pair1(x))))
        return torch.tanh(self.out(x)).squeeze(-1), h, c

    def to_numpy(self, *, bandwidth: bool, k: int, meta: dict[str, Any]) -> Actor:
        def arr(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy().astype(np.float64)

        w: dict[str, np.ndarray] = {}
        if self.lstm is not None:
            w["lstm.w_ih"] = arr(self.lstm.weight_ih)
            w["lstm.w_hh"] = arr(self.lstm.weight_hh)
            w["lstm.b"] = arr(self.lstm.bias_ih + self.lstm.bias_hh)
        else:
            assert self.embed is not None
            w["embed.w"], w["embed.b"] = arr(self.embed.weight), arr(self.embed.bias)
        for name in ("pair1", "pair2", "out"):
            layer = getattr(self, name)
            w[f"{name}.w"], w[f"{name}.b"] = arr(layer.weight), arr(layer.bias)
        return Actor(w, recurrent=self.recurrent, bandwidth=bandwidth, k=k, meta=meta)


class Critic(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.pair = nn.Sequential(
            nn.Linear(N_INPUTS + 1, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU()
        )
        self.head = nn.Sequential(
            nn.Linear(2 * width + len(GLOBAL_FEATURES), width), nn.ReLU(), nn.Linear(width, 1)
        )

    def forward(
        self, pairs: torch.Tensor, glob: torch.Tensor, mask: torch.Tensor, action: torch.Tensor
    ) -> torch.Tensor:
        z = self.pair(torch.cat([pairs, action[..., None]], dim=-1))
        m = mask[..., None]
        count = m.sum(dim=(1, 2)).clamp(min=1.0)
        mean = (z * m).sum(dim=(1, 2)) / count
        peak = (z * m).amax(dim=(1, 2))  # z ≥ 0 (ReLU), so masked zeros do not win
        return self.head(torch.cat([mean, peak, glob], dim=-1)).squeeze(-1)


class Buffer:
    """Transitions in preallocated arrays (ring buffer)."""

    def __init__(self, size: int, k: int, n_acc: int, hidden: int) -> None:
        g = len(GLOBAL_FEATURES)
        self.size, self.n, self.i = size, 0, 0
        self.arrays: dict[str, np.ndarray] = {
            "pairs": np.zeros((size, k, n_acc, N_INPUTS), np.float32),
            "glob": np.zeros((size, g), np.float32),
            "mask": np.zeros((size, k, n_acc), np.float32),
            "h": np.zeros((size, hidden), np.float32),
            "c": np.zeros((size, hidden), np.float32),
            "action": np.zeros((size, k, n_acc), np.float32),
            "reward": np.zeros(size, np.float32),
            "next_pairs": np.zeros((size, k, n_acc, N_INPUTS), np.float32),
            "next_glob": np.zeros((size, g), np.float32),
            "next_mask": np.zeros((size, k, n_acc), np.float32),
            "next_h": np.zeros((size, hidden), np.float32),
            "next_c": np.zeros((size, hidden), np.float32),
            "done": np.zeros(size, np.float32),
        }

    def add(self, **row: Any) -> None:
        for key, value in row.items():
            self.arrays[key][self.i] = value
        self.i = (self.i + 1) % self.size
        self.n = min(self.n + 1, self.size)

    def sample(self, rng: np.random.Generator, batch: int) -> dict[str, torch.Tensor]:
        index = rng.integers(self.n, size=batch)
        return {key: torch.from_numpy(value[index]) for key, value in self.arrays.items()}


@dataclass
class TrainResult:
    actor: Actor
    curve: list[dict[str, float]]
    seconds: float


def imitation_loss(scores: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared distance to the expert's scores over the legal pairs."""
    return ((scores - target) ** 2 * mask).sum() / mask.sum().clamp(min=1)


def _features(obs: dict[str, np.ndarray], bandwidth: bool) -> tuple[np.ndarray, np.ndarray]:
    pairs, glob = obs["pairs"], obs["glob"]
    if not bandwidth:  # the ablation: the actor and critic never see bandwidth
        pairs = pairs.copy()
        glob = glob.copy()
        pairs[..., BANDWIDTH_PAIR] = 0.0
        glob[BANDWIDTH_GLOBAL] = 0.0
    return pairs, glob


def train(
    config: TrainConfig,
    *,
    progress: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train an actor (module docstring); ``progress(steps_done, last_episode)`` after each
    step (``last_episode`` is empty until an episode ends)."""
    start = time.perf_counter()
    torch.set_num_threads(1)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    expert = make_scheduler(config.expert) if config.expert else None
    env = SchedulingEnv(
        list(config.scenarios),
        list(config.system) if isinstance(config.system, list) else config.system,
        duration_ms=config.duration_ms,
        load=config.load,
        granularity=config.granularity,
        k=config.k,
        bandwidth=True,  # the environment always encodes bandwidth; the ablation masks it here
        cycle_us=config.cycle_us,
        bandwidth_weight=config.bandwidth_weight,
        energy_weight=config.energy_weight,
        expert=expert,
    )
    n_acc = env.n_accelerators
    actor = TorchActor(config.recurrent, config.hidden, config.width)
    target_actor = TorchActor(config.recurrent, config.hidden, config.width)
    target_actor.load_state_dict(actor.state_dict())
    critics = [Critic(config.width) for _ in range(2 if config.twin else 1)]
    target_critics = [Critic(config.width) for _ in critics]
    for critic, target in zip(critics, target_critics, strict=True):
        target.load_state_dict(critic.state_dict())
    actor_opt = torch.optim.Adam(actor.parameters(), lr=config.actor_lr)
    critic_opts = [torch.optim.Adam(c.parameters(), lr=config.critic_lr) for c in critics]
    buffer = Buffer(min(config.buffer, max(config.steps, 1)), config.k, n_acc, config.hidden)
    demo_steps = config.demo_steps if expert is not None else 0
    demos: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def soft_update(net: nn.Module, target: nn.Module) -> None:
        with torch.no_grad():
            for p, tp in zip(net.parameters(), target.parameters(), strict=True):
                tp.mul_(1 - config.tau).add_(config.tau * p)

    updates = 0

    def update() -> None:
        nonlocal updates
        b = buffer.sample(rng, config.batch)
        with torch.no_grad():
            next_action, _, _ = target_actor(
                b["next_pairs"], b["next_glob"], b["next_h"], b["next_c"]
            )
            if config.twin:
                smoothing = (torch.randn_like(next_action) * 0.2).clamp(-0.5, 0.5)
                next_action = (next_action + smoothing).clamp(-1.0, 1.0)
            next_q = (
                torch.stack(
                    [
                        t(b["next_pairs"], b["next_glob"], b["next_mask"], next_action)
                        for t in target_critics
                    ]
                )
                .min(dim=0)
                .values
            )
            y = b["reward"] + config.gamma * (1.0 - b["done"]) * next_q
        for critic, opt in zip(critics, critic_opts, strict=True):
            loss = nn.functional.mse_loss(critic(b["pairs"], b["glob"], b["mask"], b["action"]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        updates += 1
        if config.twin and updates % 2:
            return
        action, _, _ = actor(b["pairs"], b["glob"], b["h"], b["c"])
        q = critics[0](b["pairs"], b["glob"], b["mask"], action)
        actor_loss = -q.mean() / q.abs().mean().detach().clamp(min=1e-6)
        if demo_tensors is not None and config.demo_weight > 0:
            index = torch.from_numpy(rng.integers(len(demos), size=config.batch))
            d_pairs, d_glob, d_mask, d_h, d_c, d_target = (t[index] for t in demo_tensors)
            d_scores, _, _ = actor(d_pairs, d_glob, d_h, d_c)
            actor_loss = actor_loss + config.demo_weight * imitation_loss(
                d_scores, d_target, d_mask
            )
        actor_opt.zero_grad()
        actor_loss.backward()
        actor_opt.step()
        soft_update(actor, target_actor)
        for critic, target in zip(critics, target_critics, strict=True):
            soft_update(critic, target)

    demo_tensors: tuple[torch.Tensor, ...] | None = None

    def fit_demonstrations() -> None:
        nonlocal demo_tensors
        demo_tensors = tuple(torch.from_numpy(np.stack([d[i] for d in demos])) for i in range(6))
        pairs, glob, mask, h, c, target = demo_tensors
        opt = torch.optim.Adam(actor.parameters(), lr=1e-3)
        n = len(demos)
        for _ in range(config.demo_epochs):
            order = rng.permutation(n)
            for s in range(0, n, config.batch):
                idx = torch.from_numpy(order[s : s + config.batch])
                scores, _, _ = actor(pairs[idx], glob[idx], h[idx], c[idx])
                loss = imitation_loss(scores, target[idx], mask[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        target_actor.load_state_dict(actor.state_dict())

    validation = _validation_set(config)

    def numpy_actor() -> Actor:
        return actor.to_numpy(bandwidth=config.bandwidth, k=config.k, meta={})

    best_score, best_state = -1.0, None
    last_validation = float("nan")

    def evaluate() -> None:
        nonlocal best_score, best_state, last_validation
        last_validation = validate_actor(numpy_actor(), validation, config.cycle_us)
        if last_validation > best_score:
            best_score = last_validation
            best_state = {k: v.clone() for k, v in actor.state_dict().items()}

    curve: list[dict[str, float]] = []
    obs, info = env.reset(seed=config.seed)
    h = torch.zeros(1, config.hidden)
    c = torch.zeros(1, config.hidden)
    episode_return, episode = 0.0, 0
    for step in range(config.steps):
        pairs, glob = _features(obs, config.bandwidth)
        with torch.no_grad():
            scores, h2, c2 = actor(
                torch.from_numpy(pairs)[None], torch.from_numpy(glob)[None], h, c
            )
        if step < demo_steps:
            action = info["expert_action"].astype(np.float32)
            demos.append(
                (
                    pairs,
                    glob,
                    obs["mask"].astype(np.float32),
                    h[0].numpy().copy(),
                    c[0].numpy().copy(),
                    action,
                )
            )
        else:
            sigma = config.noise * (1.0 - 0.9 * step / max(config.steps, 1))
            noisy = scores[0].numpy() + rng.normal(0.0, sigma, scores.shape[1:])
            action = np.clip(noisy, -1.0, 1.0).astype(np.float32)
        next_obs, reward, done, _, info = env.step(action)
        next_pairs, next_glob = _features(next_obs, config.bandwidth)
        buffer.add(
            pairs=pairs,
            glob=glob,
            mask=obs["mask"],
            h=h[0].numpy(),
            c=c[0].numpy(),
            action=action,
            reward=reward,
            next_pairs=next_pairs,
            next_glob=next_glob,
            next_mask=next_obs["mask"],
            next_h=h2[0].numpy(),
            next_c=c2[0].numpy(),
            done=float(done),
        )
        episode_return += reward
        obs, h, c = next_obs, h2, c2
        last: dict[str, float] = {}
        if done:
            assert env.instance is not None
            last = {
                "episode": episode,
                "step": step + 1,
                "return": round(episode_return, 4),
                "sla_rate": round(env.sla_rate, 6),
                "on_time": env.on_time,
                "jobs": env.instance.n_jobs,
                "load": round(env.load_drawn, 4),
                "validation": round(last_validation, 6),
            }
            curve.append(last)
            episode += 1
            episode_return = 0.0
            obs, info = env.reset()
            h = torch.zeros(1, config.hidden)
            c = torch.zeros(1, config.hidden)
        if demo_steps and step + 1 == demo_steps:
            fit_demonstrations()
        if step + 1 >= max(config.learning_starts, demo_steps) and buffer.n >= config.batch:
            update()
        if config.eval_every and (step + 1) % config.eval_every == 0:
            evaluate()
        if progress is not None:
            progress(step + 1, last)
    if config.eval_every:
        evaluate()
        assert best_state is not None
        actor.load_state_dict(best_state)
    meta = {
        "trained": True,
        "algorithm": "td3" if config.twin else "ddpg",
        "config": {k: v for k, v in asdict(config).items() if k != "extra"} | config.extra,
        "episodes": episode,
        "validation_sla_rate": round(best_score, 6) if config.eval_every else None,
        "torch": torch.__version__,
    }
    trained = actor.to_numpy(bandwidth=config.bandwidth, k=config.k, meta=meta)
    return TrainResult(trained, curve, time.perf_counter() - start)


def _validation_set(config: TrainConfig) -> list[Instance]:
    """The validation traces: every scenario, seeds VALIDATION_SEEDS, three loads."""
    if not config.eval_every:
        return []
    low, high = config.load
    loads = sorted({low, (low + high) / 2, high})
    systems = config.system if isinstance(config.system, list) else [config.system]
    return [
        load_workload(
            scenario,
            system=system,
            duration_ns=round(config.duration_ms * NS_PER_MS),
            seed=seed,
            granularity=config.granularity,
            fps_scale=load,
        )
        for system in systems
        for scenario in config.scenarios
        for seed in VALIDATION_SEEDS
        for load in loads
    ]


def validate_actor(actor: Actor, instances: list[Instance], cycle_us: float = 0.0) -> float:
    """The actor's mean SLA rate over ``instances`` (replayed as the ``relmas`` scheduler)."""
    rates = []
    for instance in instances:
        schedule = replay(instance, Relmas.with_actor(actor, cycle_us=cycle_us), check=False)
        rates.append(compute_metrics(instance, schedule).sla_rate)
    return float(np.mean(rates)) if rates else float("nan")


def write_outputs(result: TrainResult, out: Path) -> list[Path]:
    """Write the checkpoint, the learning curve (CSV) and its plot (if matplotlib is there)."""
    result.actor.save(out)
    stem = out.with_suffix("")
    csv_path = stem.with_name(stem.name + ".curve.csv")
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CURVE_COLUMNS)
        writer.writeheader()
        writer.writerows(result.curve)
    written = [out, csv_path]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return written
    png_path = stem.with_name(stem.name + ".curve.png")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if result.curve:
        steps = [row["step"] for row in result.curve]
        sla = np.array([row["sla_rate"] for row in result.curve])
        window = max(1, min(10, len(sla) // 5))
        smooth = np.convolve(sla, np.ones(window) / window, mode="valid")
        ax.plot(steps, sla, alpha=0.3, label="episode")
        ax.plot(steps[window - 1 :], smooth, label=f"mean of {window}")
    ax.set_xlabel("training step (decision points)")
    ax.set_ylabel("SLA rate")
    ax.set_title(json.dumps(result.actor.meta.get("algorithm", "")).strip('"'))
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return [*written, png_path]
