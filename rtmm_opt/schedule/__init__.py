"""Schedules and the one validator that checks every schedule, whoever produced it."""

from rtmm_opt.schedule.contention import BandwidthShare, stretched_ends
from rtmm_opt.schedule.schedule import JobStatus, Schedule
from rtmm_opt.schedule.validator import (
    AcceleratorSequence,
    ScheduleError,
    ValidationReport,
    Violation,
    ViolationKind,
    context_reloads,
    required_op_mask,
    validate,
)

__all__ = [
    "AcceleratorSequence",
    "BandwidthShare",
    "JobStatus",
    "Schedule",
    "ScheduleError",
    "ValidationReport",
    "Violation",
    "ViolationKind",
    "context_reloads",
    "required_op_mask",
    "stretched_ends",
    "validate",
]
