"""The event-driven replay engine and the policy interface online schedulers implement.

:mod:`~rtmm_opt.engine.contract` is what a scheduler author reads (View, Decision, Policy, ...);
:mod:`~rtmm_opt.engine.loop` is the event loop (Engine, replay);
:mod:`~rtmm_opt.engine.dysta_compat` is the Dysta simulator's loop for ``compat: dysta``.
"""

from rtmm_opt.engine.contract import (
    PREDICTED,
    Decision,
    Notice,
    Policy,
    Run,
    SchedulingError,
    StaticInfo,
    View,
)
from rtmm_opt.engine.loop import Engine, EventClass, replay

__all__ = [
    "PREDICTED",
    "Decision",
    "Engine",
    "EventClass",
    "Notice",
    "Policy",
    "Run",
    "SchedulingError",
    "StaticInfo",
    "View",
    "replay",
]
