"""Shared DRAM bandwidth: MAGMA's proportional-share contention model as a fluid simulation.

Source: Kao & Krishna, "MAGMA: An Optimization Framework for Mapping Multiple DNNs on
Multi-Accelerator Cores", HPCA 2022 (§IV, the system bandwidth is shared among the concurrently
running sub-accelerators in proportion to their bandwidth requirements).

The model, in the instance's integer time units:

* op ``o`` on accelerator ``a`` moves ``B = op_dram_bytes[o, a]`` bytes and, running alone, takes
  ``D = op_duration[o, a]``; its bandwidth demand is ``b = B / D`` (bytes per time unit);
* while a set of ops runs together with total demand ``Σb`` above ``settings.dram_bandwidth``
  (``BW``), each op that needs DRAM (``b > 0``) progresses at ``BW / Σb`` of its nominal rate;
  below the bandwidth, and for ops with ``b = 0`` (they need none of the shared resource), the
  rate is 1;
* rates are piecewise constant: they change only when an op starts or ends, so the simulation
  steps from event to event (starts are given; ends are found as it goes);
* an op leaves the shared bandwidth at its exact (real-valued) end ``e``; its recorded end time
  is rounded up to a whole time unit: ``end = max(start + D, ceil(e - slack))`` with
  ``slack = 1e-12 * max(1, e)``. The slack absorbs floating-point noise, so an op whose exact
  end is an integer is not pushed one unit later; stretching never shortens an op, hence the
  ``max``. For the same reason an op whose exact end lies within the slack of an integer time
  ``t`` counts as finished at ``t``, before anything that starts at ``t`` (``check_time``).
  Without contention every rate is exactly 1 and ``end = start + D`` exactly.

:class:`BandwidthShare` is the incremental form, for the engine: ops are started in time order
and ends are collected as time advances. :func:`stretched_ends` is the batch form, for the
validator: it feeds every executed op of a schedule through a :class:`BandwidthShare`. The
state changes only at start and end events (asking for the ends up to a time does not advance
the clock past the last event), and the total demand is summed exactly (``math.fsum``), so an
engine that starts the same ops at the same times gets bit-identical ends, whatever the order of
its calls for simultaneous starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtmm_opt.instance.instance import Instance, IntArray

# Relative tolerance when rounding an exact end up to a whole time unit (see the module docstring).
ROUNDING_SLACK = 1e-12


def slack(time: float) -> float:
    """Floating-point noise tolerated around ``time`` (see the module docstring)."""
    return ROUNDING_SLACK * max(1.0, abs(time))


def round_end(exact_end: float, start: int, duration: int) -> int:
    """The recorded (integer) end of an op whose exact end is ``exact_end``."""
    return max(start + duration, math.ceil(exact_end - slack(exact_end)))


def check_time(exact_end: float) -> int:
    """The first integer time at which an op with this exact end counts as finished: the time
    an event-driven caller should look again (``finish_until`` at that time returns it)."""
    return math.ceil(exact_end - slack(exact_end))


@dataclass
class _Running:
    start: int
    duration: int
    remaining: float  # nominal time units of work left (``duration`` at the start)
    demand: float  # bytes per time unit when running at the nominal rate


class BandwidthShare:
    """The running ops and their progress under proportional bandwidth sharing.

    Use: call :meth:`start` for every op in non-decreasing start time; before each start, and
    whenever the caller wants to know what has finished by a time ``t``, call
    :meth:`finish_until` ``(t)``. :meth:`next_end` tells when the next op would end if nothing
    else starts before.
    """

    def __init__(self, bandwidth: float) -> None:
        if not (bandwidth > 0 and math.isfinite(bandwidth)):
            raise ValueError(f"bandwidth must be positive and finite, got {bandwidth}")
        self.bandwidth = float(bandwidth)
        self.now = -math.inf  # time of the last start or end event
        self._running: dict[int, _Running] = {}
        self._factor = 1.0  # progress rate of ops with demand > 0

    @property
    def running(self) -> tuple[int, ...]:
        return tuple(self._running)

    def _rate(self, op: _Running) -> float:
        return self._factor if op.demand > 0 else 1.0

    def _update_factor(self) -> None:
        total = math.fsum(op.demand for op in self._running.values())
        self._factor = 1.0 if total <= self.bandwidth else self.bandwidth / total

    def _advance(self, time: float) -> None:
        if not self._running:
            self.now = max(self.now, time)
            return
        step = time - self.now
        if step > 0:
            for op in self._running.values():
                op.remaining -= self._rate(op) * step
            self.now = time

    def _exact_ends(self) -> dict[int, float]:
        return {key: self.now + op.remaining / self._rate(op) for key, op in self._running.items()}

    def next_end(self) -> float | None:
        """The exact time at which the next running op ends, if nothing starts before it."""
        ends = self._exact_ends()
        return min(ends.values()) if ends else None

    def finish_until(self, time: float) -> list[tuple[int, int]]:
        """Advance through every end at or before ``time``; return ``(op, integer end)`` pairs.

        Ops are returned in order of their exact end, ties by op key. The clock moves only to
        those ends, never to ``time`` itself.
        """
        finished: list[tuple[int, int]] = []
        while self._running:
            ends = self._exact_ends()
            first = min(ends.values())
            if first > time + slack(time):  # ends within the noise of ``time`` count as done
                break
            done = sorted(key for key, end in ends.items() if end == first)
            self._advance(first)
            for key in done:
                op = self._running.pop(key)
                finished.append((key, round_end(first, op.start, op.duration)))
            self._update_factor()
        return finished

    def finish_all(self) -> list[tuple[int, int]]:
        """Run every op to its end (nothing else starts)."""
        return self.finish_until(math.inf)

    def start(self, key: int, time: int, duration: int, dram_bytes: int) -> None:
        """Start op ``key`` at integer ``time``; ends at or before ``time`` are processed first.

        The caller collects those ends with :meth:`finish_until` before starting (otherwise
        they are lost): starting with unfinished earlier ends raises ``ValueError``.
        """
        if time < self.now - slack(self.now):
            raise ValueError(f"op {key} starts at {time}, before the last event at {self.now}")
        if duration < 1:
            raise ValueError(f"op {key} has duration {duration}; it must be at least 1")
        pending = self.next_end()
        if pending is not None and pending <= time + slack(time):
            raise ValueError(
                f"collect the ends up to {time} with finish_until before starting op {key}"
            )
        if key in self._running:
            raise ValueError(f"op {key} is already running")
        self._advance(float(time))
        self._running[key] = _Running(time, duration, float(duration), dram_bytes / duration)
        self._update_factor()


def stretched_ends(
    instance: Instance,
    op_accelerator: IntArray,
    op_start: IntArray,
    *,
    bandwidth: float | None = None,
) -> IntArray:
    """Every executed op's integer end under bandwidth contention (-1 for ops that did not run).

    ``op_accelerator[o] >= 0`` marks op ``o`` as executed there, starting at ``op_start[o]``;
    every executed op must be eligible on its accelerator. Without ``settings.contention`` (and
    no explicit ``bandwidth``) this is simply ``start + op_duration``. The rules, including the
    rounding, are in the module docstring.
    """
    op_accelerator = np.asarray(op_accelerator, dtype=np.int64)
    op_start = np.asarray(op_start, dtype=np.int64)
    executed = np.flatnonzero(op_accelerator >= 0)
    duration = instance.op_duration[executed, op_accelerator[executed]]
    if np.any(duration < 1):
        bad = int(executed[np.flatnonzero(duration < 1)[0]])
        raise ValueError(f"op {bad} is not eligible on accelerator {int(op_accelerator[bad])}")
    ends = np.full(instance.n_ops, -1, dtype=np.int64)
    if bandwidth is None:
        if not instance.settings.contention:
            ends[executed] = op_start[executed] + duration
            return ends
        bandwidth = instance.settings.dram_bandwidth
    dram_bytes = instance.op_dram_bytes[executed, op_accelerator[executed]]
    order = np.lexsort((executed, op_start[executed]))
    share = BandwidthShare(bandwidth)
    starts, durations, volumes, ops = (
        op_start[executed][order].tolist(),
        duration[order].tolist(),
        dram_bytes[order].tolist(),
        executed[order].tolist(),
    )
    for op, start, length, volume in zip(ops, starts, durations, volumes, strict=True):
        for done, end in share.finish_until(start):
            ends[done] = end
        share.start(op, start, length, volume)
    for done, end in share.finish_all():
        ends[done] = end
    return ends
