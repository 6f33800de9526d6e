"""Step times measured in several rounds, reduced to one row per configuration.

On a machine shared with other work, a row of 20 timed steps can run 40 % slow when another
process takes a core for a minute (measured on this project's 2-core machine: one replica at
local batch 256 gave 0.43 and 0.62 s per step in two runs minutes apart, and one replica came
out slower than two copies side by side). ``adaptsched profile --rounds R`` therefore
measures every row R times, the rows of a round one after another and the rounds in turn, so
that a slow minute lands in one round of every row rather than in all the steps of one, and
keeps each row's median over the rounds: with three rounds, one disturbed round moves no row.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

Row = Sequence[Any]


def _by_configuration(rounds: Sequence[Sequence[Row]], keys: int) -> dict[tuple, list[Row]]:
    """Each configuration's rows over the rounds, in the first round's order."""
    grouped: dict[tuple, list[Row]] = {}
    for rows in rounds:
        for row in rows:
            grouped.setdefault(tuple(row[:keys]), []).append(row)
    return grouped


def median_rows(rounds: Sequence[Sequence[Row]], keys: int) -> list[list[object]]:
    """One row per configuration (its first ``keys`` columns), in the first round's order,
    every further column the median of that configuration's values over the rounds.

    Every round must measure the same configurations: a round that missed one (or measured
    another) is a bug of the caller, raised as ValueError."""
    if not rounds:
        raise ValueError("step rounds: no round measured")
    first = {tuple(r[:keys]) for r in rounds[0]}
    for number, rows in enumerate(rounds, start=1):
        measured = [tuple(r[:keys]) for r in rows]
        if len(measured) != len(first) or set(measured) != first:
            raise ValueError(f"step rounds: round {number} measured other configurations")
    return [
        [*key, *(statistics.median(float(r[i]) for r in rows) for i in range(keys, len(rows[0])))]
        for key, rows in _by_configuration(rounds, keys).items()
    ]


def largest_spread(rounds: Sequence[Sequence[Row]], keys: int, column: int) -> float:
    """The largest ratio, over the configurations, of the slowest round's value in ``column``
    to the fastest's, minus one (0.0: every round agreed; recorded in ``profile.json`` so
    that a reader sees how steady the machine was)."""
    spreads = []
    for rows in _by_configuration(rounds, keys).values():
        values = [float(r[column]) for r in rows]
        if min(values) > 0:
            spreads.append(max(values) / min(values) - 1.0)
    return max(spreads, default=0.0)
