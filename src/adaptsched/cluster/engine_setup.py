"""Which Ray the runtime drives: an embedded local instance (the default: this machine as one
node), an emulated multi-node cluster on this machine (``ray.cluster_utils.Cluster``, for
trying adaptsched out and for tests), an emulated autoscaling cluster (Ray's fake multi-node
provider, ``fake_cloud``), or an existing cluster joined by address (KubeRay)."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptsched.cluster import fake_cloud
from adaptsched.cluster.fake_cloud import NodeGroup

log = logging.getLogger(__name__)

#: The embedded and emulated clusters live on loopback only.
LOOPBACK = "127.0.0.1"

#: Node death noticed in ~1.5 s instead of Ray's default ~15 s (measured here).
FAST_HEALTH_CHECK = {
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}


@dataclass(frozen=True)
class RaySetup:
    address: str | None = None  # join this cluster; None: start one here
    emulate_nodes: int | None = None  # start this many emulated nodes
    gpus_per_node: int = 1  # of each emulated node (logical GPUs)
    state_dir: Path = Path(".")
    autoscale: NodeGroup | None = None  # autoscaled node group (emulated unless ``address``)


@dataclass
class RayHandle:
    """What was started (to shut it down again) and how slots are counted."""

    slot_resource: str  # "GPU", or "CPU" on a machine without GPUs
    threads_per_replica: int | None
    cluster: Any = None  # ray.cluster_utils.Cluster when emulating
    fake_cloud_dir: str | None = None  # temp dir of an emulated autoscaling cluster

    def remove_node(self, ray_id: str) -> None:
        """Take an emulated node away abruptly, as a machine that dies would go (its raylet
        killed; every replica on it dies with it). Real clusters' nodes are not ours to kill."""
        if self.cluster is not None:
            for node in self.cluster.list_all_nodes():
                if node.unique_id == ray_id:
                    if node is self.cluster.head_node:
                        raise ValueError("the head node of an emulated cluster cannot be removed")
                    self.cluster.remove_node(node, allow_graceful=False)
                    return
            raise ValueError(f"no emulated node {ray_id}")
        if self.fake_cloud_dir is not None:
            if not fake_cloud.kill_node(ray_id):
                raise ValueError(f"no emulated node {ray_id}")
            return
        raise ValueError("only the nodes of an emulated cluster can be removed")

    def shutdown(self) -> None:
        import ray

        ray.shutdown()
        if self.cluster is not None:
            self.cluster.shutdown()
        if self.fake_cloud_dir is not None:
            fake_cloud.stop(self.fake_cloud_dir)


def quiet_ray_environment() -> None:
    """Loopback only, no token prompt for a cluster this process owns (DESIGN.md: a driver
    can hang connecting to the GCS otherwise). Ray reads some of these when it is imported:
    call this first."""
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray starts workers at nice 15 (its daemons first); here the workers are the training
    # replicas, which must run at the priority torchrun would give them.
    os.environ.setdefault("RAY_worker_niceness", "0")


def ray_temp_dir(state_dir: Path) -> str:
    """A short per-state-directory temp dir (Ray's socket paths must stay under 108 bytes)."""
    digest = hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:10]
    return os.path.join(tempfile.gettempdir(), f"adaptsched-{os.getuid()}-{digest}")


def start_ray(setup: RaySetup) -> RayHandle:
    import ray

    if setup.address is not None:
        _check_reachable(setup.address)
        try:
            ray.init(address=setup.address, log_to_driver=False, logging_level=logging.WARNING)
        except Exception as exc:  # ConnectionError, timeouts, bad addresses
            raise ConnectionError(
                f"cannot join the Ray cluster at {setup.address!r}: {exc}"
            ) from None
        gpus = int(ray.cluster_resources().get("GPU", 0))
        return RayHandle("GPU" if gpus > 0 else "CPU", None)
    quiet_ray_environment()
    common: dict[str, Any] = {"include_dashboard": False, "_system_config": FAST_HEALTH_CHECK}
    temp_dir = ray_temp_dir(setup.state_dir)
    cores = os.cpu_count() or 1
    if setup.autoscale is not None:
        return _start_fake_cloud(setup.autoscale, setup.state_dir, temp_dir, cores)
    if setup.emulate_nodes is not None:
        return _start_emulated(setup, {**common, "temp_dir": temp_dir}, cores)
    gpus = _local_gpus()
    ray.init(
        num_cpus=cores,
        num_gpus=gpus,
        log_to_driver=False,
        logging_level=logging.WARNING,
        _temp_dir=temp_dir,
        _node_ip_address=LOOPBACK,
        **common,
    )
    if gpus > 0:
        return RayHandle("GPU", max(cores // gpus, 1))
    return RayHandle("CPU", 1)


#: Seconds to wait for a TCP connection to a cluster's GCS before calling it unreachable.
CONNECT_TIMEOUT_S = 5.0


def _check_reachable(address: str) -> None:
    """Fail at once when nothing answers at a cluster's address: ``ray.init`` would retry
    connecting to an absent GCS for minutes. Ray Client addresses (ray://) are left to Ray."""
    import socket

    from ray._private.services import canonicalize_bootstrap_address

    if address.startswith("ray://"):
        return
    try:
        bootstrap = canonicalize_bootstrap_address(address)
    except Exception as exc:  # malformed address, no running cluster for "auto"
        raise ConnectionError(f"cannot join the Ray cluster at {address!r}: {exc}") from None
    if bootstrap is None:
        raise ConnectionError(f"cannot join the Ray cluster at {address!r}: no cluster found")
    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError) as exc:
        raise ConnectionError(
            f"cannot join the Ray cluster at {address!r}: nothing answers at {bootstrap} "
            f"({exc.strerror or exc})"
        ) from None


def _start_emulated(setup: RaySetup, common: dict[str, Any], cores: int) -> RayHandle:
    import ray
    from ray._common.utils import get_default_ray_temp_dir
    from ray.cluster_utils import Cluster

    from adaptsched.cluster.nodes import NAME_LABEL

    count = setup.emulate_nodes or 0
    if count < 1 or setup.gpus_per_node < 1:
        raise ValueError("--emulate-nodes and --gpus-per-node must be >= 1")

    # The head is the first emulated node (one raylet fewer to start than a bare head).
    def node(index: int) -> dict[str, Any]:
        labels = {NAME_LABEL: f"node-{index}"}
        return {"num_cpus": 0, "num_gpus": setup.gpus_per_node, "labels": labels}

    head = {**node(0), "node_ip_address": LOOPBACK, **common}
    # Cluster records the head's address in Ray's default temp dir whatever temp dir the
    # nodes use, and fails on a fresh machine where that folder does not exist yet.
    os.makedirs(get_default_ray_temp_dir(), exist_ok=True)
    cluster = Cluster(initialize_head=True, head_node_args=head)
    for index in range(1, count):
        cluster.add_node(node_ip_address=LOOPBACK, **node(index))
    ray.init(
        address=cluster.address,
        log_to_driver=False,
        logging_level=logging.WARNING,
        _node_ip_address=LOOPBACK,
    )
    threads = max(cores // (count * setup.gpus_per_node), 1)
    return RayHandle("GPU", threads, cluster)


def _start_fake_cloud(group: NodeGroup, state_dir: Path, temp_dir: str, cores: int) -> RayHandle:
    import ray

    address = fake_cloud.start_head(group, state_dir, temp_dir, FAST_HEALTH_CHECK)
    handle = RayHandle("GPU", max(cores // (group.max_nodes * group.gpus), 1), None, temp_dir)
    try:
        ray.init(
            address=address,
            log_to_driver=False,
            logging_level=logging.WARNING,
            _node_ip_address=LOOPBACK,
        )
    except Exception:
        fake_cloud.stop(temp_dir)
        raise
    return handle


def _local_gpus() -> int:
    """NVIDIA GPUs visible here (without importing torch: ``nvidia-smi -L``)."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in out.stdout.splitlines())
