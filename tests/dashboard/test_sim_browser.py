"""The dashboard in a real browser over a simulation's output: every page draws without a
console error, the timeline has a bar for every generation's slots."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import browser_page, timeline_bars, wait_for_chart
from dashboard_helpers import serve

from adaptsched.dashboard.sim_app import create_sim_app, load_runs

pytestmark = pytest.mark.slow


def test_every_page_of_a_simulated_run(sim_out: Path, chromium: str, tmp_path: Path) -> None:
    with serve(create_sim_app(load_runs(sim_out))) as url, browser_page(chromium) as tab:
        page = tab.page
        page.goto(f"{url}/")
        page.wait_for_selector("#jobs tbody tr[data-job='job-2']")
        assert page.locator("#jobs tbody tr").count() == 6
        assert page.locator("form.submit").count() == 0  # read-only: no submit, no cancel
        assert page.locator("button[data-cancel]").count() == 0
        tab.shot(tmp_path, "sim-jobs")
        page.goto(f"{url}/runs/toy-run/#/timeline")
        wait_for_chart(page, "timeline")
        widths = timeline_bars(page, "job-0")
        assert widths and min(widths) > 1
        tab.shot(tmp_path, "sim-timeline")
        page.goto(f"{url}/runs/toy-run/#/cluster")
        page.wait_for_selector("#nodes tbody tr")
        tab.shot(tmp_path, "sim-cluster")
        page.goto(f"{url}/runs/toy-run/#/job/job-1")
        page.wait_for_selector("text=first start")
        tab.shot(tmp_path, "sim-job")
        assert tab.errors == []
