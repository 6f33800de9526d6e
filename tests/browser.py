"""Headless Chromium for the dashboard's browser tests: Debian's ``chromium`` driven by
Playwright (its own browser builds are never downloaded). When chromium is missing it is
installed with apt-get if the tests run as root; otherwise the tests skip and say why, loudly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

#: Where a copy of every screenshot goes, for people to look at.
SHOTS = Path("/tmp/dashboard-shots")


def _skip(why: str) -> None:
    message = f"BROWSER TESTS SKIPPED: {why}"
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def find_chromium() -> str:
    """Debian's chromium, installed first when missing and root; skips otherwise."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip("the python package playwright is missing (pip install -e '.[dev]')")
    path = shutil.which("chromium")
    if path is None and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
            env=env,
            capture_output=True,
            timeout=900,
        )
        path = shutil.which("chromium")
    if path is None:
        _skip("no chromium on PATH and not root to install it (apt-get install chromium)")
    return str(path)


class Page:
    """A Playwright page that records console errors and failed requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("dialog", lambda d: d.accept())  # confirm() of the cancel button

    def shot(self, folder: Path, name: str) -> Path:
        """A full-page screenshot in ``folder``, copied to ``SHOTS``."""
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)
        return path


@contextmanager
def browser_page(executable: str) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            yield Page(context.new_page())
        finally:
            browser.close()


def wait_for_chart(page: Any, name: str, timeout_ms: float = 15_000) -> None:
    """Until the chart ``name`` (its canvas's data-chart) exists."""
    page.wait_for_function(
        "(name) => { const c = document.querySelector(`canvas[data-chart='${name}']`);"
        " return Boolean(c && Chart.getChart(c)); }",
        arg=name,
        timeout=timeout_ms,
    )


def timeline_bars(page: Any, job_id: str) -> list[float]:
    """Pixel widths of the bars the timeline chart drew for ``job_id``."""
    return page.evaluate(
        """(job) => {
            const canvas = document.querySelector('canvas[data-chart="timeline"]');
            const chart = canvas && Chart.getChart(canvas);
            if (!chart) return [];
            const i = chart.data.datasets.findIndex((d) => d.label === job);
            if (i < 0) return [];
            return chart.getDatasetMeta(i).data.map((bar) => Math.abs(bar.x - bar.base));
        }""",
        job_id,
    )
