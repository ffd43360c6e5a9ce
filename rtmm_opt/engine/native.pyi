# The compiled core (native.c); rtmm_opt.engine.core is its only caller.
from typing import Any

SOURCE: str  # the digest of the native.c it was built from

def dysta_job_picks(
    rule: int,
    alpha: float,
    seconds: float,
    n_jobs: int,
    n_ops: int,
    release: Any,
    deadline: Any,
    priority: Any,
    offsets: Any,
    arrivals: Any,
    duration: Any,
    per_op: Any,
    op_start: Any,
    op_end: Any,
) -> tuple[int, int]: ...
