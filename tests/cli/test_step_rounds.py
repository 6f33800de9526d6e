"""Step times from several rounds: each row's median, and how far the rounds disagreed."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from adaptsched.cli.profile import _check_mode, add_arguments
from adaptsched.cli.step_rounds import largest_spread, median_rows


def _round(scale: float) -> list[list[object]]:
    return [["1", 16, 0.10 * scale, 0.0], ["2", 16, 0.20 * scale, 0.02 * scale]]


def test_one_disturbed_round_of_three_moves_no_row() -> None:
    rounds = [_round(1.0), _round(1.5), _round(1.02)]  # the second ran on a busy machine
    rows = median_rows(rounds, keys=2)
    assert [r[:2] for r in rows] == [["1", 16], ["2", 16]]  # the first round's order
    assert rows[0][2:] == pytest.approx([0.102, 0.0])
    assert rows[1][2:] == pytest.approx([0.204, 0.0204])


def test_rows_come_in_any_order_within_a_round() -> None:
    rows = median_rows([_round(1.0), list(reversed(_round(3.0)))], keys=2)
    assert rows[0] == pytest.approx(["1", 16, 0.2, 0.0])  # median of two: their mean


def test_one_round_is_returned_as_measured() -> None:
    assert median_rows([_round(1.0)], keys=2) == _round(1.0)


def test_a_round_that_measured_other_configurations_is_refused() -> None:
    with pytest.raises(ValueError, match="round 2 measured other configurations"):
        median_rows([_round(1.0), _round(1.0)[:1]], keys=2)
    with pytest.raises(ValueError, match="no round"):
        median_rows([], keys=2)


def test_largest_spread_is_the_worst_row_slowest_over_fastest() -> None:
    assert largest_spread([_round(1.0), _round(1.5)], keys=2, column=2) == pytest.approx(0.5)
    assert largest_spread([_round(1.0)], keys=2, column=2) == 0.0


def test_a_configuration_given_twice_is_measured_once(tmp_path: Path) -> None:
    """Rounds are matched by configuration, so `--replicas 1 1 2` must not make two rows."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(
        ["--out", str(tmp_path), "--replicas", "1", "2", "1", "--local-bsz", "32", "16", "32"]
    )
    _check_mode(args)
    assert args.replicas == [1, 2] and args.local_bsz == [32, 16]
