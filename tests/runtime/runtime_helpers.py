"""A real runtime for the end-to-end tests: `adaptsched up` on an emulated 2-node cluster
(one logical GPU each, Ray on loopback), driven through the CLI, stopped with `adaptsched down`
so that no process is left behind. (A module of its own name: a test module that imports
``conftest`` gets whichever folder's conftest was loaded last when several folders run.)"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

JOB = Path(__file__).parent / "jobs" / "tiny_job.py"
#: Seconds the runtime gets to come up (Ray's start on a loaded 2-core machine: 10-60 s).
UP_WAIT_S = 240


class Runtime:
    """A running controller and the CLI to talk to it."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.env = {**os.environ, "ADAPTSCHED_STATE_DIR": str(state_dir)}

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "adaptsched.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"adaptsched {' '.join(args)}: {proc.returncode}\n{proc.stderr}")
        return proc

    def up(self, *extra: str) -> None:
        self.cli(
            "up",
            "--emulate-nodes",
            "2",
            "--interval",
            "3",
            "--restart-cost",
            "3",
            "--stop-timeout",
            "15",
            "--ready-timeout",
            "30",
            "--wait",
            str(UP_WAIT_S),
            *extra,
            timeout=UP_WAIT_S + 30,
        )

    def down(self) -> None:
        self.cli("down", "--timeout", "60", timeout=120)

    def submit(self, *args: str, job_args: tuple[str, ...] = ()) -> str:
        out = self.cli("submit", str(JOB), *args, "--", *job_args).stdout
        return out.strip().splitlines()[-1]

    def job(self, job_id: str) -> dict[str, Any]:
        return json.loads(self.cli("show", job_id, "--json").stdout)

    def jobs(self) -> list[dict[str, Any]]:
        return json.loads(self.cli("jobs", "--json").stdout)

    def info(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "controller.json").read_text())

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.state_dir / "state.db")

    def wait(self, what: str, ready: Callable[[], bool], timeout_s: float = 150) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(1.0)
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}: {self.jobs()}")

    def wait_state(self, job_id: str, *states: str, timeout_s: float = 150) -> dict[str, Any]:
        self.wait(f"{job_id} in {states}", lambda: self.job(job_id)["state"] in states, timeout_s)
        return self.job(job_id)
