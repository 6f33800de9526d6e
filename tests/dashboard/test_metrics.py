"""The Prometheus exposition of a controller's state, from real job records through the same
views the API uses (the end-to-end test scrapes a running controller)."""

from __future__ import annotations

from typing import Any

from hint_samples import hints_json
from prometheus_client.parser import text_string_to_metric_families

from adaptsched.api.metrics import RuntimeMetrics
from adaptsched.cluster.views import job_json
from adaptsched.control import JobSpec, JobState, JobTable, RoundRecord
from adaptsched.models.hints import Hints

HINTS = hints_json(grad_sqr=1.0, grad_var=10.0)


class State:
    """A controller's view: two live jobs and a finished one."""

    def __init__(self) -> None:
        table = JobTable()
        running = table.add(JobSpec("train-1", submit_time_s=0.0))
        running.state, running.placement, running.generation = JobState.RUNNING, ("n0", "n0"), 3
        running.hints, running.hints_time_s = Hints.from_json(HINTS), 95.0
        table.add(JobSpec("wait-2", submit_time_s=50.0))
        done = table.add(JobSpec("done-3", submit_time_s=0.0))
        done.state, done.generation, done.finished_s = JobState.SUCCEEDED, 2, 80.0
        self.table = table

    def jobs(self) -> list[dict[str, Any]]:
        return [job_json(r, 100.0) for r in self.table]

    def cluster(self) -> dict[str, Any]:
        return {
            "nodes": 2,
            "slots": 4,
            "slots_in_use": 2,
            "node_seconds": 360.5,
            "rounds": 7,
            "autoscale": None,
            "last_round": {"utility": 0.42, "desired_nodes": None},
        }


def samples(metrics: RuntimeMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition()[0].decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_exposition_of_jobs_cluster_and_round_latency() -> None:
    metrics = RuntimeMetrics(State())
    for policy_s in (0.004, 0.03, None):
        metrics.hook.on_round(RoundRecord(0, 0.0, 1, 2, 4, policy_s, 0, 3))
    got = samples(metrics)
    train = (("job", "train-1"), ("metric", "goodput"))
    assert got[("adaptsched_jobs", (("state", "running"),))] == 1
    assert got[("adaptsched_jobs", (("state", "pending"),))] == 1
    assert got[("adaptsched_jobs", (("state", "succeeded"),))] == 1
    assert got[("adaptsched_restarts_total", ())] == 2 + 1
    assert got[("adaptsched_job_gpus", train)] == 2
    assert got[("adaptsched_job_restarts_total", train)] == 2
    assert got[("adaptsched_job_hint_age_seconds", train)] == 5.0
    assert got[("adaptsched_job_progress_ratio", train)] == 0.25
    assert 0 < got[("adaptsched_job_efficiency", train)] < 1
    assert got[("adaptsched_job_goodput", train)] > 0
    assert ("adaptsched_job_gpus", (("job", "done-3"), ("metric", "goodput"))) not in got
    assert got[("adaptsched_cluster_utility", ())] == 0.42
    assert got[("adaptsched_node_seconds_total", ())] == 360.5
    assert got[("adaptsched_policy_round_seconds_count", ())] == 2  # rounds without a decision
    assert got[("adaptsched_policy_round_seconds_bucket", (("le", "0.005"),))] == 1
    assert ("adaptsched_desired_nodes", ()) not in got  # not autoscaling


def test_two_apps_never_share_series() -> None:
    first, second = RuntimeMetrics(State()), RuntimeMetrics(State())
    first.hook.on_round(RoundRecord(0, 0.0, 1, 2, 4, 0.01, 0, 3))
    assert samples(second)[("adaptsched_policy_round_seconds_count", ())] == 0
