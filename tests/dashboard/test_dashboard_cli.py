"""`adaptsched dashboard DIR` as a user runs it: the address it prints answers; a folder with
no simulation history is refused in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_serves_the_folder_until_stopped(sim_out: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "adaptsched.cli.main", "dashboard", str(sim_out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        url = line.split(": ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        deadline = time.monotonic() + 20
        while True:
            try:
                jobs = httpx.get(f"{url}runs/toy-run/jobs", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the dashboard did not answer"
                time.sleep(0.1)
        assert jobs.status_code == 200 and len(jobs.json()) == 6
    finally:
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_a_folder_without_a_history_is_refused(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "adaptsched.cli.main", "dashboard", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("adaptsched dashboard: error: ")
    assert "no simulation history" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
