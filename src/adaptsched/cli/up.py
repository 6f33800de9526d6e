"""`adaptsched up`: start the controller (in the background unless --foreground) and print
the address of its API once it answers."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from adaptsched.cli.args import bounded
from adaptsched.cli.remote import add_state_dir
from adaptsched.cluster.process import (
    LOG_FILE,
    ControllerInfo,
    alive,
    controller_running,
    default_state_dir,
    kill_session,
)
from adaptsched.cluster.token import TOKEN_FILE, is_loopback
from adaptsched.policy.registry import DEFAULT_POLICY

#: How long `up` waits for the controller to answer (Ray's start dominates: seconds).
DEFAULT_WAIT_S = 180.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_state_dir(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--address", default=None, help="join this Ray cluster (e.g. auto, or HOST:6379)"
    )
    where.add_argument(
        "--emulate-nodes",
        type=bounded(int, 1, 64),
        default=None,
        help="emulate a cluster of this many nodes on this machine",
    )
    parser.add_argument(
        "--autoscale",
        action="store_true",
        help="autoscale a node group through Ray's autoscaler (emulated on this machine "
        "unless --address names a cluster that has one)",
    )
    parser.add_argument(
        "--gpus-per-node",
        type=bounded(int, 1, 64),
        default=1,
        help="GPUs of each emulated or autoscaled node (1)",
    )
    scaling = parser.add_argument_group("autoscaling")
    scaling.add_argument("--min-nodes", type=bounded(int, 0, 1000), default=1)
    scaling.add_argument("--max-nodes", type=bounded(int, 1, 1000), default=2)
    scaling.add_argument(
        "--node-type", default="gpu-worker", help="the autoscaled node type's name (gpu-worker)"
    )
    scaling.add_argument(
        "--idle-timeout",
        type=bounded(float, 1.0, 3600.0),
        default=30.0,
        help="seconds an unneeded idle node stays (emulated autoscaling; 30)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="API address to bind (127.0.0.1)")
    parser.add_argument("--port", type=bounded(int, 0, 65535), default=0, help="0: any free")
    parser.add_argument(
        "--interval", type=bounded(float, 0.5, 3600.0), default=60.0, help="seconds per round"
    )
    parser.add_argument(
        "--policy", default=DEFAULT_POLICY, help=f"scheduling policy ({DEFAULT_POLICY})"
    )
    parser.add_argument(
        "--stop-timeout",
        type=bounded(float, 1.0, 3600.0),
        default=60.0,
        help="seconds a job gets to checkpoint after SIGTERM before it is killed (60)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=bounded(float, 1.0, 3600.0),
        default=60.0,
        help="a job that never reports counts as running after this long (60)",
    )
    parser.add_argument(
        "--restart-cost",
        type=bounded(float, 0.0, 3600.0),
        default=None,
        help="seconds a restart is assumed to cost until one is measured (default: the "
        "policy's own, 30 for pollux)",
    )
    parser.add_argument(
        "--cluster-metric",
        default="goodput",
        help="the cluster's own metric: its utility band sizes an autoscaled cluster, and it "
        "orders and weighs the jobs (goodput, speed, cost, balanced[:K]; goodput)",
    )
    parser.add_argument("--foreground", action="store_true", help="stay attached")
    parser.add_argument(
        "--wait", type=bounded(float, 1.0, 3600.0), default=DEFAULT_WAIT_S, help="seconds"
    )


def run(args: argparse.Namespace) -> int:
    state_dir = (args.state_dir or default_state_dir()).expanduser().resolve()
    _check_combination(args)
    if args.foreground:
        return _foreground(args, state_dir)
    return _background(args, state_dir)


def _check_combination(args: argparse.Namespace) -> None:
    """Refuse options that would do nothing in this combination."""
    if args.autoscale and args.emulate_nodes is not None:
        raise ValueError("--autoscale: the node count is the autoscaler's, not --emulate-nodes")
    if args.gpus_per_node != 1 and args.emulate_nodes is None and not args.autoscale:
        raise ValueError("--gpus-per-node: only used with --emulate-nodes or --autoscale")
    flags = {"min_nodes": 1, "max_nodes": 2, "node_type": "gpu-worker", "idle_timeout": 30.0}
    if not args.autoscale:
        for name, default in flags.items():
            if getattr(args, name) != default:
                raise ValueError(f"--{name.replace('_', '-')}: only used with --autoscale")
    elif args.min_nodes > args.max_nodes:
        raise ValueError(f"--min-nodes {args.min_nodes} is above --max-nodes {args.max_nodes}")


def _config(args: argparse.Namespace, state_dir: Path):
    from adaptsched.cluster.fake_cloud import NodeGroup
    from adaptsched.cluster.service import RuntimeConfig
    from adaptsched.models import ModelInputError, get_metric
    from adaptsched.policy.registry import policy_class

    policy_class(args.policy)  # a clear error for unknown policies
    try:
        get_metric(args.cluster_metric)
    except ModelInputError as exc:
        raise ValueError(f"--cluster-metric: {exc}") from None
    group = None
    if args.autoscale:
        group = NodeGroup(
            args.node_type, args.gpus_per_node, args.min_nodes, args.max_nodes, args.idle_timeout
        )
    return RuntimeConfig(
        autoscale=group,
        state_dir=state_dir,
        address=args.address,
        emulate_nodes=args.emulate_nodes,
        gpus_per_node=args.gpus_per_node,
        interval_s=args.interval,
        policy=args.policy,
        stop_timeout_s=args.stop_timeout,
        ready_timeout_s=args.ready_timeout,
        restart_prior_s=args.restart_cost,
        cluster_metric=args.cluster_metric,
    )


def _foreground(args: argparse.Namespace, state_dir: Path) -> int:
    from adaptsched.cluster.engine_setup import quiet_ray_environment

    quiet_ray_environment()  # before anything imports Ray
    from adaptsched.cluster.daemon import serve

    config = _config(args, state_dir)
    return serve(config, args.host, args.port)


def _background(args: argparse.Namespace, state_dir: Path) -> int:
    _config(args, state_dir)  # refuse bad options here, not in the background
    state_dir.mkdir(parents=True, exist_ok=True)
    before = ControllerInfo.read(state_dir)
    if before is not None and alive(before.pid) and controller_running(state_dir):
        raise ValueError(f"a controller already runs for {state_dir} ({before.url})")
    argv = [sys.executable, "-m", "adaptsched.cli.main", "up", "--foreground"]
    argv += _forwarded(args, state_dir)
    log_path = state_dir / LOG_FILE
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        info = ControllerInfo.read(state_dir)
        if info is not None and info.pid == proc.pid and info.url and _answers(info.url):
            print(f"adaptsched controller running at {info.url} (pid {info.pid})")
            print(f"state: {state_dir}   log: {log_path}")
            print(f"dashboard: {info.url}/   metrics: {info.url}/metrics")
            if not is_loopback(args.host):
                print(f"bound to {args.host}: requests need the token in {state_dir / TOKEN_FILE}")
            return 0
        if proc.poll() is not None:
            raise ValueError(f"the controller exited ({proc.returncode}): {_last_line(log_path)}")
        time.sleep(0.3)
    kill_session(proc.pid)  # its own session: Ray's processes too
    raise ValueError(f"the controller did not answer within {args.wait:g} s (see {log_path})")


def _forwarded(args: argparse.Namespace, state_dir: Path) -> list[str]:
    out = ["--state-dir", str(state_dir), "--host", args.host, "--port", str(args.port)]
    out += ["--interval", str(args.interval), "--policy", args.policy]
    out += ["--cluster-metric", args.cluster_metric]
    out += ["--stop-timeout", str(args.stop_timeout), "--ready-timeout", str(args.ready_timeout)]
    if args.restart_cost is not None:
        out += ["--restart-cost", str(args.restart_cost)]
    if args.address is not None:
        out += ["--address", args.address]
    if args.emulate_nodes is not None:
        out += ["--emulate-nodes", str(args.emulate_nodes)]
    if args.emulate_nodes is not None or args.autoscale:
        out += ["--gpus-per-node", str(args.gpus_per_node)]
    if args.autoscale:
        out += ["--autoscale", "--min-nodes", str(args.min_nodes), "--max-nodes"]
        out += [str(args.max_nodes), "--node-type", args.node_type]
        out += ["--idle-timeout", str(args.idle_timeout)]
    if args.verbose:
        out.insert(0, "-v")
    return out


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _last_line(path: Path) -> str:
    from adaptsched.cluster.ray_engine import last_lines

    lines = last_lines(path, 1)
    return lines[-1] if lines else "no output"
