"""What the dashboard's pages draw, computed from plain rows (generations, node lifetimes,
hints, events) that both a runtime's state store and a simulation's output hold, so that a
real run and a simulated one look alike. Pure functions over dicts; numpy through the models.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from adaptsched.models import JobModel, Metric, ModelInputError, efficiency, throughput
from adaptsched.models.hints import Hints

#: Most points a time series is thinned to (the browser draws every one).
MAX_POINTS = 1500
#: Widest allocation a speedup curve is drawn for.
MAX_CURVE_REPLICAS = 64


def thin(rows: Sequence[Any], max_points: int = MAX_POINTS) -> list[Any]:
    """Every k-th row, so that at most ``max_points`` remain; the last row is always kept."""
    if len(rows) <= max_points:
        return list(rows)
    step = math.ceil(len(rows) / max_points)
    out = list(rows[::step])
    if out[-1] is not rows[-1]:
        out.append(rows[-1])
    return out


def natural_key(name: str) -> tuple[Any, ...]:
    """Names with numbers sort by them: n2 before n10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


# -- a job's figures ---------------------------------------------------------------------
def config_figures(
    model: JobModel, nodes: int, replicas: int, local_bsz: int, accum_steps: int
) -> dict[str, float] | None:
    """Throughput, efficiency and goodput the model predicts at one configuration (None when
    the configuration is empty)."""
    if min(nodes, replicas, local_bsz) <= 0:
        return None
    total = replicas * local_bsz * (accum_steps + 1)
    thr = float(throughput(model.params, nodes, replicas, local_bsz, accum_steps))
    eff = float(efficiency(model.grad, model.limits.init_batch, total))
    return {"throughput": thr, "efficiency": eff, "goodput": thr * eff}


def hint_sample(time_s: float, generation: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """One point of a runtime job's history from one hints record (None if unreadable)."""
    try:
        hints = Hints.from_json(data)
        figures = config_figures(
            hints.model(), hints.nodes, hints.replicas, hints.local_bsz, hints.accum_steps
        )
    except ModelInputError:
        return None
    target = hints.target_progress
    return {
        "time_s": time_s,
        "generation": generation,
        "replicas": hints.replicas,
        "nodes": hints.nodes,
        "local_bsz": hints.local_bsz,
        "accum_steps": hints.accum_steps,
        "total_batch": hints.replicas * hints.local_bsz * (hints.accum_steps + 1),
        "progress": min(hints.progress / target, 1.0) if target else None,
        "progress_m0": hints.progress,
        "init_batch": hints.init_batch,
        "fitted": hints.throughput_params is not None,
        **(figures or {}),
    }


def measured_goodput(samples: list[dict[str, Any]]) -> None:
    """Adds ``measured_goodput`` to each sample: the progress made since the previous sample of
    the same generation, in samples at M0 per second (progress counts iterations at M0 scaled
    by efficiency, so its rate is the goodput the job achieved)."""
    for before, after in itertools.pairwise(samples):
        span = after["time_s"] - before["time_s"]
        same = before["generation"] == after["generation"]
        if same and span > 0 and after.get("progress_m0") is not None:
            gain = after["progress_m0"] - before["progress_m0"]
            after["measured_goodput"] = max(gain, 0.0) * after["init_batch"] / span


def speedup_curve(
    model: JobModel, metric: Metric, gpus_per_node: int, max_replicas: int
) -> dict[str, Any]:
    """The model's predicted speedup (best configuration per allocation over one replica) for
    1..max_replicas replicas packed on the fewest nodes, with the batch it would pick."""
    top = max(1, min(max_replicas, MAX_CURVE_REPLICAS))
    replicas = list(range(1, top + 1))
    nodes = [math.ceil(k / max(gpus_per_node, 1)) for k in replicas]
    try:
        speedups = model.speedup(nodes, replicas, metric)
        choice = model.best_config(nodes, replicas, metric)
    except ModelInputError as exc:
        return {"replicas": [], "speedup": [], "error": str(exc)}
    return {
        "replicas": replicas,
        "nodes": nodes,
        "speedup": [round(float(s), 4) for s in speedups],
        "total_batch": [int(b) for b in choice.total_batch],
        "goodput": [float(g) for g in choice.goodput],
    }


# -- restarts ----------------------------------------------------------------------------
def restart_causes(
    generations: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each generation of one job with why it started: first start, a resize, a move, a retry
    after a crash, a restart after an interruption (from the exit before it and the job's
    state changes in between)."""
    out = []
    previous: dict[str, Any] | None = None
    for gen in sorted(generations, key=lambda g: g["generation"]):
        row = dict(gen)
        row["cause"] = "first start" if previous is None else _cause(previous, gen, events)
        row["outcome"] = _outcome(gen)
        out.append(row)
        previous = gen
    return out


def _outcome(gen: dict[str, Any]) -> str:
    code = gen.get("exit_code")
    if gen.get("exited_s") is None:
        return "running"
    if code == 0:
        return "finished"
    if code == 75:
        return "stopped at a checkpoint"
    return f"exit {code}" + (f": {gen['reason']}" if gen.get("reason") else "")


def _cause(before: dict[str, Any], gen: dict[str, Any], events: Sequence[dict[str, Any]]) -> str:
    code = before.get("exit_code")
    if code not in (0, 75, None):
        return f"retry after a crash ({before.get('reason') or f'exit {code}'})"
    start, end = before["launched_s"], gen["launched_s"]
    kinds = [e for e in events if start <= e["time_s"] <= end and e.get("new")]
    retry = [e for e in kinds if e["kind"] == "retry"]
    if retry:
        return retry[-1].get("detail") or "restarted"
    old, new = len(before["placement"]), len(gen["placement"])
    if any(e["kind"] == "reallocate" for e in kinds):
        if old != new:
            return f"resized {old} -> {new} replicas"
        return f"moved to other GPUs ({old} replicas)"
    if any(e["kind"] == "deallocate" for e in kinds):
        return "preempted, placed again"
    return "restarted"


# -- the cluster -------------------------------------------------------------------------
def timeline(
    generations: Iterable[dict[str, Any]], nodes: Sequence[dict[str, Any]], now_s: float
) -> dict[str, Any]:
    """The allocation timeline: one lane per GPU slot of each node, a bar per generation and
    slot it held. Slots are lanes (the i-th GPU of a node the job's processes held), assigned
    first-free, a job keeping its lanes across generations where it can."""
    slots = {n["id"]: int(n["slots"]) for n in nodes}
    order = sorted(dict.fromkeys(n["id"] for n in nodes), key=natural_key)
    free_at: dict[str, list[float]] = {node: [] for node in order}
    held: dict[tuple[str, str], list[int]] = {}  # (job, node) -> lanes of its last generation
    bars = []
    for gen in sorted(generations, key=lambda g: (g["launched_s"], g["job_id"], g["generation"])):
        start = gen["launched_s"]
        end = gen["exited_s"] if gen["exited_s"] is not None else now_s
        for node, count in Counter(gen["placement"]).items():
            if node not in free_at:
                order.append(node)
                free_at[node] = []
            lanes = _take(free_at[node], count, start, end, held.get((gen["job_id"], node), []))
            held[(gen["job_id"], node)] = lanes
            for lane in lanes:
                bars.append(
                    {
                        "node": node,
                        "slot": lane,
                        "job_id": gen["job_id"],
                        "generation": gen["generation"],
                        "start_s": start,
                        "end_s": end,
                        "running": gen["exited_s"] is None,
                        "exit_code": gen.get("exit_code"),
                    }
                )
    lanes = [
        {"node": node, "slot": i}
        for node in order
        for i in range(max(slots.get(node, 0), len(free_at[node])))
    ]
    index = {(lane["node"], lane["slot"]): i for i, lane in enumerate(lanes)}
    for bar in bars:
        bar["lane"] = index[(bar["node"], bar["slot"])]
    return {"now_s": now_s, "lanes": lanes, "bars": bars}


def _take(lanes: list[float], count: int, start: float, end: float, prefer: list[int]) -> list[int]:
    """``count`` lanes free at ``start`` (the preferred ones first; new lanes if none are
    free), marked busy until ``end``."""
    chosen = [i for i in prefer if i < len(lanes) and lanes[i] <= start][:count]
    for i, busy_until in enumerate(lanes):
        if len(chosen) == count:
            break
        if busy_until <= start and i not in chosen:
            chosen.append(i)
    while len(chosen) < count:
        lanes.append(start)
        chosen.append(len(lanes) - 1)
    for i in chosen:
        lanes[i] = end
    return sorted(chosen)


def node_counts(nodes: Sequence[dict[str, Any]], end_s: float) -> list[list[float]]:
    """Nodes alive over time as steps ``[time, count]``, from lifetimes (joined, left)."""
    changes: Counter[float] = Counter()
    for node in nodes:
        changes[node["joined_s"]] += 1
        if node["left_s"] is not None:
            changes[node["left_s"]] -= 1
    out, count = [], 0
    for time_s in sorted(changes):
        count += changes[time_s]
        out.append([time_s, count])
    if out and out[-1][0] < end_s:
        out.append([end_s, count])
    return out
