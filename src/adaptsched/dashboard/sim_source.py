"""The dashboard's data from a simulation's output: the ``NAME-history.json`` that
``adaptsched sim ... --out DIR`` writes (``adaptsched.sim.history``), shaped as a controller's
API shapes a real run. Read once; nothing changes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adaptsched.dashboard import shapes
from adaptsched.dashboard.source import UnknownJobError
from adaptsched.models import JobModel, ModelInputError, get_metric
from adaptsched.sim.history import HISTORY_VERSION

SUFFIX = "-history.json"


class SimSource:
    """One simulated run (one workload of an output folder)."""

    def __init__(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a simulation history ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != HISTORY_VERSION:
            raise ValueError(f"{path}: not a simulation history of version {HISTORY_VERSION}")
        self.name = path.name[: -len(SUFFIX)]
        self.data = data
        self.end_s = max(
            [r["time_s"] for r in data["rounds"]] + [j["finished_s"] or 0 for j in data["jobs"]],
            default=0.0,
        )
        self._jobs = {job["id"]: self._job_json(job) for job in data["jobs"]}

    def info(self) -> dict[str, Any]:
        data = self.data
        return {
            "source": "simulation",
            "title": f"simulation {self.name} ({data['policy']}, metric {data['metric']})",
            "live": False,
            "read_only": True,
            "clock": "virtual",
            "metrics": [],
            "now_s": self.end_s,
            "summary": data["summary"],
        }

    def _generations(self, job_id: str | None = None) -> list[dict[str, Any]]:
        rows = self.data["generations"]
        return [g for g in rows if job_id is None or g["job_id"] == job_id]

    def _job_json(self, job: dict[str, Any]) -> dict[str, Any]:
        """A job as a controller's ``GET /jobs`` shows one, at the end of the run; its batch,
        figures and replicas are those of its last round with processes."""
        samples = self.data["samples"].get(job["id"]) or [{}]
        last = samples[-1]
        gens = self._generations(job["id"])
        placement = gens[-1]["placement"] if gens else []
        batch = None
        if last.get("local_bsz"):
            batch = {k: last[k] for k in ("local_bsz", "accum_steps")}
            batch["total"] = last["total_batch"]
            per_replica = last["local_bsz"] * (last["accum_steps"] + 1)
            batch["replicas"] = round(last["total_batch"] / per_replica)
        model = None
        if "goodput" in last:
            model = {k: last[k] for k in ("throughput", "efficiency", "goodput", "fitted")}
        return {
            **job,
            "name": f"{job['id']} ({job['application']})",
            "replicas": len(placement),
            "nodes": sorted(set(placement)),
            "generation": len(gens),
            "failures": 0,
            "batch": batch,
            "model": model,
            "progress": 1.0 if job["state"] == "succeeded" else last.get("progress"),
            "epoch": last.get("epoch"),
            "started_s": gens[0]["launched_s"] if gens else None,
            "age_s": job["jct_s"],
        }

    def jobs(self) -> list[dict[str, Any]]:
        return list(self._jobs.values())

    def _events(self, job_id: str) -> list[dict[str, Any]]:
        return [e for e in self.data["events"] if e["job_id"] == job_id]

    def job(self, job_id: str) -> dict[str, Any]:
        if job_id not in self._jobs:
            raise UnknownJobError(job_id)
        return {**self._jobs[job_id], "events": self._events(job_id)}

    def job_history(self, job_id: str) -> dict[str, Any]:
        job = self.job(job_id)
        samples = [dict(s) for s in self.data["samples"].get(job_id, [])]
        shapes.measured_goodput(samples)
        curve = None
        model = self.data["models"].get(job_id)
        if model is not None:
            try:
                belief = JobModel.from_json(model)
                metric = get_metric(job["metric"])
            except (ModelInputError, KeyError, TypeError) as exc:
                curve = {"replicas": [], "speedup": [], "error": str(exc)}
            else:
                total = max((r["total_gpus"] for r in self.data["rounds"]), default=1)
                top = min(job.get("max_replicas") or total, total)
                per_node = self.data["gpus_per_node"]
                curve = shapes.speedup_curve(belief, metric, per_node, top)
                curve["fitted"] = bool(samples and samples[-1].get("fitted"))
        return {
            "job_id": job_id,
            "samples": shapes.thin(samples),
            "speedup": curve,
            "generations": shapes.restart_causes(self._generations(job_id), job["events"]),
            "events": job["events"],
        }

    def timeline(self) -> dict[str, Any]:
        return shapes.timeline(self.data["generations"], self.data["nodes"], self.end_s)

    def _lifetimes(self) -> list[dict[str, Any]]:
        out = []
        for node in sorted(self.data["nodes"], key=lambda n: shapes.natural_key(n["id"])):
            seconds = (node["left_s"] if node["left_s"] is not None else self.end_s) - node[
                "joined_s"
            ]
            out.append({**node, "node_seconds": seconds, "node_hours": seconds / 3600.0})
        return out

    def cluster(self) -> dict[str, Any]:
        data = self.data
        lifetimes = self._lifetimes()
        counts = shapes.node_counts(data["nodes"], self.end_s)
        return {
            "nodes": max((c for _, c in counts), default=0),  # the most the run had
            "policy": data["policy"],
            "interval_s": data["interval_s"],
            "rounds": len(data["rounds"]),
            "node_seconds": sum(n["node_seconds"] for n in lifetimes),
            "node_hours": data["summary"]["node_hours"],
            "summary": data["summary"],
        }

    def cluster_history(self, since_s: float | None = None) -> dict[str, Any]:
        data = self.data
        rounds = [r for r in data["rounds"] if since_s is None or r["time_s"] >= since_s]
        return {
            "now_s": self.end_s,
            "rounds": shapes.thin(rounds),
            "node_counts": shapes.node_counts(data["nodes"], self.end_s),
            "band": data["band"],
            "autoscale": data["autoscale"] is not None,
            "gpus_per_node": data["gpus_per_node"],
            "nodes": self._lifetimes(),
        }
