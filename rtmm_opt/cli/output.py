"""Printing results: one JSON document with ``--json``, a readable table otherwise."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

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
    from tabulate import tabulate  # only tables need it, not --json output

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


def output_path(path: str, flag: str, *, create: bool = True) -> Path:
    """An output file's path, checked: its folder exists (or can be made), it is not a folder,
    and a file can be written there. A bad one is an :class:`InputError` naming the flag (exit 2).

    ``create=False`` checks without leaving anything behind (no folder is made): what
    :func:`check_outputs` does before any work starts, so that a long run never ends in an
    unwritable file and a refused run leaves nothing. With ``create=True`` (when writing), the
    missing folders are made."""
    target = Path(path)
    if target.is_dir():
        raise InputError("is a directory, expected a file path", file=path, field=flag)
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise InputError(f"{blocking} is a file, not a directory", file=path, field=flag)
    if create:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the directory: {exc.strerror or exc}", file=path, field=flag
            ) from None
    folder = next(p for p in (target.parent, *target.parent.parents) if p.exists())
    probe = target if folder == target.parent else folder / f".rtmm-write-check-{os.getpid()}"
    existed = probe.exists()
    try:
        with probe.open("ab"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=path, field=flag) from None
    if not existed:
        probe.unlink(missing_ok=True)
    return target


def output_dir(path: str, flag: str) -> Path:
    """An output folder, checked without making it: it is a folder, or the nearest existing
    folder above it is writable; otherwise an :class:`InputError` naming the flag."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError("is a file, expected a directory", file=path, field=flag)
    output_path(str(target / ".rtmm-write-check"), flag, create=False)
    return target


def check_outputs(args: argparse.Namespace, flags: Sequence[str]) -> None:
    """:func:`output_path` (without making folders) for each of ``flags`` (``--schedule``,
    ...) that was given."""
    for flag in flags:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value:
            output_path(value, flag, create=False)
