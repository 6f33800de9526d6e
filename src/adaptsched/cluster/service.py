"""The runtime controller: the shared controller (``adaptsched.control``) on the Ray engine
with the wall clock, its state in SQLite, and the operations the API offers.

Three threads touch it, always under one lock: the round loop (every ``interval_s``), the
reactor (every ``tick_s``: collects exits and GPU-seconds from the engine so that a freed GPU is
handed on at once), and the API's requests. On start every job left holding GPUs by a previous
controller restarts from its checkpoint (its processes died with that controller's Ray).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adaptsched.cluster.autoscaling import AutoscalerBridge
from adaptsched.cluster.engine_setup import RayHandle, RaySetup, start_ray
from adaptsched.cluster.fake_cloud import NodeGroup
from adaptsched.cluster.nodes import NodeDirectory
from adaptsched.cluster.ray_engine import EngineSettings, RayEngine
from adaptsched.cluster.store import StateStore
from adaptsched.cluster.views import job_json, node_json
from adaptsched.control import (
    ClusterBounds,
    ControlHooks,
    Controller,
    GenerationEvent,
    HookList,
    JobRecord,
    JobSpec,
    JobTable,
    PolicyError,
    RoundLoop,
    RoundRecord,
    Transition,
    WallClock,
)
from adaptsched.models import get_metric
from adaptsched.models.hints import Hints
from adaptsched.policy.base import NodeInfo, Policy
from adaptsched.policy.registry import DEFAULT_POLICY, make_policy

log = logging.getLogger(__name__)


class RequestError(ValueError):
    """A request the controller refuses (bad input): HTTP 400 with this message."""


class NotFoundError(KeyError):
    """An unknown job: HTTP 404."""


@dataclass(frozen=True)
class RuntimeConfig:
    state_dir: Path
    address: str | None = None
    emulate_nodes: int | None = None
    gpus_per_node: int = 1
    interval_s: float = 60.0
    tick_s: float = 0.5
    policy: str = DEFAULT_POLICY
    policy_options: dict[str, Any] = field(default_factory=dict)
    stop_timeout_s: float = 60.0
    ready_timeout_s: float = 60.0
    restart_prior_s: float | None = None  # None: the policy's own (Pollux: 30 s)
    autoscale: NodeGroup | None = None  # autoscale this node group (emulated unless address)
    token: str = ""
    cluster_metric: str = "goodput"  # the autoscaler's utility band, job order and weights


class _SerialController(Controller):
    """Rounds take the service's lock, like every other caller."""

    lock: threading.RLock

    def run_round(self, now_s: float) -> RoundRecord:
        with self.lock:
            return super().run_round(now_s)


class _Persist(ControlHooks):
    """Writes every transition, round and the policy's carried state to the store."""

    def __init__(self, service: RuntimeService) -> None:
        self.service = service

    def on_transition(self, change: Transition) -> None:
        store = self.service.store
        store.add_transition(change)
        store.save_job(self.service.table[change.job_id], change.time_s)
        log.info(
            "job %s: %s -> %s%s",
            change.job_id,
            change.old.value,
            change.new.value,
            f" ({change.reason})" if change.reason else "",
        )

    def on_round(self, record: RoundRecord) -> None:
        service = self.service
        decision = record.decision
        service.store.add_round(
            record.time_s,
            record.policy_s,
            {
                "active_jobs": record.active_jobs,
                "gpus_in_use": record.gpus_in_use,
                "total_gpus": record.total_gpus,
                "desired_nodes": record.desired_nodes,
                "allocations": {
                    k: list(v) for k, v in (decision.allocations if decision else {}).items()
                },
                "info": dict(decision.info) if decision else {},
            },
        )
        service.save_active(record.time_s)
        service.store.put_meta("policy_state", service.policy.state_dict())
        service.last_round = record

    def on_generation(self, event: GenerationEvent) -> None:
        detail = ",".join(event.placement)
        if event.kind == "exit":
            detail += f" exit {event.exit_code}" + (f": {event.reason}" if event.reason else "")
        self.service.store.add_event(event.time_s, event.kind, event.job_id, detail)
        self.service.store.add_generation(event)

    def on_policy_error(self, error: PolicyError) -> None:
        log.error("policy error, allocations kept: %s", error.message)
        self.service.store.add_event(error.time_s, "policy-error", detail=error.message)


class RuntimeService:
    """Owns Ray, the engine, the controller, the store and the loop threads."""

    def __init__(self, config: RuntimeConfig, policy: Policy | None = None) -> None:
        """``policy``: an instance to use instead of ``config.policy`` (benchmarks, tests)."""
        self.config = config
        self.lock = threading.RLock()
        self.clock = WallClock()
        self.store = StateStore(config.state_dir / "state.db")
        self.table = JobTable()
        self.last_round: RoundRecord | None = None
        self.policy = policy or make_policy(config.policy, **config.policy_options)
        self.ray: RayHandle | None = None
        self.autoscaler: AutoscalerBridge | None = None
        self.engine: RayEngine | None = None
        self.controller: _SerialController | None = None
        self.loop: RoundLoop | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.hooks = HookList([_Persist(self)])

    def add_hook(self, hook: ControlHooks) -> None:
        """Tell ``hook`` of every round, transition and generation from now on (metrics)."""
        with self.lock:
            self.hooks.hooks.append(hook)

    # -- life ------------------------------------------------------------------------------
    def start(self, base_url: str) -> None:
        config = self.config
        setup = RaySetup(
            config.address,
            config.emulate_nodes,
            config.gpus_per_node,
            config.state_dir,
            config.autoscale,
        )
        self.ray = start_ray(setup)
        group = config.autoscale
        if group is not None:
            self.autoscaler = AutoscalerBridge(group.bundle, group.min_nodes, group.max_nodes)
        directory = NodeDirectory(self.store, self.ray.slot_resource, autoscaler=self.autoscaler)
        settings = EngineSettings(
            state_dir=config.state_dir,
            hints_url=lambda job_id: f"{base_url}/jobs/{job_id}/hints",
            token=config.token,
            threads_per_replica=self.ray.threads_per_replica,
            stop_timeout_s=config.stop_timeout_s,
            ready_timeout_s=config.ready_timeout_s,
            restart_prior_s=config.restart_prior_s,
        )
        self.engine = RayEngine(settings, directory)
        now = self.clock.now_s()
        nodes = self.engine.nodes(now)
        bounds = self._bounds(nodes)
        for record in self.store.load_jobs():
            self.table.restore(record)
        carried = self.store.get_meta("policy_state")
        if carried:
            self.policy.load_state_dict(carried)
        controller = _SerialController(
            self.policy, self.engine, self.table, bounds, [self.hooks], first_fit=True
        )
        controller.lock = self.lock
        self.controller = controller
        with self.lock:
            touched = controller.recover(now, "controller restarted")
            self.save_active(now)
        if touched:
            log.info("restarting from their checkpoints: %s", ", ".join(touched))
        self.store.add_event(now, "controller-start", detail=f"{len(nodes)} nodes")
        self.loop = RoundLoop(controller, self.clock, config.interval_s)
        self._spawn("rounds", self.loop.run)
        self._spawn("reactor", self._react)

    def _bounds(self, nodes: tuple[NodeInfo, ...]) -> ClusterBounds:
        group = self.config.autoscale
        metric = get_metric(self.config.cluster_metric)
        if group is None:
            per_node = max((n.gpus for n in nodes), default=1)
            return ClusterBounds(gpus_per_node=per_node, cluster_metric=metric)
        return ClusterBounds(
            gpus_per_node=group.gpus,
            autoscale=True,
            min_nodes=max(group.min_nodes, 1),
            max_nodes=group.max_nodes,
            cluster_metric=metric,
        )

    def _spawn(self, name: str, target: Callable[[], Any]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _react(self) -> None:
        while not self._stopping.wait(self.config.tick_s):
            self.tick()

    def tick(self) -> None:
        """Collect what the engine saw (exits, GPU-seconds, readiness) and react at once."""
        assert self.engine is not None and self.controller is not None
        with self.lock:
            now = self.clock.now_s()
            self.engine.nodes(now)  # node joins and leaves are recorded within a second
            events = self.engine.advance(now)
            if events:
                self.controller.handle(events, now)
                for job_id in {e.job_id for e in events}:
                    self.store.save_job(self.table[job_id], now)

    def stop(self, grace_s: float | None = None) -> None:
        """Stop accepting work, ask every job to checkpoint and exit (75), wait up to
        ``grace_s``, then shut Ray down; stopped jobs resume at the next start."""
        grace_s = self.config.stop_timeout_s if grace_s is None else grace_s
        self._stopping.set()
        if self.loop is not None:
            self.loop.stop()
        for thread in self._threads:
            thread.join(timeout=self.config.interval_s + 5.0)
        if self.engine is not None and self.controller is not None:
            self.engine.close()
            deadline = time.time() + grace_s
            while self.engine.busy() and time.time() < deadline:
                self.tick()
                time.sleep(0.2)
            self.engine.kill_all()
            if self.autoscaler is not None:
                self.autoscaler.clear()
            with self.lock:
                now = self.clock.now_s()
                self.controller.recover(now, "runtime stopped")
                self.save_active(now)
                self.store.add_event(now, "controller-stop")
        if self.ray is not None:
            self.ray.shutdown()
        self.store.close()

    # -- API operations ----------------------------------------------------------------------
    def save_active(self, now_s: float) -> None:
        for record in self.table:
            if record.active:
                self.store.save_job(record, now_s)

    def submit(self, request: dict[str, Any]) -> dict[str, Any]:
        """Validate a submission and add the job (placed at once if GPUs are free)."""
        if self._stopping.is_set():
            raise RequestError("the controller is shutting down")
        command = list(request.get("command") or [])
        if not command:
            raise RequestError("command: give the script to run")
        script = Path(command[0])
        cwd = Path(request.get("cwd") or ".")
        path = script if script.is_absolute() else cwd / script
        if not path.is_file():
            raise RequestError(f"script {str(path)!r}: no such file")
        try:
            metric = get_metric(str(request.get("metric") or "goodput"))
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        with self.lock:
            job_id = self._new_id(str(request.get("name") or script.stem))
            try:
                spec = JobSpec(
                    job_id=job_id,
                    submit_time_s=self.clock.now_s(),
                    name=str(request.get("name") or script.stem),
                    metric=metric,
                    min_replicas=int(request.get("min_replicas", 0)),
                    max_replicas=int(request.get("max_replicas", 64)),
                    max_failures=int(request.get("max_failures", 3)),
                    preemptible=bool(request.get("preemptible", True)),
                    command=(str(path.resolve()), *map(str, command[1:])),
                    extra={"cwd": str(cwd.resolve())},
                )
            except (TypeError, ValueError) as exc:
                raise RequestError(str(exc)) from None
            self._check_fits(spec)
            assert self.controller is not None
            now = self.clock.now_s()
            record = self.controller.submit(spec, now)
            self.store.save_job(record, now)
            self.store.add_event(now, "submit", job_id, " ".join(spec.command))
            return job_json(record, now)

    def _new_id(self, name: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "job"
        count = int(self.store.get_meta("job_counter", 0)) + 1
        self.store.put_meta("job_counter", count)
        return f"{slug}-{count}"

    def _check_fits(self, spec: JobSpec) -> None:
        assert self.engine is not None
        group = self.config.autoscale
        if group is not None:
            slots = group.max_nodes * group.gpus
        else:
            slots = sum(n.gpus for n in self.engine.nodes(self.clock.now_s()))
        if spec.min_replicas > slots:
            raise RequestError(
                f"job {spec.label}: needs at least {spec.min_replicas} replicas, "
                f"the cluster has {slots} slots"
            )

    def jobs(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock.now_s()
            return [job_json(r, now) for r in self.table]

    def record(self, job_id: str) -> JobRecord:
        if job_id not in self.table:
            raise NotFoundError(f"unknown job {job_id!r}")
        return self.table[job_id]

    def job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            record = self.record(job_id)
            out = job_json(record, self.clock.now_s())
            out["events"] = self.store.events(job_id)
            return out

    def cancel(self, job_id: str) -> dict[str, Any]:
        assert self.controller is not None
        with self.lock:
            record = self.record(job_id)
            now = self.clock.now_s()
            self.controller.cancel(job_id, now)
            self.store.save_job(record, now)
            return job_json(record, now)

    def put_hints(self, job_id: str, generation: int, data: Any) -> dict[str, Any]:
        """Validate and keep a job's hints; the first from a generation means it trains."""
        assert self.engine is not None and self.controller is not None
        with self.lock:
            self.record(job_id)  # an unknown job is 404 whatever the body
        try:
            hints = Hints.from_json(data)
        except ValueError as exc:
            raise RequestError(str(exc)) from None
        with self.lock:
            record = self.record(job_id)
            now = self.clock.now_s()
            record.hints, record.hints_time_s = hints, now
            self.store.add_hints(job_id, now, generation, hints)
            ready = self.engine.mark_ready(job_id, generation, now)
            if ready is not None:
                self.controller.handle([ready], now)
            self.store.save_job(record, now)
            return {"accepted": True, "state": record.state.value}

    def log_path(self, job_id: str, rank: int, generation: int | None) -> tuple[int, Path]:
        assert self.engine is not None
        with self.lock:
            record = self.record(job_id)
            gen = generation or record.generation
        if gen < 1:
            raise RequestError(f"job {job_id}: has not started yet")
        return gen, self.engine.log_path(job_id, gen, rank)

    def nodes(self) -> list[dict[str, Any]]:
        """Every node that was ever part of the cluster, with its lifetime and node-hours."""
        assert self.engine is not None
        with self.lock:
            now = self.clock.now_s()
            alive = {n.node_id for n in self.engine.nodes(now)}
            used: dict[str, int] = {}
            for record in self.table:
                for node in record.held:
                    used[node] = used.get(node, 0) + 1
            ray_times = self.engine.directory.ray_lifetimes()
            return [
                node_json(
                    n,
                    used.get(n["node_id"], 0) if n["left_s"] is None else 0,
                    n["left_s"] is None and n["node_id"] in alive,
                    ray_times.get(n["ray_id"]),
                    now,
                )
                for n in self.store.nodes()
            ]

    def remove_node(self, name: str) -> dict[str, Any]:
        """Remove an emulated node abruptly (simulates losing a machine)."""
        assert self.engine is not None and self.ray is not None
        with self.lock:
            try:
                ray_id = self.engine.directory.ray_id(name)
            except ValueError as exc:
                raise NotFoundError(str(exc)) from None
            try:
                self.ray.remove_node(ray_id)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            self.store.add_event(self.clock.now_s(), "node-removed", detail=name)
            return {"removed": name}

    def cluster(self) -> dict[str, Any]:
        with self.lock:
            nodes = self.nodes()
            states: dict[str, int] = {}
            for record in self.table:
                states[record.state.value] = states.get(record.state.value, 0) + 1
            node_s = sum(n["node_seconds"] for n in nodes)
            nodes = [n for n in nodes if n["alive"]]
            last = self.last_round
            scaling = self.autoscaler.status if self.autoscaler is not None else None
            group = self.config.autoscale
            return {
                "autoscale": None
                if group is None
                else {
                    "min_nodes": group.min_nodes,
                    "max_nodes": group.max_nodes,
                    "node_type": group.name,
                    "desired_nodes": scaling.desired if scaling else None,
                    "reason": scaling.reason if scaling else "",
                },
                "nodes": len(nodes),
                "slots": sum(n["slots"] for n in nodes),
                "slots_in_use": sum(n["used"] for n in nodes),
                "jobs": states,
                "policy": self.policy.name,
                "interval_s": self.config.interval_s,
                "node_seconds": round(node_s, 3),
                "node_hours": round(node_s / 3600.0, 6),
                "rounds": self.controller.rounds if self.controller else 0,
                "last_round": None
                if last is None
                else {
                    "time_s": last.time_s,
                    "policy_s": last.policy_s,
                    "utility": (last.decision.info.get("utility") if last.decision else None),
                    "desired_nodes": last.desired_nodes,
                },
            }
