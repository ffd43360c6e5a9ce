"""The former home of :class:`Policy` and :func:`replay`, kept for callers that still import them
from here; import them from :mod:`rtmm_opt.engine` instead."""

from rtmm_opt.engine.contract import Policy
from rtmm_opt.engine.loop import replay

__all__ = ["Policy", "replay"]
