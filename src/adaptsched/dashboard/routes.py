"""The dashboard's routes on a FastAPI app: the page at ``/``, its files under ``/static``, and
the read-only JSON the page needs beyond the controller's own API. The page uses relative
addresses only, so the same files work at ``/`` (a controller) and at ``/runs/NAME/`` (one run
of a simulation's output)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from adaptsched.dashboard.source import DashboardSource, UnknownJobError

STATIC = Path(__file__).parent / "static"


def _known(call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except UnknownJobError as exc:
        raise HTTPException(404, f"unknown job {exc.args[0]!r}") from None


def add_dashboard(app: FastAPI, source: DashboardSource, state_routes: bool = False) -> None:
    """The page, its files and the history endpoints; ``state_routes`` also adds ``GET /jobs``,
    ``/jobs/{id}``, ``/cluster`` and ``/nodes`` (a source without a controller's API)."""
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        if not request.url.path.endswith("/"):  # relative addresses need the trailing slash
            return RedirectResponse(request.url.path + "/", status_code=307)
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/dashboard.json")
    def info() -> dict[str, Any]:
        """What the page shows: a controller or a simulation, live or not."""
        return source.info()

    @router.get("/timeline")
    def timeline() -> dict[str, Any]:
        """Which job held which GPU slot of which node, over time."""
        return source.timeline()

    @router.get("/cluster/history")
    def cluster_history(since_s: float | None = Query(None, ge=0)) -> dict[str, Any]:
        """Rounds (nodes, desired nodes, utility, GPUs in use, policy time), node lifetimes."""
        return source.cluster_history(since_s)

    @router.get("/jobs/{job_id}/history")
    def job_history(job_id: str) -> dict[str, Any]:
        """A job's batch, throughput, efficiency and goodput over time, its predicted speedup
        curve, its generations and why each started."""
        return _known(source.job_history, job_id)

    if state_routes:

        @router.get("/jobs")
        def jobs() -> list[dict[str, Any]]:
            return source.jobs()

        @router.get("/jobs/{job_id}")
        def job(job_id: str) -> dict[str, Any]:
            return _known(source.job, job_id)

        @router.get("/cluster")
        def cluster() -> dict[str, Any]:
            return source.cluster()

    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
