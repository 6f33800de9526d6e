"""K replicas of a training script on this machine, started as torchrun would start them (RANK,
WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT: what
``adaptsched.train.distributed.init_distributed`` reads), each with its own log.

Used by ``adaptsched profile --script``. The replicas are plain child processes rather than
torchrun's, so that each one's exit status is seen as is. When a replica fails, its peers get
a moment to fail too (a peer of a crashed replica fails on the lost connection), then are
stopped; the error names the script, the exit status and the last lines of the replica that
went quiet first: the one that failed first, not a peer that lost the connection to it (which
is what torchrun calls the root cause, by the time of the failure).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from adaptsched.cluster.replica import exit_status, prepare_child

#: Variables a replica must not inherit: those of a job the caller may itself run in, and
#: torchrun's, which the launcher sets afresh.
_INHERITED_PREFIXES = ("ADAPTSCHED_", "TORCHELASTIC_")
_TORCHRUN_VARS = ("GROUP_RANK", "NODE_RANK", "ROLE_RANK", "ROLE_WORLD_SIZE")

#: Seconds the peers of a failed replica get to fail on their own, then to exit on SIGTERM.
SETTLE_S = 2.0
STOP_GRACE_S = 3.0
#: Lines of a failed replica's output quoted in the error.
TAIL_LINES = 5


@dataclass(frozen=True)
class Script:
    """A user's training script and its arguments, as the replicas run it."""

    path: Path
    args: tuple[str, ...] = ()
    threads: int = 1  # torch/OpenMP threads per replica
    timeout_s: float = 3600.0  # for one whole run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def replica_env(rank: int, replicas: int, port: int, threads: int) -> dict[str, str]:
    """The environment of one replica: this process's, less any job's, plus torchrun's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_INHERITED_PREFIXES) and k not in _TORCHRUN_VARS
    }
    env.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(replicas),
        LOCAL_WORLD_SIZE=str(replicas),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        PYTHONUNBUFFERED="1",
    )
    return env


def run_replicas(
    script: Script, replicas: int, extra_env: Mapping[str, str], log_dir: Path, what: str
) -> None:
    """Run ``replicas`` processes of the script to the end; raises ValueError (one line: the
    script, ``what`` was being done, the exit status, its last output) if one fails or the
    run outlasts ``script.timeout_s``. No process outlives the call."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []
    logs = [log_dir / f"rank{rank}.log" for rank in range(replicas)]
    try:
        for rank, log in enumerate(logs):
            env = {**replica_env(rank, replicas, port, script.threads), **extra_env}
            with open(log, "wb") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, str(script.path), *script.args],
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        preexec_fn=prepare_child,
                    )
                )
        _wait(procs, logs, script, what)
    finally:
        _stop(procs)


def _wait(
    procs: list[subprocess.Popen[bytes]], logs: list[Path], script: Script, what: str
) -> None:
    deadline = time.monotonic() + script.timeout_s
    while True:
        codes = [proc.poll() for proc in procs]
        if any(code not in (None, 0) for code in codes):
            rank, status = _first_failure(procs, logs)
            raise ValueError(
                f"script {script.path.name} ({what}) exited with code {status} on rank {rank}: "
                f"{tail(logs[rank])}"
            )
        if all(code == 0 for code in codes):
            return
        if time.monotonic() > deadline:
            raise ValueError(
                f"script {script.path.name} ({what}) still running after {script.timeout_s:g} s "
                f"(--timeout): {tail(logs[0])}"
            )
        time.sleep(0.05)


def _first_failure(procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> tuple[int, int]:
    """(rank, exit status) of the replica that failed first, once the peers have had
    SETTLE_S to fail as well: of the failed ones, the one whose output ended earliest."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and any(proc.poll() is None for proc in procs):
        time.sleep(0.05)
    failed = [rank for rank, proc in enumerate(procs) if proc.poll() not in (None, 0)]

    def quiet_since(rank: int) -> tuple[int, int]:
        try:
            return logs[rank].stat().st_mtime_ns, rank
        except OSError:
            return 0, rank

    rank = min(failed, key=quiet_since)
    return rank, exit_status(procs[rank].returncode)


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last non-empty lines of a log, joined with " | " (an error stays one line)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no output)"
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept) or "(no output)"


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM whatever still runs, SIGKILL it after STOP_GRACE_S, and reap every child."""
    alive = [proc for proc in procs if proc.poll() is None]
    for proc in alive:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in alive:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
