"""The controller as a background process: where its state lives, the file that says where it
listens, one controller per state directory, and cleaning up after one that was killed.

``adaptsched up`` starts the controller in a session of its own; everything it starts (Ray's
processes, every replica) inherits that session, so ``adaptsched down`` and a new ``up`` after
a crash can stop exactly what the controller started, and nothing else of the user's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_DIR_ENV = "ADAPTSCHED_STATE_DIR"
INFO_FILE = "controller.json"
LOCK_FILE = "controller.lock"
LOG_FILE = "controller.log"


def default_state_dir() -> Path:
    """``$ADAPTSCHED_STATE_DIR``, else ``$XDG_STATE_HOME/adaptsched`` (~/.local/state)."""
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "adaptsched"


@dataclass(frozen=True)
class ControllerInfo:
    """What ``controller.json`` holds."""

    pid: int
    sid: int
    session_leader: bool
    url: str
    started_s: float

    @classmethod
    def read(cls, state_dir: Path) -> ControllerInfo | None:
        try:
            data = json.loads((state_dir / INFO_FILE).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError):
            return None

    def write(self, state_dir: Path) -> None:
        path = state_dir / INFO_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        os.chmod(tmp, 0o600)
        tmp.replace(path)


class AlreadyRunningError(RuntimeError):
    pass


#: Seconds to wait for the lock of a controller that is still exiting (killed, not yet gone).
LOCK_WAIT_S = 10.0


def hold_lock(state_dir: Path, wait_s: float = LOCK_WAIT_S) -> int:
    """Take the state directory's lock for this process's life (one controller per state).
    The lock is the authority on whether a controller runs: the kernel drops it only when its
    holder is gone, however it ended."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
    os.close(fd)
    info = ControllerInfo.read(state_dir)
    where = f" (pid {info.pid}, {info.url})" if info else ""
    raise AlreadyRunningError(
        f"a controller already runs for {state_dir}{where}; `adaptsched down` stops it"
    )


def controller_running(state_dir: Path) -> bool:
    """Whether some process holds the state directory's lock right now."""
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def session_members(sid: int) -> list[int]:
    """Processes of session ``sid`` (Linux /proc), except this one."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:  # state ppid pgrp session ...
            members.append(int(entry.name))
    return members


def kill_session(sid: int, sig: int = signal.SIGKILL) -> int:
    """Signal every process of session ``sid``; how many there were."""
    members = session_members(sid)
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    return len(members)


def clean_after(info: ControllerInfo | None) -> int:
    """Kill what a dead controller left behind (Ray agents, replicas) so that no job of it
    runs twice; only when it was a session leader, whose session is its own."""
    if info is None or not info.session_leader or alive(info.pid) or info.sid == os.getsid(0):
        return 0
    return kill_session(info.sid)


def stop_controller(state_dir: Path, timeout_s: float) -> ControllerInfo | None:
    """SIGTERM the controller, wait up to ``timeout_s``, SIGKILL it, then its session."""
    info = ControllerInfo.read(state_dir)
    if info is None:
        return None
    if alive(info.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while alive(info.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(info.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
    if info.session_leader:
        for _ in range(50):
            if not kill_session(info.sid):
                break
            time.sleep(0.1)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / INFO_FILE).unlink()
    return info


#: Bind addresses that mean every interface of this machine.
WILDCARD_HOSTS = ("0.0.0.0", "", "::")


def reachable_host(host: str) -> str:
    """The address other machines reach a server bound to ``host`` at: ``host`` itself, or,
    for a wildcard bind, this machine's address on its outward route (how Ray picks a node's
    address). A job's replicas may run on another machine of a Ray cluster, where the
    loopback address that ``url_for`` shows would be their own machine."""
    if host not in WILDCARD_HOSTS:
        return host
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.254.254.254", 1))  # a datagram socket sends nothing on connect
        return probe.getsockname()[0]
    with contextlib.suppress(OSError):
        return socket.gethostbyname(socket.gethostname())
    return "127.0.0.1"


def url_for(host: str, port: int) -> str:
    """The address a server bound to ``host`` is reached at from this machine."""
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"
