"""The Instance (SPEC §1): system + jobs + operations with integer durations and energies."""

from rtmm_opt.instance.instance import DROP_MODES, Instance, Settings, TaskInfo, Variant

__all__ = ["DROP_MODES", "Instance", "Settings", "TaskInfo", "Variant"]
