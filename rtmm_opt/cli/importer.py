"""``rtmm import dysta``: the Dysta simulator's latency tables and requests as an instance.

Two ways to get the requests (``docs/dysta.md``)::

    rtmm import dysta TABLES_DIR REQUESTS_CSV --out INSTANCE.json
    rtmm import dysta TABLES_DIR --rate 3 --requests 300 --seed 1 --slo-mult 2 \\
        [--model-order meta/models_eyerissv2.csv] [--requests-out requests.csv] --out INSTANCE.json

The first reads a request table in the authors' column format; the second draws the requests
as the simulator does (:func:`~rtmm_opt.instance.dysta.generate_requests`) and can write them
in that format. ``rtmm run INSTANCE.json --scheduler NAME`` then replays them like the
simulator (the instance carries ``settings.compat: dysta``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from rtmm_opt.cli.output import check_outputs, print_json
from rtmm_opt.errors import InputError, excerpt

GENERATOR_OPTIONS = ("rate", "n_requests", "seed", "slo_mult")
FLAGS = {"rate": "--rate", "n_requests": "--requests", "seed": "--seed", "slo_mult": "--slo-mult"}
# generate_requests's error fields -> the flags they come from
LIBRARY_FIELDS = {
    "rate": "--rate",
    "requests": "--requests",
    "seed": "--seed",
    "slo_mult": "--slo-mult",
}


def register(commands: Any) -> None:
    importer = commands.add_parser("import", help="import another simulator's inputs")
    sources = importer.add_subparsers(dest="source", metavar="SOURCE", parser_class=type(importer))
    sources.required = True
    dysta = sources.add_parser(
        "dysta",
        help="Dysta latency tables + requests (read or generated) -> instance JSON",
        description="Build an instance from the Dysta simulator's latency tables (EyerissV2 or "
        "Sanger format) and a request table, or requests generated as the simulator does.",
    )
    dysta.add_argument("tables", metavar="TABLES_DIR", help="folder of latency table CSVs")
    dysta.add_argument(
        "requests_csv",
        metavar="REQUESTS_CSV",
        nargs="?",
        help="request table in the authors' format (omit to generate with --rate ...)",
    )
    dysta.add_argument("--out", required=True, metavar="INSTANCE.json", help="instance to write")
    dysta.add_argument(
        "--seq-len", default="512", metavar="L", help="Sanger sequence length L (default 512)"
    )
    dysta.add_argument("--rate", metavar="R", help="generate: arrival rate in requests/s")
    dysta.add_argument(
        "--requests", dest="n_requests", metavar="N", help="generate: number of requests"
    )
    dysta.add_argument("--seed", metavar="S", help="generate: the seed of Python's random")
    dysta.add_argument(
        "--slo-mult", metavar="M", help="generate: deadline = arrival + SLO x mean isolated"
    )
    dysta.add_argument(
        "--model-order",
        metavar="FILE",
        help="CSV with a 'model' column: the simulator's model list order (e.g. "
        "reference/meta/models_<set>.csv; default: sorted by file name)",
    )
    dysta.add_argument(
        "--requests-out", metavar="F.csv", help="generate: also write the requests table"
    )
    dysta.add_argument(
        "--time-unit-ns",
        default="0.001",
        metavar="NS",
        help="instance time unit in ns (default 0.001 = 1 ps; docs/dysta.md says why)",
    )
    dysta.add_argument("--name", help="instance name (default dysta-<folder name>)")
    dysta.add_argument("--json", action="store_true", help="print one JSON object")
    dysta.set_defaults(handler=import_dysta)


def _number(text: str, flag: str, *, integer: bool = False, positive: bool = False) -> Any:
    """A command-line number; bad ones are input errors naming the flag."""
    kind = "an integer" if integer else "a number"
    try:
        value: Any = int(text) if integer else float(text)
    except ValueError:
        raise InputError(f"expected {kind}, got {excerpt(text)}", field=flag) from None
    if not math.isfinite(value) or (positive and value <= 0):
        raise InputError(
            f"expected {'a positive ' + kind.split()[-1] if positive else kind}, "
            f"got {excerpt(text)}",
            field=flag,
        )
    return value


def import_dysta(args: argparse.Namespace) -> int:
    from rtmm_opt.instance.dysta import (
        build_dysta_instance,
        generate_requests,
        read_model_order,
        read_requests,
        read_tables,
        write_requests,
    )

    check_outputs(args, ("--out", "--requests-out"))
    given = [name for name in GENERATOR_OPTIONS if getattr(args, name) is not None]
    if args.requests_csv is not None and given:
        raise InputError(
            "give either REQUESTS_CSV or the generator options, not both",
            field=FLAGS[given[0]],
        )
    if args.requests_csv is None:
        missing = [FLAGS[name] for name in GENERATOR_OPTIONS if name not in given]
        if missing:
            raise InputError(
                f"without REQUESTS_CSV the requests are generated and need {', '.join(missing)}",
                field=missing[0],
            )
    elif args.requests_out:
        raise InputError(
            "only generated requests are written; REQUESTS_CSV is already a request table",
            field="--requests-out",
        )
    seq_len = _number(args.seq_len, "--seq-len", integer=True, positive=True)
    time_unit_ns = _number(args.time_unit_ns, "--time-unit-ns", positive=True)
    try:
        order = read_model_order(args.model_order) if args.model_order else None
        tables = read_tables(
            args.tables, seq_len=seq_len, model_order=order, model_order_file=args.model_order
        )
    except InputError as exc:
        raise exc.located(args.tables) from None
    source: dict[str, Any]
    if args.requests_csv is not None:
        requests = read_requests(args.requests_csv, tables)
        source = {"requests": str(args.requests_csv)}
        name = args.name or f"dysta-{tables.directory.name}-{Path(args.requests_csv).stem}"
    else:
        generator = {
            "rate": _number(args.rate, "--rate", positive=True),
            "count": _number(args.n_requests, "--requests", integer=True, positive=True),
            "seed": _number(args.seed, "--seed", integer=True),
            "slo_mult": _number(args.slo_mult, "--slo-mult", positive=True),
        }
        try:
            requests = generate_requests(tables, **generator)
        except InputError as exc:  # the library names its parameters; say which flag
            if exc.file is None and exc.field in LIBRARY_FIELDS:
                raise InputError(exc.reason, field=LIBRARY_FIELDS[exc.field]) from None
            raise
        if args.requests_out:
            write_requests(args.requests_out, requests, tables)
        source = {"generator": generator}
        name = args.name or (
            f"dysta-{tables.directory.name}-r{generator['rate']:g}-s{generator['seed']}"
            f"-slo{generator['slo_mult']:g}"
        )
    try:
        instance = build_dysta_instance(
            tables, requests, time_unit_ns=time_unit_ns, name=name, source=source
        )
    except InputError as exc:
        if exc.field == "time_unit_ns":
            raise InputError(exc.reason, field="--time-unit-ns") from None
        raise
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        instance.to_json(out)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror}", file=out, field="--out") from None
    summary = {
        "out": str(out),
        "instance": instance.name,
        "instance_hash": instance.content_hash,
        "format": tables.format,
        "models": list(tables.models),
        "jobs": instance.n_jobs,
        "ops": instance.n_ops,
        "time_unit_ns": instance.time_unit_ns,
        "compat": instance.settings.compat,
        "requests_out": args.requests_out,
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {out}: {instance.n_jobs} requests, {instance.n_ops} layer ops on one "
            f"{tables.format} accelerator ({len(tables.models)} models), time unit "
            f"{instance.time_unit_ns:g} ns, compat dysta, hash {instance.content_hash}"
        )
    return 0
