"""WORKLOAD arguments: a scenario YAML, an XRBench ``.m`` scenario, or an instance file.

``rtmm run/solve/compare WORKLOAD`` call :func:`load_workload`. A scenario is built into an
instance with the given system, cost model and build options
(:func:`rtmm_opt.instance.builder.build_instance`). An instance file (``format:
rtmm-instance``, JSON or YAML) is already built, so it is returned as it is and every build
option is ignored here, ``drops`` included (the command line refuses build options for an
instance file instead, ``rtmm_opt.cli.workload_options``). A caller that wants other settings
on a loaded instance applies them with ``Instance.with_settings``.

A WORKLOAD that is not an existing file names a bundled scenario (``VR_gaming``,
``instances/xrbench/VR_gaming.yaml``; :func:`rtmm_opt.io.bundled.resolve_workload`), so the
bundled ones work from any directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.instance.instance import FORMAT, Instance
from rtmm_opt.io.bundled import resolve_workload
from rtmm_opt.io.strict import load_json, load_yaml
from rtmm_opt.io.units import NS_PER_S

# Scenarios, systems, cost models and the builder load where a scenario is read or built: an
# instance file needs none of them (nor NetworkX, which model graphs need).
if TYPE_CHECKING:
    from rtmm_opt.hardware.accelerator import System
    from rtmm_opt.hardware.cost.base import CostModel
    from rtmm_opt.scenario.scenario import Scenario
    from rtmm_opt.workload.granularity import Granularity

DEFAULT_DURATION_NS = NS_PER_S  # when neither the caller nor the scenario gives one
DEFAULT_COST_MODEL = "analytical"


def read_workload(path: str | Path) -> Scenario | Instance:
    """Parse a WORKLOAD file (or bundled scenario) without building it: a :class:`Scenario` or
    an :class:`Instance`."""
    path = resolve_workload(path)
    if path.suffix == ".m":
        from rtmm_opt.scenario.scenario import load_maestro_scenario

        return load_maestro_scenario(path)
    data: Any = load_json(path) if path.suffix == ".json" else load_yaml(path)
    if isinstance(data, dict) and "format" in data:
        if data["format"] != FORMAT:
            raise InputError(
                f"unknown format {excerpt(data['format'])}; expected '{FORMAT}'",
                file=path,
                field="format",
            )
        return Instance.from_dict(data, file=path)
    if isinstance(data, dict) and data.get("kind") == "scenario":
        from rtmm_opt.scenario.scenario import scenario_from_dict

        return scenario_from_dict(data, file=path)
    what = f"kind '{data['kind']}'" if isinstance(data, dict) and "kind" in data else "neither"
    raise InputError(
        f"a workload is a scenario (kind: scenario), an instance (format: {FORMAT}) or an "
        f"XRBench .m scenario; this file has {what}",
        file=path,
        field="kind" if isinstance(data, dict) and "kind" in data else None,
    )


def _resolve_system(system: System | str | Path | None) -> System:
    from rtmm_opt.hardware.accelerator import System

    if isinstance(system, System):
        return system
    if system is None:
        raise InputError(
            "building a scenario needs a system (e.g. --system xrb4k-J)", field="system"
        )
    from rtmm_opt.hardware.presets import get_system

    return get_system(system)


def _resolve_cost(cost: CostModel | str | None) -> CostModel:
    if cost is not None and not isinstance(cost, str):
        return cost
    from rtmm_opt.hardware.cost import make_cost_model

    model: CostModel = make_cost_model(cost or DEFAULT_COST_MODEL)
    return model


def load_workload(
    workload: str | Path | Scenario | Instance,
    *,
    system: System | str | Path | None = None,
    cost: CostModel | str | None = None,
    duration_ns: int | None = None,
    seed: int = 0,
    granularity: str | Granularity = "model",
    time_unit_ns: int = 1,
    drops: str = "allowed",
    fps_scale: float = 1.0,
    context_switch: bool = False,
    contention: bool = False,
) -> Instance:
    """The instance a WORKLOAD file (or a workload already read with :func:`read_workload`)
    stands for (see the module docstring).

    ``system`` and ``cost`` may be objects or names (a preset or system file; ``analytical``,
    ``table:FILE``, ...; the cost model defaults to ``analytical``). ``duration_ns`` defaults to
    the scenario's ``duration_ms`` (700 ms for XRBench scenarios), else 1 s.
    """
    if isinstance(workload, str | Path):
        workload = read_workload(workload)
    if isinstance(workload, Instance):
        return workload
    from rtmm_opt.instance.builder import build_instance

    if duration_ns is None:
        duration_ns = workload.duration_ns or DEFAULT_DURATION_NS
    return build_instance(
        workload,
        _resolve_system(system),
        _resolve_cost(cost),
        duration_ns=duration_ns,
        seed=seed,
        granularity=granularity,
        time_unit_ns=time_unit_ns,
        drops=drops,
        fps_scale=fps_scale,
        context_switch=context_switch,
        contention=contention,
    )
