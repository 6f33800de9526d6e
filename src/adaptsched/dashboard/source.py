"""What the dashboard's pages read, whichever run they show: a running controller or a
simulation's output. Every method returns plain JSON values; an unknown job raises
``UnknownJobError``."""

from __future__ import annotations

from typing import Any, Protocol


class UnknownJobError(KeyError):
    """No job of that id: HTTP 404."""


class DashboardSource(Protocol):
    def info(self) -> dict[str, Any]:
        """What the run is: ``source`` (runtime or simulation), ``title``, ``live`` (the pages
        poll), ``read_only`` (no submit, no cancel), ``clock`` (wall: epoch seconds; virtual:
        seconds from the start), ``metrics`` (names a submission may use), ``now_s``."""
        ...

    def jobs(self) -> list[dict[str, Any]]:
        """Every job as ``GET /jobs`` shows it."""
        ...

    def job(self, job_id: str) -> dict[str, Any]:
        """One job with its ``events``."""
        ...

    def job_history(self, job_id: str) -> dict[str, Any]:
        """``samples`` over time (batch, throughput, efficiency, goodput, progress),
        ``speedup`` (the predicted curve), ``generations`` (with causes), ``events``."""
        ...

    def timeline(self) -> dict[str, Any]:
        """``shapes.timeline``: lanes (node, slot) and bars (job, generation, start, end)."""
        ...

    def cluster(self) -> dict[str, Any]:
        """Totals now, as ``GET /cluster`` shows them."""
        ...

    def cluster_history(self, since_s: float | None = None) -> dict[str, Any]:
        """``rounds`` (time, nodes, desired nodes, utility, GPUs in use, policy time),
        ``node_counts`` (steps), ``band`` (utility band), ``nodes`` (lifetimes, node-hours)."""
        ...
