"""Plain JSON views of jobs, nodes and the cluster, as the API and the CLI show them."""

from __future__ import annotations

from typing import Any

from adaptsched.control import JobRecord, JobState
from adaptsched.models import efficiency, throughput


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
        "replicas": hints.replicas,
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
    lifetime: dict[str, Any],
    used: int,
    alive: bool,
    ray_times: tuple[float, float | None] | None,
    now_s: float,
) -> dict[str, Any]:
    """One node's life as recorded by the controller (joined when Ray reported it alive, left
    when it no longer did), next to Ray's own record of it."""
    end = lifetime["left_s"] if lifetime["left_s"] is not None else now_s
    seconds = max(end - lifetime["joined_s"], 0.0)
    return {
        "id": lifetime["node_id"],
        "ray_id": lifetime["ray_id"],
        "slots": lifetime["gpus"],
        "used": used,
        "alive": alive,
        "joined_s": lifetime["joined_s"],
        "left_s": lifetime["left_s"],
        "node_seconds": round(seconds, 3),
        "node_hours": round(seconds / 3600.0, 6),
        "ray_start_s": ray_times[0] if ray_times else None,
        "ray_end_s": ray_times[1] if ray_times else None,
    }
