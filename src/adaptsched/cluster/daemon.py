"""The controller's process: take the state directory, clean up after a killed predecessor,
start the runtime, serve the API until SIGTERM/SIGINT, then stop every job at a checkpoint."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import time
from pathlib import Path

from adaptsched.cluster.process import (
    INFO_FILE,
    ControllerInfo,
    clean_after,
    hold_lock,
    reachable_host,
    url_for,
)
from adaptsched.cluster.service import RuntimeConfig, RuntimeService
from adaptsched.cluster.token import is_loopback, load_or_create_token

log = logging.getLogger(__name__)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def serve(config: RuntimeConfig, host: str, port: int) -> int:
    """Run the controller in this process until it is told to stop; returns an exit status."""
    import uvicorn

    from adaptsched.api.app import create_app

    state_dir: Path = config.state_dir
    lock_fd = hold_lock(state_dir)
    killed = clean_after(ControllerInfo.read(state_dir))
    if killed:
        log.warning("stopped %d processes left by a controller that was killed", killed)
    sid = os.getsid(0)
    starting = ControllerInfo(os.getpid(), sid, sid == os.getpid(), "", time.time())
    starting.write(state_dir)  # `down` can stop it while it is still starting
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    url = url_for(host, port)
    # The workers and the CLI always send the token; it is required off loopback only.
    config = dataclasses.replace(config, token=load_or_create_token(state_dir))
    required = not is_loopback(host)
    service = RuntimeService(config)
    try:
        service.start(url_for(reachable_host(host), port))  # the jobs' hint address
        app = create_app(service, config.token, token_required=required)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        ControllerInfo(starting.pid, sid, starting.session_leader, url, time.time()).write(
            state_dir
        )
        log.info(
            "controller listening on %s (state: %s, token %s)",
            url,
            state_dir,
            "required" if required else "not required on loopback",
        )
        server.run(sockets=[sock])
    finally:
        log.info("stopping: jobs checkpoint and exit")
        service.stop()
        with contextlib.suppress(FileNotFoundError):
            (state_dir / INFO_FILE).unlink()
        os.close(lock_fd)
    return 0
