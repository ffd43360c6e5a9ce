"""Herald's layer scheduler as an online policy (Kwon, Lai, Pellauer, Krishna, Chen, Chandra,
"Heterogeneous Dataflow Accelerators for Multi-DNN Workloads", HPCA 2021; earlier as
arXiv:1909.07437, "HERALD: Optimizing Heterogeneous DNN Accelerators for Edge Devices").
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from rtmm_opt.engine.contract import Decision, Policy, StaticInfo, View
from rtmm_opt.errors import excerpt
from rtmm_opt.schedulers.base import OP_READY, task_priorities
from rtmm_opt.schedulers.registry import register

OBJECTIVES = ("latency", "edp")
ORDERS = ("release", "priority")


@register("herald")
@dataclass
class Herald(Policy):
    """Dependency-aware greedy: each ready op, in order, to the accelerator that minimises its
    predicted finish time (``objective: latency``) or its energy-delay product (``edp``).

    Herald plans every layer of a frame ahead, assigning each to the heterogeneous
    sub-accelerator that suits it best while respecting layer dependences. Online, only idle
    accelerators can take an op now, so an op may **wait** for a busy accelerator that would
    finish it sooner: with F(a) the predicted time accelerator a is free (now if idle, else the
    predicted end of its running op, at least now) and D(a) the op's predicted duration there,

    * ``latency``: cost(a) = F(a) + D(a) − t, the predicted finish measured from now;
    * ``edp``: cost(a) = E(a) · (F(a) + D(a) − t), the op's energy times that delay (for an
      idle accelerator the layer's own EDP).

    The op takes the accelerator of least cost (ties: earlier finish, then an idle accelerator,
    then the lower index). If that accelerator is idle the op is dispatched; if it is busy the
    op stays queued — the policy is not work-conserving — and its predicted duration is added to
    that accelerator's F for the ops considered after it in the same decision, so later ops do
    not all queue behind it. The op is reconsidered at the next decision (at the latest when the
    busy accelerator finishes). ``wait: false`` considers idle accelerators only.

    Ready ops are taken in ``order``: ``release`` (default: job release, then job index, then op
    index — frames are planned in arrival order, each in topological order) or ``priority``
    (higher task priority first, then as ``release``). Predictions only: context-switch reloads
    and bandwidth contention are not foreseen.
    """

    objective: str = "latency"
    order: str = "release"
    wait: bool = True

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {', '.join(OBJECTIVES)}, got {excerpt(self.objective)}"
            )
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {', '.join(ORDERS)}, got {excerpt(self.order)}")
        if not isinstance(self.wait, bool):
            raise ValueError(f"wait must be true or false, got {excerpt(self.wait)}")

    def reset(self, static: StaticInfo) -> None:
        self._heap: list[tuple[int, ...]] = []  # ready ops by (order key..., op)
        self._busy_until = [0] * len(static.accelerators)  # predicted end of the running op
        self._rows = static.predicted_rows
        self._energy: list[list[int]] = static.op_energy.tolist()
        self._op_job = static.op_job_list
        self._priority = task_priorities(static)

    def _key(self, view: View, op: int) -> tuple[int, ...]:
        job = self._op_job[op]
        if self.order == "priority":
            return (-self._priority[job], view.job_release(job), job, op)
        return (view.job_release(job), job, op)

    def decide(self, view: View) -> Decision | None:
        heap = self._heap
        for kind, item in view.notices:
            if kind == OP_READY:
                heapq.heappush(heap, self._key(view, item))
        idle = view.idle_accelerators
        if not idle or not heap:
            return None
        now, busy_until = view.now, self._busy_until
        is_idle = [False] * len(busy_until)
        for acc in idle:
            is_idle[acc] = True
        free_at = [now if is_idle[acc] else max(now, end) for acc, end in enumerate(busy_until)]
        edp = self.objective == "edp"
        decision = Decision()
        queued: list[tuple[int, ...]] = []
        while heap and idle:
            entry = heapq.heappop(heap)
            op = entry[-1]
            if not view.is_ready(op):
                continue  # stale: its job was dropped or finished early
            row = self._rows[op]
            best, best_key = -1, None
            for acc, duration in enumerate(row):
                if duration < 0 or not (self.wait or is_idle[acc]):
                    continue
                finish = free_at[acc] + duration
                delay = finish - now
                cost = self._energy[op][acc] * delay if edp else delay
                key = (cost, finish, not is_idle[acc], acc)
                if best_key is None or key < best_key:
                    best, best_key = acc, key
            if best < 0:
                queued.append(entry)  # eligible nowhere it may go now
                continue
            free_at[best] += row[best]
            if is_idle[best]:
                decision.dispatches.append((op, best))
                is_idle[best] = False
                idle.remove(best)
                busy_until[best] = now + row[best]
            else:
                queued.append(entry)  # waits for the faster busy accelerator
        for entry in queued:
            heapq.heappush(heap, entry)
        return decision
