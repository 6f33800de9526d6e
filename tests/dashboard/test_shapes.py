"""What the pages draw, from plain rows: timeline lanes, restart causes, node counts, the
speedup curve."""

from __future__ import annotations

import itertools
from collections import defaultdict

from adaptsched.dashboard import shapes
from adaptsched.models import GOODPUT, BatchLimits, JobModel
from adaptsched.models.hints import PRIOR_GRAD, PRIOR_PARAMS


def gen(job: str, number: int, placement: list[str], start: float, end: float | None, code=None):
    return {
        "job_id": job,
        "generation": number,
        "placement": placement,
        "launched_s": start,
        "exited_s": end,
        "exit_code": code,
        "reason": None,
    }


NODES = [
    {"id": "node-10", "slots": 2, "joined_s": 0.0, "left_s": None},
    {"id": "node-2", "slots": 2, "joined_s": 0.0, "left_s": 50.0},
]


def test_timeline_lanes_never_overlap_and_a_job_keeps_its_lanes() -> None:
    rows = [
        gen("a", 1, ["node-2"], 0, 10, 75),
        gen("b", 1, ["node-2", "node-10"], 5, 30, 0),
        gen("a", 2, ["node-2", "node-2"], 30, None),
        gen("c", 1, ["node-10", "node-10", "node-10"], 31, 40, 1),  # more than the node's slots
    ]
    out = shapes.timeline(rows, NODES, 60.0)
    names = [(lane["node"], lane["slot"]) for lane in out["lanes"]]
    assert names[:2] == [("node-2", 0), ("node-2", 1)]  # natural order: node-2 before node-10
    assert ("node-10", 2) in names  # an extra lane rather than a hidden overlap
    by_lane = defaultdict(list)
    for bar in out["bars"]:
        by_lane[bar["lane"]].append((bar["start_s"], bar["end_s"]))
    for spans in by_lane.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    first = next(b for b in out["bars"] if b["job_id"] == "a" and b["generation"] == 1)
    second = [b for b in out["bars"] if b["job_id"] == "a" and b["generation"] == 2]
    assert first["slot"] in {b["slot"] for b in second}  # kept its lane
    assert all(b["running"] and b["end_s"] == 60.0 for b in second)
    assert len(out["bars"]) == 1 + 2 + 2 + 3


def test_restart_causes_name_resize_crash_and_interruption() -> None:
    gens = [
        gen("a", 1, ["n0"], 0, 10, 75),
        gen("a", 2, ["n0", "n1"], 12, 20, 1),
        gen("a", 3, ["n0", "n1"], 25, 40, 75),
        gen("a", 4, ["n0", "n1"], 45, None),
    ]
    gens[1]["reason"] = "rank 1 exit code 1: boom"
    events = [
        {"time_s": 9, "kind": "reallocate", "old": "running", "new": "resizing", "detail": ""},
        {
            "time_s": 41,
            "kind": "retry",
            "old": "running",
            "new": "pending",
            "detail": "interrupted (lost node)",
        },
    ]
    rows = shapes.restart_causes(gens, events)
    assert [r["cause"] for r in rows] == [
        "first start",
        "resized 1 -> 2 replicas",
        "retry after a crash (rank 1 exit code 1: boom)",
        "interrupted (lost node)",
    ]
    assert [r["outcome"] for r in rows][-1] == "running"
    assert rows[1]["outcome"].startswith("exit 1")


def test_node_counts_step_with_joins_and_leaves() -> None:
    assert shapes.node_counts(NODES, 80.0) == [[0.0, 2], [50.0, 1], [80.0, 1]]


def test_speedup_curve_of_the_prior_is_one_at_one_gpu() -> None:
    model = JobModel(PRIOR_PARAMS, PRIOR_GRAD, BatchLimits(16, 256, 4))
    curve = shapes.speedup_curve(model, GOODPUT, gpus_per_node=2, max_replicas=4)
    assert curve["replicas"] == [1, 2, 3, 4] and curve["nodes"] == [1, 1, 2, 2]
    assert curve["speedup"][0] == 1.0
    assert JobModel.from_json(model.to_json()) == model


def test_thin_keeps_the_last_row() -> None:
    rows = list(range(10))
    assert shapes.thin(rows, 3)[-1] == 9 and len(shapes.thin(rows, 3)) <= 5
    assert shapes.thin(rows, 20) == rows
