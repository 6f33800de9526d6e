"""`adaptsched dashboard DIR` over the real output of `adaptsched sim`: the history file, the
same JSON a controller serves, and the access rules (token off loopback, loopback hosts only
on loopback) on every route, through a real server."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from app_routes import app_routes
from dashboard_helpers import main, mixed_jobs, serve, simulate, write_profile, write_workload

from adaptsched.api.auth import COOKIE, DASHBOARD_HEADER
from adaptsched.dashboard.sim_app import create_sim_app, load_runs

TOKEN = "t" * 43


def test_history_has_what_the_pages_draw(sim_out: Path) -> None:
    data = json.loads((sim_out / "toy-run-history.json").read_text())
    summary = json.loads((sim_out / "toy-run.json").read_text())["summary"]
    assert data["summary"] == summary
    assert {j["id"] for j in data["jobs"]} == {f"job-{i}" for i in range(6)}
    assert all(j["state"] == "succeeded" for j in data["jobs"])
    launches = {(g["job_id"], g["generation"]) for g in data["generations"]}
    assert len(launches) == sum(j["restarts"] + 1 for j in data["jobs"])
    assert all(g["exited_s"] is not None for g in data["generations"])
    assert any(r["desired_nodes"] is not None for r in data["rounds"])  # autoscaled
    samples = [s for rows in data["samples"].values() for s in rows]
    assert samples and all(
        s["total_batch"] == s["replicas"] * s["local_bsz"] * (s["accum_steps"] + 1) for s in samples
    )
    assert set(data["models"]) == {j["id"] for j in data["jobs"]}


def test_recording_does_not_change_the_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The history hook only reads the jobs: the same run with and without --out."""
    flags = ("--policy", "pollux", "--generations", "3", "--seed", "2", "--nodes", "2")
    simulate(tmp_path / "a", *flags)
    recorded = json.loads(capsys.readouterr().out)
    traces = write_profile(tmp_path / "b" / "traces").parent
    workload = write_workload(tmp_path / "b" / "toy-run.csv", mixed_jobs(6))
    argv = ["sim", str(workload), "--traces", str(traces), "--no-progress", "--json"]
    assert main([*argv, "--interval", "30", *flags]) == 0
    plain = json.loads(capsys.readouterr().out)
    for report in (plain, recorded):  # the policy's wall time per round differs run to run
        for summary in report["workloads"].values():
            del summary["policy_p50_ms"], summary["policy_p95_ms"]
    assert plain == recorded


def test_served_json_matches_the_run(sim_out: Path) -> None:
    runs = load_runs(sim_out)
    with serve(create_sim_app(runs)) as url:
        home = httpx.get(f"{url}/", follow_redirects=False)
        assert home.status_code == 307 and home.headers["location"] == "runs/toy-run/"
        base = f"{url}/runs/toy-run"
        assert httpx.get(base).status_code == 307  # the page's relative addresses need the /
        page = httpx.get(f"{base}/")
        assert page.status_code == 200 and 'src="static/js/app.js"' in page.text
        for asset in ("static/js/app.js", "static/style.css", "static/vendor/chart.umd.min.js"):
            assert httpx.get(f"{base}/{asset}").status_code == 200, asset
        info = httpx.get(f"{base}/dashboard.json").json()
        assert info["source"] == "simulation" and info["read_only"] and not info["live"]
        jobs = httpx.get(f"{base}/jobs").json()
        assert len(jobs) == 6 and all(j["progress"] == 1.0 for j in jobs)
        history = httpx.get(f"{base}/jobs/job-3/history").json()
        assert history["generations"][0]["cause"] == "first start"
        assert history["speedup"]["speedup"][0] == pytest.approx(1.0)
        assert history["samples"] and "goodput" in history["samples"][0]
        timeline = httpx.get(f"{base}/timeline").json()
        lanes = {(lane["node"], lane["slot"]) for lane in timeline["lanes"]}
        assert {(b["node"], b["slot"]) for b in timeline["bars"]} <= lanes
        cluster = httpx.get(f"{base}/cluster/history").json()
        assert cluster["band"] == [0.35, 0.65] and cluster["autoscale"]
        assert httpx.get(f"{base}/jobs/nope/history").status_code == 404
        assert httpx.post(f"{base}/jobs", json={}).status_code == 405  # read-only


def test_off_loopback_every_route_needs_the_token(sim_out: Path) -> None:
    app = create_sim_app(load_runs(sim_out), TOKEN, token_required=True)
    checked = [(m, p.replace("{job_id}", "job-1")) for m, p in app_routes(app)]
    assert len(checked) >= 12 and ("GET", "/runs/toy-run/timeline") in checked
    with serve(app) as url:
        for method, path in checked:
            expected_open = path == "/health"
            for headers in (
                {},
                {"Authorization": "Bearer wrong"},
                {"Authorization": "Basic " + TOKEN},
            ):
                response = httpx.request(method, url + path, headers=headers)
                assert (response.status_code != 401) is expected_open, (method, path, headers)
            right = httpx.request(method, url + path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert right.status_code in (200, 307), (method, path, right.status_code)


def test_a_browser_logs_in_once(sim_out: Path) -> None:
    app = create_sim_app(load_runs(sim_out), TOKEN, token_required=True)
    with serve(app) as url:
        page = httpx.get(f"{url}/runs/toy-run/", headers={"Accept": "text/html"})
        assert page.status_code == 401 and 'name="token"' in page.text  # the login form
        wrong = httpx.get(f"{url}/runs/toy-run/?token=nope&x=1")
        assert wrong.status_code == 401 and COOKIE not in wrong.cookies
        link = httpx.get(f"{url}/runs/toy-run/?token={TOKEN}&x=1")
        assert link.status_code == 303 and link.headers["location"] == "/runs/toy-run/?x=1"
        cookie = link.cookies[COOKIE]
        assert TOKEN not in cookie and "httponly" in link.headers["set-cookie"].lower()
        with httpx.Client(base_url=url, cookies={COOKIE: cookie}) as browser:
            assert browser.get("/runs/toy-run/jobs").status_code == 200
            # a write with the cookie alone (what another site's form could send) is refused
            assert browser.post("/runs/toy-run/jobs", json={}).status_code == 403
            assert (
                browser.post(
                    "/runs/toy-run/jobs", json={}, headers={DASHBOARD_HEADER: "1"}
                ).status_code
                == 405
            )
        form = httpx.post(f"{url}/login", data={"token": "nope", "next": "/runs/toy-run/"})
        assert form.status_code == 401
        form = httpx.post(f"{url}/login", data={"token": TOKEN, "next": "//elsewhere.example/"})
        assert form.status_code == 303 and form.headers["location"] == "/"  # no open redirect
        assert form.cookies[COOKIE] == cookie


def test_on_loopback_only_loopback_hosts_are_answered(sim_out: Path) -> None:
    """A page elsewhere that rebinds its name to 127.0.0.1 still sends its own Host."""
    with serve(create_sim_app(load_runs(sim_out))) as url:
        assert httpx.get(f"{url}/runs/toy-run/jobs").status_code == 200
        for host in ("localhost:1234", "[::1]:80", "127.0.0.5"):
            assert httpx.get(f"{url}/health", headers={"Host": host}).status_code == 200
        evil = httpx.get(f"{url}/runs/toy-run/jobs", headers={"Host": "attacker.example"})
        assert evil.status_code == 403


def test_a_folder_without_history_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no simulation history"):
        load_runs(tmp_path)
