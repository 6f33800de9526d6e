"""Plain JSON views of jobs, nodes and the cluster, as the API and the CLI show them."""

from __future__ import annotations

from typing import Any

from adaptsched.control import JobRecord, JobState
from adaptsched.models import efficiency, throughput
from adaptsched.policy.base import NodeInfo


def job_json(record: JobRecord, now_s: float) -> dict[str, Any]:
    """One job as the API returns it."""
    spec = record.spec
    placement = record.placement or record.held
    out: dict[str, Any] = {
        "id": record.job_id,
        "name": spec.label,
        "state": record.state.value,
        "reason": record.reason or _default_reason(record),
        "metric": spec.metric.name,
        "command": list(spec.command),
        "replicas": len(placement),
        "nodes": sorted(set(placement)),
        "placement": list(record.placement),
        "held": list(record.held),
        "generation": record.generation,
        "restarts": record.restarts,
        "failures": record.failures,
        "interruptions": record.interruptions,
        "max_failures": spec.max_failures,
        "min_replicas": spec.min_replicas,
        "max_replicas": spec.max_replicas,
        "preemptible": spec.preemptible,
        "attained_gpu_s": round(record.attained_gpu_s, 3),
        "submitted_s": spec.submit_time_s,
        "started_s": record.started_s,
        "finished_s": record.finished_s,
        "age_s": round((record.finished_s or now_s) - spec.submit_time_s, 3),
        "hints_age_s": None
        if record.hints_time_s is None
        else round(now_s - record.hints_time_s, 3),
    }
    out.update(progress_json(record))
    return out


def progress_json(record: JobRecord) -> dict[str, Any]:
    """Batch configuration, progress and the model's figures at the current configuration."""
    hints = record.hints
    if hints is None:
        return {"batch": None, "progress": None, "epoch": None}
    batch = {
        "local_bsz": hints.local_bsz,
        "accum_steps": hints.accum_steps,
        "total": hints.replicas * hints.local_bsz * (hints.accum_steps + 1),
    }
    share = None
    if hints.target_progress:
        share = min(hints.progress / hints.target_progress, 1.0)
    out: dict[str, Any] = {"batch": batch, "progress": share, "epoch": hints.epoch}
    if hints.local_bsz > 0 and hints.replicas > 0 and hints.nodes > 0:
        model = hints.model()
        total = batch["total"]
        thr = throughput(
            model.params, hints.nodes, hints.replicas, hints.local_bsz, hints.accum_steps
        )
        eff = efficiency(model.grad, hints.init_batch, total)
        out["model"] = {
            "fitted": hints.throughput_params is not None and hints.grad_sqr is not None,
            "throughput": float(thr),
            "efficiency": float(eff),
            "goodput": float(thr * eff),
        }
    return out


def _default_reason(record: JobRecord) -> str:
    if record.state is JobState.PENDING:
        return "waiting for GPUs"
    if record.state is JobState.STARTING and not record.held:
        return "waiting for its GPUs to be released"
    return ""


def node_json(
    node: NodeInfo, used: int, lifetime: dict[str, Any] | None, now_s: float
) -> dict[str, Any]:
    joined = lifetime["joined_s"] if lifetime else None
    return {
        "id": node.node_id,
        "slots": node.gpus,
        "used": used,
        "ready": node.ready,
        "joined_s": joined,
        "node_seconds": round(now_s - joined, 3) if joined is not None else None,
    }
