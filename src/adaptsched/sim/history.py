"""A simulated run's history, written next to its summary (``sim --out``) so that the dashboard
(``adaptsched dashboard DIR``) draws it as it draws a real run: the same rows a runtime keeps in
its state store (state changes, generation launches and exits, rounds, node lifetimes) and, per
round, each running job's configuration and the model the policy saw.

A hook on the controller; it only reads the simulated jobs, never changes them, so a run
recorded and one not recorded are the same run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptsched.control import ControlHooks, GenerationEvent, RoundRecord, Transition
from adaptsched.models import JobModel, efficiency, throughput
from adaptsched.sim.job import SimJob
from adaptsched.sim.results import JobResult, SimResult
from adaptsched.sim.runner import SimConfig

#: Format of the history file (bumped when its shape changes).
HISTORY_VERSION = 1


def _round(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


class RunHistory(ControlHooks):
    """Collects the rows; ``to_json`` adds the run's outcome once it is over."""

    def __init__(self, jobs: Sequence[SimJob], gpus_per_node: int) -> None:
        self.jobs = {job.name: job for job in jobs}
        self.gpus_per_node = gpus_per_node
        self.events: list[dict[str, Any]] = []
        self.generations: dict[tuple[str, int], dict[str, Any]] = {}
        self.rounds: list[dict[str, Any]] = []
        self.samples: dict[str, list[dict[str, Any]]] = {name: [] for name in self.jobs}
        self.models: dict[str, dict[str, Any]] = {}
        self.state: dict[str, tuple[str, str]] = {name: ("pending", "") for name in self.jobs}

    def on_transition(self, change: Transition) -> None:
        self.events.append(
            {
                "time_s": change.time_s,
                "job_id": change.job_id,
                "kind": change.event.value,
                "old": change.old.value,
                "new": change.new.value,
                "detail": change.reason,
            }
        )
        self.state[change.job_id] = (change.new.value, change.reason)

    def on_generation(self, event: GenerationEvent) -> None:
        key = (event.job_id, event.generation)
        if event.kind == "launch":
            self.generations[key] = {
                "job_id": event.job_id,
                "generation": event.generation,
                "placement": list(event.placement),
                "launched_s": event.time_s,
                "exited_s": None,
                "exit_code": None,
                "reason": None,
            }
        elif key in self.generations:
            row = self.generations[key]
            row["exited_s"], row["exit_code"] = event.time_s, event.exit_code
            row["reason"] = event.reason or None

    def on_round(self, record: RoundRecord) -> None:
        snapshot, decision = record.snapshot, record.decision
        utility = decision.info.get("utility") if decision is not None else None
        self.rounds.append(
            {
                "time_s": record.time_s,
                "policy_s": record.policy_s,
                "active_jobs": record.active_jobs,
                "gpus_in_use": record.gpus_in_use,
                "total_gpus": record.total_gpus,
                "desired_nodes": record.desired_nodes,
                "utility": None if utility is None else _round(float(utility)),
                "nodes": len(snapshot.nodes) if snapshot is not None else None,
            }
        )
        beliefs = {j.job_id: j.model for j in snapshot.jobs} if snapshot is not None else {}
        for name, model in beliefs.items():
            if model is not None:
                self.models[name] = model.to_json()
            job = self.jobs.get(name)
            if job is not None and job.counts and job.local_bsz > 0:
                self.samples[name].append(self._sample(job, model, record.time_s))

    def _sample(self, job: SimJob, model: JobModel | None, time_s: float) -> dict[str, Any]:
        nodes, replicas = len(job.counts), job.replicas
        out: dict[str, Any] = {
            "time_s": time_s,
            "generation": job.generation,
            "replicas": replicas,
            "nodes": nodes,
            "local_bsz": job.local_bsz,
            "accum_steps": job.accum_steps,
            "total_batch": job.total_batch,
            "progress": _round(1.0 - job.remaining_fraction()),
            "progress_m0": _round(job.progress, 9),
            "init_batch": job.limits.init_batch,
            "epoch": job.epoch,
            "fitted": bool(job.observed),
        }
        if model is not None:
            thr = float(throughput(model.params, nodes, replicas, job.local_bsz, job.accum_steps))
            eff = float(efficiency(model.grad, model.limits.init_batch, job.total_batch))
            out.update(throughput=_round(thr), efficiency=_round(eff), goodput=_round(thr * eff))
        return out

    def to_json(self, result: SimResult, workload: str, config: SimConfig) -> dict[str, Any]:
        """The whole history, with the run's outcome."""
        scaling = config.autoscale
        return {
            "version": HISTORY_VERSION,
            "workload": workload,
            "policy": result.policy,
            "metric": config.metric.name,
            "interval_s": config.interval_s,
            "gpus_per_node": self.gpus_per_node,
            "autoscale": None
            if scaling is None
            else {"min_nodes": scaling.min_nodes, "max_nodes": scaling.max_nodes},
            "band": list(config.metric.utility_band),
            "summary": result.summary(),
            "jobs": [self._job(r.name, r) for r in result.jobs],
            "events": self.events,
            "generations": list(self.generations.values()),
            "rounds": self.rounds,
            "samples": self.samples,
            "models": self.models,
            "nodes": [
                {"id": node, "slots": self.gpus_per_node, "joined_s": start, "left_s": end}
                for node, start, end in result.node_lifetimes
            ],
        }

    def _job(self, name: str, result: JobResult) -> dict[str, Any]:
        job = self.jobs[name]
        state, reason = self.state[name]
        return {
            "id": name,
            "application": result.application,
            "state": state,
            "reason": reason,
            "metric": job.metric.name,
            "restarts": result.restarts,
            "submitted_s": result.submit_time_s,
            "finished_s": result.completion_time_s,
            "jct_s": result.jct_s,
            "gpu_hours": result.gpu_hours,
            "mean_batch": result.mean_batch,
            "max_replicas": job.app.max_replicas,
        }
