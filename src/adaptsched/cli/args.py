"""Checked command-line values, shared by every subcommand.

A value is checked where it enters: each numeric flag is parsed by :func:`bounded`, so a bad
number is refused by argparse before any work starts, with the flag's name; an output folder
is checked by :func:`output_dir` before anything is computed, so no result is lost to a path
that cannot be written. :class:`OneLineParser` reports every such error as one line.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

#: Exit status of a command refused for its arguments or inputs (argparse's own).
EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line, ``PROG: error: MESSAGE``, exit 2 (the
    usage text is one ``--help`` away; a wall of it hides the line that matters)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_USAGE)


Number = TypeVar("Number", int, float)


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bounded(
    kind: type[Number], low: Number | None = None, high: Number | None = None, unit: str = ""
) -> Callable[[str], Number]:
    """An argparse ``type`` reading a ``kind`` (int or float) within [low, high]; floats must
    be finite. The error says what is allowed and what was given; argparse adds the flag."""
    noun = "an integer" if kind is int else "a number"
    if low is not None and high is not None:
        allowed = f"{noun} in [{_show(low)}, {_show(high)}]{unit}"
    elif low is not None:
        allowed = f"{noun} >= {_show(low)}{unit}"
    else:
        allowed = f"{noun} <= {_show(high)}{unit}" if high is not None else noun

    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}, got {text!r}") from None
        finite = math.isfinite(value)
        if not finite or (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def output_dir(path: Path, flag: str) -> Path:
    """Create ``path`` (a folder) if needed and prove it writable now, before any work whose
    results would go there; raises ValueError naming ``flag`` otherwise."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot write there ({exc.strerror})") from None
    return path
