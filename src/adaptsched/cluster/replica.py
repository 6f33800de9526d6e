"""One replica = one Ray actor that runs the user's script as a child process on the node the
policy chose, and reports the child's exit status (75 = stopped after a checkpoint: the actor
sees it directly, which ``torchrun`` would have turned into 1).

The child gets ``PR_SET_PDEATHSIG`` = SIGKILL: if its actor dies (the actor is killed, its node
is removed, the controller's Ray instance goes down) the child dies with it, so a replica can
never outlive the generation it belongs to. ``run`` blocks in ``wait()`` for the child's whole
life on the thread that started it, which is what the death signal is tied to.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def prepare_child() -> None:
    """Runs in the child between fork and exec (Linux): SIGKILL when the parent thread dies,
    and the default priority (Ray may start its workers niced; where lowering the niceness is
    not allowed the replica keeps its worker's)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


def exit_status(returncode: int) -> int:
    """Shell convention: killed by signal N reads as 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode


class ReplicaProcess:
    """The body of the replica actor (``ray.remote`` is applied by the engine)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None

    def node_ip(self) -> str:
        import ray

        return ray.util.get_node_ip_address()

    def free_port(self) -> int:
        """A port free on this node now, for the generation's rendezvous."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("", 0))
            return int(sock.getsockname()[1])

    def run(self, argv: list[str], env: dict[str, str], cwd: str, log_path: str) -> int:
        """Start the child, wait for it, return its exit status."""
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **env}
        if not os.path.isdir(cwd):  # the submitter's folder does not exist on this node
            cwd = os.path.dirname(argv[1]) if len(argv) > 1 else "/"
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(
                argv,
                env=full_env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=prepare_child,
            )
        return exit_status(self._proc.wait())

    def terminate(self) -> bool:
        """SIGTERM: the training library checkpoints and exits 75."""
        return self._signal(signal.SIGTERM)

    def kill(self) -> bool:
        return self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> bool:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        proc.send_signal(signum)
        return True
