"""A Gymnasium environment over the steppable engine (``docs/schedulers/relmas.md``, "Environment").

:class:`SchedulingEnv` replays one freshly drawn trace per episode: :meth:`~SchedulingEnv.reset`
builds an instance from a scenario and a system with a trace seed (and a load factor) drawn from
the environment's seeded generator, and runs the engine to the first decision point at which
there is something to choose. Each :meth:`~SchedulingEnv.step` is one such decision point.

* **Observation** (``Dict``): ``pairs`` (k × accelerators × features), ``glob`` (global
  features) and ``mask`` (k × accelerators, 1 where the pair may start now), the RELMAS encoding
  of the View (:mod:`rtmm_opt.schedulers.relmas_state`, which documents every feature). It holds
  only what an online policy may see.
* **Action** (``Box(-1, 1, (k, accelerators))``): one score per (candidate, accelerator) pair,
  decoded into a legal decision: positive pairs greedily by score, each op and accelerator once;
  if nothing would run at all, the best legal pair. Scores of masked pairs are ignored.
* **Reward** of a step, for what happened from this decision point to the next:
  ``on_time − missed − bandwidth_weight · oversubscription − energy_weight · energy_excess``.
  ``on_time`` counts requests completed by their SLA deadline; ``missed`` those that became
  misses (deadline passed unfinished, completed late, or dropped), each request once; so an
  episode's undiscounted SLA part is ``2 · (on-time requests) − requests``.
  ``oversubscription`` is ``max(0, Σ bandwidth needs of the running ops / DRAM bandwidth − 1)``
  after the decision, times the time to the next decision point over the mean relative
  deadline; ``energy_excess`` sums the dispatched pairs' ``energy_excess`` feature.
* Decision points where nothing can be chosen (no candidate, a drop of late requests, or a point
  between scheduling cycles) are handled by the environment itself, as the ``relmas`` scheduler
  handles them, so a trained actor sees the same points in training and in ``rtmm run``.

**Experts.** ``expert=`` any :class:`~rtmm_opt.engine.contract.Policy` (``make_scheduler(name)``)
is replayed alongside: it is called at every decision point of the engine, and ``info
["expert_action"]`` holds its decision as scores (+1 on its dispatched pairs, −1 elsewhere), which
decode back into its dispatches. Following those actions reproduces the expert's schedule
(with ``drop_late=False`` and ``k`` at least the number of ready ops), which the tests check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rtmm_opt.engine.contract import Decision, Notice, Policy, View
from rtmm_opt.engine.loop import Engine
from rtmm_opt.hardware.accelerator import System
from rtmm_opt.hardware.presets import get_system
from rtmm_opt.instance.instance import Instance
from rtmm_opt.instance.workload import load_workload, read_workload
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.schedule.schedule import Schedule
from rtmm_opt.schedulers.relmas import DecisionPoint
from rtmm_opt.schedulers.relmas_state import (
    GLOBAL_FEATURES,
    N_INPUTS,
    PAIR_FEATURES,
    Encoder,
    decode,
    expert_scores,
)

ENERGY_EXCESS = PAIR_FEATURES.index("energy_excess")
FEATURE_LOW, FEATURE_HIGH = -2.0, 4.0


class SchedulingEnv(gym.Env[dict[str, np.ndarray], np.ndarray]):
    """RELMAS's decision problem as a Gymnasium environment (module docstring).

    ``scenarios``: one or more WORKLOAD paths or bundled names (one is drawn per episode);
    ``system``: a preset name, a system file or a
    :class:`~rtmm_opt.hardware.accelerator.System`; ``duration_ms``: trace length per episode;
    ``load``: the range of the load factor (``fps_scale``) drawn per episode, or one value.
    ``system`` may be a list: one is drawn per episode, and the arrays are as wide as the widest
    system (a narrower one's extra accelerator columns are masked and their scores ignored).
    The other options are those of ``rtmm run`` and of the ``relmas`` scheduler.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - Gymnasium's convention

    def __init__(
        self,
        scenarios: str | Path | list[str | Path],
        system: str | Path | System | list[str | Path | System],
        *,
        duration_ms: float = 200.0,
        load: float | tuple[float, float] = 1.0,
        granularity: str = "model",
        cost: str = "analytical",
        contention: bool = False,
        k: int = 8,
        bandwidth: bool = True,
        cycle_us: float = 0.0,
        drop_late: bool = True,
        bandwidth_weight: float = 0.5,
        energy_weight: float = 0.05,
        expert: Policy | None = None,
    ) -> None:
        paths = scenarios if isinstance(scenarios, list) else [scenarios]
        if not paths:
            raise ValueError("at least one scenario is needed")
        self.workloads = [read_workload(path) for path in paths]
        systems = system if isinstance(system, list) else [system]
        if not systems:
            raise ValueError("at least one system is needed")
        self.systems = [s if isinstance(s, System) else get_system(s) for s in systems]
        self.system = self.systems[0]
        # arrays are as wide as the widest system; a narrower one's extra columns are masked
        self.n_accelerators = max(len(s.accelerators) for s in self.systems)
        self.duration_ns = round(duration_ms * NS_PER_MS)
        self.load = (float(load), float(load)) if isinstance(load, int | float) else load
        self.granularity, self.cost, self.contention = granularity, cost, contention
        self.k = k
        self.bandwidth = bandwidth
        self.cycle_us = cycle_us
        self.drop_late = drop_late
        self.bandwidth_weight = bandwidth_weight
        self.energy_weight = energy_weight
        self.expert = expert
        shape = (k, self.n_accelerators)
        self.observation_space = spaces.Dict(  # type: ignore[assignment]
            {
                "pairs": spaces.Box(FEATURE_LOW, FEATURE_HIGH, (*shape, N_INPUTS), np.float32),
                "glob": spaces.Box(FEATURE_LOW, FEATURE_HIGH, (len(GLOBAL_FEATURES),), np.float32),
                "mask": spaces.MultiBinary(shape),
            }
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape, np.float32)
        self.engine: Engine | None = None
        self.instance: Instance | None = None

    # -- Gymnasium API --------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        rng = self.np_random
        workload = self.workloads[int(rng.integers(len(self.workloads)))]
        if len(self.systems) > 1:
            self.system = self.systems[int(rng.integers(len(self.systems)))]
        trace_seed = int(rng.integers(2**31))
        load = float(rng.uniform(*self.load)) if self.load[0] != self.load[1] else self.load[0]
        self.instance = load_workload(
            workload,
            system=self.system,
            cost=self.cost,
            duration_ns=self.duration_ns,
            seed=trace_seed,
            granularity=self.granularity,
            fps_scale=load,
            contention=self.contention,
        )
        self.load_drawn = load
        engine = Engine(self.instance, policy_name="agent")
        self.engine = engine
        static = engine.static
        self.point = DecisionPoint(
            Encoder(k=self.k, bandwidth=self.bandwidth),
            cycle_us=self.cycle_us,
            drop_late=self.drop_late,
        )
        self.point.reset(static)
        if self.expert is not None:
            self.expert.reset(static)
        self.deadline = self.point.encoder.deadline
        self.settled: set[int] = set()
        self.on_time = 0
        self.missed = 0
        self._reward = 0.0
        self._expert_decision: Decision | None = None
        self.view = self._advance(engine.reset())
        info = {"trace_seed": trace_seed, "load": load, "jobs": self.instance.n_jobs}
        return self._observation(), self._info(info)

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.engine is None or self.view is None:
            raise RuntimeError("step() called before reset() or after the episode ended")
        observation = self.point.observation
        assert observation is not None
        k, n_acc = observation.mask.shape
        scores = np.asarray(action, np.float64).reshape(self.k, self.n_accelerators)[:k, :n_acc]
        decision = self.point.finish(decode(observation, scores, self.view), self.view)
        self._reward = -self.energy_weight * float(
            sum(
                observation.pairs[observation.candidates.index(op), acc, ENERGY_EXCESS]
                for op, acc in decision.dispatches
            )
        )
        before = self.view.now
        oversubscription = self._oversubscription(self.view, decision)
        view = self._engine_step(decision)
        after = view.now if view is not None else before
        self._reward -= (
            self.bandwidth_weight
            * oversubscription
            * (after - before)
            / self.point.encoder.mean_rel_deadline
        )
        self.view = self._advance(view)
        terminated = self.view is None
        if terminated:
            self._settle_all()
        reward = self._reward
        return self._observation(), reward, terminated, False, self._info({})

    # -- results --------------------------------------------------------------------------------
    def schedule(self) -> Schedule:
        """The schedule of the current episode (complete once it has terminated)."""
        if self.engine is None:
            raise RuntimeError("no episode yet: call reset()")
        return self.engine.schedule()

    @property
    def sla_rate(self) -> float:
        """On-time requests over requests of the finished episode (the metric's definition)."""
        assert self.instance is not None
        return self.on_time / max(self.instance.n_jobs, 1)

    # -- internals ------------------------------------------------------------------------------
    def _engine_step(self, decision: Decision | None) -> View | None:
        assert self.engine is not None
        view = self.engine.step(decision)
        self._settle(self.engine.notices)
        return view

    def _advance(self, view: View | None) -> View | None:
        """Run the engine through the decision points where nothing is chosen."""
        assert self.engine is not None
        if view is not None:
            self._settle(self.engine.notices)
        while view is not None:
            expert = self.expert.decide(view) if self.expert is not None else None
            automatic = self.point.prepare(view)
            self._settle_deadlines(view.now)
            if automatic is None:
                self._expert_decision = expert
                return view
            view = self._engine_step(automatic)
        return None

    def _settle(self, notices: list[tuple[int, int]]) -> None:
        """Count the requests that completed or were dropped (each once)."""
        assert self.engine is not None
        completion = self.engine.job_completion
        for kind, job in notices:
            if kind == Notice.JOB_DONE and job not in self.settled:
                self.settled.add(job)
                if completion[job] <= self.deadline[job]:
                    self.on_time += 1
                    self._reward += 1.0
                else:
                    self.missed += 1
                    self._reward -= 1.0
            elif kind == Notice.JOB_DROPPED and job not in self.settled:
                self.settled.add(job)
                self.missed += 1
                self._reward -= 1.0

    def _settle_deadlines(self, now: int) -> None:
        assert self.engine is not None
        for job in self.engine.active:
            if self.deadline[job] < now and job not in self.settled:
                self.settled.add(job)
                self.missed += 1
                self._reward -= 1.0

    def _settle_all(self) -> None:
        assert self.instance is not None
        left = self.instance.n_jobs - len(self.settled)
        self.missed += left
        self._reward -= left
        self.settled.update(range(self.instance.n_jobs))

    def _oversubscription(self, view: View, decision: Decision) -> float:
        """How far the running ops, with the decision's, ask for more than the DRAM bandwidth."""
        need = self.point.encoder.need_rows
        used = sum(
            need[op][acc] for acc in range(view.n_accelerators) if (op := view.running_op(acc)) >= 0
        )
        used += sum(need[op][acc] for op, acc in decision.dispatches)
        return max(0.0, used - 1.0)

    def _observation(self) -> dict[str, np.ndarray]:
        observation = self.point.observation if self.view is not None else None
        shape = (self.k, self.n_accelerators)
        if observation is None:
            return {
                "pairs": np.zeros((*shape, N_INPUTS), np.float32),
                "glob": np.zeros(len(GLOBAL_FEATURES), np.float32),
                "mask": np.zeros(shape, np.int8),
            }
        n_acc = observation.mask.shape[1]
        pairs = np.zeros((*shape, N_INPUTS), np.float32)
        pairs[:, :n_acc] = np.clip(observation.pairs, FEATURE_LOW, FEATURE_HIGH)
        mask = np.zeros(shape, np.int8)
        mask[:, :n_acc] = observation.mask
        return {
            "pairs": pairs,
            "glob": np.clip(observation.glob, FEATURE_LOW, FEATURE_HIGH),
            "mask": mask,
        }

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        info["action_mask"] = self._observation()["mask"].astype(bool)
        if self.expert is not None and self.view is not None and self.point.observation is not None:
            scores = -np.ones((self.k, self.n_accelerators), np.float32)
            expert = expert_scores(self.point.observation, self._expert_decision)
            scores[:, : expert.shape[1]] = expert
            info["expert_action"] = scores
        if self.view is None:
            info["sla_rate"] = self.sla_rate
            info["on_time"] = self.on_time
        return info
