"""The CP-SAT model of an Instance: exactly the problem the engine replays, offline.

Two formulations share the variables and constraints below (docs/oracle.md proves each step):

* ``direct``: every job completes or is dropped, and ``late[j] ⇔ finish[j] > deadline[j]`` is
  reified both ways. It serves every objective.
* ``selection``, for the pure ``misses`` objective: the model chooses which jobs run *on time*
  (``late[j]`` = not on time). A job that is not on time leaves the model (its intervals are
  absent) unless an on-time cascaded dependent needs it. After solving, the left-out jobs are
  appended after everything else (``drops: never``) or dropped (``drops: allowed``): a late job
  costs its weight wherever it runs, so it need not compete for the accelerators. The optimum
  of this model equals the optimum of the instance, under either drop setting.

Variables (PyJobShop's split: variables, constraints, objective, assembled by one class):

* ``completed[j]``: job j runs inside the model's schedule. ``direct``: it completes
  (``drops: never`` fixes it to 1); a dropped job uses no resources. ``selection``: it is
  scheduled; the others are appended or dropped by :meth:`OracleModel.extract`. Either way,
  ``completed[j] ⇒ completed[u]`` for every upstream u (dropping a job drops its dependents).
* ``variant[j][k]``: job j runs variant k; exactly one when it completes, none otherwise.
* For each op o that is **required** for its variant (all its ops, or the realised early exit
  op and its ancestors; the oracle knows the realised trace) and each eligible accelerator a: a
  presence literal ``runs[o, a]`` and an optional fixed-size interval of the realised duration.
  Exactly one ``runs[o, a]`` is true iff the op's variant runs. ``start[o]`` and ``end[o]`` are
  shared by the alternatives: end = start + Σ_a duration[o, a]·runs[o, a]. An op that does not
  run sits at its earliest start, so every solution has one representation.
* ``finish[j]``: the job's completion, the latest end of its required ops; a job that does not
  run "finishes" at its release (``direct``), so it is never late and has no tardiness.

Constraints:

* releases: every op starts at or after its job's release; a cascaded job's ops start at or after
  the finish of each upstream job (the engine releases it then);
* precedence inside a job's DAG;
* one op at a time per accelerator: NoOverlap over the accelerator's optional intervals. With
  context switches on an accelerator whose eligible ops need more than one context, a circuit
  (``add_circuit``) orders its ops instead and adds the reload time between ops of different
  contexts (the first op loads for free, as in the engine and the validator). Arc variables are
  made only for those accelerators;
* shared bandwidth (``settings.contention``): a cumulative constraint over all accelerators in
  which each op demands bytes/duration and the capacity is ``dram_bandwidth``. Schedules that
  satisfy it never oversubscribe the DRAM, so under the engine's proportional-share model their
  ops are never stretched and their nominal durations are exact. The oracle therefore searches a
  subset of the schedules the engine can produce. Its incumbent is valid, but its bound is a
  bound only for that subset (docs/oracle.md);
* ``direct``: ``late[j] ⇔ finish[j] > deadline[j]`` for completed jobs, reified in both
  directions; ``selection``: on time ⇒ finish ≤ deadline.

Unless ``naive``, the model is tightened without cutting any optimal solution (docs/oracle.md):
time windows per op from releases, cascades and fastest durations (an on-time job's op cannot
start after its deadline minus the fastest rest of its job), jobs that miss even alone are
fixed late, and interchangeable jobs (same task, release, deadline, weight, ops and upstream, no
dependents) are ordered. ``naive`` builds the textbook model: optional intervals, domains
[release, horizon], nothing else.

A model may cover a subset of the jobs (``jobs``), with earlier decisions fixed (``frozen``):
the rolling horizon (:mod:`rtmm_opt.oracle.horizon`) and the decomposition bound
(:mod:`rtmm_opt.oracle.relaxation`) use that.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from rtmm_opt.errors import excerpt
from rtmm_opt.instance.instance import Instance, IntArray
from rtmm_opt.schedule.schedule import JobStatus, Schedule

IntVar = cp_model.IntVar
Literal = cp_model.IntVar
FORMULATIONS = ("direct", "selection")
DEMAND_SCALE = 1000  # contention demands in milli-bytes per time unit, rounded up (conservative)


@dataclass
class OracleVariables:
    """Every decision variable, indexed like the instance (jobs outside the model: constants)."""

    completed: list[Literal] = field(default_factory=list)
    variant: list[list[Literal]] = field(default_factory=list)
    late: list[Any] = field(default_factory=list)  # a literal, or its negation (selection)
    finish: list[IntVar] = field(default_factory=list)
    start: dict[int, IntVar] = field(default_factory=dict)  # required ops only
    end: dict[int, IntVar] = field(default_factory=dict)
    runs: dict[int, dict[int, Literal]] = field(default_factory=dict)  # op -> acc -> literal
    intervals: dict[int, list[tuple[int, cp_model.IntervalVar]]] = field(default_factory=dict)
    arcs: list[tuple[int, int, int, Literal]] = field(default_factory=list)  # (acc, from, to, lit)


# -- time windows ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeWindows:
    """Bounds every schedule obeys, from releases, cascades and fastest durations.

    ``effective_release[j]``: j's release, or later if an upstream job cannot finish by then.
    ``earliest_finish[j]``: effective release + the fastest critical path of j's required ops
    (the smallest over variants). ``earliest_start[o]``: the effective release + the fastest path
    to o; ``tail[o]``: o's fastest duration + the fastest path after it, inside its variant's
    required ops. ``useful_deadline[j]``: the latest deadline of j and its cascaded descendants
    (past it, finishing j helps no on-time job).
    """

    effective_release: IntArray
    earliest_finish: IntArray
    earliest_start: IntArray
    tail: IntArray
    useful_deadline: IntArray
    fastest: IntArray

    @classmethod
    def of(cls, instance: Instance) -> TimeWindows:
        n_jobs, n_ops = instance.n_jobs, instance.n_ops
        durations = instance.op_duration
        fastest = np.where(durations >= 0, durations, np.iinfo(np.int64).max).min(axis=1).tolist()
        preds = [instance.preds_of(op).tolist() for op in range(n_ops)]
        release = instance.job_release.tolist()
        effective = list(release)
        earliest_finish = list(release)
        earliest_start = [0] * n_ops
        tail = list(fastest)
        for job in range(n_jobs):
            for up in instance.upstream_of(job).tolist():
                effective[job] = max(effective[job], earliest_finish[up])
            best = None
            for k in range(_n_variants(instance, job)):
                ops = instance.required_ops(job, k)
                if not ops:
                    continue
                members = set(ops)
                finish: dict[int, int] = {}
                for op in ops:
                    ready = max((finish[p] for p in preds[op] if p in finish), default=0)
                    earliest_start[op] = effective[job] + ready
                    finish[op] = ready + fastest[op]
                successors: dict[int, list[int]] = {op: [] for op in ops}
                for op in ops:
                    for p in preds[op]:
                        if p in members:
                            successors[p].append(op)
                for op in reversed(ops):
                    tail[op] = fastest[op] + max((tail[s] for s in successors[op]), default=0)
                length = max(finish.values())
                best = length if best is None else min(best, length)
            earliest_finish[job] = effective[job] + (best or 0)
            for op in instance.ops_of(job):
                if earliest_start[op] < effective[job]:
                    earliest_start[op] = effective[job]
        useful = instance.job_deadline.tolist()
        downstream = instance.job_downstream
        for job in range(n_jobs - 1, -1, -1):  # dependents come later in the job list
            for down in downstream[job]:
                useful[job] = max(useful[job], useful[down])
        return cls(
            effective_release=np.asarray(effective, np.int64),
            earliest_finish=np.asarray(earliest_finish, np.int64),
            earliest_start=np.asarray(earliest_start, np.int64),
            tail=np.asarray(tail, np.int64),
            useful_deadline=np.asarray(useful, np.int64),
            fastest=np.asarray(fastest, np.int64),
        )


def _n_variants(instance: Instance, job: int) -> int:
    return len(instance.tasks[int(instance.job_task[job])].variants)


def interchangeable_groups(
    instance: Instance, jobs: Iterable[int] | None = None
) -> list[list[int]]:
    """Groups (≥ 2, in job order) of jobs that no objective or constraint tells apart.

    Same task, release, deadline, weight, upstream jobs and early-exit position; no dependents;
    op for op the same variant, context, predecessors, durations, energies and DRAM bytes.
    Swapping two such jobs maps every schedule to a schedule of equal value (docs/oracle.md).
    """
    downstream = instance.job_downstream
    groups: dict[Any, list[int]] = {}
    for job in range(instance.n_jobs) if jobs is None else sorted(jobs):
        if downstream[job]:
            continue
        ops = instance.ops_of(job)
        first = ops.start
        exit_op = int(instance.job_exit_op[job])
        key = (
            int(instance.job_task[job]),
            int(instance.job_release[job]),
            int(instance.job_deadline[job]),
            int(instance.job_weight[job]),
            tuple(instance.upstream_of(job).tolist()),
            -1 if exit_op < 0 else exit_op - first,
            tuple(
                (
                    int(instance.op_variant[op]),
                    int(instance.op_context[op]),
                    tuple((instance.preds_of(op) - first).tolist()),
                    tuple(instance.op_duration[op].tolist()),
                    tuple(instance.op_energy[op].tolist()),
                    tuple(instance.op_dram_bytes[op].tolist()),
                )
                for op in ops
            ),
        )
        groups.setdefault(key, []).append(job)
    return [jobs for jobs in groups.values() if len(jobs) > 1]


def selection_applies(instance: Instance) -> bool:
    """Whether the ``selection`` formulation is exact here: every op can run somewhere without
    exceeding the DRAM bandwidth alone (appended late jobs then run unstretched)."""
    if not instance.settings.contention:
        return True
    capacity = int(instance.settings.dram_bandwidth * DEMAND_SCALE)
    for op in range(instance.n_ops):
        demands = [_demand(instance, op, acc) for acc in instance.eligible(op).tolist()]
        if min(demands) > capacity:
            return False
    return True


def _demand(instance: Instance, op: int, acc: int) -> int:
    volume = int(instance.op_dram_bytes[op, acc])
    return -(-volume * DEMAND_SCALE // int(instance.op_duration[op, acc]))


# -- the model ------------------------------------------------------------------------------------
class OracleModel:
    """Builds the CP-SAT model of one instance (see the module docstring).

    ``formulation``: ``direct`` or ``selection``. ``naive``: the untightened textbook model.
    ``jobs``: the jobs the model decides (default all); an upstream job outside ``jobs`` is
    either in ``frozen`` (its completion is a constant) or relaxed away (only its earliest finish
    bounds the dependent's start). ``frozen``: a partial Schedule whose completed jobs are fixed;
    their ops occupy the accelerators where they could meet the model's ops.
    """

    def __init__(
        self,
        instance: Instance,
        *,
        formulation: str = "direct",
        naive: bool = False,
        jobs: Iterable[int] | None = None,
        frozen: Schedule | None = None,
        windows: TimeWindows | None = None,
    ) -> None:
        if formulation not in FORMULATIONS:
            raise ValueError(
                f"formulation must be one of {FORMULATIONS}, got {excerpt(formulation)}"
            )
        self.instance = instance
        self.formulation = formulation
        self.naive = naive
        self.model = cp_model.CpModel()
        self.vars = OracleVariables()
        self.jobs: list[int] = sorted(set(range(instance.n_jobs) if jobs is None else jobs))
        self.active = np.zeros(instance.n_jobs, dtype=bool)
        self.active[self.jobs] = True
        self.frozen = frozen
        self._always_done: set[int] = set()  # jobs whose ``completed`` is fixed to 1
        self.finish_domain: dict[int, tuple[int, int]] = {}  # per job of the model
        self.job_costs: dict[str, dict[int, Any]] = {}  # per-job cost expressions, by term
        self._end_high: dict[int, int] = {}  # upper bound of each op's end
        self.windows = windows if windows is not None else TimeWindows.of(instance)
        self.required: list[list[list[int]]] = [[] for _ in range(instance.n_jobs)]
        for job in self.jobs:
            self.required[job] = [
                instance.required_ops(job, k) for k in range(_n_variants(instance, job))
            ]
        self.frozen_finish = self._frozen_completions()
        self.horizon = self._horizon()
        self._build()

    # -- sizes -----------------------------------------------------------------------------------
    @property
    def selection(self) -> bool:
        return self.formulation == "selection"

    def _frozen_completions(self) -> dict[int, int]:
        if self.frozen is None:
            return {}
        finish = self.frozen.completion_times(self.instance)
        done = np.flatnonzero(self.frozen.job_status == JobStatus.COMPLETED)
        return {int(job): int(finish[job]) for job in done if not self.active[job]}

    def _frozen_ops(self) -> list[int]:
        if self.frozen is None:
            return []
        return [
            int(op)
            for op in self.frozen.executed.tolist()
            if not self.active[self.instance.op_job[op]]
            and int(self.instance.op_job[op]) in self.frozen_finish
        ]

    def _horizon(self) -> int:
        """Every job of the model can complete by this time in some schedule: all its ops one
        after another, after the last release and the last frozen op, each on its slowest
        eligible accelerator, with a reload before each op. ``selection`` models schedule only
        jobs that help an on-time job, so their horizon is the latest useful deadline."""
        instance = self.instance
        jobs = self.jobs
        if not jobs:
            return 1
        if self.selection:
            return int(self.windows.useful_deadline[jobs].max())
        ops = np.concatenate([np.arange(*instance.job_op_offsets[[j, j + 1]]) for j in jobs])
        slowest = np.where(instance.op_duration[ops] >= 0, instance.op_duration[ops], 0).max(axis=1)
        total = int(slowest.sum())
        if instance.settings.context_switch and instance.context_reload_time.size:
            total += int(instance.context_reload_time.max()) * len(ops)
        frozen_end = max((int(self.frozen.op_end[op]) for op in self._frozen_ops()), default=0)  # type: ignore[union-attr]
        latest = max(int(instance.job_release[jobs].max()), frozen_end)
        return latest + total + 1

    # -- construction ----------------------------------------------------------------------------
    def _build(self) -> None:
        model, instance, v = self.model, self.instance, self.vars
        for job in range(instance.n_jobs):
            if self.active[job]:
                self._job_variables(job)
            else:
                done = job in self.frozen_finish
                constant = model.new_constant(int(done))
                v.completed.append(constant)
                v.variant.append([constant])
                v.late.append(model.new_constant(0))
                v.finish.append(
                    model.new_constant(self.frozen_finish.get(job, int(instance.job_release[job])))
                )
        for job in self.jobs:
            for k, ops in enumerate(self.required[job]):
                for op in ops:
                    self._op_variables(op, v.variant[job][k])
        for job in self.jobs:
            self._job_constraints(job)
        for op in v.start:
            for pred in instance.preds_of(op).tolist():
                model.add(v.start[op] >= v.end[pred])  # preds of required ops are required
        self._frozen_variables()
        self._resources()
        if not self.naive:
            self._order_interchangeable_jobs()

    def _job_variables(self, job: int) -> None:
        model, instance, v, w = self.model, self.instance, self.vars, self.windows
        deadline = int(instance.job_deadline[job])
        drops_allowed = instance.settings.drops == "allowed"
        hopeless = not self.naive and int(w.earliest_finish[job]) > deadline
        if self.selection:
            on_time = model.new_bool_var(f"on_time[{job}]")
            if hopeless:
                model.add(on_time == 0)
            if self._may_run_late(job):
                done = model.new_bool_var(f"completed[{job}]")
                model.add_implication(on_time, done)
            else:
                done = on_time  # a job with no later-deadline dependent runs only to be on time
            late = ~on_time
        else:
            done = model.new_bool_var(f"completed[{job}]")
            if not drops_allowed:
                model.add(done == 1)
                self._always_done.add(job)
            late = model.new_bool_var(f"late[{job}]")
            model.add_implication(late, done)
            if hopeless:
                model.add(late == 1).only_enforce_if(done)
        v.completed.append(done)
        v.late.append(late)
        n_variants = _n_variants(instance, job)
        if n_variants == 1:
            v.variant.append([done])
        else:
            literals = [model.new_bool_var(f"variant[{job}][{k}]") for k in range(n_variants)]
            model.add(sum(literals) == done)
            v.variant.append(literals)
        low, high = self._finish_domain(job)
        v.finish.append(model.new_int_var(low, high, f"finish[{job}]"))
        self.finish_domain[job] = (low, high)

    def always_completes(self, job: int) -> bool:
        """Is ``completed[job]`` fixed to 1 (``direct`` model with ``drops: never``)?"""
        return job in self._always_done

    def _may_run_late(self, job: int) -> bool:
        """In ``selection``: may job run although late, to release an on-time dependent in the
        model with a later deadline? (Otherwise it runs only when on time.)"""
        deadline = int(self.instance.job_deadline[job])
        return any(
            self.active[down] and int(self.windows.useful_deadline[down]) > deadline
            for down in self.instance.job_downstream[job]
        )

    def _finish_domain(self, job: int) -> tuple[int, int]:
        release = int(self.instance.job_release[job])
        if self.naive:
            return release, self.horizon
        if self.selection:
            earliest = int(self.windows.earliest_finish[job])
            return earliest, max(earliest, self._latest_finish(job))
        if self.instance.settings.drops == "never":
            return int(self.windows.earliest_finish[job]), self.horizon
        return release, self.horizon

    def _latest_finish(self, job: int) -> int:
        if self.selection:
            if self._may_run_late(job):
                return int(self.windows.useful_deadline[job])
            return int(self.instance.job_deadline[job])
        return self.horizon

    def _op_variables(self, op: int, chosen: Literal) -> None:
        model, instance, v, w = self.model, self.instance, self.vars, self.windows
        job = int(instance.op_job[op])
        low = self._earliest_start(op)
        if self.naive:
            latest_end = self.horizon
        else:
            latest_end = self._latest_finish(job) - int(w.tail[op]) + int(w.fastest[op])
        eligible = instance.eligible(op).tolist()
        row = instance.op_duration[op]
        durations = {acc: int(row[acc]) for acc in eligible}
        high_start = max(low, latest_end - min(durations.values()))
        start = model.new_int_var(low, high_start, f"start[{op}]")
        self._end_high[op] = max(low, latest_end)
        end = model.new_int_var(low, self._end_high[op], f"end[{op}]")
        v.start[op], v.end[op] = start, end
        if len(eligible) == 1:
            literals = {eligible[0]: chosen}
        else:
            literals = {acc: model.new_bool_var(f"runs[{op},{acc}]") for acc in eligible}
            model.add(sum(literals.values()) == chosen)
        v.runs[op] = literals
        model.add(end == start + sum(durations[acc] * lit for acc, lit in literals.items()))
        # An op that does not run sits at its earliest start: one representation per solution.
        model.add(start == low).only_enforce_if(~chosen)
        for acc, lit in literals.items():
            interval = model.new_optional_fixed_size_interval_var(
                start, durations[acc], lit, f"on[{op},{acc}]"
            )
            v.intervals.setdefault(acc, []).append((op, interval))

    def _earliest_start(self, op: int) -> int:
        if self.naive:
            return int(self.instance.job_release[self.instance.op_job[op]])
        return int(self.windows.earliest_start[op])

    def _job_constraints(self, job: int) -> None:
        model, instance, v = self.model, self.instance, self.vars
        done, finish, late = v.completed[job], v.finish[job], v.late[job]
        variants = self.required[job]
        always = job in self._always_done
        for k, ops in enumerate(variants):
            has_succ = {int(p) for op in ops for p in instance.preds_of(op).tolist()}
            sink_ops = [op for op in ops if op not in has_succ]
            sinks = [v.end[op] for op in sink_ops]
            if len(variants) == 1 and always:
                model.add_max_equality(finish, sinks)
            else:
                high = max(self._end_high[op] for op in sink_ops)
                latest = model.new_int_var(0, high, f"finish[{job}][{k}]")
                model.add_max_equality(latest, sinks)
                model.add(finish == latest).only_enforce_if(v.variant[job][k])
        if not always:
            model.add(finish == self.finish_domain[job][0]).only_enforce_if(~done)
        for up in instance.upstream_of(job).tolist():
            if self.active[up] or up in self.frozen_finish:
                if self.active[up]:
                    model.add_implication(done, v.completed[up])
                for k, ops in enumerate(variants):
                    for op in ops:
                        model.add(v.start[op] >= v.finish[up]).only_enforce_if(v.variant[job][k])
            elif self.frozen is not None:
                model.add(done == 0)  # the upstream job was left out: so is its dependent
        deadline = int(instance.job_deadline[job])
        if self.selection:
            model.add(finish <= deadline).only_enforce_if(~late)
            if self._may_run_late(job):
                downs = [v.completed[d] for d in instance.job_downstream[job] if self.active[d]]
                model.add_bool_or([~late, *downs]).only_enforce_if(done)
        else:
            # A job that does not run finishes "at its release", before its deadline.
            model.add(finish > deadline).only_enforce_if(late)
            model.add(finish <= deadline).only_enforce_if(~late)

    def _frozen_variables(self) -> None:
        """Fixed ops of frozen jobs that the model's ops could meet on an accelerator."""
        if self.frozen is None:
            return
        model, instance, v, frozen = self.model, self.instance, self.vars, self.frozen
        model_ops = list(v.start)
        if not model_ops:
            return
        earliest = min(int(self.windows.earliest_start[op]) for op in model_ops)
        by_acc: dict[int, list[int]] = {}
        for op in self._frozen_ops():
            by_acc.setdefault(int(frozen.op_accelerator[op]), []).append(op)
        for acc, ops in by_acc.items():
            ops.sort(key=lambda o: (int(frozen.op_end[o]), o))
            meet = [o for o in ops if int(frozen.op_end[o]) > earliest]
            before = [o for o in ops if int(frozen.op_end[o]) <= earliest]
            if before and instance.settings.context_switch:
                meet.insert(0, before[-1])  # its context decides the reload of the next op
            for op in meet:
                start, end = int(frozen.op_start[op]), int(frozen.op_end[op])
                present = model.new_bool_var(f"frozen[{op}]")
                model.add(present == 1)
                v.start[op] = model.new_int_var(start, start, f"start[{op}]")
                v.end[op] = model.new_int_var(end, end, f"end[{op}]")
                v.runs[op] = {acc: present}
                interval = model.new_optional_fixed_size_interval_var(
                    v.start[op], end - start, present, f"on[{op},{acc}]"
                )
                v.intervals.setdefault(acc, []).append((op, interval))

    def _resources(self) -> None:
        model, instance, v = self.model, self.instance, self.vars
        switching = instance.settings.context_switch
        for acc, entries in sorted(v.intervals.items()):
            contexts = {int(instance.op_context[op]) for op, _ in entries}
            if switching and len(contexts) > 1:
                self._circuit(acc, [op for op, _ in entries])
            else:
                model.add_no_overlap([interval for _, interval in entries])
        if instance.settings.contention:
            intervals, demands = [], []
            for acc, entries in v.intervals.items():
                for op, interval in entries:
                    demand = _demand(instance, op, acc)
                    if demand > 0:
                        intervals.append(interval)
                        demands.append(demand)
            if intervals:
                capacity = int(instance.settings.dram_bandwidth * DEMAND_SCALE)
                model.add_cumulative(intervals, demands, capacity)

    def _circuit(self, acc: int, ops: Sequence[int]) -> None:
        """Order the ops on ``acc`` with reload gaps between different contexts."""
        model, instance, v = self.model, self.instance, self.vars
        arcs: list[tuple[int, int, Any]] = []
        node = {op: i + 1 for i, op in enumerate(ops)}  # node 0 is the depot
        reload = instance.context_reload_time[:, acc]
        context = instance.op_context
        for op in ops:
            present = v.runs[op][acc]
            arcs.append((node[op], node[op], ~present))  # absent ops are skipped
            first = model.new_bool_var(f"first[{acc},{op}]")
            last = model.new_bool_var(f"last[{acc},{op}]")
            arcs.append((0, node[op], first))
            arcs.append((node[op], 0, last))
            for other in ops:
                if other == op:
                    continue
                literal = model.new_bool_var(f"next[{acc},{op},{other}]")
                arcs.append((node[op], node[other], literal))
                gap = 0 if context[op] == context[other] else int(reload[context[other]])
                model.add(v.start[other] >= v.end[op] + gap).only_enforce_if(literal)
                v.arcs.append((acc, op, other, literal))
        empty = model.new_bool_var(f"empty[{acc}]")
        arcs.append((0, 0, empty))
        model.add_circuit(arcs)

    def _order_interchangeable_jobs(self) -> None:
        """Lex-leader symmetry breaking over interchangeable jobs (docs/oracle.md): of two such
        jobs, the earlier in the job list runs whenever the later one does (and is on time
        whenever the later one is), and finishes no later."""
        model, v = self.model, self.vars
        for members in interchangeable_groups(self.instance, self.jobs):
            for first, second in itertools.pairwise(members):
                model.add_implication(v.completed[second], v.completed[first])
                if self.selection:  # here completed == on time: these jobs have no dependents
                    model.add_implication(~v.late[second], ~v.late[first])
                model.add(v.finish[first] <= v.finish[second]).only_enforce_if(v.completed[second])

    # -- the misses term -------------------------------------------------------------------------
    def miss_terms(self, jobs: Iterable[int] | None = None) -> list[tuple[int, Any]]:
        """Per job: (weight, 0/1 expression that is 1 iff the job is missed).

        ``direct``: late or dropped. ``selection``: not on time (left-out jobs are late or
        dropped after :meth:`extract`)."""
        v = self.vars
        weights = self.instance.job_weight
        out: list[tuple[int, Any]] = []
        for job in self.jobs if jobs is None else jobs:
            if self.selection:
                out.append((int(weights[job]), v.late[job]))
            else:
                out.append((int(weights[job]), v.late[job] + 1 - v.completed[job]))
        return out

    # -- hints and solutions ---------------------------------------------------------------------
    def add_hint(self, schedule: Schedule) -> None:
        """Warm start from a (validated) schedule: the oracle drops what it dropped, keeps its
        accelerators and start times; ops of dropped jobs that ran before the drop are left out
        (the oracle's dropped jobs use no resources). ``selection``: late jobs that no on-time
        dependent needs are left out too."""
        model, v, instance = self.model, self.vars, self.instance
        model.clear_hints()
        hints = _Hints()
        completed = schedule.job_status == JobStatus.COMPLETED
        finish = schedule.completion_times(instance)
        on_time = completed & (finish <= instance.job_deadline)
        runs = self._hinted_runs(completed, on_time)
        for job in self.jobs:
            done = bool(runs[job])
            hints.set(v.completed[job], done)
            late = not on_time[job] if self.selection else done and not on_time[job]
            hints.set(v.late[job], bool(late))
            variant = int(schedule.job_variant[job])
            for k, literal in enumerate(v.variant[job]):
                hints.set(literal, done and k == variant)
            hints.set(v.finish[job], int(finish[job]) if done else self.finish_domain[job][0])
            for k, ops in enumerate(self.required[job]):
                ran = done and k == variant
                for op in ops:
                    for acc, literal in v.runs[op].items():
                        hints.set(literal, ran and int(schedule.op_accelerator[op]) == acc)
                    rest = self._earliest_start(op)
                    hints.set(v.start[op], int(schedule.op_start[op]) if ran else rest)
                    hints.set(v.end[op], int(schedule.op_end[op]) if ran else rest)
        hints.apply(model)

    def _hinted_runs(self, completed: np.ndarray, on_time: np.ndarray) -> np.ndarray:
        if not self.selection:
            return completed
        runs = on_time.copy()
        downstream = self.instance.job_downstream
        for job in range(self.instance.n_jobs - 1, -1, -1):
            if completed[job] and any(runs[d] for d in downstream[job]):
                runs[job] = True
        return runs

    def extract(
        self, solver: cp_model.CpSolver, producer: str = "oracle", *, complete: bool = True
    ) -> Schedule:
        """The solver's solution as a Schedule of the model's jobs.

        ``selection`` with ``complete``: the jobs left out are appended after everything else
        (``drops: never``, :func:`append_jobs`) or dropped at their release."""
        instance, v = self.instance, self.vars
        schedule = Schedule.empty(instance, producer=producer)
        accelerator = schedule.op_accelerator.copy()
        start, end = schedule.op_start.copy(), schedule.op_end.copy()
        status = schedule.job_status.copy()
        variant = schedule.job_variant.copy()
        drop_time = schedule.job_drop_time.copy()
        left_out = []
        for job in self.jobs:
            if solver.boolean_value(v.completed[job]):
                status[job] = JobStatus.COMPLETED
                for k, literal in enumerate(v.variant[job]):
                    if solver.boolean_value(literal):
                        variant[job] = k
            else:
                drop_time[job] = int(instance.job_release[job])
                left_out.append(job)
        model_ops = [
            op for op in v.runs if self.active[instance.op_job[op]]
        ]  # frozen ops are not this model's
        for op in model_ops:
            for acc, literal in v.runs[op].items():
                if solver.boolean_value(literal):
                    accelerator[op] = acc
                    start[op] = solver.value(v.start[op])
                    end[op] = solver.value(v.end[op])
        result = Schedule(
            op_accelerator=accelerator,
            op_start=start,
            op_end=end,
            job_status=status,
            job_variant=variant,
            job_drop_time=drop_time,
            producer=producer,
        )
        if complete and self.selection and instance.settings.drops == "never" and left_out:
            result = append_jobs(instance, result, left_out)
        return result


class _Hints:
    """Hint values by variable: CP-SAT rejects a hint that names one variable twice, and a
    literal may be the negation of a variable or share it with another name (``selection``)."""

    def __init__(self) -> None:
        self.values: dict[int, tuple[Any, int]] = {}

    def set(self, target: Any, value: bool | int) -> None:
        if isinstance(target, cp_model.IntVar):
            self.values[target.index] = (target, int(value))
        else:  # a negated literal
            variable = target.negated()
            self.values[variable.index] = (variable, 1 - int(value))

    def apply(self, model: cp_model.CpModel) -> None:
        for variable, value in self.values.values():
            model.add_hint(variable, value)


def append_jobs(instance: Instance, schedule: Schedule, jobs: Sequence[int]) -> Schedule:
    """Complete ``jobs`` (not run in ``schedule``) after everything else, in job order.

    Each job takes its variant with the shortest fastest critical path. Each op starts as soon as
    its predecessors, upstream jobs and accelerator allow, after the last op already on that
    accelerator (plus a context reload), on the accelerator where it ends first. Under
    contention, the appended ops run one at a time after every other op, on an accelerator
    where their DRAM demand alone fits the bandwidth, so no op is stretched.
    """
    accelerator = schedule.op_accelerator.copy()
    start, end = schedule.op_start.copy(), schedule.op_end.copy()
    status = schedule.job_status.copy()
    variant = schedule.job_variant.copy()
    drop_time = schedule.job_drop_time.copy()
    n_acc = instance.n_accelerators
    free = [0] * n_acc
    last_context = [-1] * n_acc
    last_end = [-1] * n_acc
    for op in schedule.executed.tolist():
        acc = int(accelerator[op])
        if int(end[op]) >= last_end[acc]:
            last_end[acc] = int(end[op])
            last_context[acc] = int(instance.op_context[op])
        free[acc] = max(free[acc], int(end[op]))
    everything = max([*free, 0])
    contention = instance.settings.contention
    capacity = int(instance.settings.dram_bandwidth * DEMAND_SCALE)
    switching = instance.settings.context_switch
    completion = schedule.completion_times(instance)
    for job in sorted(jobs):
        options = [
            (instance.isolated_latency(job, k), k)
            for k in range(_n_variants(instance, job))
            if instance.required_ops(job, k)
        ]
        k = min(options)[1]
        ready_job = int(instance.job_release[job])
        for up in instance.upstream_of(job).tolist():
            ready_job = max(ready_job, int(completion[up]))
        finished = ready_job
        for op in instance.required_ops(job, k):
            ready = max([ready_job, *(int(end[p]) for p in instance.preds_of(op).tolist())])
            best: tuple[int, int, int] | None = None
            for acc in instance.eligible(op).tolist():
                if contention and _demand(instance, op, acc) > capacity:
                    continue
                begin = max(ready, free[acc], everything if contention else 0)
                if (
                    switching
                    and last_context[acc] >= 0
                    and last_context[acc] != int(instance.op_context[op])
                ):
                    begin = max(
                        begin,
                        free[acc] + int(instance.context_reload_time[instance.op_context[op], acc]),
                    )
                finish = begin + int(instance.op_duration[op, acc])
                if best is None or finish < best[0]:
                    best = (finish, begin, acc)
            if best is None:
                raise ValueError(f"op {op} exceeds the DRAM bandwidth on every accelerator")
            finish, begin, acc = best
            accelerator[op], start[op], end[op] = acc, begin, finish
            free[acc] = finish
            last_context[acc] = int(instance.op_context[op])
            if contention:
                everything = finish
            finished = max(finished, finish)
        status[job] = JobStatus.COMPLETED
        variant[job] = k
        drop_time[job] = 0
        completion[job] = finished
    return Schedule(
        op_accelerator=accelerator,
        op_start=start,
        op_end=end,
        job_status=status,
        job_variant=variant,
        job_drop_time=drop_time,
        producer=schedule.producer,
    )
