"""Units, defined once: the conversion constants, and durations typed by users (``1s``,
``700ms``, ``250us``, ``5000ns``).

Instances count time in integer time units (``Instance.time_unit_ns`` nanoseconds each) and
energy in integer nJ; reports speak ms and mJ.
"""

from __future__ import annotations

import math
import re

from rtmm_opt.errors import InputError, excerpt

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
NJ_PER_MJ = 1_000_000

_NS_PER = {"ns": 1, "us": NS_PER_US, "µs": NS_PER_US, "ms": NS_PER_MS, "s": NS_PER_S}
_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(ns|us|µs|ms|s)?\s*")


def parse_duration(text: str | float | int, *, field: str = "duration") -> int:
    """A positive duration in integer nanoseconds. A bare number means seconds."""
    if isinstance(text, bool):
        raise InputError(
            f"expected a duration such as 1s or 700ms, got {excerpt(text)}", field=field
        )
    if isinstance(text, int | float):
        text = f"{text}s"
    match = _DURATION.fullmatch(str(text))
    if not match:
        raise InputError(
            f"expected a positive duration such as 1s, 700ms or 250us, got {excerpt(text)}",
            field=field,
        )
    value = float(match.group(1)) * _NS_PER[match.group(2) or "s"]
    if not math.isfinite(value) or value < 1:
        raise InputError(f"duration must be at least 1 ns, got {excerpt(text)}", field=field)
    if value > 1e15:
        raise InputError(f"absurdly long duration {excerpt(text)}", field=field)
    return round(value)


def format_duration(ns: int) -> str:
    for unit in ("s", "ms", "us"):
        if ns % _NS_PER[unit] == 0:
            return f"{ns // _NS_PER[unit]}{unit}"
    return f"{ns}ns"
