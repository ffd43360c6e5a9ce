"""Printing results: one JSON document with ``--json``, a readable table otherwise."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: print them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(data: Any) -> None:
    json.dump(_clean(data), sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def print_table(
    rows: Iterable[Sequence[Any]],
    headers: Sequence[str],
    *,
    title: str | None = None,
    floatfmt: str | Sequence[str] = ".4g",
) -> None:
    """A plain-text table; ``floatfmt`` is one format, or one per column."""
    if title:
        print(title)
    formats = floatfmt if isinstance(floatfmt, str) else list(floatfmt)
    print(tabulate(list(rows), headers=list(headers), floatfmt=formats, intfmt=","))


def si(value: float, unit: str = "") -> str:
    """1234567 → '1.23M' (for MACs, params, bytes)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{prefix}{unit}"
    return f"{value:.3g}{unit}"
