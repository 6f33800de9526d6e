"""``GET /metrics``: the controller's state in Prometheus's text format (prometheus_client).

Gauges and counters are read from the service when Prometheus scrapes (a collector), so they
are never stale and cost nothing between scrapes; the policy's round latency is a histogram
fed by a round hook. Each app has its own registry (several controllers in one process, as in
tests, never share series). Per-job series exist for live jobs only (pending to stopping), so
their number stays bounded however many jobs have finished; totals cover every job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adaptsched.control import ControlHooks, JobState, RoundRecord
from adaptsched.control.lifecycle import is_active

#: Histogram buckets of the policy's time per round, seconds (Pollux: tens of ms to seconds).
ROUND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class StateSource(Protocol):
    """What the collector reads (``RuntimeService``)."""

    def jobs(self) -> list[dict[str, Any]]: ...

    def cluster(self) -> dict[str, Any]: ...


class _StateCollector(Collector):
    def __init__(self, source: StateSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        jobs = self.source.jobs()
        cluster = self.source.cluster()
        yield from _job_totals(jobs)
        yield from _live_jobs([j for j in jobs if is_active(JobState(j["state"]))])
        yield from _cluster(cluster)


def _job_totals(jobs: list[dict[str, Any]]) -> Iterator[Metric]:
    states = GaugeMetricFamily("adaptsched_jobs", "Jobs by state.", labels=["state"])
    for state in JobState:
        states.add_metric([state.value], sum(j["state"] == state.value for j in jobs))
    yield states
    restarts = CounterMetricFamily(
        "adaptsched_restarts", "Restarts of every job, finished or not (starts after the first)."
    )
    restarts.add_metric([], sum(j["restarts"] for j in jobs))
    yield restarts


#: Per-job series: key, kind, name, help.
_JOB_SERIES = (
    ("gpus", "gauge", "adaptsched_job_gpus", "GPUs allocated to a live job."),
    ("restarts", "counter", "adaptsched_job_restarts", "Restarts of a live job (resize, retry)."),
    ("failures", "counter", "adaptsched_job_failures", "Crashes of a live job (failure budget)."),
    ("goodput", "gauge", "adaptsched_job_goodput", "Goodput at its configuration, samples/s."),
    ("throughput", "gauge", "adaptsched_job_throughput", "Throughput there, samples/s."),
    ("efficiency", "gauge", "adaptsched_job_efficiency", "Statistical efficiency there, (0, 1]."),
    ("progress", "gauge", "adaptsched_job_progress_ratio", "Share of its work target done."),
    ("hint_age", "gauge", "adaptsched_job_hint_age_seconds", "Seconds since its last hints."),
)


def _live_jobs(jobs: list[dict[str, Any]]) -> Iterator[Metric]:
    families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
    for key, kind, name, text in _JOB_SERIES:
        family = GaugeMetricFamily if kind == "gauge" else CounterMetricFamily
        families[key] = family(name, text, labels=["job", "metric"])
    for job in jobs:
        model = job.get("model") or {}
        values = {
            "gpus": job["replicas"],
            "restarts": job["restarts"],
            "failures": job["failures"],
            "goodput": model.get("goodput"),
            "throughput": model.get("throughput"),
            "efficiency": model.get("efficiency"),
            "progress": job.get("progress"),
            "hint_age": job.get("hints_age_s"),
        }
        for key, value in values.items():
            if value is not None:
                families[key].add_metric([job["id"], job["metric"]], value)
    yield from families.values()


def _gauge(name: str, text: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        family = GaugeMetricFamily(name, text)
        family.add_metric([], value)
        yield family


def _cluster(cluster: dict[str, Any]) -> Iterator[Metric]:
    last = cluster.get("last_round") or {}
    scaling = cluster.get("autoscale") or {}
    yield from _gauge("adaptsched_nodes", "Nodes alive.", cluster["nodes"])
    yield from _gauge("adaptsched_slots", "GPU slots on the nodes alive.", cluster["slots"])
    yield from _gauge("adaptsched_slots_in_use", "Slots held by jobs.", cluster["slots_in_use"])
    utility = last.get("utility")
    yield from _gauge("adaptsched_cluster_utility", "Utility of the last decision.", utility)
    desired = scaling.get("desired_nodes", last.get("desired_nodes"))
    yield from _gauge("adaptsched_desired_nodes", "Nodes the policy wants (autoscaling).", desired)
    node_s = CounterMetricFamily(
        "adaptsched_node_seconds", "Node-seconds of every node since it joined (billed time)."
    )
    node_s.add_metric([], cluster["node_seconds"])
    yield node_s
    rounds = CounterMetricFamily("adaptsched_rounds", "Scheduling rounds run by this controller.")
    rounds.add_metric([], cluster["rounds"])
    yield rounds


class RoundLatency(ControlHooks):
    """Feeds the histogram with the policy's time of every round that asked it."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram

    def on_round(self, record: RoundRecord) -> None:
        if record.policy_s is not None:
            self.histogram.observe(record.policy_s)


class RuntimeMetrics:
    """A registry of one controller's metrics and the hook that times its rounds."""

    def __init__(self, source: StateSource) -> None:
        self.registry = CollectorRegistry()
        histogram = Histogram(
            "adaptsched_policy_round_seconds",
            "Seconds the policy took to decide one round.",
            buckets=ROUND_BUCKETS,
            registry=self.registry,
        )
        self.hook = RoundLatency(histogram)
        self.registry.register(_StateCollector(source))

    def exposition(self) -> tuple[bytes, str]:
        """The text Prometheus scrapes, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
