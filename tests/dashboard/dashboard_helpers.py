"""Helpers of the dashboard's tests: a real uvicorn server on loopback for an app, and a
simulation's output written by the real `adaptsched sim` on the synthetic profile. (A module
of its own: test modules import it by a name no other folder uses, unlike ``conftest``.)"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).parents[1] / "sim"))

from synthetic import mixed_jobs, write_profile, write_workload

from adaptsched.cli.main import main


@contextmanager
def serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve ``app`` on 127.0.0.1 (a free port) in a thread; yields its base address."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    sock = config.bind_socket()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the test server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def simulate(folder: Path, *flags: str) -> Path:
    """`adaptsched sim` of 6 jobs of the synthetic profile into ``folder`` (its --out)."""
    traces = write_profile(folder / "traces").parent
    workload = write_workload(folder / "toy-run.csv", mixed_jobs(6))
    out = folder / "out"
    argv = ["sim", str(workload), "--traces", str(traces), "--no-progress", "--json"]
    argv += ["--interval", "30", "--out", str(out), *flags]
    assert main(argv) == 0
    return out
