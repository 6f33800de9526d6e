"""Errors of the simulator: bad input files and impossible policy decisions."""

from __future__ import annotations

from pathlib import Path


class SimInputError(ValueError):
    """A workload or profile file is malformed; the message names file, line and column."""


class SimulationError(ValueError):
    """A policy returned a decision the cluster cannot carry out (over capacity, unknown node)."""


def at(path: Path | str, line: int, column: int | None, problem: str) -> SimInputError:
    """Build the error for one cell: ``file:line:column: problem`` (1-based line and column)."""
    where = f"{path}:{line}" if column is None else f"{path}:{line}:{column}"
    return SimInputError(f"{where}: {problem}")
