"""Strict readers for YAML/JSON input.

``Fields`` wraps one mapping of a user file. Each ``get`` checks type and range and records the
key as used; ``done()`` rejects every key that was not used, suggesting the nearest valid one.
Paths are carried along so that an error deep in a file still says exactly where it is::

    spec = Fields(data, file="vr.yaml")
    for i, task in enumerate(spec.items("tasks")):
        t = spec.child(task, f"tasks[{i}]")
        fps = t.number("fps", positive=True)
        t.done()
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from rtmm_opt.errors import InputError

# Anything above this is a typo or a unit mix-up rather than a real workload parameter.
ABSURD = 1e15


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the nearest choice, or an empty string.

    A choice differing only in case wins (``k`` → ``K``); otherwise difflib's closest match.
    """
    choices = sorted(choices)
    folded = [choice for choice in choices if choice.lower() == word.lower()]
    if folded:
        return f" (did you mean '{folded[0]}'?)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def read_text(path: Path) -> str:
    """A text file's content; missing, unreadable and empty files raise :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=path) from None
    if not text.strip():
        raise InputError("file is empty", file=path)
    return text


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; malformed or empty files raise :class:`InputError`."""
    path = Path(path)
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"malformed YAML: {problem}", file=path, field=where) from None
    if data is None:
        raise InputError("file has no content", file=path)
    return data


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; malformed or empty files raise :class:`InputError`."""
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON: {exc.msg}", file=path, field=f"line {exc.lineno}"
        ) from None


def check_number(
    value: Any,
    *,
    file: str | Path | None,
    field: str,
    integer: bool = False,
    positive: bool = False,
    non_negative: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | int:
    """Validate one number: a real number (not bool, NaN or inf), within the given range."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected {kind}, got {value!r}", file=file, field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"expected a finite number, got {value!r}", file=file, field=field)
    if integer and not float(value).is_integer():
        raise InputError(f"expected an integer, got {value!r}", file=file, field=field)
    if positive and value <= 0:
        raise InputError(f"must be > 0, got {value!r}", file=file, field=field)
    if non_negative and value < 0:
        raise InputError(f"must be >= 0, got {value!r}", file=file, field=field)
    if minimum is not None and value < minimum:
        raise InputError(f"must be >= {minimum:g}, got {value!r}", file=file, field=field)
    if maximum is not None and value > maximum:
        raise InputError(f"must be <= {maximum:g}, got {value!r}", file=file, field=field)
    if abs(value) > ABSURD:
        raise InputError(f"absurdly large value {value!r}", file=file, field=field)
    return int(value) if integer else value


_MISSING = object()


class Fields:
    """One mapping of a user file, read strictly (see the module docstring)."""

    def __init__(self, data: Any, *, file: str | Path | None, path: str = "") -> None:
        self.file = str(file) if file is not None else None
        self.path = path
        if not isinstance(data, Mapping):
            raise InputError(
                f"expected a mapping, got {type(data).__name__}", file=self.file, field=path or None
            )
        self.data: Mapping[str, Any] = data
        self.used: set[str] = set()

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | None, reason: str) -> InputError:
        return InputError(reason, file=self.file, field=self.field(key) if key else self.path)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "required field is missing")
            return default
        return self.data[key]

    def text(
        self, key: str, default: Any = _MISSING, *, choices: Iterable[str] | None = None
    ) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected a non-empty string, got {value!r}")
        if choices is not None:
            options = list(choices)
            if value not in options:
                hint = suggest(value, options)
                raise self.error(key, f"unknown value '{value}'{hint}; valid: {', '.join(options)}")
        return value

    def number(self, key: str, default: Any = _MISSING, **checks: Any) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        return check_number(value, file=self.file, field=self.field(key), **checks)

    def integer(self, key: str, default: Any = _MISSING, **checks: Any) -> Any:
        return self.number(key, default, integer=True, **checks)

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"expected true or false, got {value!r}")
        return value

    def items(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list):
            raise self.error(key, f"expected a list, got {type(value).__name__}")
        return value

    def mapping(self, key: str, default: Any = _MISSING) -> Fields | None:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return None if value is None else Fields(value, file=self.file, path=self.field(key))
        return Fields(value, file=self.file, path=self.field(key))

    def child(self, data: Any, path: str) -> Fields:
        """A nested mapping at ``path`` (relative to the file, not to this mapping)."""
        return Fields(data, file=self.file, path=path)

    def done(self) -> None:
        """Reject any key that no ``get`` asked for."""
        unknown = [key for key in self.data if key not in self.used]
        if unknown:
            key = str(unknown[0])
            valid = sorted(self.used)
            raise self.error(
                key, f"unknown key '{key}'{suggest(key, valid)}; valid keys: {', '.join(valid)}"
            )
