"""Schedules and the one validator that checks every schedule, whoever produced it."""

from rtmm_opt.schedule.schedule import JobStatus, Schedule

__all__ = ["JobStatus", "Schedule"]
