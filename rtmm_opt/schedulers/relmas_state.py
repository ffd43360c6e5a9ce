"""What RELMAS sees and how its scores become a decision (numpy only; docs/schedulers/relmas.md).

At a decision point the :class:`Encoder` turns the :class:`~rtmm_opt.engine.contract.View` into a
fixed-size :class:`Observation`:

* **candidates**: up to ``k`` ready ops that are eligible on an idle accelerator, least slack
  first (slack below); slot ``i`` of every array is candidate ``i``, empty slots are masked;
* ``pairs[i, a]``: :data:`PAIR_FEATURES` of candidate ``i`` on accelerator ``a`` (its predicted
  latency c(m,i,s), its DRAM bandwidth need b(m,i,s), its slowdown and energy against its best
  accelerator, its slack if it ran there now) followed by :data:`CANDIDATE_FEATURES` (slack now,
  slack if it waited for its fastest accelerator, priority, time waited, work left);
* ``glob``: :data:`GLOBAL_FEATURES`, the system's state (queue lengths, idle accelerators, DRAM
  bandwidth in use, jobs already behind their deadline, the work queued against the capacity);
* ``mask[i, a]``: 1 where candidate ``i`` may start on accelerator ``a`` now (idle, eligible).

Every time is divided by the job's *relative deadline* (its deadline minus its release), so the
same policy reads model-, block- and layer-granularity instances and any trace length; slacks
are clipped to [−2, 2]. A job's remaining work counts each unfinished op of its variant at its
shortest predicted duration.

:func:`decode` turns one score per pair (the actor's output, in [−1, 1]) into a legal
:class:`~rtmm_opt.engine.contract.Decision`: pairs are taken greedily in decreasing score while
their score is positive, each op and accelerator once. A negative score holds the op back (to
wait for a better accelerator); if nothing would then be running at all, the best-scored legal
pair is dispatched anyway, so a replay never stalls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtmm_opt.engine.contract import Decision, StaticInfo, View
from rtmm_opt.schedulers.base import JOB_GONE, OP_DONE, RELEASED, task_priorities

PAIR_FEATURES = (
    "latency",  # c(m,i,s) / relative deadline
    "slowdown",  # log2(c(m,i,s) / c on the op's fastest accelerator), / 4, clipped to [0, 1]
    "slack_if_run_here",  # (deadline − now − c − other remaining work) / relative deadline
    "bandwidth_need",  # b(m,i,s): DRAM bytes / c / DRAM bandwidth, clipped to [0, 2]
    "energy_excess",  # energy / the op's lowest energy − 1, / 4, clipped to [0, 1]
)
CANDIDATE_FEATURES = (
    "slack",  # (deadline − now − remaining work) / relative deadline
    "slack_if_waiting",  # as slack, starting when the op's fastest accelerator frees
    "priority",  # task priority / the highest task priority
    "waited",  # (now − end of the job's last op or its release) / relative deadline, ≤ 2
    "work_left",  # remaining work / the job's whole work
)
GLOBAL_FEATURES = (
    "active_jobs",  # released, unfinished jobs / 32, ≤ 2
    "ready_ops",  # ready ops / 32, ≤ 2
    "idle_accelerators",  # idle accelerators / accelerators
    "bandwidth_in_use",  # Σ bandwidth need of running ops / DRAM bandwidth, ≤ 2
    "late_jobs",  # share of active jobs with negative slack
    "queued_work",  # Σ remaining work of active jobs / (accelerators × mean relative deadline), ≤ 4
)
N_INPUTS = len(PAIR_FEATURES) + len(CANDIDATE_FEATURES)
# Indices zeroed by the "no bandwidth features" ablation.
BANDWIDTH_PAIR = PAIR_FEATURES.index("bandwidth_need")
BANDWIDTH_GLOBAL = GLOBAL_FEATURES.index("bandwidth_in_use")
SLACK_CLIP = 2.0


@dataclass
class Observation:
    """One decision point, encoded (see the module docstring)."""

    pairs: np.ndarray  # (k, accelerators, N_INPUTS) float32
    glob: np.ndarray  # (len(GLOBAL_FEATURES),) float32
    mask: np.ndarray  # (k, accelerators) bool
    candidates: list[int]  # the candidates' ops, slot order


class Encoder:
    """Encodes Views for one replay at a time: :meth:`reset` per instance, then :meth:`encode` at
    every decision point (it reads the View's notices, so it must see every decision point)."""

    def __init__(self, k: int = 8, bandwidth: bool = True) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = k
        self.bandwidth = bandwidth

    def reset(self, static: StaticInfo) -> None:
        self.static = static
        predicted = static.op_predicted
        eligible = predicted >= 0
        n_acc = predicted.shape[1]
        self.n_accelerators = n_acc
        latency = np.where(eligible, predicted, 0).astype(np.float64)
        masked = np.where(eligible, predicted, np.iinfo(np.int64).max)
        fastest = masked.min(axis=1)
        fastest_f = np.maximum(fastest.astype(np.float64), 1.0)
        self.fastest_acc_list = masked.argmin(axis=1).tolist()
        self.fastest = fastest.tolist()
        self.eligible = eligible
        with np.errstate(divide="ignore", invalid="ignore"):
            slowdown = np.log2(np.maximum(latency, 1.0) / fastest_f[:, None]) / 4.0
        slowdown = np.clip(np.where(eligible, slowdown, 1.0), 0.0, 1.0)
        energy = static.op_energy.astype(np.float64)
        lowest = np.maximum(np.where(eligible, energy, np.inf).min(axis=1), 1e-9)
        energy_excess = np.clip((energy / lowest[:, None] - 1.0) / 4.0, 0.0, 1.0)
        bandwidth = float(static.dram_bandwidth)
        if bandwidth > 0 and self.bandwidth:
            need = static.op_dram_bytes / np.maximum(latency, 1.0) / bandwidth
            need = np.clip(np.where(eligible, need, 0.0), 0.0, 2.0)
        else:
            need = np.zeros_like(latency)
        self.need_rows = need.tolist()
        # per op and accelerator: latency, slowdown, bandwidth need, energy excess (one gather)
        self.op_static = np.stack([latency, slowdown, need, energy_excess], axis=-1)
        self.predicted_rows = static.predicted_rows
        release = static.job_release.astype(np.int64)
        self.rel_deadline = np.maximum(static.job_deadline - release, 1).astype(float).tolist()
        self.mean_rel_deadline = float(np.mean(self.rel_deadline)) if self.rel_deadline else 1.0
        priorities = task_priorities(static)
        top = max(priorities, default=1) or 1
        self.priority = [p / top for p in priorities]
        self.deadline = static.job_deadline_list
        self.op_job = static.op_job_list
        self.op_variant = static.op_variant.tolist()
        self.offsets = static.job_op_offsets.tolist()
        self.remaining: dict[int, int] = {}
        self.total: dict[int, int] = {}

    def _variant_work(self, view: View, job: int) -> int:
        variant = view.job_variant(job)
        fastest, op_variant = self.fastest, self.op_variant
        return sum(
            fastest[op]
            for op in range(self.offsets[job], self.offsets[job + 1])
            if op_variant[op] == variant
        )

    def observe(self, view: View) -> None:
        """Take in the notices since the last decision point (remaining work per job)."""
        remaining, fastest = self.remaining, self.fastest
        for kind, item in view.notices:
            if kind == RELEASED:
                work = self._variant_work(view, item)
                remaining[item] = work
                self.total[item] = work
            elif kind == OP_DONE:
                job = self.op_job[item]
                if job in remaining:
                    remaining[job] -= fastest[item]
            elif kind in JOB_GONE:
                remaining.pop(item, None)
                self.total.pop(item, None)

    def idle_row(self, idle: list[int]) -> np.ndarray:
        row = np.zeros(self.n_accelerators, bool)
        row[idle] = True
        return row

    def encode(self, view: View) -> Observation:
        """The observation of this decision point (call :meth:`observe` first)."""
        now = view.now
        n_acc, k = self.n_accelerators, self.k
        idle = view.idle_accelerators
        running = [view.running_op(a) for a in range(n_acc)]
        # when each accelerator is predicted to be free (its running op's start + prediction)
        free_at = [
            now if op < 0 else max(now, view.op_start(op) + self.predicted_rows[op][a])
            for a, op in enumerate(running)
        ]
        rows, op_job, remaining = self.predicted_rows, self.op_job, self.remaining
        deadline, rel = self.deadline, self.rel_deadline
        scored: list[tuple[float, int]] = []
        n_ready = 0
        for op in view.ready_ops:
            n_ready += 1
            row = rows[op]
            if not any(row[a] >= 0 for a in idle):
                continue
            job = op_job[op]
            scored.append(((deadline[job] - now - remaining.get(job, 0)) / rel[job], op))
        scored.sort()
        candidates = [op for _, op in scored[:k]]
        pairs = np.zeros((k, n_acc, N_INPUTS), np.float32)
        mask = np.zeros((k, n_acc), bool)
        if candidates:
            c = len(candidates)
            block = pairs[:c]
            static = self.op_static[candidates]  # (c, accelerators, 4)
            latency = static[..., 0]
            fastest, fastest_acc, priority = self.fastest, self.fastest_acc_list, self.priority
            last_progress, total = view.job_last_progress, self.total
            d_list: list[float] = []
            base: list[float] = []
            cand: list[tuple[float, float, float, float, float]] = []
            for op in candidates:
                job = op_job[op]
                d = rel[job]
                work = remaining.get(job, 0)
                left = deadline[job] - now - work
                waiting = deadline[job] - free_at[fastest_acc[op]] - work
                d_list.append(d)
                # running here instead of at best speed: the other remaining work is unchanged
                base.append(float(left + fastest[op]))
                cand.append((
                    min(max(left / d, -SLACK_CLIP), SLACK_CLIP),
                    min(max(waiting / d, -SLACK_CLIP), SLACK_CLIP),
                    priority[job],
                    min((now - last_progress(job)) / d, 2.0),
                    work / max(total.get(job, 1), 1),
                ))  # fmt: skip
            d_col = np.array(d_list)[:, None]
            block[..., 0] = latency / d_col
            block[..., 1:2] = static[..., 1:2]
            block[..., 2] = (np.array(base)[:, None] - latency) / d_col
            block[..., 3:5] = static[..., 2:4]
            block[..., len(PAIR_FEATURES) :] = np.array(cand)[:, None, :]
            slack = block[..., 2]
            np.maximum(slack, -SLACK_CLIP, out=slack)
            np.minimum(slack, SLACK_CLIP, out=slack)
            np.minimum(block[..., 0], 4.0, out=block[..., 0])
            mask[:c] = self.eligible[candidates] & self.idle_row(idle)
        glob = np.zeros(len(GLOBAL_FEATURES), np.float32)
        n_active = len(remaining)
        glob[0] = min(n_active / 32, 2.0)
        glob[1] = min(n_ready / 32, 2.0)
        glob[2] = len(idle) / n_acc
        glob[3] = min(sum(self.need_rows[op][a] for a, op in enumerate(running) if op >= 0), 2.0)
        if n_active:
            late = sum(1 for j, w in remaining.items() if deadline[j] - now < w)
            glob[4] = late / n_active
            glob[5] = min(sum(remaining.values()) / (n_acc * self.mean_rel_deadline), 4.0)
        return Observation(pairs, glob, mask, candidates)


def decode(observation: Observation, scores: np.ndarray, view: View) -> Decision:
    """The legal decision that ``scores`` (one per pair, shape ``(k, accelerators)``) stand for
    (the module docstring): positive pairs greedily by score, each op and accelerator once; if
    nothing would be running, the best legal pair regardless of its score."""
    decision = Decision()
    mask = observation.mask
    if not mask.any():
        return decision
    masked = np.where(mask, scores, -np.inf)
    order = np.argsort(-masked, axis=None, kind="stable")
    n_acc = mask.shape[1]
    used_ops: set[int] = set()
    used_accs: set[int] = set()
    candidates = observation.candidates
    for flat in order.tolist():
        value = masked.flat[flat]
        if value <= 0.0:
            break
        slot, acc = divmod(flat, n_acc)
        if slot in used_ops or acc in used_accs:
            continue
        used_ops.add(slot)
        used_accs.add(acc)
        decision.dispatches.append((candidates[slot], acc))
    if not decision.dispatches and all(view.running_op(a) < 0 for a in range(view.n_accelerators)):
        slot, acc = divmod(int(order[0]), n_acc)
        decision.dispatches.append((candidates[slot], acc))
    return decision


def expert_scores(observation: Observation, decision: Decision | None) -> np.ndarray:
    """Scores that :func:`decode` turns back into ``decision``'s dispatches among the candidates:
    +1 on each dispatched pair, −1 elsewhere (dispatches of ops that are not candidates, drops,
    variants and wake-ups are not representable and are left out)."""
    scores = -np.ones(observation.mask.shape, np.float32)
    if decision is None:
        return scores
    slot_of = {op: slot for slot, op in enumerate(observation.candidates)}
    for op, acc in decision.dispatches:
        slot = slot_of.get(op)
        if slot is not None:
            scores[slot, acc] = 1.0
    return scores
