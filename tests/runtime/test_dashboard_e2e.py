"""The controller bound to a non-loopback address, through its own API and a real browser:
every route but the health check needs the token (none, a wrong one, the right one); a
submission without it never creates a job; the workers' hints carry it; /metrics; and the
dashboard, logged in with the token, submits a job from its form, shows it running, draws it
on the timeline and cancels it, without a console error."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from app_routes import app_routes
from browser import browser_page, timeline_bars, wait_for_chart
from prometheus_client.parser import text_string_to_metric_families
from runtime_helpers import JOB, Runtime

pytestmark = pytest.mark.slow

SLEEP = ("--step-sleep", "0.05")


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """A controller on all interfaces (reached here through 127.0.0.1 only)."""
    rt = Runtime(tmp_path_factory.mktemp("secured"))
    rt.up("--host", "0.0.0.0")
    try:
        yield rt
    finally:
        rt.down()


@pytest.fixture(scope="module")
def long_job(secured: Runtime) -> Iterator[str]:
    job_id = secured.submit("--name", "long", job_args=("--epochs", "300", *SLEEP))
    secured.wait_state(job_id, "running", timeout_s=120)
    try:
        yield job_id
    finally:
        secured.cli("cancel", job_id, check=False)


def token_of(rt: Runtime) -> str:
    return (rt.state_dir / "token").read_text().strip()


def job_rows(rt: Runtime) -> int:
    with rt.db() as db:
        return db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]


def every_route() -> list[tuple[str, str]]:
    """The controller app's routes, read from the app itself (a service that is not started)."""
    import tempfile

    from adaptsched.api.app import create_app
    from adaptsched.cluster.service import RuntimeConfig, RuntimeService

    with tempfile.TemporaryDirectory() as folder:
        service = RuntimeService(RuntimeConfig(state_dir=Path(folder)))
        routes = app_routes(create_app(service, "x", token_required=True))
        service.store.close()
    return routes


def test_the_token_is_private_and_the_cli_sends_it(secured: Runtime) -> None:
    path = secured.state_dir / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token_of(secured)) >= 40
    assert json.loads(secured.cli("jobs", "--json").stdout) == []  # through the token


def test_every_route_needs_the_token(secured: Runtime, long_job: str) -> None:
    url, token = secured.info()["url"], token_of(secured)
    routes = every_route()
    assert ("POST", "/jobs") in routes and ("GET", "/metrics") in routes
    assert ("GET", "/") in routes and ("GET", "/timeline") in routes
    jobs_before = job_rows(secured)
    body = {"command": [str(JOB), "--epochs", "1"], "name": "intruder"}
    hints = {"metric": "goodput"}
    bad = ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token})  # no scheme
    for method, template in routes:
        real = template.replace("{job_id}", long_job).replace("{node_id}", "node-0")
        kwargs = {"json": hints if "hints" in template else body}
        for headers in bad:
            response = httpx.request(method, url + real, headers=headers, **kwargs)
            if template == "/health":
                assert response.status_code == 200
            else:
                assert response.status_code == 401, (method, real, headers, response.text)
        probe = template.replace("{job_id}", "nope").replace("{node_id}", "nope")
        right = httpx.request(
            method,
            url + probe,
            headers={"Authorization": f"Bearer {token}"},
            json={"command": []} if method == "POST" else None,
        )
        assert right.status_code not in (401, 403), (method, probe, right.status_code)
    # Nothing changed: no job was submitted, the long job was neither cancelled nor its node
    # removed, the emulated cluster still has both nodes.
    assert job_rows(secured) == jobs_before
    assert secured.job(long_job)["state"] in ("running", "resizing", "starting")
    with secured.db() as db:
        assert (
            db.execute("SELECT COUNT(*) FROM events WHERE kind = 'node-removed'").fetchone()[0] == 0
        )
    assert len([n for n in json.loads(secured.cli("nodes", "--json").stdout) if n["alive"]]) == 2


def test_a_submission_without_the_token_is_never_accepted(secured: Runtime) -> None:
    url = secured.info()["url"]
    before = job_rows(secured)
    body = {"command": [str(JOB), "--epochs", "1"], "name": "sneaky"}
    for headers in (
        {},
        {"Authorization": "Bearer " + "x" * 43},
        {"Cookie": "adaptsched_session=x"},
    ):
        assert httpx.post(f"{url}/jobs", json=body, headers=headers).status_code == 401
        assert httpx.post(f"{url}/jobs?token=wrong", json=body).status_code == 401
    assert job_rows(secured) == before
    with secured.db() as db:
        assert (
            db.execute("SELECT COUNT(*) FROM events WHERE detail LIKE '%sneaky%'").fetchone()[0]
            == 0
        )


def test_metrics(secured: Runtime, long_job: str) -> None:
    url = secured.info()["url"]
    headers = {"Authorization": f"Bearer {token_of(secured)}"}
    secured.wait("a round with the job", lambda: _round_count(url, headers) > 0, 60)
    text = httpx.get(f"{url}/metrics", headers=headers).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    labels = (("job", long_job), ("metric", "goodput"))
    assert samples[("adaptsched_job_gpus", labels)] >= 1
    assert ("adaptsched_job_restarts_total", labels) in samples
    assert 0 < samples[("adaptsched_job_efficiency", labels)] <= 1
    assert samples[("adaptsched_job_goodput", labels)] > 0
    assert samples[("adaptsched_job_hint_age_seconds", labels)] >= 0
    assert sum(v for (name, _), v in samples.items() if name == "adaptsched_jobs") == job_rows(
        secured
    )
    assert samples[("adaptsched_nodes", ())] == 2
    assert samples[("adaptsched_node_seconds_total", ())] > 0
    assert ("adaptsched_cluster_utility", ()) in samples
    assert families["adaptsched_policy_round_seconds"].type == "histogram"


def _round_count(url: str, headers: dict[str, str]) -> float:
    text = httpx.get(f"{url}/metrics", headers=headers).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "adaptsched_policy_round_seconds_count":
                return sample.value
    return 0.0


def test_the_dashboard_in_a_browser(
    secured: Runtime, long_job: str, chromium: str, tmp_path: Path
) -> None:
    url, token = secured.info()["url"], token_of(secured)
    with browser_page(chromium) as tab:
        page = tab.page
        login = page.goto(f"{url}/")
        assert login is not None and login.status == 401  # the login page, not the dashboard
        assert page.locator("input[name=token]").count() == 1
        assert all("401" in e for e in tab.errors)  # Chromium reports the 401 page itself
        tab.errors.clear()
        page.goto(f"{url}/?token={token}")  # logs in once: a cookie, then the token-free page
        assert "token=" not in page.url
        page.wait_for_selector(f"#jobs tr[data-job='{long_job}']")
        page.fill("input[name=script]", str(JOB))
        page.fill("input[name=args]", "--epochs 60 --step-sleep 0.05")
        page.fill("input[name=name]", "from browser")
        page.fill("input[name=metric]", "speed")
        page.click("form.submit button[type=submit]")
        page.wait_for_selector("form.submit [role=status]:has-text('submitted')", timeout=30_000)
        job_id = page.inner_text("form.submit [role=status]").split()[-1]
        row = f"#jobs tr[data-job='{job_id}']"
        page.wait_for_selector(row)
        page.wait_for_selector(f"{row}[data-state='running']", timeout=150_000)
        assert secured.job(job_id)["metric"] == "speed"
        tab.shot(tmp_path, "runtime-jobs")
        page.goto(f"{url}/#/timeline")
        wait_for_chart(page, "timeline")
        page.wait_for_selector(f"#held tr[data-job='{job_id}']")
        widths = timeline_bars(page, job_id)
        assert widths and max(widths) > 1, widths
        tab.shot(tmp_path, "runtime-timeline")
        page.goto(f"{url}/#/job/{job_id}")
        page.wait_for_selector("text=first start")
        wait_for_chart(page, "speedup")
        tab.shot(tmp_path, "runtime-job")
        page.goto(f"{url}/#/cluster")
        page.wait_for_selector("#nodes tbody tr")
        tab.shot(tmp_path, "runtime-cluster")
        page.goto(f"{url}/#/")
        page.click(f"{row} button[data-cancel]")
        page.wait_for_selector(f"{row}[data-state='cancelled']", timeout=60_000)
        assert tab.errors == []
    with secured.db() as db:  # its rank 0 reported through the token it was given
        hints = db.execute("SELECT COUNT(*) FROM hints WHERE job_id = ?", (job_id,)).fetchone()[0]
    assert hints > 0
