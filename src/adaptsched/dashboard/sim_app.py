"""``adaptsched dashboard DIR``: the dashboard over a simulation's output folder. Each run
(``NAME-history.json``) gets the dashboard at ``/runs/NAME/``, served read-only from the file;
``/`` lists the runs with their headline figures (or opens the only one)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adaptsched import __version__
from adaptsched.api.auth import AccessGuard
from adaptsched.dashboard.routes import add_dashboard
from adaptsched.dashboard.sim_source import SUFFIX, SimSource


def load_runs(folder: Path) -> dict[str, SimSource]:
    """Every run in ``folder``, by name; ValueError if there is none."""
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder")
    runs = {s.name: s for s in (SimSource(p) for p in sorted(folder.glob(f"*{SUFFIX}")))}
    if not runs:
        raise ValueError(
            f"{folder}: no simulation history (*{SUFFIX}); write one with "
            "`adaptsched sim WORKLOAD --out DIR`"
        )
    return runs


def create_sim_app(
    runs: dict[str, SimSource], token: str = "", token_required: bool = False
) -> FastAPI:
    """The read-only dashboard app over ``runs``; ``token_required`` as for the controller."""
    app = FastAPI(title="adaptsched dashboard (simulation)", version=__version__)
    app.add_middleware(AccessGuard, token=token, required=token_required)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": __version__, "runs": sorted(runs)}

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        if len(runs) == 1:
            return RedirectResponse(f"runs/{quote(next(iter(runs)))}/", status_code=307)
        return HTMLResponse(_run_list(runs))

    for name, source in runs.items():
        sub = FastAPI(title=f"run {name}", version=__version__)
        add_dashboard(sub, source, state_routes=True)
        app.mount(f"/runs/{name}", sub)
    return app


def _run_list(runs: dict[str, SimSource]) -> str:
    rows = []
    for name, source in runs.items():
        data, summary = source.data, source.data["summary"]
        cells = [
            f'<a href="runs/{quote(name)}/">{html.escape(name)}</a>',
            html.escape(data["policy"]),
            html.escape(data["metric"]),
            str(summary["jobs"]),
            f"{summary['mean_jct_s']:.0f}",
            f"{summary['makespan_s'] / 3600:.2f}",
            f"{summary['node_hours']:.1f}",
            f"{summary['restarts_per_job']:.2f}",
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = ["run", "policy", "metric", "jobs", "mean JCT (s)", "makespan (h)", "node-hours"]
    head.append("restarts/job")
    style = f"runs/{quote(next(iter(runs)))}/static/style.css"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>adaptsched: simulated runs</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="{style}">
</head><body><header><h1>adaptsched</h1><span>simulated runs</span></header><main>
<table class="grid"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table></main></body></html>"""
