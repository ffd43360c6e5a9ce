"""``rtmm generate``: hard instances with certified gaps, and their re-verification.

Only parses and prints: the search is :func:`rtmm_opt.studies.generate.generate`, the
re-verification :func:`rtmm_opt.studies.hard.verify` (``docs/hard_instances.md``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from rtmm_opt.cli.arguments import non_negative_int, positive_int
from rtmm_opt.cli.output import print_json, print_table
from rtmm_opt.errors import InputError

_MINUTES = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(m|min|h)\s*")


def register(commands: Any) -> None:
    p = commands.add_parser(
        "generate", help="search for instances on which a scheduler is provably far from optimal"
    )
    p.add_argument("--target", help="the online scheduler to beat (e.g. edf)")
    p.add_argument("--objective", default="misses", help="as rtmm solve (default: misses)")
    p.add_argument("--against", default="oracle",
                   help="score against the oracle's incumbent (default) or another scheduler")
    p.add_argument("--space", metavar="SPACE.yaml", help="search space overrides")
    p.add_argument("--budget", default="10m", help="wall time: 90s, 2m, 1h (default 10m)")
    p.add_argument("--trials", type=positive_int, help="screen exactly this many points "
                   "(instead of the share of the budget; machine-independent)")
    p.add_argument("--count", type=positive_int, default=5, help="instances to write (default 5)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="search seed (default 0)")
    p.add_argument("--workers", type=non_negative_int, default=0,
                   help="Dask worker processes (default 0: in this process)")
    p.add_argument("--mode", default="tpe", help="tpe (default) or random (the baseline)")
    p.add_argument("--others", help="comma-separated schedulers to compare with "
                   "(default: every online scheduler but the target)")
    p.add_argument("--screen-time", type=_seconds, default=1.0,
                   help="oracle time per screened point, deterministic seconds (default 1)")
    p.add_argument("--certify-time", type=_seconds, default=20.0,
                   help="oracle time of the final certification (default 20)")
    p.add_argument("--out", help="output folder (instances, metadata, search.db)")
    p.add_argument("--verify", metavar="DIR",
                   help="re-run the schedulers and the oracle on DIR's instances instead")
    p.add_argument("--markdown", metavar="F.md", help="with --verify: write the table here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_generate)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds in (0, 86400], got {text!r}")
    return value


def parse_budget(text: str) -> float:
    """``90s``, ``2m``, ``1.5h``, ``500ms`` → seconds."""
    match = _MINUTES.fullmatch(text)
    if match:
        return float(match.group(1)) * (3600.0 if match.group(2) == "h" else 60.0)
    from rtmm_opt.io.units import parse_duration

    return parse_duration(text, field="--budget") / 1e9


def run_generate(args: argparse.Namespace) -> int:
    if args.verify:
        return _verify(args)
    if not args.target:
        raise InputError("required unless --verify is given", field="--target")
    if not args.out:
        raise InputError("required unless --verify is given", field="--out")
    from rtmm_opt.studies.generate import GenerateConfig, generate
    from rtmm_opt.studies.space import SearchSpace, read_space

    space = read_space(args.space) if args.space else SearchSpace()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError("is a file, expected a folder", file=args.out, field="--out")
    others = None
    if args.others:
        others = tuple(name.strip() for name in args.others.split(",") if name.strip())
    config = GenerateConfig(
        target=args.target, out=out, objective=args.objective, against=args.against,
        space=space, budget_s=parse_budget(args.budget), trials=args.trials, count=args.count,
        seed=args.seed, workers=args.workers, mode=args.mode, others=others,
        screen_time=args.screen_time, certify_time=args.certify_time,
    )  # fmt: skip
    quiet = args.json
    result = generate(config, progress=None if quiet else
                      (lambda message: print(f"rtmm generate: {message}", file=sys.stderr)))
    if args.json:
        print_json({**result.to_dict(), "instances": [
            {k: r[k] for k in ("score", "target_value", "certified_gap", "gap_interval",
                               "best_other", "jobs")} | {"oracle": r["oracle"]}
            for r in result.certified]})  # fmt: skip
    else:
        print(f"{result.evaluations} evaluations ({result.failed} failed); "
              f"{len(result.written)} instances written to {out}")  # fmt: skip
        rows = [[p.name, r["target_value"], r["oracle"]["objective"], r["oracle"]["bound"],
                 r["oracle"]["status"], r["certified_gap"], (r["best_other"] or {}).get("name"),
                 r["score"]] for p, r in zip(result.written, result.certified, strict=True)]
        print_table(rows, ["metadata", "H", "UB", "LB", "oracle", "certified gap",
                           "best other", "score"])  # fmt: skip
    if len(result.written) < config.count:
        print(f"rtmm generate: only {len(result.written)} of {config.count} instances were "
              "certified within the budget", file=sys.stderr)  # fmt: skip
    return 0


def _verify(args: argparse.Namespace) -> int:
    from rtmm_opt.studies.hard import markdown_table, report_rows, verify

    results = verify(args.verify)
    rows = report_rows(results)
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(args.verify))
    if args.json:
        print_json({"instances": rows, "ok": all(r.ok for r in results)})
    else:
        print_table([[r["instance"], r["target"], r["H"], r["UB"], r["LB"], r["status"],
                      r["certified_gap"], r["best_other"], "yes" if r["ok"] else "NO"]
                     for r in rows],
                    ["instance", "target", "H", "UB", "LB", "oracle", "certified gap",
                     "best other", "reproduced"])  # fmt: skip
        for r in rows:
            for mismatch in r["mismatches"]:
                print(f"rtmm generate: {r['instance']}: {mismatch}", file=sys.stderr)
    return 0 if all(r.ok for r in results) else 1
