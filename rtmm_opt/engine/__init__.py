"""The event-driven replay engine and the policy interface online schedulers implement."""

from rtmm_opt.engine.engine import (
    Decision,
    Engine,
    EventClass,
    Notice,
    SchedulingError,
    StaticInfo,
    View,
)
from rtmm_opt.engine.policy import Policy, replay

__all__ = [
    "Decision",
    "Engine",
    "EventClass",
    "Notice",
    "Policy",
    "SchedulingError",
    "StaticInfo",
    "View",
    "replay",
]
