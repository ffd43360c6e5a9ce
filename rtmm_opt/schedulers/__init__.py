"""Online schedulers (SPEC §4), registered by name."""

from rtmm_opt.schedulers import classic
from rtmm_opt.schedulers import dysta as dysta  # registers dysta, dysta_naive, dysta_oracle
from rtmm_opt.schedulers.registry import make_scheduler, parse_params, scheduler_names

__all__ = ["classic", "make_scheduler", "parse_params", "scheduler_names"]
