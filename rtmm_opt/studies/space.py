"""The search space of hard instances: what ``rtmm generate`` may vary, and how a point of it
becomes a scenario and an Instance (``docs/hard_instances.md``).

A :class:`SearchSpace` holds ranges and choices, with defaults that any of a YAML file's keys
override (:func:`read_space`; every key is checked, and a bad one is an :class:`InputError`
naming the file and the key). :func:`sample` draws one point through an Optuna-style trial
(``suggest_int``, ``suggest_float``, ``suggest_categorical``: Optuna's own trial, or
:class:`RandomTrial` for a seeded draw without Optuna). A point is a flat dict of plain values,
so a search store can keep it and :func:`synthesise` can rebuild the same scenario from it.

How a point becomes a scenario (:func:`synthesise`):

* ``n_tasks`` tasks, each a bundled model of the pool; tasks after the first may be cascaded
  on the one before (``cascade_i``) with a trigger probability;
* the total utilisation ``utilisation`` U is split over the tasks that are not cascaded in
  proportion to their ``share_i`` (a Dirichlet-like split as in UUniFast); task i then runs at
  ``fps_i = U · share_i · accelerators / T_iso,i`` (capped at ``max_fps``), where T_iso,i is the
  model's isolated latency on the chosen system (:func:`isolated_latencies`). U is therefore the
  share of the whole system the root tasks would keep busy if every job ran at its isolated
  speed; cascades add their load on top (the metadata records the effective load);
* per task a deadline rule (``period``, ``slo`` with a multiplier of T_iso, or ``ms`` as a
  fraction of the task's period), a priority (its jobs' miss weight), and one kind of dynamic
  behaviour (none, sparsity-driven latency, a random latency factor, an early exit, or a
  half-width variant);
* the system preset, optionally its PEs, DRAM bandwidth and bandwidth contention, the cost
  model, the granularity, the trace length and the trace seed.

The size cap (``max_jobs``, ``max_ops``) keeps every instance small enough for the oracle to
certify: :func:`build_point` shortens the trace until the instance fits.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rtmm_opt.errors import InputError
from rtmm_opt.hardware.accelerator import System
from rtmm_opt.hardware.cost import make_cost_model
from rtmm_opt.hardware.presets import get_system
from rtmm_opt.instance import Instance, load_workload
from rtmm_opt.io.strict import Fields, check_number, load_yaml
from rtmm_opt.scenario.scenario import scenario_from_dict
from rtmm_opt.studies.parameters import apply_to_system
from rtmm_opt.workload.library import list_models

DEADLINE_RULES = ("period", "slo", "ms")
DYNAMIC_KINDS = ("none", "sparsity", "latency", "early_exit", "variant")
GRANULARITIES = ("model", "block:2", "block:3", "block:4")
COSTS = ("analytical", "table:xrbench")


class Trial(Protocol):
    """What :func:`sample` needs of a trial (Optuna's ``Trial`` has it)."""

    def suggest_int(self, name: str, low: int, high: int) -> int: ...

    def suggest_float(self, name: str, low: float, high: float) -> float: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


class RandomTrial:
    """A trial that draws uniformly from a seeded numpy generator and records its params."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, Any] = {}

    def suggest_int(self, name: str, low: int, high: int) -> int:
        self.params[name] = int(self.rng.integers(low, high + 1))
        return int(self.params[name])

    def suggest_float(self, name: str, low: float, high: float) -> float:
        self.params[name] = float(self.rng.uniform(low, high)) if high > low else float(low)
        return float(self.params[name])

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        self.params[name] = list(choices)[int(self.rng.integers(len(choices)))]
        return self.params[name]


@dataclass(frozen=True)
class SearchSpace:
    """Ranges ``(low, high)`` and choices of the hard-instance search (module docstring)."""

    models: tuple[str, ...] = (
        "ES_RITNet", "GE_FBNet_C", "HT_hand_graph_cnn_half", "AS_ED_TCN", "D2go_FastRCNN",
        "PD_Plane_RCNN_Quarter", "DR_RGBd_200", "DE_midas_v21_small",
    )  # fmt: skip
    tasks: tuple[int, int] = (2, 4)
    utilisation: tuple[float, float] = (0.4, 1.2)
    share: tuple[float, float] = (0.05, 1.0)
    deadlines: tuple[str, ...] = DEADLINE_RULES
    slo: tuple[float, float] = (1.2, 6.0)
    deadline_fraction: tuple[float, float] = (0.3, 1.5)
    priorities: tuple[int, int] = (1, 3)
    cascades: tuple[bool, ...] = (False, True)
    trigger_probability: tuple[float, float] = (0.3, 1.0)
    dynamic: tuple[str, ...] = DYNAMIC_KINDS
    sparsity: tuple[float, float] = (0.2, 0.8)
    latency_std: tuple[float, float] = (0.05, 0.5)
    exit_probability: tuple[float, float] = (0.1, 0.6)
    systems: tuple[str, ...] = ("xrb4k-A", "xrb4k-D", "xrb4k-J", "xrb4k-K", "xrb4k-M")
    pes: tuple[int | None, ...] = (None,)
    dram_bandwidth_gbps: tuple[float | None, ...] = (None,)
    contention: tuple[bool, ...] = (False,)
    costs: tuple[str, ...] = ("analytical",)
    granularities: tuple[str, ...] = ("model", "block:2", "block:4")
    duration_ms: tuple[int, int] = (20, 200)
    max_fps: float = 240.0
    max_jobs: int = 48
    max_ops: int = 240
    source: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("source")
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in data.items()}  # fmt: skip


RANGE_KEYS = {  # key → (integer, minimum, maximum)
    "tasks": (True, 1, 8),
    "utilisation": (False, 0.01, 10.0),
    "share": (False, 0.001, 1.0),
    "slo": (False, 1.0, 100.0),
    "deadline_fraction": (False, 0.05, 10.0),
    "priorities": (True, 1, 1000),
    "trigger_probability": (False, 0.01, 1.0),
    "sparsity": (False, 0.0, 0.95),
    "latency_std": (False, 0.0, 2.0),
    "exit_probability": (False, 0.0, 1.0),
    "duration_ms": (True, 1, 10_000),
}
SCALAR_KEYS = {"max_fps": (False, 1.0, 100_000.0), "max_jobs": (True, 1, 10_000),
               "max_ops": (True, 1, 200_000)}  # fmt: skip


def read_space(path: str | Path) -> SearchSpace:
    """The search space of a YAML file: the defaults, with the file's keys overriding them."""
    return space_from_dict(load_yaml(path), file=path)


def space_from_dict(data: Any, *, file: str | Path | None = None) -> SearchSpace:
    """A :class:`SearchSpace` from parsed YAML (``None`` or ``{}``: the defaults)."""
    spec = Fields({} if data is None else data, file=file)
    changes: dict[str, Any] = {}
    for key, (integer, low, high) in RANGE_KEYS.items():
        if not spec.has(key):
            continue
        value = spec.raw(key)
        if not isinstance(value, list) or len(value) != 2:
            raise spec.error(key, f"expected a range [low, high], got {value!r:.80}")
        numbers = [check_number(v, file=spec.file, field=f"{key}[{i}]", integer=integer,
                                minimum=low, maximum=high)
                   for i, v in enumerate(value)]  # fmt: skip
        if numbers[0] > numbers[1]:
            raise spec.error(key, f"low {numbers[0]} is above high {numbers[1]}")
        changes[key] = tuple(numbers)
    for key, (integer, low, high) in SCALAR_KEYS.items():
        if spec.has(key):
            changes[key] = spec.number(key, integer=integer, minimum=low, maximum=high)
    choice_checks: dict[str, Any] = {
        "models": _model, "deadlines": _member(DEADLINE_RULES), "cascades": _boolean,
        "dynamic": _member(DYNAMIC_KINDS), "systems": _system, "pes": _optional_int,
        "dram_bandwidth_gbps": _optional_number, "contention": _boolean, "costs": _cost,
        "granularities": _granularity,
    }  # fmt: skip
    for key, check in choice_checks.items():
        if not spec.has(key):
            continue
        values = spec.items(key)
        if not values:
            raise spec.error(key, "expected a non-empty list")
        checked = []
        for i, value in enumerate(values):
            try:
                checked.append(check(value))
            except (InputError, ValueError, TypeError) as error:
                reason = error.reason if isinstance(error, InputError) else str(error)
                raise InputError(reason, file=spec.file, field=f"{key}[{i}]") from None
        if len(set(map(repr, checked))) != len(checked):
            raise spec.error(key, "a value appears twice")
        changes[key] = tuple(checked)
    spec.used.update([*RANGE_KEYS, *SCALAR_KEYS, *choice_checks])  # the valid keys
    spec.done()
    return dataclasses.replace(SearchSpace(), source=None if file is None else str(file),
                               **changes)  # fmt: skip


def _model(value: Any) -> str:
    if not isinstance(value, str) or value not in list_models():
        from rtmm_opt.io.strict import suggest

        raise ValueError(f"not a bundled model: {value!r:.80}{suggest(str(value), list_models())}")
    return value


def _member(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r:.80}")
        return str(value)

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r:.80}")
    return value


def _system(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a system preset name, got {value!r:.80}")
    get_system(value)  # InputError with the nearest name
    return value


def _optional_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise ValueError(f"expected null or a positive integer, got {value!r:.80}")
    return value


def _optional_number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
        math.isfinite(value) and 0 < value <= 1e6
    ):
        raise ValueError(f"expected null or a positive number, got {value!r:.80}")
    return float(value)


def _cost(value: Any) -> str:
    if value not in COSTS:
        raise ValueError(f"expected one of {', '.join(COSTS)}, got {value!r:.80}")
    return str(value)


def _granularity(value: Any) -> str:
    if value not in GRANULARITIES:
        raise ValueError(f"expected one of {', '.join(GRANULARITIES)}, got {value!r:.80}")
    return str(value)


def sample(trial: Trial, space: SearchSpace) -> dict[str, Any]:
    """One point of ``space``, drawn through ``trial`` (see the module docstring)."""
    p: dict[str, Any] = {}
    p["system"] = trial.suggest_categorical("system", list(space.systems))
    p["pes"] = trial.suggest_categorical("pes", list(space.pes))
    p["dram_bandwidth_gbps"] = trial.suggest_categorical(
        "dram_bandwidth_gbps", list(space.dram_bandwidth_gbps)
    )
    p["contention"] = trial.suggest_categorical("contention", list(space.contention))
    p["cost"] = trial.suggest_categorical("cost", list(space.costs))
    p["granularity"] = trial.suggest_categorical("granularity", list(space.granularities))
    p["duration_ms"] = trial.suggest_int("duration_ms", *space.duration_ms)
    p["trace_seed"] = trial.suggest_int("trace_seed", 0, 999)
    p["utilisation"] = trial.suggest_float("utilisation", *space.utilisation)
    n = p["n_tasks"] = trial.suggest_int("n_tasks", *space.tasks)
    for i in range(n):
        p[f"model_{i}"] = trial.suggest_categorical(f"model_{i}", list(space.models))
        cascaded = i > 0 and trial.suggest_categorical(f"cascade_{i}", list(space.cascades))
        p[f"cascade_{i}"] = bool(cascaded)
        if cascaded:
            p[f"trigger_{i}"] = trial.suggest_float(f"trigger_{i}", *space.trigger_probability)
        else:
            p[f"share_{i}"] = trial.suggest_float(f"share_{i}", *space.share)
        rules = list(space.deadlines)
        if cascaded:  # a cascaded task inherits its upstream's frames and period
            rules = [rule for rule in rules if rule != "ms"] or ["period"]
        # Optuna needs one fixed set of choices per name: cascaded tasks have their own
        key = f"deadline_cascaded_{i}" if cascaded else f"deadline_{i}"
        rule = p[f"deadline_{i}"] = trial.suggest_categorical(key, rules)
        if rule == "slo":
            p[f"slo_{i}"] = trial.suggest_float(f"slo_{i}", *space.slo)
        elif rule == "ms":
            p[f"fraction_{i}"] = trial.suggest_float(f"fraction_{i}", *space.deadline_fraction)
        p[f"priority_{i}"] = trial.suggest_int(f"priority_{i}", *space.priorities)
        kind = p[f"dynamic_{i}"] = trial.suggest_categorical(f"dynamic_{i}", list(space.dynamic))
        if kind == "sparsity":
            p[f"sparsity_{i}"] = trial.suggest_float(f"sparsity_{i}", *space.sparsity)
        elif kind == "latency":
            p[f"latency_std_{i}"] = trial.suggest_float(f"latency_std_{i}", *space.latency_std)
        elif kind == "early_exit":
            p[f"exit_{i}"] = trial.suggest_float(f"exit_{i}", *space.exit_probability)
    return p


def point_system(point: Mapping[str, Any]) -> System:
    """The system of a point: the preset with its PEs and DRAM bandwidth, if set."""
    return apply_to_system(get_system(str(point["system"])), {
        "pes": point.get("pes"), "dram_bandwidth_gbps": point.get("dram_bandwidth_gbps"),
    })  # fmt: skip


@functools.lru_cache(maxsize=256)
def _isolated(models: tuple[str, ...], system_key: tuple[Any, ...], cost: str,
              granularity: str) -> tuple[float, ...]:  # fmt: skip
    system = point_system(dict(zip(("system", "pes", "dram_bandwidth_gbps"), system_key,
                                   strict=True)))  # fmt: skip
    tasks = [{"name": f"t{i}", "model": m, "fps": 1} for i, m in enumerate(models)]
    probe = load_workload(scenario_from_dict({"kind": "scenario", "name": "probe", "tasks": tasks}),
                          system=system, cost=make_cost_model(cost), duration_ns=1,
                          granularity=granularity)  # fmt: skip
    latency = probe.job_isolated_latency * probe.time_unit_ns
    by_task = {int(t): float(latency[j]) for j, t in enumerate(probe.job_task)}
    return tuple(by_task[i] for i in range(len(models)))


def isolated_latencies(point: Mapping[str, Any]) -> list[float]:
    """Each task's isolated latency (ns) on the point's system: one job alone, every op on
    its fastest accelerator (:meth:`Instance.isolated_latency`)."""
    models = tuple(str(point[f"model_{i}"]) for i in range(int(point["n_tasks"])))
    key = (point["system"], point.get("pes"), point.get("dram_bandwidth_gbps"))
    return list(_isolated(models, key, str(point["cost"]), str(point["granularity"])))


def synthesise(point: Mapping[str, Any], name: str = "generated") -> dict[str, Any]:
    """The scenario (a dict in the scenario YAML format, ``docs/scenarios.md``) of a point."""
    n = int(point["n_tasks"])
    iso_ms = [value / 1e6 for value in isolated_latencies(point)]
    accelerators = len(point_system(point).accelerators)
    roots = [i for i in range(n) if not point.get(f"cascade_{i}")]
    total_share = sum(float(point[f"share_{i}"]) for i in roots)
    fps: dict[int, float] = {}
    for i in roots:
        u = float(point["utilisation"]) * float(point[f"share_{i}"]) / total_share
        rate = u * accelerators * 1000.0 / max(iso_ms[i], 1e-6)
        fps[i] = round(min(rate, float(point.get("max_fps", SearchSpace.max_fps))), 3)
        fps[i] = max(fps[i], 0.5)
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        task: dict[str, Any] = {"name": f"t{i}_{point[f'model_{i}']}", "model": point[f"model_{i}"]}
        if i in fps:
            task["fps"] = fps[i]
        else:
            task["depends_on"] = [tasks[i - 1]["name"]]
            task["trigger_probability"] = round(float(point[f"trigger_{i}"]), 4)
        rule = point[f"deadline_{i}"]
        if rule == "slo":
            task["deadline"] = {"slo": round(float(point[f"slo_{i}"]), 4)}
        elif rule == "ms":
            period_ms = 1000.0 / fps[i]
            task["deadline"] = {"ms": round(float(point[f"fraction_{i}"]) * period_ms, 4)}
        else:
            task["deadline"] = "period"
        task["priority"] = int(point[f"priority_{i}"])
        kind = point[f"dynamic_{i}"]
        if kind == "sparsity":
            task["dynamic"] = {"sparsity": {"mean": round(float(point[f"sparsity_{i}"]), 4),
                                            "std": 0.15}}  # fmt: skip
        elif kind == "latency":
            task["dynamic"] = {"latency_factor": {"std": round(float(point[f"latency_std_{i}"]),
                                                               4)}}  # fmt: skip
        elif kind == "early_exit":
            task["dynamic"] = {"early_exit": [
                {"after_layer": 0.5, "probability": round(float(point[f"exit_{i}"]), 4)}]}
        elif kind == "variant":
            task["dynamic"] = {"variants": [
                {"name": "full", "accuracy": 0.92},
                {"name": "half_width", "latency_scale": 0.5, "accuracy": 0.85},
            ]}  # fmt: skip
        tasks.append(task)
    return {
        "kind": "scenario", "name": name,
        "description": "synthesised by rtmm generate (docs/hard_instances.md)",
        "tasks": tasks,
    }  # fmt: skip


@dataclass(frozen=True)
class BuiltPoint:
    """A point made concrete: its scenario dict, the build options, and the Instance."""

    scenario: dict[str, Any]
    build: dict[str, Any]
    instance: Instance


def build_point(point: Mapping[str, Any], space: SearchSpace,
                name: str = "generated") -> BuiltPoint:  # fmt: skip
    """Synthesise the point's scenario and build its Instance within the size cap: the trace
    is shortened (never below one period of the fastest task) until the instance has at most
    ``max_jobs`` jobs and ``max_ops`` ops."""
    scenario_dict = synthesise({**point, "max_fps": space.max_fps}, name)
    scenario = scenario_from_dict(scenario_dict)
    system = point_system(point)
    cost = make_cost_model(str(point["cost"]))
    duration_ns = int(point["duration_ms"]) * 1_000_000
    for _ in range(8):
        instance = load_workload(
            scenario, system=system, cost=cost, duration_ns=duration_ns,
            seed=int(point["trace_seed"]), granularity=str(point["granularity"]),
            contention=bool(point["contention"]),
        )  # fmt: skip
        over = max(instance.n_jobs / space.max_jobs, instance.n_ops / space.max_ops)
        if over <= 1 or duration_ns <= 1_000_000:
            break
        duration_ns = max(1_000_000, int(duration_ns / over * 0.95) // 1_000_000 * 1_000_000)
    build = {
        "system": system.name, "preset": point["system"], "pes": point.get("pes"),
        "dram_bandwidth_gbps": point.get("dram_bandwidth_gbps"), "cost": point["cost"],
        "granularity": point["granularity"], "duration_ns": duration_ns,
        "seed": int(point["trace_seed"]), "contention": bool(point["contention"]),
    }  # fmt: skip
    return BuiltPoint(scenario_dict, build, instance)


def effective_load(instance: Instance) -> float:
    """Σ over jobs of their isolated latency, over (trace span × accelerators): the share of
    the system the jobs would keep busy at their isolated speed."""
    if instance.n_jobs == 0:
        return 0.0
    span = max(1, int(instance.job_deadline.max()) - int(instance.job_release.min()))
    return float(instance.job_isolated_latency.sum()) / (span * instance.n_accelerators)
