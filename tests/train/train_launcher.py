"""Start K gloo replicas of a job script as plain subprocesses on 127.0.0.1 (what torchrun
does, without its agent), and wait for or kill them."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from adaptsched.cli.replicas import replica_env

JOBS = Path(__file__).parent / "jobs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replicas:
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def wait(self, timeout_s: float) -> list[int]:
        deadline = time.monotonic() + timeout_s
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=max(0.1, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                raise AssertionError(
                    f"replicas did not finish in {timeout_s} s:\n{self.output()}"
                ) from None
        return codes

    def signal(self, signum: int) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signum)

    def output(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in self.logs if p.exists())


def launch(script: str, replicas: int, args: list[str], log_dir: Path) -> Replicas:
    """Start ``replicas`` processes of ``jobs/<script>`` with torchrun's environment."""
    port = free_port()
    procs, logs = [], []
    log_dir.mkdir(parents=True, exist_ok=True)
    for rank in range(replicas):
        env = replica_env(rank, replicas, port, threads=1)  # what `adaptsched profile` gives
        log = log_dir / f"{script}-{replicas}x-{time.monotonic_ns()}-rank{rank}.log"
        with open(log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(JOBS / script), *args],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        logs.append(log)
    return Replicas(procs, logs)
