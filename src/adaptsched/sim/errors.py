"""Errors of the simulator: bad input files and impossible policy decisions."""

from __future__ import annotations

from pathlib import Path


class SimInputError(ValueError):
    """A workload or profile file is malformed; the message names file, line and column."""


class SimulationError(ValueError):
    """A policy returned a decision the cluster cannot carry out (over capacity, unknown node)."""


class TimeLimitError(SimulationError):
    """The simulated time limit passed with jobs unfinished. ``partial`` holds the run's
    results for the jobs that did finish (a ``SimResult``), so they are still reported."""

    def __init__(self, message: str, partial: object) -> None:
        super().__init__(message)
        self.partial = partial


def at(path: Path | str, line: int, column: int | None, problem: str) -> SimInputError:
    """Build the error for one cell: ``file:line:column: problem`` (1-based line and column)."""
    where = f"{path}:{line}" if column is None else f"{path}:{line}:{column}"
    return SimInputError(f"{where}: {problem}")


def read_text(path: Path) -> str:
    """The UTF-8 text of an input file; a file that cannot be read, or is not text, raises
    SimInputError naming it (and, for bytes that are not UTF-8, where the first one is)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise at(path, 1, None, f"cannot read ({exc.strerror})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        raise at(path, line, column, f"not UTF-8 text (byte 0x{byte:02x})") from None
