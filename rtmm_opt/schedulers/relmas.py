"""RELMAS: a deep-RL online scheduler for multi-tenant heterogeneous multi-accelerators
(Blanco, Russo, Palesi, Patti, Ascia, Catania, DAC 2024, arXiv:2404.08950), reconstructed.

There is no public code and the paper body was not available: ``docs/schedulers/relmas.md`` says
for each choice whether it comes from the abstract, a secondary summary, or this project's own
design, and reports the evaluation. Inference is numpy only; training (PyTorch, DDPG) is
:mod:`rtmm_opt.rl` and ``rtmm train relmas``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from rtmm_opt.engine.contract import Decision, Policy, StaticInfo, View
from rtmm_opt.errors import excerpt
from rtmm_opt.io.units import NS_PER_US
from rtmm_opt.schedulers.registry import register
from rtmm_opt.schedulers.relmas_net import Actor
from rtmm_opt.schedulers.relmas_state import Encoder, Observation, decode

# The checkpoint shipped with the package (trained on the bundled multi-tenant scenarios;
# its training record is in its ``meta`` and in docs/schedulers/relmas.md).
DEFAULT_POLICY = "default"
BASELINE_POLICIES = ("random", "untrained")  # the ablations' stand-ins for a trained actor


def default_policy_path() -> Path:
    return Path(str(resources.files("rtmm_opt") / "data" / "policies" / "relmas.npz"))


class DecisionPoint:
    """What RELMAS does at a decision point before its actor is asked, shared by the scheduler and
    the Gymnasium environment (:mod:`rtmm_opt.rl.env`), so that both see the same points.

    :meth:`prepare` returns either an automatic decision (drops of jobs past their SLA deadline,
    a wake-up to the next scheduling cycle, or nothing to choose) or None, and then
    :attr:`observation` holds the encoded decision point for the actor.
    """

    def __init__(self, encoder: Encoder, *, cycle_us: float, drop_late: bool) -> None:
        self.encoder = encoder
        self.cycle_us = cycle_us
        self.drop_late = drop_late
        self.observation: Observation | None = None

    def reset(self, static: StaticInfo) -> None:
        self.encoder.reset(static)
        self.drops_allowed = static.drops_allowed
        # the cycle in the instance's time units (at least one); 0: every decision point
        self.cycle = 0
        if self.cycle_us > 0:
            self.cycle = max(1, round(self.cycle_us * NS_PER_US / static.time_unit_ns))
        self.observation = None

    def prepare(self, view: View) -> Decision | None:
        encoder = self.encoder
        encoder.observe(view)
        self.observation = None
        now = view.now
        if self.drop_late and self.drops_allowed:
            deadline = encoder.deadline
            late = [job for job in encoder.remaining if deadline[job] < now]
            if late:
                return Decision(drops=late)  # the engine asks again at this time
        cycle = self.cycle
        if cycle > 0 and now % cycle:
            return Decision(wake_at=now - now % cycle + cycle)
        observation = encoder.encode(view)
        if not observation.mask.any():
            wake = now + cycle if cycle > 0 else None
            return Decision(wake_at=wake)
        self.observation = observation
        return None

    def finish(self, decision: Decision, view: View) -> Decision:
        """Add the next cycle's wake-up to the actor's decision (periodic mode)."""
        if self.cycle > 0:
            decision.wake_at = view.now + self.cycle
        return decision


@register("relmas")
@dataclass
class Relmas(Policy):
    """RELMAS (``docs/schedulers/relmas.md``): an LSTM actor scores every (ready layer, idle
    accelerator) pair from their latencies, DRAM bandwidth needs, slacks and energies and the
    system's state; pairs are dispatched greedily by positive score (a negative score makes the
    layer wait for a better accelerator).

    * ``policy``: a checkpoint written by ``rtmm train relmas`` (``.npz``); ``default`` is the
      shipped one; ``random`` (uniform random scores) and ``untrained`` (a seeded, randomly
      initialised actor) are the ablations' baselines.
    * ``cycle_us``: the scheduling cycle T_s in µs: decisions at multiples of T_s only (the
      policy asks to be woken at the next cycle while work is pending); 0 decides at every
      decision point of the engine.
    * ``drop_late``: drop a request once its SLA deadline has passed (it can no longer count
      towards the SLA rate), when the instance allows drops.
    * ``seed``: for ``random`` and ``untrained``. A trained actor is deterministic.
    """

    policy: str = DEFAULT_POLICY
    cycle_us: float = 0.0
    drop_late: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.cycle_us, float | int) or not 0 <= self.cycle_us <= 1e9:
            raise ValueError(f"cycle_us must be a number in [0, 1e9], got {excerpt(self.cycle_us)}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {excerpt(self.seed)}")
        if self.policy in BASELINE_POLICIES:
            self.actor = Actor.random(self.seed)
        else:
            path = default_policy_path() if self.policy == DEFAULT_POLICY else Path(self.policy)
            self.actor = Actor.load(path)

    @classmethod
    def with_actor(cls, actor: Actor, **params: object) -> Relmas:
        """A RELMAS scheduler around an actor already in memory (training's evaluations)."""
        policy = cls(policy="untrained", **params)  # type: ignore[arg-type]
        policy.actor = actor
        policy.policy = "<in memory>"
        return policy

    def reset(self, static: StaticInfo) -> None:
        encoder = Encoder(k=self.actor.k, bandwidth=self.actor.bandwidth)
        self.point = DecisionPoint(encoder, cycle_us=self.cycle_us, drop_late=self.drop_late)
        self.point.reset(static)
        self.actor.initial_state()
        self.rng = np.random.default_rng(self.seed)

    def decide(self, view: View) -> Decision | None:
        point = self.point
        automatic = point.prepare(view)
        if automatic is not None:
            return automatic
        observation = point.observation
        assert observation is not None
        if self.policy == "random":
            scores = self.rng.uniform(-1.0, 1.0, observation.mask.shape)
        else:
            scores = self.actor.scores(observation.pairs, observation.glob)
        return point.finish(decode(observation, scores, view), view)
