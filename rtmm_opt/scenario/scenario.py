"""Scenarios: which models run, how often, by when, and how their cost varies per sample.

A scenario is a list of tasks. Each task runs one model (a bundled name or a file) at a rate,
either periodic (``fps``) or Poisson (``poisson``, requests per second). It has a deadline
rule and a priority, and may be *cascaded* on other tasks: frame i of a cascaded task exists
only if frame i of each upstream task exists and triggers it. It is released when those
frames complete (XRBench's ``Dependency``, Kwon et al., MLSys'23 §3). Dynamic behaviour
(per-sample sparsity or latency factors, early exits, model variants) is described per task
here and drawn per job by :mod:`rtmm_opt.scenario.trace`. ``docs/scenarios.md`` has the full
file format; :func:`load_scenario` reads it, or an XRBench ``.m`` scenario, strictly.

Times in scenario files are in milliseconds (``phase_ms``, ``jitter_ms``, ``deadline: {ms:}``,
``duration_ms``). Inside the package they are nanoseconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import networkx as nx

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.strict import Fields, check_number, load_yaml, suggest
from rtmm_opt.io.units import NS_PER_MS, NS_PER_S
from rtmm_opt.workload.graph import ModelGraph

PERIOD_ROUNDINGS = ("exact", "ms_floor")
# A peer simulator whose semantics the built instance reproduces (``Settings.compat``):
# "xrbench" is the XRBench harness (docs/scenarios.md, "XRBench scenarios").
SCENARIO_COMPAT_MODES = ("none", "xrbench")
DEADLINE_KINDS = ("period", "slo", "ms")
LATENCY_FACTOR_DISTRIBUTIONS = ("lognormal", "gamma", "uniform")
LATENCY_FACTOR_SCOPES = ("sample", "layer")

# Bounds on user numbers. They are far from any sensible workload but catch unit mix-ups.
MAX_RATE = 1e6  # fps or requests/s: one request per microsecond
MAX_MS = 1e9  # about 11.6 days
MAX_SLO = 1e6
MAX_PRIORITY = 1_000_000
MAX_SCALE = 1e3
MAX_MEAN_SPARSITY = 0.95  # the density ratio (1-s)/(1-mean) needs 1 - mean well above 0
MAX_SPARSITY = 0.99  # realised sparsity is clipped here, so no layer becomes free
MAX_FACTOR_STD = 10.0


# -- dynamic behaviour ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SparsityModel:
    """Per-layer input-activation sparsity drawn per sample, and the latency it implies.

    For sample k and layer l (position in the model's topological order), with z_k and ε_kl
    independent standard normals and ρ = ``correlation``::

        s_kl = clip(mean_l + std·(√ρ·z_k + √(1-ρ)·ε_kl), 0, 0.99)
        factor_kl = dense_fraction + (1 - dense_fraction)·(1 - s_kl)/(1 - mean_l)

    The layer's latency is its static cost times ``factor_kl``. This is the shape of the
    synthetic Dysta tables (``shared/dysta/README.md`` §1.3: ``sim_lat = base·(0.3 +
    0.7·(1 - s)/(1 - mean_s))``, with a per-sample shift shared by all layers), so the mean
    factor is 1 up to clipping and the static cost is the mean latency. The per-sample shift
    makes sparsity correlated across layers. That is what lets Dysta's γ predictor (§4.6 there)
    forecast the rest of a job from the layers already run. The default ρ = 0.7 is close to
    the synthetic tables' split (0.15·N(0, 0.3) shared vs N(0, 0.03) per layer gives
    0.045² / (0.045² + 0.03²) ≈ 0.69).

    ``mean`` is one value for every layer, or one per layer of the task's model (a variant
    with another model then uses the average of that list).
    """

    mean: tuple[float, ...]
    std: float = 0.1
    correlation: float = 0.7
    dense_fraction: float = 0.3

    def mean_for(self, n_layers: int) -> tuple[float, ...]:
        if len(self.mean) == n_layers:
            return self.mean
        if len(self.mean) == 1:
            return self.mean * n_layers
        average = sum(self.mean) / len(self.mean)
        return (average,) * n_layers


@dataclass(frozen=True)
class LatencyFactorModel:
    """A multiplicative latency factor with mean ``mean`` and standard deviation ``std``.

    ``per: sample`` draws one factor per job, shared by all its layers. ``per: layer``
    draws one factor per layer. ``distribution`` is ``lognormal`` (default), ``gamma`` or
    ``uniform`` (symmetric around the mean, which needs std ≤ mean/√3). It models dynamic cost
    without a sparsity story (input-dependent control flow, DVFS, cache effects). It combines
    with :class:`SparsityModel` by multiplication.
    """

    mean: float = 1.0
    std: float = 0.1
    distribution: str = "lognormal"
    per: str = "sample"


@dataclass(frozen=True)
class ExitPoint:
    """An early-exit branch: the job may finish after the layer at ``after_layer``.

    ``after_layer`` is a 0-based position in the model's topological order (for the chains
    of XRBench, the layer index). ``probability`` is the unconditional share of samples that
    leave at this point; the shares of all points of a task add up to at most 1.
    """

    after_layer: int
    probability: float


@dataclass(frozen=True)
class VariantSpec:
    """One way to run a task: a model (the task's own unless given) scaled by ``latency_scale``.

    ``latency_scale`` multiplies the static cost of every layer (latency, energy and DRAM
    traffic) and the weight bytes a context switch reloads. A width-scaled sub-network of a
    supernet is the intended use (DREAM, arXiv 2212.03414 §4). ``accuracy`` is what a
    variant-choosing scheduler trades against latency.
    """

    name: str
    graph: ModelGraph = field(compare=False)
    model: str
    latency_scale: float = 1.0
    accuracy: float = 1.0


@dataclass(frozen=True)
class Dynamic:
    """A task's dynamic behaviour. Empty by default: every job costs the static (mean) cost."""

    sparsity: SparsityModel | None = None
    latency_factor: LatencyFactorModel | None = None
    early_exit: tuple[ExitPoint, ...] = ()
    variants: tuple[VariantSpec, ...] = ()

    @property
    def varies_latency(self) -> bool:
        return self.sparsity is not None or self.latency_factor is not None


@dataclass(frozen=True)
class DeadlineRule:
    """``period`` (due at the next frame's nominal release), ``slo`` (value × isolated latency,
    after release, as in Dysta's §3.3) or ``ms`` (value milliseconds after release)."""

    kind: str = "period"
    value: float | None = None

    def __str__(self) -> str:
        return self.kind if self.value is None else f"{self.kind}={self.value:g}"


# -- tasks and scenarios --------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One stream of inference requests. See the module docstring and ``docs/scenarios.md``.

    Exactly one of ``fps`` and ``poisson`` is set, or neither for a cascaded task, which then
    inherits its frames from its upstream tasks.
    """

    name: str
    model: str
    graph: ModelGraph = field(compare=False, repr=False)
    fps: float | None = None
    poisson: float | None = None
    phase_ms: float = 0.0
    jitter_ms: float = 0.0
    deadline: DeadlineRule = DeadlineRule()
    priority: int = 1
    depends_on: tuple[str, ...] = ()
    trigger_probability: float = 1.0
    dynamic: Dynamic = Dynamic()
    tenant: str = ""  # who sends the requests (multi-tenant serving); "" = the task's own name

    def __post_init__(self) -> None:
        if not self.tenant:
            object.__setattr__(self, "tenant", self.name)

    @property
    def variants(self) -> tuple[VariantSpec, ...]:
        """The variants, or one ``default`` variant (the task's model, unscaled)."""
        if self.dynamic.variants:
            return self.dynamic.variants
        return (VariantSpec("default", self.graph, self.model),)

    @property
    def periodic(self) -> bool:
        return self.fps is not None

    def scaled(self, factor: float) -> Task:
        """The same task with its rate multiplied by ``factor``."""
        return replace(
            self,
            fps=None if self.fps is None else self.fps * factor,
            poisson=None if self.poisson is None else self.poisson * factor,
        )


@dataclass(frozen=True)
class Scenario:
    """A named set of tasks, checked on construction (dependencies, cycles, rate rules).

    ``source`` notes where the scenario comes from (the file's ``source:`` field, else the file
    path). ``file`` is the path it was read from, and errors name it. ``period_rounding``
    is ``exact`` (period = 1e9/fps ns) or ``ms_floor`` (whole milliseconds, ``1000 // fps``,
    as the XRBench harness computes it). ``duration_ms`` is an optional default run length.
    ``compat`` is ``none`` (the project's semantics) or ``xrbench``: the trace keeps the
    harness's number of requests and the instance is built with ``settings.compat: xrbench``,
    under which the ``xrbench`` scheduler and the metrics reproduce the harness. XRBench
    ``.m`` scenarios are read with ``xrbench``.
    """

    name: str
    tasks: tuple[Task, ...]
    source: str = ""
    file: str | None = None
    description: str = ""
    period_rounding: str = "exact"
    duration_ms: float | None = None
    compat: str = "none"

    def __post_init__(self) -> None:
        _check_scenario(self)

    # -- structure --------------------------------------------------------------------------------
    def task_index(self, name: str) -> int:
        for index, task in enumerate(self.tasks):
            if task.name == name:
                return index
        names = [task.name for task in self.tasks]
        raise InputError(f"no task named {excerpt(name)}{suggest(name, names)}", file=self.file)

    @property
    def topological_order(self) -> tuple[int, ...]:
        """Task indices, every upstream before its dependents (file order where free)."""
        return tuple(nx.lexicographical_topological_sort(_dependency_graph(self.tasks)))

    @property
    def duration_ns(self) -> int | None:
        return None if self.duration_ms is None else round(self.duration_ms * NS_PER_MS)

    # -- time -------------------------------------------------------------------------------------
    def own_period_ns(self, task: Task) -> float | None:
        """The period of a task's own ``fps`` under this scenario's rounding, in ns."""
        if task.fps is None:
            return None
        if self.period_rounding == "ms_floor":
            return float((1000 // task.fps) * NS_PER_MS)
        return NS_PER_S / task.fps

    def period_ns(self, index: int) -> float | None:
        """The period of task ``index`` in ns: its own, or inherited from its upstream tasks;
        None for Poisson tasks and tasks cascaded on them."""
        task = self.tasks[index]
        if task.fps is not None:
            return self.own_period_ns(task)
        if task.poisson is not None or not task.depends_on:
            return None
        periods = [self.period_ns(self.task_index(up)) for up in task.depends_on]
        if any(period is None for period in periods):
            return None
        return periods[0]

    def scaled(self, factor: float) -> Scenario:
        """Every task's rate multiplied by ``factor`` (the builder's ``fps_scale``)."""
        if factor == 1.0:
            return self
        if not (
            isinstance(factor, int | float) and math.isfinite(factor) and 0 < factor <= MAX_SCALE
        ):
            raise InputError(
                f"must be a number in (0, {MAX_SCALE:g}], got {excerpt(factor)}", field="fps_scale"
            )
        return replace(self, tasks=tuple(task.scaled(factor) for task in self.tasks))


def _dependency_graph(tasks: Sequence[Task]) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(tasks)))
    index = {task.name: i for i, task in enumerate(tasks)}
    for i, task in enumerate(tasks):
        for up in task.depends_on:
            if up in index:
                graph.add_edge(index[up], i)
    return graph


def _check_scenario(scenario: Scenario) -> None:
    """Rules that involve more than one field; every error names the task field at fault."""
    file = scenario.file

    def fail(i: int, key: str, reason: str) -> InputError:
        return InputError(reason, file=file, field=f"tasks[{i}].{key}")

    if not scenario.tasks:
        raise InputError("a scenario needs at least one task", file=file, field="tasks")
    if scenario.period_rounding not in PERIOD_ROUNDINGS:
        raise InputError(
            f"must be one of {', '.join(PERIOD_ROUNDINGS)}, "
            f"got {excerpt(scenario.period_rounding)}",
            file=file,
            field="period_rounding",
        )
    if scenario.compat not in SCENARIO_COMPAT_MODES:
        raise InputError(
            f"must be one of {', '.join(SCENARIO_COMPAT_MODES)}, got {excerpt(scenario.compat)}",
            file=file,
            field="compat",
        )
    names = [task.name for task in scenario.tasks]
    for i, task in enumerate(scenario.tasks):
        if names.index(task.name) != i:
            raise fail(
                i,
                "name",
                f"duplicate task name '{task.name}' (also tasks[{names.index(task.name)}])",
            )
    for i, task in enumerate(scenario.tasks):
        for k, up in enumerate(task.depends_on):
            if up == task.name:
                raise fail(i, f"depends_on[{k}]", f"task '{task.name}' depends on itself")
            if up not in names:
                raise fail(
                    i,
                    f"depends_on[{k}]",
                    f"unknown task {excerpt(up)}{suggest(up, names)}; tasks: {', '.join(names)}",
                )
        if len(set(task.depends_on)) != len(task.depends_on):
            raise fail(i, "depends_on", "a task is listed twice")
    graph = _dependency_graph(scenario.tasks)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [u for u, _ in nx.find_cycle(graph)]
        path = " -> ".join(names[u] for u in [*cycle, cycle[0]])
        raise InputError(
            f"cyclic task dependencies: {path}", file=file, field=f"tasks[{cycle[0]}].depends_on"
        )
    for i, task in enumerate(scenario.tasks):
        if task.fps is not None and task.poisson is not None:
            raise fail(i, "fps", "give either fps (periodic) or poisson (requests/s), not both")
        if task.fps is None and task.poisson is None and not task.depends_on:
            raise fail(i, "fps", "a task needs a rate: fps (periodic) or poisson (requests/s)")
        if task.poisson is not None and task.depends_on:
            raise fail(
                i,
                "poisson",
                "a cascaded task runs once per upstream frame; give it fps or no rate, not poisson",
            )
        if task.poisson is not None and (task.phase_ms or task.jitter_ms):
            key = "phase_ms" if task.phase_ms else "jitter_ms"
            raise fail(i, key, "phase and jitter apply to periodic tasks only")
        period = scenario.period_ns(i)
        if task.fps is not None and period is not None and period <= 0:
            raise fail(i, "fps", f"{task.fps:g} FPS rounds to a period of 0 ms under ms_floor")
        if task.deadline.kind == "period" and period is None:
            raise fail(
                i,
                "deadline",
                "a Poisson task (or one cascaded on it) has no period; "
                "use deadline: {slo: X} or {ms: X}",
            )
        if task.fps is None and task.depends_on and task.deadline.kind == "period":
            inherited = {scenario.period_ns(names.index(up)) for up in task.depends_on}
            if len(inherited) > 1:
                raise fail(
                    i,
                    "deadline",
                    "upstream tasks have different periods; give this task its own fps "
                    "or a deadline in ms or slo",
                )
        if task.fps is not None and task.depends_on and period is not None:
            for up in task.depends_on:
                up_period = scenario.period_ns(names.index(up))
                if up_period is None:
                    raise fail(
                        i,
                        "fps",
                        f"'{up}' is aperiodic (Poisson), so frames cannot be paired by period; "
                        "drop fps to run once per upstream request",
                    )
                if period < up_period:
                    raise fail(
                        i,
                        "fps",
                        f"frame i of this task pairs with frame i of '{up}', whose period "
                        f"{up_period / NS_PER_MS:g} ms is longer than this one's "
                        f"{period / NS_PER_MS:g} ms; drop fps to run once per upstream frame",
                    )
        if period is not None and task.jitter_ms * NS_PER_MS >= period:
            raise fail(
                i,
                "jitter_ms",
                f"jitter {task.jitter_ms:g} ms must be shorter than the period "
                f"{period / NS_PER_MS:g} ms",
            )


# -- loading --------------------------------------------------------------------------------------

SCENARIO_KEYS = (
    "kind",
    "name",
    "description",
    "source",
    "period_rounding",
    "duration_ms",
    "compat",
    "tasks",
)
TASK_KEYS = (
    "name",
    "model",
    "fps",
    "poisson",
    "phase_ms",
    "jitter_ms",
    "deadline",
    "priority",
    "depends_on",
    "trigger_probability",
    "dynamic",
    "tenant",
)


def _known_keys(spec: Fields, valid: Sequence[str]) -> None:
    """Reject unknown keys before reading any field, so a typo is reported as a typo rather than
    as the missing field it was meant to be."""
    for key in spec.data:
        if key not in valid:
            raise spec.error(
                str(key),
                f"unknown key {excerpt(key)}{suggest(str(key), valid)}; "
                f"valid keys: {', '.join(sorted(valid))}",
            )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario: a ``kind: scenario`` YAML file or an XRBench ``.m`` scenario."""
    path = Path(path)
    if path.suffix == ".m":
        return load_maestro_scenario(path)
    data = load_yaml(path)
    return scenario_from_dict(data, file=path)


def scenario_from_dict(data: Any, *, file: str | Path | None = None) -> Scenario:
    """A scenario from parsed YAML; model paths are resolved against ``file``'s directory."""
    top = Fields(data, file=file)
    if top.has("kind") and top.data["kind"] != "scenario":  # another kind of file: say so first
        raise top.error("kind", f"expected 'scenario', got {excerpt(top.data['kind'])}")
    _known_keys(top, SCENARIO_KEYS)
    top.text("kind")
    name = top.text("name")
    base = Path(file).parent if file is not None else Path.cwd()
    raw_tasks = top.items("tasks")
    if not raw_tasks:
        raise top.error("tasks", "a scenario needs at least one task")
    tasks = tuple(
        _read_task(top.child(raw, f"tasks[{i}]"), base) for i, raw in enumerate(raw_tasks)
    )
    duration = top.number("duration_ms", None, positive=True, maximum=MAX_MS)
    scenario = Scenario(
        name=name,
        tasks=tasks,
        source=top.text("source", str(file) if file is not None else ""),
        file=str(file) if file is not None else None,
        description=top.text("description", ""),
        period_rounding=top.text("period_rounding", "exact", choices=PERIOD_ROUNDINGS),
        duration_ms=None if duration is None else float(duration),
        compat=top.text("compat", "none", choices=SCENARIO_COMPAT_MODES),
    )
    top.done()
    return scenario


def _looks_like_path(reference: str) -> bool:
    return "/" in reference or "\\" in reference or reference.endswith((".yaml", ".yml", ".m"))


def _resolve_model(spec: Fields, key: str, base: Path) -> tuple[str, ModelGraph]:
    """A bundled model name, or a model file path relative to the scenario's directory."""
    from rtmm_opt.workload.library import get_model

    reference = spec.text(key)
    target: str | Path = reference
    if _looks_like_path(reference):
        target = Path(reference) if Path(reference).is_absolute() else base / reference
        if not Path(target).is_file():
            raise spec.error(key, f"no such model file: {target}")
    try:
        return reference, get_model(target)
    except InputError as exc:
        if exc.file is None:  # an unknown bundled name: the scenario's field is at fault
            raise spec.error(key, exc.reason) from None
        raise  # a problem inside the model file names that file


def _read_task(spec: Fields, base: Path) -> Task:
    _known_keys(spec, TASK_KEYS)
    name = spec.text("name")
    model, graph = _resolve_model(spec, "model", base)
    fps = spec.number("fps", None, positive=True, maximum=MAX_RATE)
    poisson = spec.number("poisson", None, positive=True, maximum=MAX_RATE)
    depends_on = spec.items("depends_on", [])
    for k, up in enumerate(depends_on):
        if not isinstance(up, str) or not up.strip():
            raise spec.error(f"depends_on[{k}]", f"expected a task name, got {excerpt(up)}")
    task = Task(
        name=name,
        model=model,
        graph=graph,
        fps=None if fps is None else float(fps),
        poisson=None if poisson is None else float(poisson),
        phase_ms=float(spec.number("phase_ms", 0.0, non_negative=True, maximum=MAX_MS)),
        jitter_ms=float(spec.number("jitter_ms", 0.0, non_negative=True, maximum=MAX_MS)),
        deadline=_read_deadline(spec),
        priority=spec.integer("priority", 1, positive=True, maximum=MAX_PRIORITY),
        depends_on=tuple(depends_on),
        trigger_probability=float(
            spec.number("trigger_probability", 1.0, minimum=0.0, maximum=1.0)
        ),
        dynamic=_read_dynamic(spec, graph, model, base),
        tenant=spec.text("tenant", name),
    )
    spec.done()
    return task


def _read_deadline(spec: Fields) -> DeadlineRule:
    raw = spec.raw("deadline", "period")
    if isinstance(raw, str):
        if raw != "period":
            raise spec.error(
                "deadline",
                f"unknown deadline {excerpt(raw)}{suggest(raw, ['period'])}; "
                "use period, {slo: X} or {ms: X}",
            )
        return DeadlineRule("period")
    if not isinstance(raw, Mapping):
        raise spec.error(
            "deadline", f"expected period, {{slo: X}} or {{ms: X}}, got {excerpt(raw)}"
        )
    rule = spec.mapping("deadline")
    assert rule is not None
    slo = rule.number("slo", None, positive=True, maximum=MAX_SLO)
    ms = rule.number("ms", None, positive=True, maximum=MAX_MS)
    rule.done()
    if (slo is None) == (ms is None):
        raise spec.error("deadline", "give exactly one of slo (× isolated latency) or ms")
    return DeadlineRule("slo", float(slo)) if slo is not None else DeadlineRule("ms", float(ms))


def _read_dynamic(spec: Fields, graph: ModelGraph, model: str, base: Path) -> Dynamic:
    dyn = spec.mapping("dynamic", None)
    if dyn is None:
        return Dynamic()
    sparsity = None
    sp = dyn.mapping("sparsity", None)
    if sp is not None:
        raw_mean = sp.raw("mean")
        if isinstance(raw_mean, list):
            if len(raw_mean) != len(graph):
                raise sp.error(
                    "mean", f"has {len(raw_mean)} values for {len(graph)} layers of '{model}'"
                )
            means = tuple(
                float(
                    check_number(
                        v,
                        file=sp.file,
                        field=sp.field(f"mean[{k}]"),
                        minimum=0.0,
                        maximum=MAX_MEAN_SPARSITY,
                    )
                )
                for k, v in enumerate(raw_mean)
            )
        else:
            means = (float(sp.number("mean", minimum=0.0, maximum=MAX_MEAN_SPARSITY)),)
        sparsity = SparsityModel(
            mean=means,
            std=float(sp.number("std", 0.1, non_negative=True, maximum=0.5)),
            correlation=float(sp.number("correlation", 0.7, minimum=0.0, maximum=1.0)),
            dense_fraction=float(sp.number("dense_fraction", 0.3, minimum=0.0, maximum=1.0)),
        )
        sp.done()
    factor = None
    lf = dyn.mapping("latency_factor", None)
    if lf is not None:
        factor = LatencyFactorModel(
            mean=float(lf.number("mean", 1.0, positive=True, maximum=MAX_SCALE)),
            std=float(lf.number("std", 0.1, non_negative=True, maximum=MAX_FACTOR_STD)),
            distribution=lf.text("distribution", "lognormal", choices=LATENCY_FACTOR_DISTRIBUTIONS),
            per=lf.text("per", "sample", choices=LATENCY_FACTOR_SCOPES),
        )
        if factor.distribution == "uniform" and factor.std > factor.mean / math.sqrt(3):
            raise lf.error(
                "std",
                f"a uniform factor with mean {factor.mean:g} needs std <= mean/√3 = "
                f"{factor.mean / math.sqrt(3):.4g} (factors must stay >= 0)",
            )
        lf.done()
    exits = []
    for k, raw in enumerate(dyn.items("early_exit", [])):
        point = dyn.child(raw, dyn.field(f"early_exit[{k}]"))
        exits.append(_read_exit(point, len(graph), model))
        point.done()
    positions = [e.after_layer for e in exits]
    if len(set(positions)) != len(positions):
        raise dyn.error("early_exit", "two exit points after the same layer")
    total = sum(e.probability for e in exits)
    if total > 1 + 1e-9:
        raise dyn.error("early_exit", f"exit probabilities add up to {total:g} > 1")
    variants = []
    for k, raw in enumerate(dyn.items("variants", [])):
        v = dyn.child(raw, dyn.field(f"variants[{k}]"))
        if v.has("model"):
            v_model, v_graph = _resolve_model(v, "model", base)
        else:
            v_model, v_graph = model, graph
        variants.append(
            VariantSpec(
                name=v.text("name"),
                graph=v_graph,
                model=v_model,
                latency_scale=float(
                    v.number("latency_scale", 1.0, positive=True, maximum=MAX_SCALE)
                ),
                accuracy=float(v.number("accuracy", 1.0, non_negative=True, maximum=MAX_SCALE)),
            )
        )
        v.done()
    variant_names = [v.name for v in variants]
    for k, variant_name in enumerate(variant_names):
        if variant_names.index(variant_name) != k:
            raise dyn.error(f"variants[{k}].name", f"duplicate variant name '{variant_name}'")
    dyn.done()
    return Dynamic(
        sparsity, factor, tuple(sorted(exits, key=lambda e: e.after_layer)), tuple(variants)
    )


def _read_exit(point: Fields, n_layers: int, model: str) -> ExitPoint:
    raw = point.raw("after_layer")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise point.error(
            "after_layer", f"expected a layer index or a fraction in (0, 1), got {excerpt(raw)}"
        )
    if isinstance(raw, int):
        position = raw
        if not 0 <= position <= n_layers - 2:
            raise point.error(
                "after_layer",
                f"layer {position} is not an early exit of '{model}' "
                f"(valid: 0..{n_layers - 2}; the last layer {n_layers - 1} is the normal exit)",
            )
    else:
        if not 0 < raw < 1:
            raise point.error(
                "after_layer", f"a fraction of the layers must be in (0, 1), got {excerpt(raw)}"
            )
        # after the first ceil(f·n) layers, i.e. at position ceil(f·n) - 1
        position = max(0, math.ceil(raw * n_layers - 1e-9) - 1)
        if position > n_layers - 2:
            raise point.error(
                "after_layer",
                f"fraction {raw:g} of {n_layers} layers is the last layer, not an early exit",
            )
    probability = float(point.number("probability", positive=True, maximum=1.0))
    return ExitPoint(position, probability)


def load_maestro_scenario(path: str | Path) -> Scenario:
    """An XRBench ``.m`` usage scenario as a Scenario.

    One task per ``Network`` block, named like it. Its model is the block's layers (a chain),
    ``FPS`` is the rate, ``Probability`` the trigger probability, and ``Dependency`` gives
    ``depends_on``. Periods are whole milliseconds (``ms_floor``), deadlines are the next frame,
    and the default run length is the harness's 700 ms window (XRBench ``RunWorkloads(700)``).
    The scenario says ``compat: xrbench``: its instances reproduce the harness (the number of
    requests here, the event loop in the ``xrbench`` scheduler, the logging in the metrics).
    """
    from rtmm_opt.workload.maestro import parse_maestro

    parsed = parse_maestro(path)
    tasks = []
    for network in parsed.networks:
        if network.fps is None:
            raise InputError(
                f"a scenario network needs 'FPS' (line {network.line})",
                file=str(path),
                field=f"networks.{network.name}.FPS",
            )
        tasks.append(
            Task(
                name=network.name,
                model=network.name,
                graph=network.graph(source=str(path)),
                fps=float(network.fps),
                depends_on=tuple(network.dependencies),
                trigger_probability=float(network.probability),
            )
        )
    return Scenario(
        name=Path(path).stem,
        tasks=tuple(tasks),
        source=str(path),
        file=str(path),
        period_rounding="ms_floor",
        duration_ms=XRBENCH_WINDOW_MS,
        compat="xrbench",
    )


XRBENCH_WINDOW_MS = 700.0  # XRBench-MAESTRO runs every scenario for RunWorkloads(700)


def scenario_summary(scenario: Scenario) -> list[dict[str, Any]]:
    """One row per task (for ``rtmm validate`` and reports)."""
    rows: list[dict[str, Any]] = []
    for i, task in enumerate(scenario.tasks):
        period = scenario.period_ns(i)
        rows.append(
            {
                "task": task.name,
                "model": task.model,
                "rate": f"{task.fps:g} fps"
                if task.fps
                else (f"poisson {task.poisson:g}/s" if task.poisson else "upstream"),
                "period_ms": None if period is None else period / NS_PER_MS,
                "deadline": str(task.deadline),
                "priority": task.priority,
                "depends_on": list(task.depends_on),
                "trigger_probability": task.trigger_probability,
                "variants": [v.name for v in task.variants],
            }
        )
    return rows
