"""Strict CSV reading: every cell is checked, and a bad one is reported by file, line and
column, so that a malformed profile or workload never turns into a silent NaN."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adaptsched.sim.errors import at, read_text


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _int(text: str) -> int:
    return int(text)


def _digits(text: str) -> str:
    if not text or not text.isdigit() or "0" in text:
        raise ValueError("expected GPUs per node as digits 1-9, e.g. '1244'")
    return text


def _name(text: str) -> str:
    if not text.strip():
        raise ValueError("empty")
    return text.strip()


PARSERS: dict[str, Callable[[str], object]] = {
    "float": _float,
    "int": _int,
    "digits": _digits,
    "str": _name,
}


#: Key of the per-row source line numbers in a table returned by :func:`read_table`.
LINE = "__line__"


@dataclass(frozen=True)
class Column:
    """A required column: its name, cell type and lower bound (``minimum`` / ``positive``)."""

    name: str
    kind: str = "float"
    minimum: float | None = None
    positive: bool = False

    def parse(self, text: str) -> object:
        value = PARSERS[self.kind](text.strip() if self.kind != "str" else text)
        if isinstance(value, int | float):
            if self.positive and value <= 0:
                raise ValueError(f"must be > 0, got {value}")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"must be >= {self.minimum:g}, got {value}")
        return value


def read_table(path: Path, columns: Sequence[Column]) -> dict[str, np.ndarray]:
    """Read ``path`` (header row + data rows) into one array per required column.

    The source line of every row is kept under the key :data:`LINE`, so that checks across
    columns can still point at the line. Extra columns are ignored; missing columns, short
    rows and unparsable cells raise :class:`~adaptsched.sim.errors.SimInputError` naming
    file, line and column.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise at(path, reader.line_num, None, f"not a CSV table ({exc})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise at(path, 1, None, "empty file, expected a header row")
    header = [cell.strip() for cell in rows[0]]
    index: dict[str, int] = {}
    for col in columns:
        if col.name not in header:
            raise at(path, 1, None, f"missing column {col.name!r} (header: {','.join(header)})")
        index[col.name] = header.index(col.name)
    values: dict[str, list[object]] = {col.name: [] for col in columns}
    lines: list[int] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        for col in columns:
            pos = index[col.name]
            if pos >= len(row):
                raise at(path, line_no, pos + 1, f"{col.name}: missing (row has {len(row)} cells)")
            try:
                values[col.name].append(col.parse(row[pos]))
            except ValueError as exc:
                raise at(path, line_no, pos + 1, f"{col.name}: {row[pos]!r}: {exc}") from None
        lines.append(line_no)
    if not values[columns[0].name]:
        raise at(path, 2, None, "no data rows")
    table = {name: np.asarray(vals) for name, vals in values.items()}
    table[LINE] = np.asarray(lines)
    return table
