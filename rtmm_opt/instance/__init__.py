"""The Instance (docs/design.md §1): system + jobs + operations with integer durations and
energies."""

from rtmm_opt.instance.builder import build_instance
from rtmm_opt.instance.instance import DROP_MODES, Instance, Settings, TaskInfo, Variant
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
