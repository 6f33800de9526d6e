"""`adaptsched dashboard DIR`: the dashboard's pages over a simulation's output (what
`adaptsched sim ... --out DIR` wrote), served until Ctrl-C. A running controller serves the
same pages itself, at the address `adaptsched up` prints."""

from __future__ import annotations

import argparse
import contextlib
import secrets
from pathlib import Path

from adaptsched.cli.args import bounded
from adaptsched.cluster.process import url_for
from adaptsched.cluster.token import TOKEN_BYTES, is_loopback


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, help="a simulation's --out folder")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=bounded(int, 0, 65535), default=0, help="0: any free")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from adaptsched.dashboard.sim_app import create_sim_app, load_runs

    runs = load_runs(args.folder)
    required = not is_loopback(args.host)
    token = secrets.token_urlsafe(TOKEN_BYTES)  # for this server's life; printed once below
    app = create_sim_app(runs, token, token_required=required)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    server = uvicorn.Server(config)
    sockets = [config.bind_socket()]
    url = url_for(args.host, sockets[0].getsockname()[1])
    login = f"?token={token}" if required else ""
    print(f"dashboard of {len(runs)} simulated run(s) in {args.folder}: {url}/{login}", flush=True)
    print("Ctrl-C stops it", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn hands Ctrl-C back once shut down
        server.run(sockets=sockets)
    return 0
