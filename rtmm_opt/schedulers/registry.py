"""Schedulers by name: ``@register`` on the class, ``make_scheduler(name, params)`` to build one.

A scheduler is a dataclass subclass of :class:`~rtmm_opt.engine.contract.Policy`; its fields are
its parameters, settable from the CLI (``--param alpha=0.5``) and from study files. Importing
this module imports the package :mod:`rtmm_opt.schedulers` first, whose ``__init__`` imports
every built-in scheduler module, so the registry is complete before anyone can ask it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from rtmm_opt.engine.contract import Policy
from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.strict import parse_yaml, suggest

P = TypeVar("P", bound=type[Policy])

SCHEDULERS: dict[str, type[Policy]] = {}


def register(name: str) -> Callable[[P], P]:
    def decorate(cls: P) -> P:
        if name in SCHEDULERS:
            raise ValueError(f"scheduler '{name}' registered twice")
        if not dataclasses.is_dataclass(cls):
            raise TypeError(
                f"scheduler '{name}' must be a dataclass (its fields are its parameters)"
            )
        cls.name = name
        SCHEDULERS[name] = cls
        return cls

    return decorate


def scheduler_names() -> list[str]:
    return sorted(SCHEDULERS)


def parameters(name: str) -> dict[str, Any]:
    """A scheduler's parameters and their defaults."""
    cls = scheduler_class(name)
    return {
        f.name: f.default if f.default is not dataclasses.MISSING else None
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.init
    }


def scheduler_class(name: str) -> type[Policy]:
    if name not in SCHEDULERS:
        raise InputError(
            f"unknown scheduler '{name}'{suggest(name, SCHEDULERS)}; "
            f"valid: {', '.join(sorted(SCHEDULERS))}",
            field="scheduler",
        )
    return SCHEDULERS[name]


def parse_params(pairs: list[str] | None) -> dict[str, Any]:
    """``["alpha=0.5", "drop=true"]`` → ``{"alpha": 0.5, "drop": True}`` (values read as YAML 1.2,
    the one YAML reader's rules: ``1e-3`` is a number)."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {excerpt(pair)}", field="--param")
        try:
            params[key.strip()] = parse_yaml(text) if text.strip() else None
        except InputError:
            raise InputError(
                f"cannot read the value of {excerpt(pair)}", field="--param"
            ) from None
    return params


def make_scheduler(name: str, params: Mapping[str, Any] | None = None) -> Policy:
    """A scheduler by name with its parameters checked (names, and types against defaults)."""
    cls = scheduler_class(name)
    defaults = parameters(name)
    values: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if key not in defaults:
            valid = ", ".join(sorted(defaults)) or "none"
            raise InputError(
                f"scheduler '{name}' has no parameter '{key}'{suggest(key, defaults)}; "
                f"valid: {valid}",
                field=f"params.{key}",
            )
        default = defaults[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int | float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = type(default)(value) if ok and isinstance(default, float) else value
        elif isinstance(default, str):
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            raise InputError(
                f"expected a {type(default).__name__} like the default {excerpt(default)}, got "
                f"{excerpt(value)}",
                field=f"params.{key}",
            )
        values[key] = value
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc), field=f"params of {name}") from None
