"""Strict readers for YAML/JSON input.

``Fields`` wraps one mapping of a user file. Each ``get`` checks type and range and records the
key as used; ``done()`` rejects every key that was not used, suggesting the nearest valid one.
Paths are carried along so that an error deep in a file still says exactly where it is::

    spec = Fields(data, file="vr.yaml")
    for i, task in enumerate(spec.items("tasks")):
        t = spec.child(task, f"tasks[{i}]")
        fps = t.number("fps", positive=True)
        t.done()

:func:`load_yaml` and :func:`load_json` are the one YAML and the one JSON reader. YAML is read
with the YAML 1.2 core schema (``1e12`` and ``1.5e-3`` are numbers; ``yes``, ``on``, ``1:30``,
``010`` and dates are not reinterpreted as booleans, sexagesimal or octal numbers and
timestamps, as YAML 1.1 would). Both refuse a key given twice in one mapping, where a parser
would silently keep the last value. YAML aliases may add at most
:data:`~rtmm_opt.io.limits.YAML_ALIAS_NODES` nodes in all (counted while composing, before
anything is built: a "billion laughs" file is refused), and nesting deeper than
:data:`~rtmm_opt.io.limits.MAX_NESTING` levels is refused.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.limits import MAX_NESTING, YAML_ALIAS_NODES

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


class _Refused(yaml.YAMLError):
    """A YAML document the strict loader refuses: the reason and where."""

    def __init__(self, reason: str, mark: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = mark.line + 1 if mark is not None else None


_CORE_SCHEMA = (  # YAML 1.2.2 §10.3.2, plus the merge key << that YAML 1.1 files use
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", "~nN"),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:merge", r"<<", "<"),
)


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the core schema, alias and nesting limits and duplicate keys
    refused (see the module docstring)."""

    # PyYAML's per-class registry; empty here, so only the core schema below is resolved
    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_limit = YAML_ALIAS_NODES.value()
        self.alias_nodes = 0  # nodes the aliases so far add to the document, expanded
        self.expanded: dict[int, int] = {}  # id(node) -> nodes of its full expansion
        self.open_anchors: set[str] = set()
        self.depth = 0
        self.checked: set[int] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self.open_anchors:
                raise _Refused(
                    f"alias *{event.anchor} refers to a node that contains it", event.start_mark
                )
            node = super().compose_node(parent, index)
            self.alias_nodes += self.expanded[id(node)]
            if self.alias_nodes > self.alias_limit:
                raise _Refused(
                    f"aliases expand to more than {self.alias_limit:,} nodes (set "
                    f"{YAML_ALIAS_NODES.variable} to raise the limit)",
                    event.start_mark,
                )
            return node
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _Refused(f"nested deeper than {MAX_NESTING} levels", event.start_mark)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        node = super().compose_node(parent, index)
        self.depth -= 1
        self.open_anchors.discard(event.anchor)
        children: list[Any] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        self.expanded[id(node)] = 1 + sum(self.expanded[id(child)] for child in children)
        return node

    def flatten_mapping(self, node: Any) -> None:
        # Every mapping passes here before its merge keys are flattened into it (merged
        # entries may repeat its own keys: that is what merging is for).
        if id(node) not in self.checked:
            self.checked.add(id(node))
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                    key_node, yaml.ScalarNode
                ):
                    continue
                key = self.construct_object(key_node)
                if key in seen:
                    raise _Refused(
                        f"duplicate key {excerpt(key)} (first on line "
                        f"{seen[key].start_mark.line + 1}); a mapping gives each key once",
                        key_node.start_mark,
                    )
                seen[key] = key_node
        super().flatten_mapping(node)


def _construct_int(loader: _StrictLoader, node: Any) -> int:
    text = loader.construct_scalar(node)
    try:
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text)
    except ValueError:  # a !!int tag on a non-integer, or more digits than Python converts
        reason = (
            f"an integer of {len(text)} digits is beyond every limit"
            if text.lstrip("+-").isdigit()
            else f"expected an integer, got {excerpt(text)}"
        )
        raise _Refused(reason, node.start_mark) from None


for _tag, _pattern, _first in _CORE_SCHEMA:
    _StrictLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))
_StrictLoader.yaml_implicit_resolvers.setdefault("", []).append(
    ("tag:yaml.org,2002:null", re.compile("^$"))
)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class _StrictDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, quoting every string that the strict loader (YAML 1.2) or a YAML 1.1
    reader would take for something else (``1e3``, ``0o17``, ``yes``)."""


for _tag, _pattern, _first in _CORE_SCHEMA:
    _StrictDumper.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


def dump_yaml(value: Any, **options: Any) -> str:
    """YAML text of ``value`` that :func:`parse_yaml` (and YAML 1.1 readers) read back equal."""
    text: str = yaml.dump(value, Dumper=_StrictDumper, **options)
    return text


def parse_yaml(text: str, *, file: str | Path | None = None) -> Any:
    """Parse YAML text strictly (see the module docstring); problems raise :class:`InputError`."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _Refused as exc:
        where = f"line {exc.line}" if exc.line is not None else None
        raise InputError(exc.reason, file=file, field=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"malformed YAML: {problem}", file=file, field=where) from None
    except (ValueError, TypeError, OverflowError) as exc:  # an explicit tag on a bad value
        raise InputError(f"malformed YAML: {_first_words(exc)}", file=file) from None
    except RecursionError:
        raise InputError(f"nested deeper than {MAX_NESTING} levels", file=file) from None


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file strictly; malformed or empty files raise :class:`InputError`."""
    path = Path(path)
    data = parse_yaml(read_text(path), file=path)
    if data is None:
        raise InputError("file has no content", file=path)
    return data


def _first_words(exc: Exception) -> str:
    """The start of an exception's message, without quoting values at length."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= 100 else text[:97] + "..."


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _DuplicateKey(key)
        mapping[key] = value
    return mapping


def load_json(path: str | Path) -> Any:
    """Parse a JSON file; malformed or empty files and duplicate keys raise :class:`InputError`."""
    path = Path(path)
    text = read_text(path)
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        raise InputError(
            f"duplicate key {excerpt(exc.key)} in one object; an object gives each key once",
            file=path,
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON: {exc.msg}", file=path, field=f"line {exc.lineno}"
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise InputError(f"malformed JSON: {_first_words(exc)}", file=path) from None
    except RecursionError:
        raise InputError("nested too deeply", file=path) from None


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
        raise InputError(f"expected {kind}, got {excerpt(value)}", file=file, field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"expected a finite number, got {excerpt(value)}", file=file, field=field)
    if integer and not float(value).is_integer():
        raise InputError(f"expected an integer, got {excerpt(value)}", file=file, field=field)
    if positive and value <= 0:
        raise InputError(f"must be > 0, got {excerpt(value)}", file=file, field=field)
    if non_negative and value < 0:
        raise InputError(f"must be >= 0, got {excerpt(value)}", file=file, field=field)
    if minimum is not None and value < minimum:
        raise InputError(f"must be >= {minimum:g}, got {excerpt(value)}", file=file, field=field)
    if maximum is not None and value > maximum:
        raise InputError(f"must be <= {maximum:g}, got {excerpt(value)}", file=file, field=field)
    if abs(value) > ABSURD:
        raise InputError(f"absurdly large value {excerpt(value)}", file=file, field=field)
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
            raise self.error(key, f"expected a non-empty string, got {excerpt(value)}")
        if choices is not None:
            options = list(choices)
            if value not in options:
                hint = suggest(value, options)
                raise self.error(
                    key, f"unknown value {excerpt(value)}{hint}; valid: {', '.join(options)}"
                )
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
            raise self.error(key, f"expected true or false, got {excerpt(value)}")
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
                key,
                f"unknown key {excerpt(key)}{suggest(key, valid)}; valid keys: {', '.join(valid)}",
            )


IntArray = npt.NDArray[np.int64]


def integer_array(
    values: Any, *, file: str | Path | None = None, field: str, ndim: int = 1
) -> IntArray:
    """A list of integers (a list of such lists for ``ndim`` 2) as an int64 array.

    Integers, and floats with an integral value (``3.0``, as some JSON writers put it), are
    taken; anything else is refused naming the first bad entry: a fraction, which would silently
    be truncated, a boolean, a string, null, a non-finite number, or a value beyond int64. numpy
    arrays are taken too (their dtype decides). Rows of different lengths are refused.
    """

    def refuse(reason: str, where: str = "") -> InputError:
        return InputError(reason, file=file, field=f"{field}{where}")

    if isinstance(values, np.ndarray):
        if values.dtype.kind in "iu" and (values.size == 0 or np.abs(values).max() < 2**63):
            values = values.astype(np.int64)
        else:
            values = values.tolist()
    if not isinstance(values, np.ndarray):
        if not isinstance(values, list):
            raise refuse(f"expected a list of integers, got {excerpt(values)}")
        rows = values if ndim == 2 else [values]
        for i, row in enumerate(rows):
            if ndim == 2 and not isinstance(row, list):
                raise refuse(f"expected a list of integers, got {excerpt(row)}", f"[{i}]")
        if set(map(type, itertools.chain.from_iterable(rows))) <= {int}:
            rows = []  # the common case, checked at C speed: nothing to look at one by one
        for i, row in enumerate(rows):
            for k, value in enumerate(row):
                if type(value) is int:
                    continue
                where = f"[{i}][{k}]" if ndim == 2 else f"[{k}]"
                integral = (
                    type(value) is float and math.isfinite(value) and float(value).is_integer()
                )
                if not integral:
                    raise refuse(f"expected an integer, got {excerpt(value)}", where)
        try:
            values = np.array(values, dtype=np.int64)
        except OverflowError:
            raise refuse("holds an integer beyond 64 bits") from None
        except ValueError:  # ragged rows
            raise refuse("rows differ in length") from None
    if values.ndim != ndim and not (values.size == 0 and ndim == 2):
        raise refuse(f"expected a {ndim}-d array, got shape {values.shape}")
    return values
