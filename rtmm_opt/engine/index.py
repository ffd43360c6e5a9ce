"""Index rules: a decision contract that lets :func:`~rtmm_opt.engine.loop.replay` run a policy
without calling it at every decision point.

Many online policies decide by an *index*: every ready op gets a key when it becomes ready,
the key does not change until the op runs, and idle accelerators take the ready ops with the
smallest keys (FCFS and EDF: :class:`~rtmm_opt.schedulers.base.ReadyHeapPolicy`). Such a policy's
choice stays the same until something is released or completes, so the engine can keep the
ready queue itself and dispatch a job's next op without building a
:class:`~rtmm_opt.engine.contract.View`, a :class:`~rtmm_opt.engine.contract.Decision` or the
notices for the policy.

A policy declares this by returning an :class:`IndexRule` from ``index_rule()`` (called after
``reset``; None means "call ``decide`` as usual"). The rule must describe exactly what its
``decide`` does, so that both paths give the same schedule, bit for bit; the scheduler matrix
tests replay every such policy both ways. The engine applies a rule when the instance's loop is
the plain event heap (no ``compat`` mode, no context switches, no contention); otherwise, and
for every other driver of the engine (:meth:`Engine.step`, RL environments), the policy's
``decide`` runs.

At a decision point the engine does what :meth:`ReadyHeapPolicy.fill` does: ops that became
ready are queued under ``(*job_key(job, release), op)`` with ``release`` the job's effective
release (``View.job_release``); while an accelerator is idle, the smallest key is taken; an op
no longer ready is discarded; an op that ``place`` puts nowhere (-1: eligible on no idle
accelerator) waits for the next decision point; otherwise it is dispatched to ``place(op,
idle)`` and that accelerator leaves ``idle``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class IndexRule:
    """What an index policy decides, for the engine to apply (the module docstring).

    ``job_key(job, release)``: the key of the job's ops, fixed from the job's release to its
    end (the op is appended to it). ``op_rank``: if given, a number per op put before the job's
    key (an op's key is then ``(op_rank[op], *job_key(job, release), op)``); it must not grow
    from an op to its successor, so that a running job's next op keeps its place (SJF's
    remaining work). ``place(op, idle)``: the idle accelerator that ``op`` goes to, or -1;
    ``idle`` lists the idle accelerators, lowest index first, and must not be changed; with one
    idle accelerator it must be that accelerator exactly when the op's predicted duration
    there is not negative (every rule of ``choose_accelerator`` does so).
    """

    job_key: Callable[[int, int], tuple[int, ...]]
    place: Callable[[int, list[int]], int]
    op_rank: Sequence[int] | None = None
