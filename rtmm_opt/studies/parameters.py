"""The parameters a study can set, at every level, and how each one reaches the instance.

A study cell is a flat mapping of parameter names to values (``docs/studies.md`` lists them):

* workload: ``workload`` (a scenario file or a bundled scenario's name), ``duration``,
  ``granularity``, ``cost``, ``drops``, ``time_unit_ns``;
* scenario: ``fps_scale``; per task ``fps.<task>`` (its rate: FPS, or λ for a Poisson task),
  ``slo``/``slo.<task>`` (deadline = SLO × isolated latency), ``deadline_ms``/
  ``deadline_ms.<task>``, ``trigger_probability``/``trigger_probability.<task>``,
  ``sparsity``/``sparsity.<task>`` (mean input sparsity), ``priority.<task>``;
* system: ``system`` (preset, alias or file), ``pes`` (every sub-accelerator's PEs),
  ``clock_ghz``, ``dram_bandwidth_gbps``;
* engine: ``contention``, ``context_switch``;
* scheduler: ``scheduler``, and ``<scheduler>.<parameter>`` (e.g. ``dream.alpha``), which applies
  only when that scheduler runs.

A name without a task (``slo``, ``sparsity``, ``trigger_probability``, ``deadline_ms``) applies
to every task it can (``trigger_probability`` to cascaded tasks only); a name with one applies to
that task and wins over the plain name.

:func:`check_value` checks one value where the study file gives it (type and range), so that a
study with a bad value fails before any cell runs; :func:`effective` drops the parameters that do
not apply to a cell (another scheduler's knobs), so two cells that differ only there are one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.hardware.accelerator import System
from rtmm_opt.instance.instance import DROP_MODES
from rtmm_opt.io.strict import suggest
from rtmm_opt.io.units import parse_duration
from rtmm_opt.scenario.scenario import DeadlineRule, Scenario, SparsityModel, Task
from rtmm_opt.schedulers import scheduler_names
from rtmm_opt.schedulers.registry import make_scheduler, parameters
from rtmm_opt.workload.graph import Granularity

WORKLOAD_LEVEL = ("workload", "duration", "granularity", "cost", "drops", "time_unit_ns")
SYSTEM_LEVEL = ("system", "pes", "clock_ghz", "dram_bandwidth_gbps")
ENGINE_LEVEL = ("contention", "context_switch")
TASK_PARAMETERS = ("fps", "slo", "deadline_ms", "trigger_probability", "sparsity", "priority")
PLAIN_TASK_PARAMETERS = ("slo", "deadline_ms", "trigger_probability", "sparsity")
SCENARIO_LEVEL = ("fps_scale", *PLAIN_TASK_PARAMETERS)
DEFAULTS: dict[str, Any] = {
    "system": "xrb4k-J",
    "granularity": "model",
    "cost": "analytical",
    "drops": "allowed",
    "time_unit_ns": 1,
    "fps_scale": 1.0,
    "contention": False,
    "context_switch": False,
    "scheduler": "edf",
}


def _number(low: float, high: float, *, integer: bool = False, open_low: bool = True):
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {excerpt(value)}")
        if integer and value != int(value):
            raise ValueError(f"expected an integer, got {excerpt(value)}")
        below = value <= low if open_low else value < low
        if not math.isfinite(value) or below or value > high:
            bracket = "(" if open_low else "["
            raise ValueError(
                f"expected a number in {bracket}{low:g}, {high:g}], got {excerpt(value)}"
            )
        return int(value) if integer else float(value)

    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {excerpt(value)}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {excerpt(value)}")
    return value


def _duration(value: Any) -> str:
    parse_duration(value, field="duration")
    return str(value)


def _granularity(value: Any) -> str:
    return str(Granularity.parse(_text(value)))


def _drops(value: Any) -> str:
    if value not in DROP_MODES:
        raise ValueError(f"expected one of {', '.join(DROP_MODES)}, got {excerpt(value)}")
    return str(value)


def _scheduler(value: Any) -> str:
    make_scheduler(_text(value))  # an unknown name is an InputError with a suggestion
    return str(value)


CHECKS: dict[str, Callable[[Any], Any]] = {
    "workload": _text,
    "duration": _duration,
    "granularity": _granularity,
    "cost": _text,
    "drops": _drops,
    "time_unit_ns": _number(0, 1e9, integer=True),
    "system": _text,
    "pes": _number(0, 2**30, integer=True),
    "clock_ghz": _number(0, 100),
    "dram_bandwidth_gbps": _number(0, 1e6),
    "contention": _flag,
    "context_switch": _flag,
    "fps_scale": _number(0, 1e6),
    "fps": _number(0, 1e7),
    "slo": _number(0, 1e6),
    "deadline_ms": _number(0, 1e9),
    "trigger_probability": _number(0, 1, open_low=False),
    "sparsity": _number(0, 0.99, open_low=False),
    "priority": _number(-1, 1e6, integer=True),
    "scheduler": _scheduler,
}


@dataclass(frozen=True)
class Name:
    """A parameter name split into its kind and scope: ``fps.gaze`` → (fps, gaze);
    ``dream.alpha`` → (scheduler_param, dream, alpha)."""

    key: str
    kind: str  # a CHECKS key, or "scheduler_param"
    scope: str | None = None  # the task (task parameters) or the scheduler (its knobs)
    field: str | None = None  # the scheduler parameter


def parse_name(key: Any) -> Name:
    """The parameter ``key`` stands for; an unknown one raises ``ValueError`` with the nearest
    valid spelling."""
    if not isinstance(key, str):
        raise ValueError(f"a parameter name is a string, got {excerpt(key)}")
    if key in CHECKS and key not in ("fps", "priority"):
        return Name(key, key)
    head, dot, tail = key.partition(".")
    if dot and head in TASK_PARAMETERS and tail:
        return Name(key, head, scope=tail)
    if dot and tail and head in scheduler_names():
        known = parameters(head)
        if tail not in known:
            valid = ", ".join(sorted(known)) or "none"
            raise ValueError(
                f"scheduler '{head}' has no parameter '{tail}'{suggest(tail, known)}; valid: "
                f"{valid}"
            )
        return Name(key, "scheduler_param", scope=head, field=tail)
    spellings = [k for k in CHECKS if k not in ("fps", "priority")]
    spellings += [f"{p}.<task>" for p in TASK_PARAMETERS] + ["<scheduler>.<parameter>"]
    raise ValueError(
        f"unknown parameter '{key}'{suggest(key, spellings)}; valid: {', '.join(spellings)}"
    )


def check_value(key: str, value: Any) -> Any:
    """``value`` checked (and normalised) for parameter ``key``; ``ValueError`` or
    :class:`InputError` if it is not valid."""
    name = parse_name(key)
    if name.kind == "scheduler_param":
        assert name.scope is not None and name.field is not None
        make_scheduler(name.scope, {name.field: value})
        default = parameters(name.scope)[name.field]
        return float(value) if isinstance(default, float) else value
    return CHECKS[name.kind](value)


def effective(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters that apply to this cell: another scheduler's knobs are left out."""
    scheduler = params.get("scheduler", DEFAULTS["scheduler"])
    out = {}
    for key, value in params.items():
        name = parse_name(key)
        if name.kind == "scheduler_param" and name.scope != scheduler:
            continue
        out[key] = value
    return dict(sorted(out.items()))


def scheduler_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The knobs of the cell's scheduler: ``{"alpha": 0.5}`` from ``dream.alpha: 0.5``."""
    scheduler = params.get("scheduler", DEFAULTS["scheduler"])
    out = {}
    for key, value in params.items():
        name = parse_name(key)
        if name.kind == "scheduler_param" and name.scope == scheduler:
            assert name.field is not None
            out[name.field] = value
    return out


def is_instance_level(key: str) -> bool:
    """True for parameters that shape the instance (everything but the scheduler's)."""
    name = parse_name(key)
    return name.kind not in ("scheduler", "scheduler_param")


# -- applying the parameters -----------------------------------------------------------------------
def _task_value(params: Mapping[str, Any], kind: str, task: Task) -> Any:
    return params.get(f"{kind}.{task.name}", params.get(kind))


def apply_to_scenario(scenario: Scenario, params: Mapping[str, Any]) -> Scenario:
    """The scenario with its task parameters set; a task name it lacks is an
    :class:`InputError` naming the parameter."""
    names = {task.name for task in scenario.tasks}
    for key in params:
        name = parse_name(key)
        if name.kind in TASK_PARAMETERS and name.scope is not None and name.scope not in names:
            raise InputError(
                f"scenario '{scenario.name}' has no task '{name.scope}'"
                f"{suggest(name.scope, names)}; tasks: {', '.join(sorted(names))}",
                field=key,
            )
    if not any(parse_name(key).kind in TASK_PARAMETERS for key in params):
        return scenario
    tasks = [_apply_to_task(task, params, key_prefix=scenario.name) for task in scenario.tasks]
    return dataclasses.replace(scenario, tasks=tuple(tasks))


def _apply_to_task(task: Task, params: Mapping[str, Any], key_prefix: str) -> Task:
    changes: dict[str, Any] = {}
    rate = params.get(f"fps.{task.name}")
    if rate is not None:
        if task.fps is None and task.poisson is None:
            raise InputError(
                f"task '{task.name}' of '{key_prefix}' is cascaded: it has no rate of its own",
                field=f"fps.{task.name}",
            )
        changes["fps" if task.fps is not None else "poisson"] = float(rate)
    slo = _task_value(params, "slo", task)
    deadline_ms = _task_value(params, "deadline_ms", task)
    if slo is not None and deadline_ms is not None:
        raise InputError(
            f"task '{task.name}' gets both an SLO and a deadline in ms; give one",
            field=f"slo.{task.name}",
        )
    if slo is not None:
        changes["deadline"] = DeadlineRule("slo", float(slo))
    if deadline_ms is not None:
        changes["deadline"] = DeadlineRule("ms", float(deadline_ms))
    probability = params.get(f"trigger_probability.{task.name}")
    if probability is None and task.depends_on:
        probability = params.get("trigger_probability")
    if probability is not None:
        if not task.depends_on:
            raise InputError(
                f"task '{task.name}' is not cascaded; a trigger probability needs an upstream",
                field=f"trigger_probability.{task.name}",
            )
        changes["trigger_probability"] = float(probability)
    sparsity = _task_value(params, "sparsity", task)
    if sparsity is not None:
        model = task.dynamic.sparsity or SparsityModel(mean=(float(sparsity),))
        model = dataclasses.replace(model, mean=(float(sparsity),))
        changes["dynamic"] = dataclasses.replace(task.dynamic, sparsity=model)
    priority = params.get(f"priority.{task.name}")
    if priority is not None:
        changes["priority"] = int(priority)
    return dataclasses.replace(task, **changes) if changes else task


def apply_to_system(system: System, params: Mapping[str, Any]) -> System:
    """The system with ``pes``, ``clock_ghz`` and ``dram_bandwidth_gbps`` set."""
    changes: dict[str, Any] = {}
    accelerator_changes = {
        key: params[key] for key in ("pes", "clock_ghz") if params.get(key) is not None
    }
    if accelerator_changes:
        changes["accelerators"] = tuple(
            dataclasses.replace(acc, **accelerator_changes) for acc in system.accelerators
        )
    if params.get("dram_bandwidth_gbps") is not None:
        changes["dram_bandwidth_gbps"] = float(params["dram_bandwidth_gbps"])
    if not changes:
        return system
    suffix = ",".join(f"{k}={params[k]}" for k in SYSTEM_LEVEL[1:] if params.get(k) is not None)
    return dataclasses.replace(system, name=f"{system.name}[{suffix}]", **changes)
