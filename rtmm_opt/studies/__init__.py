"""Studies on top of the library: comparisons with the oracle (and, later, sweeps and searches).

Everything here calls the public library (load, replay, solve, metrics), never the command line.
"""

from rtmm_opt.studies.comparison import (
    DEFAULT_SCHEDULERS,
    Comparison,
    SchedulerResult,
    clean_problem,
    compare,
    objective_label,
    relative_gap,
)

__all__ = [
    "DEFAULT_SCHEDULERS",
    "Comparison",
    "SchedulerResult",
    "clean_problem",
    "compare",
    "objective_label",
    "relative_gap",
]
