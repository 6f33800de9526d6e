"""Bad input at the runtime's front door: every mistake a user can make at submit, and
malformed requests sent straight to the API, end in one clear line and leave the controller
serving. Also: an unreachable Ray address fails `up` at once instead of hanging."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from runtime_helpers import JOB, Runtime

pytestmark = pytest.mark.slow


def refused(runtime: Runtime, *args: str) -> str:
    """The one-line error of a CLI call that must fail."""
    proc = runtime.cli(*args, check=False)
    assert proc.returncode != 0, f"adaptsched {' '.join(args)} was accepted: {proc.stdout}"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def test_bad_submissions_are_refused_in_one_line(runtime: Runtime, tmp_path: Path) -> None:
    before = len(runtime.jobs())
    assert "no such file" in refused(runtime, "submit", str(tmp_path / "missing.py"))
    assert "fast" in refused(runtime, "submit", str(JOB), "--metric", "fast")
    assert "above --max-replicas" in refused(
        runtime, "submit", str(JOB), "--min-replicas", "3", "--max-replicas", "2"
    )
    # larger than the cluster (2 emulated one-GPU nodes): refused by the controller itself
    assert "needs at least 5 replicas" in refused(
        runtime, "submit", str(JOB), "--min-replicas", "5"
    )
    assert "nope-1" in refused(runtime, "show", "nope-1")
    assert "nope-1" in refused(runtime, "cancel", "nope-1")
    assert len(runtime.jobs()) == before, "a refused submission left a job behind"


def test_malformed_requests_get_4xx_and_the_controller_keeps_serving(runtime: Runtime) -> None:
    url = runtime.info()["url"]
    with httpx.Client(base_url=url, timeout=30) as http:
        before = len(http.get("/jobs").json())
        bad_posts = [
            {"command": []},
            {"command": [str(JOB)], "metric": "nan"},
            {"command": [str(JOB)], "min_replicas": -1},
            {"command": [str(JOB)], "max_replicas": "many"},
        ]
        for body in bad_posts:
            reply = http.post("/jobs", json=body)
            assert reply.status_code in (400, 422), (body, reply.status_code, reply.text)
            assert reply.json()["detail"], body
        assert (
            http.post(
                "/jobs", content=b"\xff{", headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
        job_id = runtime.submit("--name", "hinted", job_args=("--epochs", "1"))
        for hints in (b"not json", b"[]", b'{"metric": "goodput"}', b'{"nonsense": 1}'):
            reply = http.put(f"/jobs/{job_id}/hints", content=hints)
            assert reply.status_code == 400, (hints, reply.status_code, reply.text)
        assert http.put("/jobs/nope-1/hints", content=b"{}").status_code == 404
        assert http.get("/jobs/nope-1/logs").status_code == 404
        assert http.get(f"/jobs/{job_id}/logs", params={"rank": -1}).status_code == 422
        assert http.get("/health").status_code == 200
        assert len(http.get("/jobs").json()) == before + 1
    runtime.wait_state(job_id, "succeeded")


def test_unreachable_ray_address_fails_up_at_once(tmp_path: Path) -> None:
    for address, reason in (("127.0.0.1:1", "nothing answers"), ("nonsense", "Invalid address")):
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "adaptsched.cli.main", "up", "--address", address],
            env={**os.environ, "ADAPTSCHED_STATE_DIR": str(tmp_path / "state")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        assert reason in proc.stderr and address in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert time.monotonic() - start < 60, "up took too long to give up"
