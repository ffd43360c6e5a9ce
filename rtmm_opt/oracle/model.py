"""The CP-SAT model of an Instance: exactly the problem the engine replays, offline.

Variables (PyJobShop's split: variables, constraints, objective, assembled by one class):

* ``completed[j]``: job j runs to completion (``drops: never`` fixes it to 1). A dropped job
  uses no resources. Dropping a job drops its cascaded dependents: ``completed[j] ⇒
  completed[u]`` for every upstream u.
* ``variant[j][k]``: job j runs variant k; exactly one of them when it completes, none when it is
  dropped.
* For each op o that is **required** for its variant (all its ops, or the realised early exit op
  and its ancestors; the oracle knows the realised trace) and each eligible accelerator a: a
  presence literal ``runs[o, a]`` and an optional fixed-size interval of the realised duration.
  Exactly one ``runs[o, a]`` is true iff the op's variant runs. ``start[o]`` and ``end[o]`` are
  shared by the alternatives: end = start + Σ_a duration[o, a]·runs[o, a].
* ``finish[j]``: the job's completion, the latest end of its required ops. Ops that do not run
  sit at their job's release, so a dropped job "finishes" at its release (and is never late).

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
* ``late[j] ⇔ finish[j] > deadline[j]`` for completed jobs, reified in both directions. A
  one-sided "on time ⇒ finish ≤ deadline" stalls the search (measured in the oracle issue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from rtmm_opt.instance.instance import Instance
from rtmm_opt.schedule.schedule import JobStatus, Schedule

IntVar = cp_model.IntVar
Literal = cp_model.IntVar


@dataclass
class OracleVariables:
    """Every decision variable, indexed like the instance."""

    completed: list[Literal] = field(default_factory=list)
    variant: list[list[Literal]] = field(default_factory=list)
    late: list[Literal] = field(default_factory=list)
    finish: list[IntVar] = field(default_factory=list)
    start: dict[int, IntVar] = field(default_factory=dict)  # required ops only
    end: dict[int, IntVar] = field(default_factory=dict)
    runs: dict[int, dict[int, Literal]] = field(default_factory=dict)  # op -> acc -> literal
    intervals: dict[int, list[tuple[int, cp_model.IntervalVar]]] = field(default_factory=dict)
    arcs: list[tuple[int, int, int, Literal]] = field(default_factory=list)  # (acc, from, to, lit)


class OracleModel:
    """Builds the CP-SAT model of one instance (see the module docstring)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.model = cp_model.CpModel()
        self.vars = OracleVariables()
        self.horizon = self._horizon()
        self.required: list[list[list[int]]] = [
            [instance.required_ops(job, k) for k in range(self._n_variants(job))]
            for job in range(instance.n_jobs)
        ]
        self._build()

    # -- sizes -----------------------------------------------------------------------------------
    def _n_variants(self, job: int) -> int:
        return len(self.instance.tasks[int(self.instance.job_task[job])].variants)

    def _horizon(self) -> int:
        """Every job completes by this time in some schedule: all ops one after another,
        starting after the last release, each on its slowest eligible accelerator, plus a
        reload before each op."""
        instance = self.instance
        slowest = np.where(instance.op_duration >= 0, instance.op_duration, 0).max(axis=1)
        total = int(slowest.sum())
        if instance.settings.context_switch and instance.context_reload_time.size:
            total += int(instance.context_reload_time.max()) * instance.n_ops
        return int(instance.job_release.max(initial=0)) + total + 1

    # -- construction ----------------------------------------------------------------------------
    def _build(self) -> None:
        model, instance, v = self.model, self.instance, self.vars
        drops_allowed = instance.settings.drops == "allowed"
        for job in range(instance.n_jobs):
            done = model.new_bool_var(f"completed[{job}]")
            if not drops_allowed:
                model.add(done == 1)
            v.completed.append(done)
            n_variants = self._n_variants(job)
            if n_variants == 1:
                v.variant.append([done])
            else:
                literals = [model.new_bool_var(f"variant[{job}][{k}]") for k in range(n_variants)]
                model.add(sum(literals) == done)
                v.variant.append(literals)
            release = int(instance.job_release[job])
            v.finish.append(model.new_int_var(release, self.horizon, f"finish[{job}]"))
            v.late.append(model.new_bool_var(f"late[{job}]"))

        for job in range(instance.n_jobs):
            for k, ops in enumerate(self.required[job]):
                chosen = v.variant[job][k]
                for op in ops:
                    self._op_variables(op, chosen)
        for job in range(instance.n_jobs):
            self._job_constraints(job)
        for op in v.start:
            for pred in instance.preds_of(op).tolist():
                model.add(v.start[op] >= v.end[pred])  # preds of required ops are required
        self._resources()

    def _op_variables(self, op: int, chosen: Literal) -> None:
        model, instance, v = self.model, self.instance, self.vars
        job = int(instance.op_job[op])
        release = int(instance.job_release[job])
        start = model.new_int_var(release, self.horizon, f"start[{op}]")
        end = model.new_int_var(release, self.horizon, f"end[{op}]")
        v.start[op], v.end[op] = start, end
        eligible = instance.eligible(op).tolist()
        row = instance.op_duration[op]
        if len(eligible) == 1:
            acc = eligible[0]
            literals = {acc: chosen}
        else:
            literals = {acc: model.new_bool_var(f"runs[{op},{acc}]") for acc in eligible}
            model.add(sum(literals.values()) == chosen)
        v.runs[op] = literals
        durations = {acc: int(row[acc]) for acc in eligible}
        model.add(end == start + sum(durations[acc] * lit for acc, lit in literals.items()))
        # An op that does not run sits at its job's release, so that ends, and hence finish
        # times, are exact in every solution.
        model.add(start == release).only_enforce_if(~chosen)
        for acc, lit in literals.items():
            interval = model.new_optional_fixed_size_interval_var(
                start, durations[acc], lit, f"on[{op},{acc}]"
            )
            v.intervals.setdefault(acc, []).append((op, interval))

    def _job_constraints(self, job: int) -> None:
        model, instance, v = self.model, self.instance, self.vars
        done, finish, late = v.completed[job], v.finish[job], v.late[job]
        release = int(instance.job_release[job])
        variants = self.required[job]
        for k, ops in enumerate(variants):
            has_succ = {int(p) for op in ops for p in instance.preds_of(op).tolist()}
            sinks = [v.end[op] for op in ops if op not in has_succ]
            if len(variants) == 1:
                model.add_max_equality(finish, sinks)  # a dropped job's ops sit at its release
            else:
                latest = model.new_int_var(release, self.horizon, f"finish[{job}][{k}]")
                model.add_max_equality(latest, sinks)
                model.add(finish == latest).only_enforce_if(v.variant[job][k])
        if len(variants) > 1:
            model.add(finish == release).only_enforce_if(~done)
        for up in instance.upstream_of(job).tolist():
            model.add_implication(done, v.completed[up])
            for k, ops in enumerate(self.required[job]):
                for op in ops:
                    model.add(v.start[op] >= v.finish[up]).only_enforce_if(v.variant[job][k])
        # A dropped job finishes "at its release", before its deadline, so it is never late.
        deadline = int(instance.job_deadline[job])
        model.add(finish > deadline).only_enforce_if(late)
        model.add(finish <= deadline).only_enforce_if(~late)

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
            scale = 1000  # demands in milli-bytes per time unit, rounded up (conservative)
            for acc, entries in v.intervals.items():
                for op, interval in entries:
                    volume = int(instance.op_dram_bytes[op, acc])
                    if volume > 0:
                        duration = int(instance.op_duration[op, acc])
                        intervals.append(interval)
                        demands.append(-(-volume * scale // duration))
            if intervals:
                capacity = int(instance.settings.dram_bandwidth * scale)
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

    # -- hints and solutions ---------------------------------------------------------------------
    def add_hint(self, schedule: Schedule) -> None:
        """Warm start from a (validated) schedule: the oracle drops what it dropped, keeps its
        accelerators and start times; ops of dropped jobs that ran before the drop are left out
        (the oracle's dropped jobs use no resources)."""
        model, v = self.model, self.vars
        model.clear_hints()
        completed = schedule.job_status == JobStatus.COMPLETED
        finish = schedule.completion_times(self.instance)
        for job in range(self.instance.n_jobs):
            done = bool(completed[job])
            model.add_hint(v.completed[job], done)
            variant = int(schedule.job_variant[job])
            for k, literal in enumerate(v.variant[job]):
                if literal is not v.completed[job]:
                    model.add_hint(literal, done and k == variant)
            release = int(self.instance.job_release[job])
            model.add_hint(v.finish[job], int(finish[job]) if done else release)
            model.add_hint(
                v.late[job], done and int(finish[job]) > int(self.instance.job_deadline[job])
            )
        for op, literals in v.runs.items():
            job = int(self.instance.op_job[op])
            ran = bool(completed[job]) and schedule.op_accelerator[op] >= 0
            for acc, literal in literals.items():
                if literal is not v.completed[job] and all(
                    literal is not lit for lit in v.variant[job]
                ):
                    model.add_hint(literal, ran and int(schedule.op_accelerator[op]) == acc)
            release = int(self.instance.job_release[job])
            model.add_hint(v.start[op], int(schedule.op_start[op]) if ran else release)
            model.add_hint(v.end[op], int(schedule.op_end[op]) if ran else release)

    def extract(self, solver: cp_model.CpSolver, producer: str = "oracle") -> Schedule:
        """The solver's solution as a Schedule."""
        instance, v = self.instance, self.vars
        schedule = Schedule.empty(instance, producer=producer)
        accelerator = schedule.op_accelerator.copy()
        start, end = schedule.op_start.copy(), schedule.op_end.copy()
        status = schedule.job_status.copy()
        variant = schedule.job_variant.copy()
        drop_time = schedule.job_drop_time.copy()
        for job in range(instance.n_jobs):
            if solver.boolean_value(v.completed[job]):
                status[job] = JobStatus.COMPLETED
                for k, literal in enumerate(v.variant[job]):
                    if solver.boolean_value(literal):
                        variant[job] = k
            else:
                drop_time[job] = int(instance.job_release[job])
        for op, literals in v.runs.items():
            for acc, literal in literals.items():
                if solver.boolean_value(literal):
                    accelerator[op] = acc
                    start[op] = solver.value(v.start[op])
                    end[op] = solver.value(v.end[op])
        return Schedule(
            op_accelerator=accelerator,
            op_start=start,
            op_end=end,
            job_status=status,
            job_variant=variant,
            job_drop_time=drop_time,
            producer=producer,
        )
