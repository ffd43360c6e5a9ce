"""Scenarios (tasks, rates, deadlines, cascades, dynamic behaviour) and their seeded traces."""

from rtmm_opt.scenario.scenario import (
    DeadlineRule,
    Dynamic,
    ExitPoint,
    LatencyFactorModel,
    Scenario,
    SparsityModel,
    Task,
    VariantSpec,
    load_maestro_scenario,
    load_scenario,
    scenario_from_dict,
    scenario_summary,
)
from rtmm_opt.scenario.trace import JobOutcome, Trace, TraceJob, generate_trace

__all__ = [
    "DeadlineRule",
    "Dynamic",
    "ExitPoint",
    "JobOutcome",
    "LatencyFactorModel",
    "Scenario",
    "SparsityModel",
    "Task",
    "Trace",
    "TraceJob",
    "VariantSpec",
    "generate_trace",
    "load_maestro_scenario",
    "load_scenario",
    "scenario_from_dict",
    "scenario_summary",
]
