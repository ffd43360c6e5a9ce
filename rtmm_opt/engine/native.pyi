# The compiled core (native.c); rtmm_opt.engine.core is its only caller. The buffers are
# C-contiguous arrays of 8-byte items in one tuple, in the order each function's docstring
# lists them (on the event loop, the engine's buffers first, then the policy's).
from typing import Any

SOURCE: str  # the digest of the native.c it was built from

def dysta_job_picks(
    rule: int,
    alpha: float,
    seconds: float,
    beta: float,
    gamma: bool,
    n_jobs: int,
    n_ops: int,
    buffers: tuple[Any, ...],
) -> tuple[int, int]: ...
def event_job_picks(
    rule: int,
    seconds: float,
    beta: float,
    gamma: bool,
    n_jobs: int,
    n_ops: int,
    n_acc: int,
    buffers: tuple[Any, ...],
) -> tuple[int, int, int, int]: ...
def harness_replay(
    n_jobs: int,
    n_ops: int,
    n_acc: int,
    n_tasks: int,
    unit_ns: float,
    drops_allowed: bool,
    has_tick: bool,
    tick_units: int,
    buffers: tuple[Any, ...],
) -> tuple[int, int, int, int]: ...
def dream_replay(
    n_jobs: int,
    n_ops: int,
    n_acc: int,
    epsilon: float,
    lam: float,
    alpha: float,
    beta: float,
    proactive_drop: bool,
    drops_allowed: bool,
    window: int,
    on_window: Any,
    buffers: tuple[Any, ...],
) -> tuple[int, int, int, int]: ...
def heap_replay(
    n_jobs: int, n_ops: int, n_acc: int, edf: bool, buffers: tuple[Any, ...]
) -> tuple[int, int, int, int]: ...
