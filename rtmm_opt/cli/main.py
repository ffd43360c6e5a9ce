"""The ``rtmm`` command line (docs/design.md §6).

Exit status: 0 success; 2 bad input or usage, with one line on stderr naming the file, the field
and the reason; 1 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from rtmm_opt import __version__
from rtmm_opt.errors import InputError


class UsageError(InputError):
    """A bad command line (unknown flag, missing argument, bad value)."""


class Parser(argparse.ArgumentParser):
    """argparse, but usage errors raise instead of printing the whole usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> Parser:
    from rtmm_opt.cli import (
        build,
        generate,
        importer,
        models,
        run,
        scenarios,
        solve,
        sweep,
        systems,
        train,
        validate,
    )  # fmt: skip

    parser = Parser(
        prog="rtmm",
        description="How far are real-time multi-model ML schedulers from optimal?",
    )
    parser.add_argument("--version", action="version", version=f"rtmm-opt {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    models.register(commands)
    systems.register(commands)
    scenarios.register(commands)
    validate.register(commands)
    build.register(commands)
    importer.register(commands)
    run.register(commands)
    solve.register(commands)
    sweep.register(commands)
    generate.register(commands)
    train.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        status: int = args.handler(args)
        return status
    except InputError as exc:
        print(f"rtmm: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `rtmm ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("rtmm: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input
        if os.environ.get("RTMM_DEBUG"):
            traceback.print_exc()
        print(
            f"rtmm: internal error: {type(exc).__name__}: {exc} "
            "(set RTMM_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
