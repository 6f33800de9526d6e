"""An emulated autoscaling cluster on one machine: Ray's own fake multi-node provider plays
the cloud (worker nodes are extra raylets the autoscaler starts and stops), exactly as Ray's
autoscaler tests do, so the runtime's autoscaling path is Ray's real one.

Ray 2.60's ``AutoscalingCluster`` cannot be used as it is: its base config
(``fake_multi_node/example.yaml``) is missing from the wheel, and its start and shutdown run
``ray stop --force``, which kills every Ray process of the user. So the config is written
here, the head is started with ``ray start --head`` in the controller's session, and stopping
kills only the processes of this cluster (``stop``: those naming its temp directory; the
controller's session cleanup catches the rest).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: Node type of the head (the provider's fixed name); it has no slots.
HEAD_TYPE = "ray.head.default"


@dataclass(frozen=True)
class NodeGroup:
    """One worker node type the autoscaler may start: ``gpus`` logical GPUs per node."""

    name: str = "gpu-worker"
    gpus: int = 1
    min_nodes: int = 1
    max_nodes: int = 2
    idle_timeout_s: float = 30.0  # an idle node beyond the requested count leaves after this

    def __post_init__(self) -> None:
        if not 0 <= self.min_nodes <= self.max_nodes or self.max_nodes < 1:
            raise ValueError(
                f"autoscaling: need 0 <= --min-nodes <= --max-nodes and --max-nodes >= 1, "
                f"got {self.min_nodes}, {self.max_nodes}"
            )
        if self.gpus < 1:
            raise ValueError(f"--gpus-per-node: must be >= 1, got {self.gpus}")

    @property
    def bundle(self) -> dict[str, float]:
        """The resources of one node: what ``request_resources`` asks for per node."""
        return {"GPU": float(self.gpus)}


def autoscaler_config(group: NodeGroup, gcs_address: str) -> dict:
    """The fake provider's cluster config (every command list empty: nodes are local raylets)."""
    return {
        "cluster_name": "adaptsched-emulated",
        "max_workers": group.max_nodes,
        "upscaling_speed": float(group.max_nodes),
        "idle_timeout_minutes": group.idle_timeout_s / 60.0,
        "provider": {
            "type": "fake_multinode",
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "gcs_address": gcs_address,
        },
        "auth": {"ssh_user": "ubuntu"},
        "head_node_type": HEAD_TYPE,
        "available_node_types": {
            HEAD_TYPE: {"resources": {}, "node_config": {}, "max_workers": 0},
            group.name: {
                "resources": {"CPU": 0, "GPU": group.gpus},
                "node_config": {},
                "min_workers": group.min_nodes,
                "max_workers": group.max_nodes,
            },
        },
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_head(group: NodeGroup, state_dir: Path, temp_dir: str, system_config: dict) -> str:
    """Start the head with the fake provider's autoscaler; returns the GCS address."""
    port = _free_port()
    address = f"127.0.0.1:{port}"
    config_path = state_dir / "autoscaler.json"
    config_path.write_text(json.dumps(autoscaler_config(group, address), indent=1))
    ray_cli = str(Path(sys.executable).with_name("ray"))
    argv = [
        ray_cli, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1",
        f"--autoscaling-config={config_path}", "--num-cpus=0", "--num-gpus=0",
        f"--temp-dir={temp_dir}", "--include-dashboard=false",
        f"--system-config={json.dumps(system_config, separators=(',', ':'))}",
    ]  # fmt: skip
    env = {**os.environ, "RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1"}
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"could not start the emulated autoscaling cluster: {tail}")
    return address


def stop(temp_dir: str, grace_s: float = 5.0) -> int:
    """Stop this cluster's processes (those whose command line names its temp directory)."""
    pids = _processes_naming(temp_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while pids and time.monotonic() < deadline:
            pids = [p for p in pids if Path(f"/proc/{p}").exists()]
            time.sleep(0.1)
    return len(pids)


def kill_node(ray_id: str) -> bool:
    """SIGKILL the raylet of worker node ``ray_id`` (its workers die with it)."""
    pids = [p for p in _processes_naming(f"--node_id={ray_id}") if _is_raylet(p)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return bool(pids)


def _is_raylet(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"raylet")
    except OSError:
        return False


def _processes_naming(text: str) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline:
            out.append(int(entry.name))
    return out
