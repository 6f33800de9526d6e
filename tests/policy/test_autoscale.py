"""The utility-band rule on hand-made utility curves."""

import pytest

from adaptsched.models import ModelInputError
from adaptsched.policy.autoscale import UtilityBand, desired_node_count

BAND = UtilityBand(0.35, 0.65)


def curve(*utils: float) -> dict[int, float]:
    """Utilities for 1, 2, 3, ... nodes."""
    return {n: u for n, u in enumerate(utils, start=1)}


def test_inside_band_stays() -> None:
    assert desired_node_count(curve(0.9, 0.6, 0.45, 0.3), 2, BAND) == 2
    assert desired_node_count(curve(0.9, 0.6, 0.35, 0.3), 3, BAND) == 3


def test_above_band_grows_to_nearest_middle() -> None:
    # At 1 node utility 0.9 > 0.65: grow; 3 nodes (0.52) is nearest the middle 0.5.
    assert desired_node_count(curve(0.9, 0.7, 0.52, 0.41), 1, BAND) == 3


def test_below_band_shrinks() -> None:
    assert desired_node_count(curve(0.95, 0.55, 0.3, 0.2), 4, BAND) == 2


def test_sizes_below_low_are_ignored_even_when_nearer() -> None:
    # 0.34 is nearer 0.5 than 0.7, but below the band's low end.
    band = UtilityBand(0.35, 0.65)
    assert desired_node_count({1: 0.70, 2: 0.34}, 1, band) == 1


def test_ties_prefer_more_nodes() -> None:
    assert desired_node_count({1: 0.9, 2: 0.4, 3: 0.6}, 1, BAND) == 3


def test_idle_cluster_shrinks_to_fewest_nodes() -> None:
    assert desired_node_count(curve(0.0, 0.0, 0.0), 3, BAND) == 1


def test_bounds_clip() -> None:
    assert desired_node_count(curve(0.9, 0.8, 0.7, 0.5), 1, BAND, max_nodes=3) == 3
    assert desired_node_count(curve(0.0, 0.0), 2, BAND, min_nodes=2) == 2


@pytest.mark.parametrize(("low", "high"), [(0.7, 0.3), (-0.1, 0.5), (float("nan"), 0.5)])
def test_bad_band_rejected(low: float, high: float) -> None:
    with pytest.raises(ModelInputError, match="utility band"):
        UtilityBand(low, high)


def test_bad_utilities_rejected() -> None:
    with pytest.raises(ModelInputError, match="utility at 2 nodes"):
        desired_node_count({1: 0.5, 2: float("nan")}, 1, BAND)
    with pytest.raises(ModelInputError, match="no candidate"):
        desired_node_count({}, 1, BAND)
