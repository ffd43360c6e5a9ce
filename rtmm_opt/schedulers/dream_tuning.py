"""DREAM's online tuning of its MapScore weights (α, β) against UXCost (Kim et al., ASPLOS'23).

The paper adapts the weights at run time to lower UXCost but does not publish how; this is the
project's reconstruction (``docs/schedulers/dream.md``, "Online weight tuning"): a
finite-difference descent over adaptation windows of simulated time.

* **Windows.** A window stays open until ``window`` time units have passed *and* a job has
  ended in it (completed or dropped). Its UXCost is energy_mJ × missed/ended, over the ops that
  finished and the jobs that ended while it was open (the metric ``uxcost`` restricted to the
  window).
* **Cycles.** One adaptation cycle runs four windows around the trial weights θ: α + probe,
  α − probe, β + probe, β − probe (:data:`PROBES`). Their mean UXCost estimates the cost at θ
  (four windows average out some of the window-to-window noise); the central differences
  estimate the gradient.
* **Steps.** A trial whose mean cost is below the best so far is accepted and sets the descent
  direction −∇/|∇|; otherwise the step shrinks by ``step_shrink`` and the next trial
  backtracks from the best weights along the accepted direction. Once the step is below
  ``min_step`` the tuning has converged and the weights stay at the best ones. The weights stay
  in [0, ``max_weight``].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rtmm_opt.io.units import NJ_PER_MJ

# One adaptation cycle: four windows around the trial weights (name, Δα, Δβ in probes).
PROBES = (("alpha+", 1, 0), ("alpha-", -1, 0), ("beta+", 0, 1), ("beta-", 0, -1))


@dataclass(frozen=True)
class AdaptationWindow:
    """One closed adaptation window: the weights it ran with and the UXCost it measured.

    ``phase``: ``alpha+``, ``alpha-``, ``beta+``, ``beta-`` (the trial weights with α or β
    moved by the probe, :data:`PROBES`), or ``fixed`` (after convergence, or with ``adapt``
    off).
    ``uxcost`` = energy_mJ × missed/ended over the jobs that ended (completed or dropped) and
    the ops that finished while the window was open.
    """

    start: int
    end: int
    phase: str
    alpha: float
    beta: float
    energy_mJ: float
    ended: int
    missed: int
    uxcost: float


class WeightTuner:
    """The (α, β) of one replay, tuned window by window (the module docstring).

    Feed it what happens (:meth:`op_finished`, :meth:`job_ended`) and call :meth:`observe` at
    every decision; :attr:`weights` are the weights to score with. ``window`` is in the
    instance's time units; the other parameters are DREAM's of the same names. With ``adapt``
    false (or ``step < min_step``) the weights stay at ``(alpha, beta)`` and the windows are
    still recorded, as ``fixed``.
    """

    def __init__(
        self,
        alpha: float,
        beta: float,
        *,
        window: int,
        step: float,
        probe: float,
        step_shrink: float,
        min_step: float,
        max_weight: float,
        adapt: bool = True,
    ) -> None:
        self.window = window
        self.probe = probe
        self.step_shrink = step_shrink
        self.min_step = min_step
        self.max_weight = max_weight
        self.history: list[AdaptationWindow] = []  # every closed window
        # the open window
        self._window_start = 0
        self._energy_nj = 0
        self._ended = 0
        self._missed = 0
        # the descent
        self._trial = self._weights = (alpha, beta)
        self._best: tuple[float, float] | None = None
        self._best_cost: float | None = None
        self._direction: tuple[float, float] | None = None
        self._step = step
        self._phase = 0  # index into PROBES
        self._cycle_costs: list[float] = []
        self._cycle_weights: list[tuple[float, float]] = []
        self._converged = not adapt or step < min_step
        if not self._converged:
            self._weights = self._probe_weights()

    @property
    def weights(self) -> tuple[float, float]:
        """The (α, β) to use now (the probe weights while a cycle runs)."""
        return self._weights

    @property
    def converged(self) -> bool:
        """True once the step fell below ``min_step`` (or without adaptation)."""
        return self._converged

    # -- what happened ---------------------------------------------------------------------------
    def op_finished(self, energy_nj: int) -> None:
        """An op finished in the open window, having spent ``energy_nj``."""
        self._energy_nj += energy_nj

    def job_ended(self, *, missed: bool) -> None:
        """A job ended in the open window: completed (late or not) or dropped (missed)."""
        self._ended += 1
        self._missed += missed

    def add(self, energy_nj: int, ended: int, missed: int) -> None:
        """What a whole stretch of the open window spent and ended, at once (the compiled core
        keeps the window and hands it over when it closes, :mod:`rtmm_opt.engine.core`)."""
        self._energy_nj += energy_nj
        self._ended += ended
        self._missed += missed

    def observe(self, now: int) -> None:
        """Close the window once its time is up and a job ended in it; adapt (α, β)."""
        if now < self._window_start + self.window or self._ended == 0:
            return
        energy_mj = self._energy_nj / NJ_PER_MJ
        cost = energy_mj * self._missed / self._ended
        phase = "fixed" if self._converged else PROBES[self._phase][0]
        self.history.append(
            AdaptationWindow(
                start=self._window_start,
                end=now,
                phase=phase,
                alpha=self._weights[0],
                beta=self._weights[1],
                energy_mJ=energy_mj,
                ended=self._ended,
                missed=self._missed,
                uxcost=cost,
            )
        )
        self._window_start = now
        self._energy_nj = self._ended = self._missed = 0
        if self._converged:
            return
        self._cycle_costs.append(cost)
        self._cycle_weights.append(self._weights)
        self._phase += 1
        if self._phase == len(PROBES):
            self._phase = 0
            self._end_cycle()
        self._weights = self._trial if self._converged else self._probe_weights()

    # -- the descent -----------------------------------------------------------------------------
    def _probe_weights(self) -> tuple[float, float]:
        _, d_alpha, d_beta = PROBES[self._phase]
        return (
            _clip(self._trial[0] + d_alpha * self.probe, self.max_weight),
            _clip(self._trial[1] + d_beta * self.probe, self.max_weight),
        )

    def _end_cycle(self) -> None:
        """One adaptation step: accept or backtrack, then move along the estimated gradient
        (the module docstring)."""
        costs, used = self._cycle_costs, self._cycle_weights
        self._cycle_costs, self._cycle_weights = [], []
        mean_cost = math.fsum(costs) / len(costs)
        if self._best_cost is None or mean_cost < self._best_cost:
            self._best, self._best_cost = self._trial, mean_cost
            gradient = []
            for coordinate, (up, down) in enumerate(((0, 1), (2, 3))):
                span = used[up][coordinate] - used[down][coordinate]  # less at a clipped bound
                gradient.append((costs[up] - costs[down]) / span if span > 0 else 0.0)
            norm = math.hypot(*gradient)
            self._direction = (-gradient[0] / norm, -gradient[1] / norm) if norm > 0 else None
            if self._direction is None:
                self._step *= self.step_shrink  # flat here: nothing to follow
        else:
            self._step *= self.step_shrink
        assert self._best is not None
        if self._step < self.min_step:
            self._converged = True
            self._trial = self._best
            return
        if self._direction is None:
            self._trial = self._best
        else:
            self._trial = (
                _clip(self._best[0] + self._step * self._direction[0], self.max_weight),
                _clip(self._best[1] + self._step * self._direction[1], self.max_weight),
            )


def _clip(value: float, upper: float) -> float:
    return min(upper, max(0.0, value))
