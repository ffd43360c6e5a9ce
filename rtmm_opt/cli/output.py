"""Printing results: one JSON document with ``--json``, a readable table otherwise."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from rtmm_opt.errors import InputError


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: print them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def without_timings(data: Any) -> Any:
    """``data`` without its wall-clock fields (every key ending in ``wall_s``, and
    ``wall_time``): what ``--deterministic`` leaves out (``docs/outputs.md``)."""
    if isinstance(data, dict):
        return {
            key: without_timings(value)
            for key, value in data.items()
            if not (str(key).endswith("wall_s") or key == "wall_time")
        }
    if isinstance(data, list | tuple):
        return [without_timings(value) for value in data]
    return data


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


def output_path(path: str, flag: str) -> Path:
    """An output file's path, checked before any work starts: its folder exists or is created,
    it is not a folder, and it can be written. A bad one is an :class:`InputError` naming the
    flag (exit 2), so that a long run never ends in an unwritable file."""
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory, expected a file path", file=path, field=flag)
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InputError(f"{blocking} is a file, not a directory", file=path, field=flag)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the directory: {exc.strerror or exc}", file=path, field=flag
        ) from None
    existed = target.exists()
    try:
        with target.open("ab"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=path, field=flag) from None
    if not existed:
        target.unlink(missing_ok=True)
    return target


def output_dir(path: str, flag: str) -> Path:
    """An output folder, checked before any work starts: it is a folder (or can be made one)
    and files can be written in it; otherwise an :class:`InputError` naming the flag."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError("is a file, expected a directory", file=path, field=flag)
    probe = output_path(str(target / ".rtmm-write-check"), flag)
    probe.unlink(missing_ok=True)
    return target


def check_outputs(args: argparse.Namespace, flags: Sequence[str]) -> None:
    """:func:`output_path` for each of ``flags`` (``--schedule``, ...) that was given."""
    for flag in flags:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value:
            output_path(value, flag)
