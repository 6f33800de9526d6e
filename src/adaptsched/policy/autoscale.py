"""Utility-band autoscaling: how many nodes the cluster should have.

The rule is the seed thesis's (its Code IV.3.1, itself AdaptDL's Pollux autoscaler): the
policy scores candidate allocations, each using some number of nodes, by cluster utility
``sum_j SPEEDUP_j / GPUs`` (Pollux, section 4.3). While the best candidate at the current size
has a utility inside ``[low, high]`` the size stays. Otherwise the size moves to the candidate
whose utility is nearest the band's middle, ignoring candidates below ``low``; among equally
near candidates the one with more nodes wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from adaptsched.models.errors import ModelInputError


@dataclass(frozen=True)
class UtilityBand:
    """Target range of cluster utility; outside it the autoscaler resizes."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high)) or not (
            0.0 <= self.low <= self.high
        ):
            raise ModelInputError(
                f"utility band: need 0 <= low <= high, got [{self.low}, {self.high}]"
            )

    @property
    def target(self) -> float:
        return (self.low + self.high) / 2.0


def desired_node_count(
    utility_by_nodes: Mapping[int, float],
    current_nodes: int,
    band: UtilityBand,
    *,
    min_nodes: int = 1,
    max_nodes: int | None = None,
) -> int:
    """Node count to move to, given the best allocation's utility at each candidate size.

    When no candidate reaches ``band.low`` (e.g. an idle cluster) the seed rule would never
    shrink; we then take the highest-utility candidate, the fewer nodes on ties.
    """
    if not utility_by_nodes:
        raise ModelInputError("utility_by_nodes: no candidate node counts")
    for nodes, util in utility_by_nodes.items():
        if not np.isfinite(util) or util < 0:
            raise ModelInputError(f"utility at {nodes} nodes: must be finite and >= 0, got {util}")
    upper = max_nodes if max_nodes is not None else max(max(utility_by_nodes), current_nodes)
    current = utility_by_nodes.get(current_nodes)
    if current is not None and band.low <= current <= band.high:
        return int(np.clip(current_nodes, min_nodes, upper))
    eligible = {n: u for n, u in utility_by_nodes.items() if u >= band.low}
    if eligible:
        # Nearest the band's middle; more nodes on ties (gaps rounded so float noise ties).
        chosen = min(eligible, key=lambda n: (round(abs(eligible[n] - band.target), 9), -n))
    else:
        chosen = min(utility_by_nodes, key=lambda n: (-round(utility_by_nodes[n], 9), n))
    return int(np.clip(chosen, min_nodes, upper))


#: A node is kept while its GPUs earn this share of the price (one is added only once they
#: would earn all of it), so that estimates that move with the cluster's size do not add and
#: release a node round after round.
KEEP_SHARE = 0.6


def priced_node_count(
    demand_gpus: int,
    keep_gpus: int,
    current_nodes: int,
    gpus_per_node: int,
    *,
    min_nodes: int = 1,
    max_nodes: int,
) -> int:
    """Node count for a metric that charges each GPU a price: enough nodes for the GPUs the
    jobs would buy at that price (``demand_gpus``: every GPU adds at least the price to some
    job's speedup), so a node is kept only while the GPUs on it earn it.

    The cluster grows as soon as the demand exceeds it. It releases a node only once the
    GPUs the jobs would still buy at ``KEEP_SHARE`` of the price (``keep_gpus``) fit the
    nodes left with half a node (rounded down) to spare, so that a demand hovering at a node
    boundary, or an estimate that moves with the cluster's size, does not add and drain a
    node every round.
    """
    if gpus_per_node < 1:
        raise ModelInputError(f"gpus per node: must be >= 1, got {gpus_per_node}")
    grow = -(-max(demand_gpus, 0) // gpus_per_node)
    keep = -(-(max(keep_gpus, demand_gpus, 0) + gpus_per_node // 2) // gpus_per_node)
    need = grow if grow > current_nodes else min(max(keep, grow), current_nodes)
    return int(np.clip(need, min_nodes, max(max_nodes, min_nodes)))
