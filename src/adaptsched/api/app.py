"""Routes of the controller's REST API. FastAPI because it validates request bodies from type
hints and documents itself (``/docs``, ``/openapi.json``); uvicorn serves it.

    POST /jobs            submit          GET /jobs/{id}/logs   a replica's log
    GET  /jobs            list            PUT /jobs/{id}/hints  a job's rank 0 reports
    GET  /jobs/{id}       one, with events GET /nodes           nodes, slots, lifetimes
    DELETE /jobs/{id}     cancel          GET /cluster          totals, last round
    DELETE /nodes/{id}    remove an emulated node (simulates losing it)
    GET  /metrics         Prometheus metrics (``api.metrics``)
    GET  /health          liveness (no token needed)
    GET  /                the dashboard, and its history endpoints (``adaptsched.dashboard``)

Who may call it: ``api.auth`` (loopback, or the token).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from adaptsched import __version__
from adaptsched.api.auth import AccessGuard
from adaptsched.api.metrics import RuntimeMetrics
from adaptsched.cluster.service import NotFoundError, RequestError, RuntimeService
from adaptsched.dashboard.routes import add_dashboard
from adaptsched.dashboard.runtime_source import RuntimeSource

#: Largest piece of a log returned at once.
MAX_LOG_BYTES = 1 << 20


class SubmitRequest(BaseModel):
    command: list[str] = Field(min_length=1, description="script path, then its arguments")
    cwd: str | None = None
    name: str | None = None
    metric: str = "goodput"
    min_replicas: int = Field(0, ge=0)
    max_replicas: int = Field(64, ge=1)
    max_failures: int = Field(3, ge=0)
    preemptible: bool = True


def create_app(service: RuntimeService, token: str = "", token_required: bool = False) -> FastAPI:
    """The API over ``service``; ``token_required`` (a non-loopback bind): every request but
    ``GET /health`` needs ``token``."""
    app = FastAPI(title="adaptsched", version=__version__)
    app.add_middleware(AccessGuard, token=token, required=token_required)
    metrics = RuntimeMetrics(service)
    service.add_hook(metrics.hook)

    def guarded(call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except NotFoundError as exc:
            raise HTTPException(404, str(exc.args[0])) from None
        except RequestError as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__}

    @app.post("/jobs", status_code=201)
    def submit(body: SubmitRequest) -> dict[str, Any]:
        return guarded(service.submit, body.model_dump())

    @app.get("/jobs")
    def jobs() -> list[dict[str, Any]]:
        return service.jobs()

    @app.get("/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        return guarded(service.job, job_id)

    @app.delete("/jobs/{job_id}")
    def cancel(job_id: str) -> dict[str, Any]:
        return guarded(service.cancel, job_id)

    @app.put("/jobs/{job_id}/hints")
    async def hints(
        job_id: str,
        request: Request,
        x_adaptsched_generation: int = Header(0),
    ) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError:
            raise HTTPException(400, "hints: body is not JSON") from None
        return guarded(service.put_hints, job_id, x_adaptsched_generation, data)

    @app.get("/jobs/{job_id}/logs")
    def logs(
        job_id: str,
        rank: int = Query(0, ge=0),
        generation: int | None = Query(None, ge=1),
        offset: int = Query(0, ge=0),
        tail: int | None = Query(None, ge=1, le=MAX_LOG_BYTES, description="last bytes only"),
    ) -> dict[str, Any]:
        gen, path = guarded(service.log_path, job_id, rank, generation)
        text, end = "", offset
        if path.is_file():
            with open(path, "rb") as handle:
                if tail is not None:
                    offset = max(handle.seek(0, 2) - tail, 0)
                handle.seek(offset)
                chunk = handle.read(MAX_LOG_BYTES)
            text, end = chunk.decode(errors="replace"), offset + len(chunk)
        return {"job": job_id, "rank": rank, "generation": gen, "offset": end, "text": text}

    @app.get("/nodes")
    def nodes() -> list[dict[str, Any]]:
        return service.nodes()

    @app.delete("/nodes/{node_id}")
    def remove_node(node_id: str) -> dict[str, Any]:
        return guarded(service.remove_node, node_id)

    @app.get("/cluster")
    def cluster() -> dict[str, Any]:
        return service.cluster()

    @app.get("/metrics")
    def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    add_dashboard(app, RuntimeSource(service))
    return app
