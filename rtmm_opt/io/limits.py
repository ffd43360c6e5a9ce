"""The documented limits on what one input may make (``docs/scenarios.md``, "Limits").

A file of a kilobyte can ask for gigabytes: a YAML file of nested aliases, a rate of 10^6 fps
over 10^4 s at layer granularity, ``--requests 10**9``. Every reader and builder checks its
count against these limits *before* it allocates, and refuses with an :class:`InputError` that
names the file or flag and the limit. Who needs more raises a limit with its environment
variable, one mechanism for the library and every command alike::

    RTMM_MAX_OPS=20000000 rtmm run big.yaml --granularity layer --scheduler edf

Integer quantities (MACs, bytes, cycles, time units, energies and their sums over an instance)
must stay at or below :data:`INT_LIMIT` = 2^60 ≈ 1.15e18. int64 holds 2^63; CP-SAT refuses linear
expressions whose bounds add up to about 2^62, and the oracle scales its objectives to 2^60. A
quantity above it is refused where it is made, naming the field, instead of wrapping around to a
negative tardiness or energy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rtmm_opt.errors import InputError, excerpt

INT_LIMIT = 2**60
INT_LIMIT_TEXT = "2^60 (about 1.15e18)"
# Deeper nesting than this is no configuration file; PyYAML and json would recurse until Python's
# stack gives out.
MAX_NESTING = 100
# Memory per job and per op, measured (tracemalloc and /usr/bin/time, docs/scenarios.md): about
# 1.7 kB per job of `rtmm run` and 1.7 kB per op on 4 accelerators, ~260 B more per op for each
# further accelerator; a per-layer latency draw of a dynamic task costs about 1/16 of an op.
FULL_OP_ACCELERATORS = 4
LAYER_DRAWS_PER_OP = 16


@dataclass(frozen=True)
class Limit:
    """One count limit: its default and the environment variable that overrides it."""

    unit: str  # what is counted, plural ("jobs")
    variable: str
    default: int

    def value(self) -> int:
        """The limit in force: ``$variable`` if set (a positive integer), else the default."""
        text = os.environ.get(self.variable)
        if text is None or not text.strip():
            return self.default
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            value = 0
        if value < 1:
            raise InputError(
                f"expected a positive integer (a limit on {self.unit}), got {excerpt(text)}",
                field=f"${self.variable}",
            )
        return value

    def check(
        self,
        count: float,
        what: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        advice: str = "",
    ) -> None:
        """Refuse ``count`` (an estimate, made before any allocation) above the limit."""
        limit = self.value()
        if count > limit:
            raise InputError(
                f"{what} would make about {count:.3g} {self.unit}, above the limit of "
                f"{limit:,} (set {self.variable} to raise it{'; or ' + advice if advice else ''})",
                file=file,
                field=field,
            )


JOBS = Limit("jobs", "RTMM_MAX_JOBS", 1_000_000)
OPS = Limit("ops", "RTMM_MAX_OPS", 2_000_000)
YAML_ALIAS_NODES = Limit("nodes from aliases", "RTMM_MAX_YAML_ALIAS_NODES", 100_000)


def op_weight(accelerators: int) -> float:
    """How many ops one op counts as: each accelerator beyond the 4 the op limit was measured on
    adds a column of costs to every op."""
    return max(1.0, accelerators / FULL_OP_ACCELERATORS)


def check_quantity(
    value: float,
    what: str,
    *,
    file: str | Path | None = None,
    field: str | None = None,
    advice: str = "",
) -> None:
    """Refuse an integer quantity (or a float about to become one) above :data:`INT_LIMIT`."""
    if not value <= INT_LIMIT:  # also NaN
        raise InputError(
            f"{what} is {value:.3g}, above the limit {INT_LIMIT_TEXT} of integer quantities "
            f"(int64 sums and CP-SAT need headroom){'; ' + advice if advice else ''}",
            file=file,
            field=field,
        )
