"""The instance builder: scenario × system × cost model × seed → :class:`Instance`.

This is the one place where costs become integers (docs/design.md §2). The steps:

1. **Price layers.** The cost model prices every layer of every model on every accelerator
   once per build. A segment's cost is the sum of its layers' costs
   (:func:`rtmm_opt.hardware.cost.base.segment_cost`; here it is computed with prefix sums over
   the memoised per-layer arrays). Latency in ns is ``cycles / clock_ghz``. A non-finite or
   negative layer cost makes the accelerator ineligible for every segment holding that layer.
2. **Draw the trace** (:func:`rtmm_opt.scenario.trace.generate_trace`), with the rates times
   ``fps_scale``. An ``slo`` deadline is measured against the static latency of the task's
   first variant, whole, on its fastest accelerator. That figure does not depend on the
   granularity, so neither do the deadlines.
3. **Cut jobs into operations**: ``ModelGraph.segments(granularity)`` for each variant of the
   task. The ops of all variants are in the job, variant after variant (``op_variant``).
4. **Round once per segment.** A duration in time units is ``ceil(ns / time_unit_ns)``, at
   least 1, taken on the segment's summed ns, never per layer. Sums within 1e-6 + 1e-12·x of
   an integer count as that integer (float noise from adding layer costs). Energy (nJ) and DRAM
   bytes are rounded to the nearest integer per segment. Releases and deadlines are rounded
   to the nearest unit (ties up), and a deadline stays at least one unit after its release.
5. **Predicted vs realised.** ``op_predicted`` is the static cost: the mean, what an online
   scheduler is told. ``op_duration`` is that sample's realised cost, ``Σ_l base_l ·
   factor_l`` over the segment's layers, with the trace's per-layer latency factors. With a
   realised early exit after layer e (variant 0), ``job_exit_op`` is the segment holding e.
   That op's realised duration covers its layers up to e only. Energies and DRAM bytes stay
   static, because the instance has one energy matrix and online schedulers can see it.
6. **Sparsity for Dysta's γ** (``shared/dysta/README.md`` §4.6): ``op_sparsity`` is the
   realised input sparsity of the op's layers and ``op_sparsity_mean`` its static average. Both
   are MAC-weighted means over the segment (equal weights if it has no MACs), so at ``layer``
   granularity they are exactly the per-layer values. They are NaN without a sparsity model.
7. **Contexts** are the weight sets, one per (model, latency scale) pair. Reloading one on
   accelerator a takes ``ceil(weight bytes / offchip bandwidth of a)`` (GB/s = bytes/ns) and
   costs weight bytes × the cost model's DRAM energy per byte (the analytical model's
   ``EnergyTable.dram_pj`` unless the cost model carries its own). They matter only with
   ``context_switch``. The shared ``dram_bandwidth`` is ``system.dram_bandwidth_gbps ×
   time_unit_ns`` bytes per unit.
8. **Limits** (``rtmm_opt.io.limits``, ``docs/scenarios.md``): before the trace is drawn, the
   jobs (per task, duration / period or rate × duration) and the ops (jobs × ops per job, plus
   1/16 op per per-layer latency draw of a dynamic task, × accelerators/4 beyond 4
   accelerators) are estimated and refused above ``RTMM_MAX_JOBS``/``RTMM_MAX_OPS``. Every
   integer (a duration in units, an energy in nJ, DRAM bytes) is checked against 2^60 before
   its float becomes an int64, and so are the sums a schedule can make of them (the latest
   deadline plus every op's longest duration, every op's largest energy and DRAM traffic). The
   error names the task.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.hardware.accelerator import System
from rtmm_opt.hardware.cost.base import CostModel
from rtmm_opt.instance.instance import Instance, Settings, TaskInfo, Variant
from rtmm_opt.io.limits import LAYER_DRAWS_PER_OP, OPS, check_quantity, op_weight
from rtmm_opt.io.units import NS_PER_MS
from rtmm_opt.scenario.scenario import Scenario, Task, VariantSpec
from rtmm_opt.scenario.trace import Trace, check_job_count, generate_trace
from rtmm_opt.workload.graph import Granularity, ModelGraph

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_TIME_UNIT_NS = 10**9


def _dram_pj_per_byte(cost_model: CostModel) -> float:
    from rtmm_opt.hardware.cost.analytical import DEFAULT_ENERGY

    energy = getattr(cost_model, "energy", None)
    value = getattr(energy, "dram_pj", None)
    return float(value) if isinstance(value, int | float) else float(DEFAULT_ENERGY.dram_pj)




def to_units(ns: FloatArray | float, time_unit_ns: int) -> Any:
    """Durations in ns → whole time units, rounded up, at least 1 (see the module docstring)."""
    units = np.asarray(ns, dtype=np.float64) / time_unit_ns
    return np.maximum(np.ceil(units - (1e-6 + 1e-12 * units)), 1).astype(np.int64)


@dataclass(frozen=True)
class _Origin:
    """Where a task comes from, for errors: the scenario file and the task's index."""

    file: str | None
    task: int
    name: str

    def check(self, value: float, what: str, *, time: bool = True) -> None:
        check_quantity(
            value,
            f"{what} of task '{self.name}'",
            file=self.file,
            field=f"tasks[{self.task}].model",
            advice=("use a coarser time unit, " if time else "use ")
            + "a smaller model or fewer jobs",
        )


def _integers(values: FloatArray, origin: _Origin, what: str) -> IntArray:
    """Nearest integers of non-negative floats, refused above INT_LIMIT before the cast (a
    float beyond int64 would otherwise become a negative integer)."""
    rounded = np.rint(values)
    if rounded.size:
        origin.check(float(rounded.max()), what, time=False)
    return rounded.astype(np.int64)


def _checked_units(ns: FloatArray, time_unit_ns: int, origin: _Origin, what: str) -> IntArray:
    """:func:`to_units`, refused above INT_LIMIT before the cast."""
    if np.size(ns):
        origin.check(float(np.max(ns)) / time_unit_ns, what)
    units: IntArray = to_units(ns, time_unit_ns)
    return units


def _nearest_units(ns: IntArray, time_unit_ns: int) -> IntArray:
    """Instants in ns → the nearest time unit, ties up (exact integer arithmetic)."""
    return (2 * ns + time_unit_ns) // (2 * time_unit_ns)


@dataclass(frozen=True)
class _LayerCosts:
    """Per-layer static costs of one model in topological order, shape (accelerators, layers)."""

    ns: FloatArray  # 0 where ineligible
    energy_nj: FloatArray
    dram_bytes: FloatArray
    ineligible: npt.NDArray[np.bool_]
    macs: FloatArray  # per layer


class _CostCache:
    """Layer costs priced once per (model, accelerator) for one build."""

    def __init__(self, system: System, cost_model: CostModel) -> None:
        self.system = system
        self.cost_model = cost_model
        self._models: dict[int, tuple[ModelGraph, _LayerCosts]] = {}

    def of(self, graph: ModelGraph) -> _LayerCosts:
        entry = self._models.get(id(graph))
        if entry is not None:
            return entry[1]
        n_acc, order = len(self.system), graph.order
        cycles = np.zeros((n_acc, len(order)))
        energy = np.zeros((n_acc, len(order)))
        dram = np.zeros((n_acc, len(order)))
        for a, accelerator in enumerate(self.system.accelerators):
            for position, node in enumerate(order):
                cost = self.cost_model.layer_cost(graph, node, self.system, a)
                cycles[a, position] = cost.cycles
                energy[a, position] = cost.energy_nj
                dram[a, position] = cost.dram_bytes
            cycles[a] /= accelerator.clock_ghz
        ineligible = ~np.isfinite(cycles) | (cycles < 0)
        costs = _LayerCosts(
            ns=np.where(ineligible, 0.0, cycles),
            energy_nj=np.where(ineligible, 0.0, np.nan_to_num(energy)),
            dram_bytes=np.where(ineligible, 0.0, np.nan_to_num(dram)),
            ineligible=ineligible,
            macs=np.array([graph.layer(node).macs for node in order], np.float64),
        )
        # keep the graph alive with its entry, so its id cannot be reused within this build
        self._models[id(graph)] = (graph, costs)
        return costs

    def isolated_ns(self, variant: VariantSpec) -> float:
        """Static latency of the whole model alone on its fastest eligible accelerator."""
        costs = self.of(variant.graph)
        totals = costs.ns.sum(axis=1) * variant.latency_scale
        totals[costs.ineligible.any(axis=1)] = math.inf
        best = float(totals.min())
        if not math.isfinite(best):
            raise InputError(
                f"model '{variant.graph.name}' has no accelerator of '{self.system.name}' that "
                "runs all its layers",
                field="system",
            )
        return best


@dataclass
class _TaskOps:
    """The op template shared by every job of one task, and its jobs' realised values."""

    n_ops: int
    segment: IntArray
    variant: IntArray
    context: IntArray
    predicted: IntArray  # (n_ops, A)
    energy: IntArray
    dram: IntArray
    sparsity_mean: FloatArray
    pred_counts: IntArray  # per op
    preds: IntArray  # local indices, concatenated per op
    duration: IntArray  # (J, n_ops, A)
    sparsity: FloatArray  # (J, n_ops)
    exit_op: IntArray  # (J,) local op index or -1


def _weighted_segment_mean(values: FloatArray, weights: FloatArray, starts: IntArray) -> FloatArray:
    """MAC-weighted mean of ``values`` (..., L) over each segment; equal weights if no MACs."""
    weight_sums = np.add.reduceat(weights, starts)
    counts = np.diff(np.append(starts, weights.shape[-1]))
    weighted = np.add.reduceat(values * weights, starts, axis=-1) / np.where(
        weight_sums > 0, weight_sums, 1
    )
    plain = np.add.reduceat(values, starts, axis=-1) / counts
    return np.where(weight_sums > 0, weighted, plain)


def _task_ops(
    task: Task,
    trace: Trace,
    job_indices: Sequence[int],
    costs: _CostCache,
    granularity: Granularity,
    time_unit_ns: int,
    context_of: dict[tuple[int, float], int],
    contexts: list[tuple[ModelGraph, float]],
    origin: _Origin,
) -> _TaskOps:
    n_acc = len(costs.system)
    n_jobs = len(job_indices)
    outcomes = [trace.jobs[j].outcome for j in job_indices]
    parts: dict[str, list[Any]] = {
        key: []
        for key in (
            "segment",
            "variant",
            "context",
            "predicted",
            "energy",
            "dram",
            "sparsity_mean",
            "pred_counts",
            "preds",
            "duration",
            "sparsity",
        )
    }
    exit_op = np.full(n_jobs, -1, np.int64)
    offset = 0
    for v, variant in enumerate(task.variants):
        graph, scale = variant.graph, variant.latency_scale
        layer = costs.of(graph)
        segments = graph.segments(granularity)
        n_seg = len(segments)
        starts = np.cumsum([0] + [len(seg.layers) for seg in segments[:-1]]).astype(np.int64)
        key = (id(graph), scale)
        if key not in context_of:
            context_of[key] = len(contexts)
            contexts.append((graph, scale))
        ineligible = np.logical_or.reduceat(layer.ineligible, starts, axis=1).T  # (S, A)
        static_ns = np.add.reduceat(layer.ns, starts, axis=1).T * scale  # (S, A)
        # The prediction is the expected latency: the static cost times the mean latency factor
        # (sparsity factors have mean 1 by construction; a latency factor may not).
        factor_model = task.dynamic.latency_factor
        expected_ns = static_ns * (factor_model.mean if factor_model is not None else 1.0)
        predicted = np.where(
            ineligible,
            -1,
            _checked_units(expected_ns, time_unit_ns, origin, "a predicted op duration in units"),
        )
        parts["predicted"].append(predicted)
        energy_nj = np.add.reduceat(layer.energy_nj, starts, axis=1).T * scale
        dram_bytes = np.add.reduceat(layer.dram_bytes, starts, axis=1).T * scale
        parts["energy"].append(
            np.where(ineligible, 0, _integers(energy_nj, origin, "the energy (nJ) of an op"))
        )
        parts["dram"].append(
            np.where(ineligible, 0, _integers(dram_bytes, origin, "the DRAM bytes of an op"))
        )
        parts["segment"].append(np.arange(n_seg, dtype=np.int64))
        parts["variant"].append(np.full(n_seg, v, np.int64))
        parts["context"].append(np.full(n_seg, context_of[key], np.int64))
        # precedence among this variant's segments
        edges = graph.segment_edges(segments)
        local_preds: list[list[int]] = [[] for _ in range(n_seg)]
        for u, w in edges:
            local_preds[w].append(u)
        parts["pred_counts"].append(np.array([len(p) for p in local_preds], np.int64))
        parts["preds"].append(
            np.array([offset + u for p in local_preds for u in sorted(p)], np.int64)
        )

        # realised durations: per-layer factors of each job (1 where the trace has none)
        factors = [outcome.latency_factor[v] for outcome in outcomes]
        if all(f is None for f in factors):
            duration = np.broadcast_to(predicted, (n_jobs, n_seg, n_acc)).copy()
            cumulative = None
        else:
            factor = np.stack([np.ones(len(graph)) if f is None else f for f in factors])  # (J, L)
            scaled = factor[:, None, :] * (layer.ns * scale)[None, :, :]  # (J, A, L)
            cumulative = np.concatenate(
                [np.zeros((n_jobs, n_acc, 1)), np.cumsum(scaled, axis=2)], axis=2
            )
            ends = np.append(starts[1:], len(graph))
            realised_ns = (cumulative[:, :, ends] - cumulative[:, :, starts]).transpose(0, 2, 1)
            duration = np.where(
                ineligible[None],
                -1,
                _checked_units(
                    realised_ns, time_unit_ns, origin, "a realised op duration in units"
                ),
            )
        if v == 0 and task.dynamic.early_exit:
            exits = np.array(
                [-1 if o.exit_after is None else o.exit_after for o in outcomes], np.int64
            )
            exiting = np.flatnonzero(exits >= 0)
            if len(exiting):
                seg_of = np.searchsorted(starts, exits[exiting], side="right") - 1
                exit_op[exiting] = offset + seg_of
                if cumulative is None:
                    base = np.concatenate(
                        [np.zeros((n_acc, 1)), np.cumsum(layer.ns * scale, axis=1)], axis=1
                    )
                    partial = base[:, exits[exiting] + 1] - base[:, starts[seg_of]]  # (A, E)
                    partial = partial.T
                else:
                    rows = exiting[:, None]
                    accs = np.arange(n_acc)[None, :]
                    partial = (
                        cumulative[rows, accs, (exits[exiting] + 1)[:, None]]
                        - cumulative[rows, accs, starts[seg_of][:, None]]
                    )
                duration[exiting, seg_of] = np.where(
                    ineligible[seg_of], -1, to_units(partial, time_unit_ns)
                )
        parts["duration"].append(duration)

        sparsity = [outcome.sparsity[v] for outcome in outcomes]
        if task.dynamic.sparsity is None:
            parts["sparsity_mean"].append(np.full(n_seg, np.nan))
            parts["sparsity"].append(np.full((n_jobs, n_seg), np.nan))
        else:
            mean = np.asarray(task.dynamic.sparsity.mean_for(len(graph)))
            parts["sparsity_mean"].append(_weighted_segment_mean(mean, layer.macs, starts))
            realised = (
                np.stack([s for s in sparsity if s is not None])
                if n_jobs
                else np.zeros((0, len(graph)))
            )
            parts["sparsity"].append(_weighted_segment_mean(realised, layer.macs, starts))
        offset += n_seg

    return _TaskOps(
        n_ops=offset,
        segment=np.concatenate(parts["segment"]),
        variant=np.concatenate(parts["variant"]),
        context=np.concatenate(parts["context"]),
        predicted=np.concatenate(parts["predicted"]),
        energy=np.concatenate(parts["energy"]),
        dram=np.concatenate(parts["dram"]),
        sparsity_mean=np.concatenate(parts["sparsity_mean"]),
        pred_counts=np.concatenate(parts["pred_counts"]),
        preds=np.concatenate(parts["preds"]),
        duration=np.concatenate(parts["duration"], axis=1),
        sparsity=np.concatenate(parts["sparsity"], axis=1),
        exit_op=exit_op,
    )


def _scatter(target: np.ndarray, block_starts: IntArray, block: np.ndarray) -> None:
    """Write ``block[j]`` (length n each) at ``target[block_starts[j] : block_starts[j] + n]``."""
    n = block.shape[1]
    if n == 0 or len(block_starts) == 0:
        return
    rows = (block_starts[:, None] + np.arange(n)[None, :]).reshape(-1)
    target[rows] = block.reshape(len(block_starts) * n, *block.shape[2:])


def _context_names(contexts: Sequence[tuple[ModelGraph, float]]) -> tuple[str, ...]:
    """``MODEL`` or ``MODEL@SCALE``; distinct models that share a name get ``#2``, ``#3``, ..."""
    names: list[str] = []
    for graph, scale in contexts:
        name = graph.name if scale == 1.0 else f"{graph.name}@{scale:g}"
        candidate, k = name, 1
        while candidate in names:
            k += 1
            candidate = f"{name}#{k}"
        names.append(candidate)
    return tuple(names)


def _check_size(
    run: Scenario, accelerators: int, granularity: Granularity, duration_ns: int
) -> None:
    """Refuse a build whose jobs or ops are estimated above the limits, before the trace is
    drawn (see the module docstring; the rates are ``run``'s, ``fps_scale`` applied)."""
    jobs = check_job_count(run, duration_ns)
    weight = op_weight(accelerators)
    ops = []
    for task, count in zip(run.tasks, jobs, strict=True):
        per_job = float(sum(len(v.graph.segments(granularity)) for v in task.variants))
        if task.dynamic.varies_latency:  # per-layer latency draws, (jobs, accelerators, layers)
            per_job += sum(len(v.graph) for v in task.variants) / LAYER_DRAWS_PER_OP
        ops.append(count * per_job * weight)
    busiest = int(np.argmax(ops))
    OPS.check(
        sum(ops),
        f"the scenario over {duration_ns / 1e9:g} s at granularity {granularity} on "
        f"{accelerators} accelerator{'s' if accelerators > 1 else ''}",
        file=run.file,
        field=f"tasks[{busiest}].model",
        advice="use a coarser granularity, a shorter duration or lower rates",
    )


def _check_totals(
    templates: Sequence[_TaskOps],
    members: Sequence[IntArray],
    job_deadline: IntArray,
    reload_time: IntArray,
    reload_energy: IntArray,
    context_switch: bool,
    origins: Sequence[_Origin],
) -> None:
    """The sums a schedule can make stay within INT_LIMIT: the latest deadline plus every op's
    longest duration (and a reload before each op), every op's largest energy (and a reload),
    every op's largest DRAM traffic. Computed in floats per task; the error names the task that
    contributes most."""
    time, energy, dram = [], [], []
    for template, jobs in zip(templates, members, strict=True):
        n = len(jobs)
        reloads = np.zeros(2)
        if context_switch and template.n_ops:
            reloads = np.array(
                [
                    float(reload_time.max(axis=1)[template.context].sum()),
                    float(reload_energy.max(axis=1)[template.context].sum()),
                ]
            )
        longest = float(template.duration.max(axis=2).sum(dtype=np.float64)) if n else 0.0
        predicted = n * float(template.predicted.max(axis=1).sum(dtype=np.float64))
        time.append(max(longest, predicted) + n * reloads[0])
        energy.append(n * (float(template.energy.max(axis=1).sum(dtype=np.float64)) + reloads[1]))
        dram.append(n * float(template.dram.max(axis=1).sum(dtype=np.float64)))
    latest = float(job_deadline.max(initial=0))
    for what, parts, base in (
        ("the latest deadline plus every op's longest duration, in units,", time, latest),
        ("the energy (nJ) of every op on its most costly accelerator,", energy, 0.0),
        ("the DRAM bytes of every op on its most costly accelerator,", dram, 0.0),
    ):
        busiest = int(np.argmax(parts))
        origins[busiest].check(
            base + math.fsum(parts), f"{what} most of it from the jobs", time=parts is time
        )


def build_instance(
    scenario: Scenario,
    system: System,
    cost_model: CostModel,
    *,
    duration_ns: int,
    seed: int,
    granularity: str | Granularity = "model",
    time_unit_ns: int = 1,
    drops: str = "allowed",
    fps_scale: float = 1.0,
    context_switch: bool = False,
    contention: bool = False,
) -> Instance:
    """Build the instance of one seeded run (the steps are in the module docstring)."""
    if isinstance(granularity, str):
        granularity = Granularity.parse(granularity)
    if (
        isinstance(time_unit_ns, bool)
        or not isinstance(time_unit_ns, int | np.integer)
        or not 1 <= time_unit_ns <= MAX_TIME_UNIT_NS
    ):
        raise InputError(
            f"must be an integer in [1, {MAX_TIME_UNIT_NS}], got {excerpt(time_unit_ns)}",
            field="time_unit_ns",
        )
    time_unit_ns = int(time_unit_ns)
    if scenario.compat == "xrbench" and NS_PER_MS % time_unit_ns:
        # The harness's clock ticks on whole milliseconds; with a unit that does not divide
        # 1 ms, rounded releases and ticks drift apart and the replay leaves the harness.
        raise InputError(
            f"compat 'xrbench' replays the XRBench harness's millisecond grid, so the time unit "
            f"must divide 1 ms (1,000,000 ns), got {time_unit_ns} ns",
            field="time_unit_ns",
        )
    settings = Settings(
        drops=drops,
        context_switch=bool(context_switch),
        contention=bool(contention),
        dram_bandwidth=float(system.dram_bandwidth_gbps) * time_unit_ns,
        compat=scenario.compat,  # e.g. "xrbench" for XRBench .m scenarios
    )
    run = scenario.scaled(fps_scale)
    costs = _CostCache(system, cost_model)
    origins = [_Origin(run.file, i, task.name) for i, task in enumerate(run.tasks)]
    isolated = {task.name: costs.isolated_ns(task.variants[0]) for task in run.tasks}
    for origin in origins:
        origin.check(isolated[origin.name] / time_unit_ns, "the isolated latency in units")
    _check_size(run, len(system), granularity, duration_ns)
    trace = generate_trace(run, duration_ns, seed, isolated_latency=isolated)
    n_acc = len(system)

    context_of: dict[tuple[int, float], int] = {}
    contexts: list[tuple[ModelGraph, float]] = []
    job_task = np.array([job.task for job in trace.jobs], np.int64)
    templates: list[_TaskOps] = []
    members: list[IntArray] = []
    for index, task in enumerate(run.tasks):
        jobs_of_task = np.flatnonzero(job_task == index)
        members.append(jobs_of_task)
        templates.append(
            _task_ops(
                task,
                trace,
                jobs_of_task.tolist(),
                costs,
                granularity,
                time_unit_ns,
                context_of,
                contexts,
                origins[index],
            )
        )

    upstream_counts = [len(job.upstream) for job in trace.jobs]
    job_upstream_offsets = np.concatenate([[0], np.cumsum(upstream_counts)]).astype(np.int64)
    job_upstream = np.array([u for job in trace.jobs for u in job.upstream], np.int64)
    release_ns = np.array([job.release_ns for job in trace.jobs], np.int64)
    deadline_ns = np.array([job.deadline_ns for job in trace.jobs], np.int64)
    job_release = _nearest_units(release_ns, time_unit_ns)
    job_deadline = np.maximum(_nearest_units(deadline_ns, time_unit_ns), job_release + 1)

    dram_pj = _dram_pj_per_byte(cost_model)
    reload_time = np.zeros((len(contexts), n_acc), np.int64)
    reload_energy = np.zeros((len(contexts), n_acc), np.int64)
    for c, (graph, scale) in enumerate(contexts):
        weight_bytes = graph.weight_bytes * scale
        owner = next(
            origin
            for origin, task in zip(origins, run.tasks, strict=True)
            if any(v.graph is graph for v in task.variants)
        )
        for a, accelerator in enumerate(system.accelerators):
            reload_ns = weight_bytes / accelerator.offchip_bandwidth_gbps
            owner.check(reload_ns / time_unit_ns, "the weight reload time in units")
            reload_time[c, a] = int(to_units(reload_ns, time_unit_ns)) if weight_bytes else 0
            owner.check(
                weight_bytes * dram_pj / 1000.0, "the weight reload energy (nJ)", time=False
            )
            reload_energy[c, a] = round(weight_bytes * dram_pj / 1000.0)
    _check_totals(
        templates, members, job_deadline, reload_time, reload_energy, context_switch, origins
    )

    ops_per_job = np.array([templates[t].n_ops for t in job_task], np.int64)
    job_op_offsets = np.concatenate([[0], np.cumsum(ops_per_job)]).astype(np.int64)
    n_ops = int(job_op_offsets[-1])
    op_segment = np.zeros(n_ops, np.int64)
    op_variant = np.zeros(n_ops, np.int64)
    op_context = np.zeros(n_ops, np.int64)
    op_duration = np.zeros((n_ops, n_acc), np.int64)
    op_predicted = np.zeros((n_ops, n_acc), np.int64)
    op_energy = np.zeros((n_ops, n_acc), np.int64)
    op_dram = np.zeros((n_ops, n_acc), np.int64)
    op_sparsity = np.zeros(n_ops, np.float64)
    op_sparsity_mean = np.zeros(n_ops, np.float64)
    pred_counts = np.zeros(n_ops, np.int64)
    job_exit_op = np.full(len(job_task), -1, np.int64)
    for template, jobs in zip(templates, members, strict=True):
        starts = job_op_offsets[jobs]
        n = len(jobs)
        for target, values in (
            (op_segment, template.segment),
            (op_variant, template.variant),
            (op_context, template.context),
            (op_predicted, template.predicted),
            (op_energy, template.energy),
            (op_dram, template.dram),
            (op_sparsity_mean, template.sparsity_mean),
            (pred_counts, template.pred_counts),
        ):
            _scatter(target, starts, np.broadcast_to(values, (n, *values.shape)))
        _scatter(op_duration, starts, template.duration)
        _scatter(op_sparsity, starts, template.sparsity)
        job_exit_op[jobs] = np.where(template.exit_op >= 0, starts + template.exit_op, -1)

    op_pred_offsets = np.concatenate([[0], np.cumsum(pred_counts)]).astype(np.int64)
    op_preds = np.zeros(int(op_pred_offsets[-1]), np.int64)
    for template, jobs in zip(templates, members, strict=True):
        if len(template.preds) and len(jobs):
            firsts = job_op_offsets[jobs]
            _scatter(op_preds, op_pred_offsets[firsts], firsts[:, None] + template.preds[None, :])

    tasks = tuple(
        TaskInfo(
            name=task.name,
            model=task.graph.name,
            period=None
            if (period := run.period_ns(i)) is None
            else max(1, round(period / time_unit_ns)),
            priority=task.priority,
            depends_on=task.depends_on,
            variants=tuple(Variant(v.name, v.accuracy) for v in task.variants),
            tenant=task.tenant,
        )
        for i, task in enumerate(run.tasks)
    )
    return Instance(
        name=scenario.name,
        accelerators=tuple(acc.name for acc in system.accelerators),
        tasks=tasks,
        job_task=job_task,
        job_frame=np.array([job.frame for job in trace.jobs], np.int64),
        job_release=job_release,
        job_deadline=job_deadline,
        job_weight=np.array([run.tasks[t].priority for t in job_task], np.int64),
        job_exit_op=job_exit_op,
        job_upstream_offsets=job_upstream_offsets,
        job_upstream=job_upstream,
        job_op_offsets=job_op_offsets,
        op_segment=op_segment,
        op_variant=op_variant,
        op_context=op_context,
        op_duration=op_duration,
        op_predicted=op_predicted,
        op_energy=op_energy,
        op_dram_bytes=op_dram,
        op_sparsity=op_sparsity,
        op_sparsity_mean=op_sparsity_mean,
        op_pred_offsets=op_pred_offsets,
        op_preds=op_preds,
        contexts=_context_names(contexts),
        context_reload_time=reload_time,
        context_reload_energy=reload_energy,
        settings=settings,
        time_unit_ns=time_unit_ns,
        metadata={
            "scenario": scenario.name,
            "scenario_source": scenario.source,
            "system": system.name,
            "cost_model": getattr(cost_model, "name", type(cost_model).__name__),
            "granularity": str(granularity),
            "duration_ns": int(duration_ns),
            "seed": int(seed),
            "fps_scale": float(fps_scale),
            "period_rounding": scenario.period_rounding,
            "time_unit_ns": time_unit_ns,
        },
    )
