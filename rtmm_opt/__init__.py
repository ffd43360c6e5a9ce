"""rtmm-opt: how far real-time multi-model ML schedulers are from optimal.

The library the ``rtmm`` command is built on::

    from rtmm_opt import compare, compute_metrics, load_workload, make_scheduler, replay, solve

    instance = load_workload("instances/examples/ar_headset.yaml", system="xrb4k-J",
                             cost="table:xrbench", granularity="block:4", duration_ns=300_000_000)
    schedule = replay(instance, make_scheduler("dream"))      # validated
    print(compute_metrics(instance, schedule).miss_rate)
    result = solve(instance, "misses", time_limit=30, hints=[schedule])
    print(result.status, result.objective, result.bound)
    print(compare(instance, ["edf", "dream"], time_limit=30).to_dict()["schedulers"])

The names are imported lazily (on first use), so that ``rtmm --help`` and ``rtmm models list``
do not pay for OR-Tools. The package is laid out by concept, and imports point one way
(``docs/design.md``)::

    errors, io → workload, hardware → scenario → instance → schedule → metrics
        → engine, oracle → schedulers → studies, viz, validation → cli
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → the module that defines it
_EXPORTS = {
    "InputError": "rtmm_opt.errors",
    "load_workload": "rtmm_opt.instance",
    "read_workload": "rtmm_opt.instance",
    "build_instance": "rtmm_opt.instance",
    "Instance": "rtmm_opt.instance",
    "Schedule": "rtmm_opt.schedule",
    "JobStatus": "rtmm_opt.schedule",
    "validate": "rtmm_opt.schedule",
    "compute_metrics": "rtmm_opt.metrics",
    "Metrics": "rtmm_opt.metrics",
    "Policy": "rtmm_opt.engine",
    "replay": "rtmm_opt.engine",
    "Decision": "rtmm_opt.engine",
    "View": "rtmm_opt.engine",
    "StaticInfo": "rtmm_opt.engine",
    "make_scheduler": "rtmm_opt.schedulers",
    "scheduler_names": "rtmm_opt.schedulers",
    "solve": "rtmm_opt.oracle",
    "OracleResult": "rtmm_opt.oracle",
    "parse_objective": "rtmm_opt.oracle",
    "compare": "rtmm_opt.studies",
    "Comparison": "rtmm_opt.studies",
    "get_system": "rtmm_opt.hardware.presets",
}

__all__ = [
    "Comparison",
    "Decision",
    "InputError",
    "Instance",
    "JobStatus",
    "Metrics",
    "OracleResult",
    "Policy",
    "Schedule",
    "StaticInfo",
    "View",
    "__version__",
    "build_instance",
    "compare",
    "compute_metrics",
    "get_system",
    "load_workload",
    "make_scheduler",
    "parse_objective",
    "read_workload",
    "replay",
    "scheduler_names",
    "solve",
    "validate",
]

if TYPE_CHECKING:
    from rtmm_opt.engine import Decision, Policy, StaticInfo, View, replay
    from rtmm_opt.errors import InputError
    from rtmm_opt.hardware.presets import get_system
    from rtmm_opt.instance import Instance, build_instance, load_workload, read_workload
    from rtmm_opt.metrics import Metrics, compute_metrics
    from rtmm_opt.oracle import OracleResult, parse_objective, solve
    from rtmm_opt.schedule import JobStatus, Schedule, validate
    from rtmm_opt.schedulers import make_scheduler, scheduler_names
    from rtmm_opt.studies import Comparison, compare


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rtmm_opt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
