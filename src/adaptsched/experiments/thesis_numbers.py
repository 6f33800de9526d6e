"""The seed thesis's measured numbers (ITB 2021, chapter V, tables V.6.1-V.6.7), for printing
next to ours. One run per arm on Amazon EKS (g4dn.xlarge, 1 T4 per node, 1 to 2 nodes).

The thesis's arms map onto ours: AdaptDL unmodified -> ``pollux``; AdaptDL with the metric
options, ``default`` -> ``goodput``; its ``speed`` (throughput only) -> ``speed-thesis``; its
``cost`` (band 0.35-0.80) -> ``cost-thesis``. It had no ``balanced`` arm.

Its percent convention: change = (default - variant) / default x 100, so a negative change
means the variant was slower (or used more node time).
"""

from __future__ import annotations

#: Completion time per job, seconds.
THESIS_JCT_S: dict[str, dict[str, float]] = {
    "pollux": {"job1": 368.481, "job2": 124.483, "job3": 743.627, "job4": 646.017, "job5": 312.535},
    "goodput": {"job1": 168.471, "job2": 268.42, "job3": 472.3, "job4": 761.12, "job5": 457.68},
    "speed-thesis": {
        "job1": 226.115,
        "job2": 106.022,
        "job3": 472.3,
        "job4": 1168.12,
        "job5": 575.98,
    },
    "cost-thesis": {"job1": 284.303, "job2": 908.11, "job3": 451.8, "job4": 184.57, "job5": 2694.9},
}

#: Test accuracy per job, percent.
THESIS_ACCURACY_PCT: dict[str, dict[str, float]] = {
    "pollux": {"job1": 99.15, "job2": 99.21, "job3": 99.2, "job4": 99.17, "job5": 99.18},
    "goodput": {"job1": 99.16, "job2": 99.2, "job3": 99.17, "job4": 99.16, "job5": 99.19},
    "speed-thesis": {"job1": 99.17, "job2": 99.1, "job3": 99.11, "job4": 99.11, "job5": 99.18},
    "cost-thesis": {"job1": 99.13, "job2": 99.17, "job3": 99.12, "job4": 99.13, "job5": 99.21},
}

#: Node lifetimes, minutes (measured only for its default and cost arms).
THESIS_NODE_LIFETIME_MIN: dict[str, dict[str, float]] = {
    "pollux": {"node1": 75.0, "node2": 70.0},
    "cost-thesis": {"node1": 91.0, "node2": 82.0},
}

#: The changes the thesis reported, in its convention (negative = variant worse).
THESIS_REPORTED_CHANGE_PCT: dict[str, float] = {
    "framework_jct": 3.06,
    "speed_jct": -16.099,
    "cost_jct": -106.077,
    "cost_mean_node_lifetime": -19.31,
}


def thesis_change_pct(default: float, variant: float) -> float:
    """The thesis's percent change: (default - variant) / default x 100."""
    return (default - variant) / default * 100.0
