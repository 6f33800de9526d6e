"""How a configuration's replicas split over nodes, and the node patterns that let the integer
program of ``policy.milp`` check node-by-node packing in aggregate.

A configuration is a multiset of *parts*, the replicas it puts on each node it uses:

- compact: as few nodes as hold the replicas, whole nodes first (8 GPUs on 4-GPU nodes:
  4 + 4; 6: 4 + 2; 3: 3);
- even: spread over more nodes than needed, in near-equal parts (3 over 2 nodes: 2 + 1),
  which fits into the holes other jobs leave;
- kept: the parts of the job's current placement.

A part is *multi* when its job spans several nodes; Pollux lets a node hold at most one.

What a node can hold is a *pattern*: a partition of its GPUs into slots, at most one of them
marked multi (4 GPUs: 4, 3 + 1, 2 + 2, 2 + 1 + 1, 1 + 1 + 1 + 1, each with or without one
slot marked). Any set of parts that fits on a node fits one pattern slot by slot (pad with
1-slots), so the parts of the chosen configurations fit the nodes if and only if some count
of patterns per node size, at most the nodes of that size, offers a slot for every part.
This is the configuration model of Gilmore and Gomory ("A linear programming approach to the
cutting-stock problem", 1961) applied to nodes; its LP relaxation is famously tight. The
program adds a count variable per pattern, so aggregate capacity covers fragmentation too;
only parts that must stay where they are (kept placements) can still fail to fit, and
placement repairs that.

Nodes larger than ``MAX_PATTERN_GPUS`` have too many patterns; for them only the GPU and
multi-node totals are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Nodes with more GPUs than this are checked in total only (their patterns are too many).
MAX_PATTERN_GPUS = 16


@dataclass(frozen=True)
class Patterns:
    """Node patterns for the cluster's node sizes. Part types are indexed
    ``kind * (largest + 1) + size``, kind 0 single-node, 1 multi-node."""

    slots: np.ndarray  # (P, types) slots of each part type a pattern offers
    size_class: np.ndarray  # (P,) index into ``class_nodes``
    class_nodes: np.ndarray  # (classes,) nodes of each size
    largest: int

    @property
    def types(self) -> int:
        return 2 * (self.largest + 1)


def _partitions(total: int, most: int) -> list[tuple[int, ...]]:
    """Partitions of ``total`` into parts of at most ``most``, largest first."""
    if total == 0:
        return [()]
    out = []
    for first in range(min(total, most), 0, -1):
        out += [(first, *rest) for rest in _partitions(total - first, first)]
    return out


@lru_cache(maxsize=64)
def _node_patterns(size: int, largest: int) -> np.ndarray:
    """(P, types) patterns of one node of ``size`` GPUs: every partition, unmarked or with
    one slot of each distinct size marked multi."""
    rows = []
    for parts in _partitions(size, size):
        counts = np.bincount(parts, minlength=largest + 1)
        plain = np.concatenate([counts, np.zeros(largest + 1)])
        rows.append(plain)
        for part in sorted(set(parts)):
            marked = plain.copy()
            marked[part] -= 1
            marked[largest + 1 + part] += 1
            rows.append(marked)
    table = np.array(rows, dtype=float)
    table.setflags(write=False)
    return table


def cluster_patterns(capacity: np.ndarray) -> Patterns | None:
    """Patterns for nodes of ``capacity`` GPUs; None when a node is too large for them."""
    largest = int(capacity.max())
    if largest > MAX_PATTERN_GPUS:
        return None
    sizes, counts = np.unique(capacity, return_counts=True)
    blocks = [_node_patterns(int(s), largest) for s in sizes]
    return Patterns(
        slots=np.concatenate(blocks),
        size_class=np.concatenate([np.full(len(b), i) for i, b in enumerate(blocks)]),
        class_nodes=counts.astype(float),
        largest=largest,
    )


def part_histogram(
    gpus: np.ndarray, nodes: np.ndarray, even: np.ndarray, node_gpus: int
) -> np.ndarray:
    """(C, types) counts of part types of compact / even configurations."""
    width = node_gpus + 1
    hist = np.zeros((len(gpus), 2 * width))
    nodes = np.maximum(nodes, 1)
    rows = np.arange(len(gpus))
    kind = np.where(nodes > 1, width, 0)
    base, extra = np.divmod(gpus, nodes)
    rest = np.clip(gpus - (nodes - 1) * node_gpus, 0, node_gpus)
    first = np.where(even, np.minimum(base + 1, node_gpus), node_gpus)
    first_count = np.where(even, extra, nodes - 1)
    second = np.where(even, np.minimum(base, node_gpus), rest)
    second_count = np.where(even, nodes - extra, 1)
    np.add.at(hist, (rows, kind + first), first_count)
    np.add.at(hist, (rows, kind + second), second_count)
    hist[:, [0, width]] = 0
    return hist


def row_histogram(rows: np.ndarray, node_gpus: int) -> np.ndarray:
    """(R, types) counts of part types of placements given as (R, nodes) rows."""
    width = node_gpus + 1
    hist = np.zeros((len(rows), 2 * width))
    owner, node = np.nonzero(rows)
    multi = np.count_nonzero(rows, axis=1) > 1
    kind = np.where(multi[owner], width, 0)
    np.add.at(hist, (owner, kind + np.minimum(rows[owner, node], node_gpus)), 1)
    return hist


def even_parts(gpus: int, nodes: int) -> list[int]:
    """Near-equal parts of ``gpus`` over ``nodes`` nodes, largest first."""
    base, extra = divmod(gpus, nodes)
    return [base + 1] * extra + [base] * (nodes - extra)
