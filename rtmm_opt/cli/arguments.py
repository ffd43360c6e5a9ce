"""Argument types shared by the commands (argparse ``type=``): a bad value is argparse's usage
error, exit 2, naming the flag."""

from __future__ import annotations

import argparse

from rtmm_opt.errors import excerpt

MAX_COUNT = 10**9  # steps, trials, seeds, workers: any larger value is a typo


def non_negative_int(text: str) -> int:
    """An integer in [0, 1e9]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {excerpt(text)}") from None
    if not 0 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 1e9], got {excerpt(text)}")
    return value


def positive_int(text: str) -> int:
    """An integer in [1, 1e9]."""
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {excerpt(text)}")
    return value
