"""Online schedulers (docs/design.md §4), registered by name.

Shared base policies and helpers are in :mod:`~rtmm_opt.schedulers.base`; each scheduler module
registers its classes with :func:`~rtmm_opt.schedulers.registry.register` when imported, which
happens here.
"""

from rtmm_opt.schedulers import classic as classic  # registers fcfs, edf, rr, llf, sjf
from rtmm_opt.schedulers import dream as dream  # registers dream
from rtmm_opt.schedulers import dysta as dysta  # registers dysta, dysta_naive, dysta_oracle
from rtmm_opt.schedulers import herald as herald  # registers herald
from rtmm_opt.schedulers import planaria as planaria  # registers planaria
from rtmm_opt.schedulers import prema as prema  # registers prema
from rtmm_opt.schedulers import relmas as relmas  # registers relmas
from rtmm_opt.schedulers import sdrm3 as sdrm3  # registers sdrm3
from rtmm_opt.schedulers import xrbench as xrbench  # registers xrbench
from rtmm_opt.schedulers.registry import make_scheduler, parse_params, scheduler_names

__all__ = ["make_scheduler", "parse_params", "scheduler_names"]
