"""``rtmm sweep`` and ``rtmm report``: studies at scale, and what they show.

Both only parse and print: the study is :func:`rtmm_opt.studies.sweep.run_study`, the report
:func:`rtmm_opt.studies.report.write_report` (``docs/studies.md``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from rtmm_opt.cli.output import output_path, print_json, print_table
from rtmm_opt.errors import InputError, excerpt


def register(commands: Any) -> None:
    sweep = commands.add_parser("sweep", help="run a study (grid, design, seeds) on Dask")
    sweep.add_argument("study", help="study YAML (docs/studies.md)")
    sweep.add_argument("--db", help="results file (SQLite; default: <study name>.db)")
    sweep.add_argument(
        "--workers",
        default=None,
        help="local Dask worker processes (default: one per core; 0: in this process)",
    )
    sweep.add_argument("--cluster", metavar="ADDRESS", help="an existing Dask scheduler")
    sweep.add_argument("--dry-run", action="store_true", help="list the cells, run nothing")
    sweep.add_argument(
        "--export", metavar="F.csv|F.parquet", help="afterwards, write the study's rows here"
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--json", action="store_true", help="print one JSON object")
    sweep.set_defaults(handler=run_sweep)

    report = commands.add_parser("report", help="markdown summary and plots of a study")
    report.add_argument("db", help="results file written by rtmm sweep")
    report.add_argument("--out", required=True, help="output directory")
    report.add_argument("--study", help="the study to report (default: the only one in DB)")
    report.add_argument(
        "--intro", metavar="F.md", help="markdown that opens the report (what the study shows)"
    )
    report.add_argument("--json", action="store_true", help="print one JSON object")
    report.set_defaults(handler=run_report)


def _workers(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        workers = int(text)
        if not 0 <= workers <= 4096:
            raise ValueError
    except ValueError:
        raise InputError(
            f"expected a non-negative integer, got {excerpt(text)}", field="--workers"
        ) from None
    return workers


class _Progress:
    """A tqdm bar of cells: done, failed, remaining, and the ETA."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.seen = 0

    def __call__(self, done: int, failed: int, remaining: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=done + failed + remaining, unit="cell", file=sys.stderr,
                            dynamic_ncols=True)  # fmt: skip
        self.bar.set_postfix(done=done, failed=failed, remaining=remaining, refresh=False)
        self.bar.update(done + failed - self.seen)
        self.seen = done + failed

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_sweep(args: argparse.Namespace) -> int:
    from rtmm_opt.studies.store import export_runs
    from rtmm_opt.studies.study import cells_table, read_study
    from rtmm_opt.studies.sweep import run_study

    workers = _workers(args.workers)
    study = read_study(args.study)
    db = Path(args.db) if args.db else Path(f"{study.name}.db")
    output_path(str(db), "--db")
    if args.export:
        if Path(args.export).suffix not in (".csv", ".parquet"):
            raise InputError("expected a .csv or .parquet file", file=args.export, field="--export")
        output_path(args.export, "--export")
    if args.dry_run:
        rows = cells_table(study.cells())
        if args.json:
            print_json({"cells": len(rows), "rows": rows})
        else:
            print(f"{study.name}: {len(rows)} cells")
            print_table([list(r.values()) for r in rows[:50]], list(rows[0]) if rows else [])
        return 0
    progress = _Progress(not (args.quiet or args.json))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            summary = run_study(study, db, workers=workers, cluster=args.cluster,
                                progress=progress)  # fmt: skip
        finally:
            progress.close()
    for warning in caught:
        print(f"rtmm: warning: {warning.message}", file=sys.stderr)
    if args.export:
        export_runs(db, args.export, study=study.name)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(
            f"{study.name}: {summary.cells} cells, {summary.done} done "
            f"({summary.skipped} before this run), {summary.failed} failed; results in {db}"
        )
        if summary.failed:
            print(
                f"rtmm: {summary.failed} cells failed; their errors are in the 'error' column "
                f"of {db} (status 'failed'); a re-run tries them again",
                file=sys.stderr,
            )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from rtmm_opt.studies.report import write_report

    intro = None
    if args.intro:
        from rtmm_opt.io.strict import read_text

        intro = read_text(Path(args.intro))
    report = write_report(args.db, args.out, study=args.study, intro=intro)
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"{report.study}: {report.markdown} ({len(report.figures)} figures)")
    return 0
