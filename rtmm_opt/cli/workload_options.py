"""The workload options that ``build`` (and later ``run``, ``solve``, ``compare``) share."""

from __future__ import annotations

import argparse
from typing import Any

from rtmm_opt.errors import InputError, excerpt
from rtmm_opt.io.units import parse_duration


def add_workload_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workload",
        help="scenario YAML, XRBench .m scenario, instance JSON, or the name of a bundled "
        "scenario (rtmm scenarios list)",
    )
    parser.add_argument(
        "--system", default=None, help="preset, alias or system YAML (default xrb4k-J)"
    )
    parser.add_argument(
        "--duration",
        help="trace length, e.g. 1s, 700ms (default: the scenario's own duration, else 1s)",
    )
    parser.add_argument(
        "--seed", default="0", help="trace seed, a non-negative integer (default 0)"
    )
    parser.add_argument(
        "--granularity", default=None, help="model | block:N | layer (default model)"
    )
    parser.add_argument(
        "--cost", default=None, help="analytical (default) | table:FILE | table:xrbench"
    )
    parser.add_argument(
        "--fps-scale", default=None, help="multiply every task's rate (default 1.0)"
    )
    parser.add_argument(
        "--drops", help="allowed | never (default: allowed, or what an instance file says)"
    )
    parser.add_argument("--time-unit-ns", default=None, help="instance time unit in ns (default 1)")
    parser.add_argument("--context-switch", action="store_true", help="model weight-reload costs")
    parser.add_argument("--contention", action="store_true", help="model shared-DRAM contention")


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise InputError(
            f"expected a non-negative integer, got {excerpt(text)}", field="--seed"
        ) from None
    if seed < 0 or seed >= 2**63:
        raise InputError(
            f"expected a non-negative integer below 2^63, got {excerpt(text)}", field="--seed"
        )
    return seed


def _positive_float(text: str, flag: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"expected a positive number, got {excerpt(text)}", field=flag) from None
    if not (0 < value < 1e6):
        raise InputError(f"expected a positive number below 1e6, got {excerpt(text)}", field=flag)
    return value


def workload_settings(args: argparse.Namespace) -> dict[str, Any]:
    """Parse and check the shared options; every bad value is an InputError naming its flag."""
    from rtmm_opt.instance.instance import DROP_MODES
    from rtmm_opt.workload.granularity import Granularity

    if args.drops is not None and args.drops not in DROP_MODES:
        raise InputError(
            f"expected one of {', '.join(DROP_MODES)}, got {excerpt(args.drops)}", field="--drops"
        )
    try:
        granularity = Granularity.parse(args.granularity or "model")
    except InputError as exc:
        raise InputError(exc.reason, field="--granularity") from None
    try:
        time_unit = int(args.time_unit_ns or "1")
        if time_unit < 1:
            raise ValueError
    except ValueError:
        raise InputError(
            f"expected a positive integer, got {excerpt(args.time_unit_ns)}", field="--time-unit-ns"
        ) from None
    return {
        "duration_ns": (
            None if args.duration is None else parse_duration(args.duration, field="--duration")
        ),
        "seed": _seed(args.seed),
        "granularity": str(granularity),
        "fps_scale": _positive_float(args.fps_scale or "1.0", "--fps-scale"),
        "drops": args.drops,
        "time_unit_ns": time_unit,
        "context_switch": args.context_switch,
        "contention": args.contention,
    }


# Options that only shape how a scenario is built; an instance file is already built.
_BUILD_OPTIONS = (
    ("--system", "system"),
    ("--cost", "cost"),
    ("--duration", "duration"),
    ("--granularity", "granularity"),
    ("--fps-scale", "fps_scale"),
    ("--time-unit-ns", "time_unit_ns"),
    ("--context-switch", "context_switch"),
    ("--contention", "contention"),
)


def instance_from_args(args: argparse.Namespace) -> Any:
    """Build (or load) the Instance the options describe.

    An instance file keeps its own settings, except ``--drops`` when it is given; the options
    that only shape how a scenario is built are refused for it rather than silently ignored
    (``--seed`` stays meaningful: ``solve`` and ``compare`` seed the solver with it).
    """
    from rtmm_opt.instance.instance import Instance
    from rtmm_opt.instance.workload import load_workload, read_workload

    settings = workload_settings(args)
    drops = settings.pop("drops")
    workload = read_workload(args.workload)
    if isinstance(workload, Instance):
        given = [flag for flag, name in _BUILD_OPTIONS if getattr(args, name, None)]
        if given:
            raise InputError(
                f"is an instance file, already built; {', '.join(given)} only "
                f"appl{'ies' if len(given) == 1 else 'y'} when building a scenario (rebuild "
                "the instance from its scenario with `rtmm build`, or leave the option out)",
                file=args.workload,
                field=given[0],
            )
    instance = load_workload(
        workload,
        system=args.system or "xrb4k-J",
        cost=args.cost,
        drops=drops or "allowed",
        **settings,
    )
    if drops is not None and instance.settings.drops != drops:
        instance = instance.with_settings(drops=drops)
    return instance
