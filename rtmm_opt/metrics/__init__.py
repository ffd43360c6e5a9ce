"""The one metrics module (docs/design.md §3): every figure from (Instance, Schedule) only."""

from rtmm_opt.metrics.metrics import (
    Metrics,
    TaskMetrics,
    accelerator_busy,
    completion_times,
    compute_metrics,
    isolated_latencies,
    job_energy_nj,
)

__all__ = [
    "Metrics",
    "TaskMetrics",
    "accelerator_busy",
    "completion_times",
    "compute_metrics",
    "isolated_latencies",
    "job_energy_nj",
]
