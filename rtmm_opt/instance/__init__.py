"""The Instance (docs/design.md §1): system + jobs + operations with integer durations and
energies.

``build_instance``, ``load_workload`` and ``read_workload`` load on first use: they build model
graphs (NetworkX), which replaying an instance file does not need.
"""

from typing import TYPE_CHECKING, Any

from rtmm_opt.instance.instance import DROP_MODES, Instance, Settings, TaskInfo, Variant

if TYPE_CHECKING:
    from rtmm_opt.instance.builder import build_instance
    from rtmm_opt.instance.workload import load_workload, read_workload

__all__ = [
    "DROP_MODES",
    "Instance",
    "Settings",
    "TaskInfo",
    "Variant",
    "build_instance",
    "load_workload",
    "read_workload",
]


def __getattr__(name: str) -> Any:
    if name == "build_instance":
        from rtmm_opt.instance.builder import build_instance

        return build_instance
    if name in ("load_workload", "read_workload"):
        from rtmm_opt.instance import workload

        return getattr(workload, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
