"""The runtime engine: Ray. Each replica is a Ray actor pinned to the node the policy chose
(node affinity, not soft: the placement is obeyed exactly) that runs the user's script as a
child process; the replicas of a generation form one ``torch.distributed`` group through the
torchrun variables, with a fresh rendezvous port per generation.

Launching takes seconds (actor start, rendezvous port), so it happens on a thread of its own;
``advance`` collects what finished. A generation has exited when every replica has: its exit
status is 0 if all finished, else the first non-zero status (75 = stopped after a
checkpoint). When one replica crashes the others are stopped, so that none waits forever in a
collective; replicas that ignore SIGTERM are killed after ``stop_timeout_s``.
"""

from __future__ import annotations

import logging
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from adaptsched.cluster.launch_env import JobEnv, replica_envs
from adaptsched.cluster.nodes import NodeDirectory
from adaptsched.cluster.replica import ReplicaProcess
from adaptsched.control import (
    EXIT_PREEMPTED,
    EngineEvent,
    Exited,
    JobRecord,
    JobView,
    Ready,
    Usage,
    view_from_hints,
)
from adaptsched.policy.base import NodeInfo, Placement

log = logging.getLogger(__name__)

#: Actor methods: run() blocks for the child's life, terminate()/kill() must still get through.
ACTOR_CONCURRENCY = 4
#: Recent restarts whose median is the restart cost the policy sees.
RESTART_SAMPLES = 20


@dataclass
class EngineSettings:
    """How the engine launches and stops replicas."""

    state_dir: Path
    hints_url: Callable[[str], str]  # job id -> URL its rank 0 PUTs hints to
    token: str = ""
    python: str = sys.executable
    threads_per_replica: int | None = None
    stop_timeout_s: float = 60.0  # SIGTERM, then SIGKILL after this long
    launch_timeout_s: float = 120.0  # actors must be up by then
    ready_timeout_s: float = 60.0  # a job that never reports hints counts as running after this
    restart_prior_s: float | None = None  # a restart's cost before any is measured


@dataclass
class _Generation:
    """The processes of one generation of one job."""

    job_id: str
    generation: int
    placement: Placement
    launched_s: float
    accounted_s: float
    actors: list[Any] = field(default_factory=list)
    refs: list[Any] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)  # rank -> exit status
    first_bad: tuple[int, int, str] | None = None  # (rank, status, why) of the first failure
    started: bool = False
    stop_requested: bool = False
    kill_at_s: float | None = None
    ready_sent: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class RayEngine:
    """Implements ``adaptsched.control.Engine`` with Ray actors (the driver must be connected)."""

    def __init__(self, settings: EngineSettings, nodes: NodeDirectory) -> None:
        self.settings = settings
        self.directory = nodes
        self._actor_class = ray.remote(ReplicaProcess)
        self._generations: dict[str, _Generation] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._restarts_s: deque[float] = deque(maxlen=RESTART_SAMPLES)

    # -- Engine protocol -------------------------------------------------------------------
    def nodes(self, now_s: float) -> tuple[NodeInfo, ...]:
        return self.directory.infos(now_s)

    def view(self, record: JobRecord) -> JobView:
        return view_from_hints(record.hints)

    def launch(self, record: JobRecord, placement: Placement, now_s: float) -> list[EngineEvent]:
        if self._closing:
            why = "the runtime is stopping"
            return [Exited(record.job_id, record.generation, EXIT_PREEMPTED, now_s, why, True)]
        gen = _Generation(record.job_id, record.generation, placement, now_s, now_s)
        with self._lock:
            self._generations[record.job_id] = gen
        env = self._job_env(record)
        thread = threading.Thread(
            target=self._start, args=(gen, record, env), name=f"launch-{record.job_id}", daemon=True
        )
        thread.start()
        return []

    def stop(self, record: JobRecord, now_s: float) -> list[EngineEvent]:
        gen = self._generations.get(record.job_id)
        if gen is None or gen.generation != record.generation:
            return [Exited(record.job_id, record.generation, EXIT_PREEMPTED, now_s, "not running")]
        with gen.lock:
            gen.stop_requested = True
            gen.kill_at_s = now_s + self.settings.stop_timeout_s
            actors = list(gen.actors)
        for actor in actors:
            actor.terminate.remote()
        return []

    def request_nodes(self, desired: int, busy: set[str], now_s: float) -> None:
        self.directory.request(desired, busy, now_s)

    def restart_cost_s(self) -> float | None:
        """Median seconds from launching a generation to its first report (actors, Python and
        torch start, data load, checkpoint load); the prior until one was measured."""
        if not self._restarts_s:
            return self.settings.restart_prior_s
        return float(statistics.median(self._restarts_s))

    def advance(self, now_s: float) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        with self._lock:
            generations = list(self._generations.values())
        for gen in generations:
            events.extend(self._check(gen, now_s))
        return events

    # -- readiness -------------------------------------------------------------------------
    def mark_ready(self, job_id: str, generation: int, now_s: float) -> Ready | None:
        """The job's rank 0 reported from ``generation``: it trains."""
        gen = self._generations.get(job_id)
        if gen is None or gen.generation != generation or gen.ready_sent:
            return None
        gen.ready_sent = True
        self._restarts_s.append(now_s - gen.launched_s)
        return Ready(job_id, generation)

    # -- internals -------------------------------------------------------------------------
    def job_dir(self, job_id: str) -> Path:
        return self.settings.state_dir / "jobs" / job_id

    def log_path(self, job_id: str, generation: int, rank: int) -> Path:
        return self.job_dir(job_id) / "logs" / f"gen-{generation:03d}" / f"rank-{rank}.log"

    def _job_env(self, record: JobRecord) -> JobEnv:
        job_dir = self.job_dir(record.job_id)
        return JobEnv(
            job_id=record.job_id,
            generation=record.generation,
            job_dir=str(job_dir),
            checkpoint_dir=str(job_dir / "checkpoints"),
            metric=record.spec.metric.name,
            hints_url=self.settings.hints_url(record.job_id),
            token=self.settings.token,
            threads=self.settings.threads_per_replica,
        )

    def _actor(self, node_name: str) -> Any:
        ray_id, slot = self.directory.ray_id(node_name), self.directory.slot_resource
        options: dict[str, Any] = {
            "scheduling_strategy": NodeAffinitySchedulingStrategy(ray_id, soft=False),
            "max_concurrency": ACTOR_CONCURRENCY,
            "num_cpus": 1 if slot == "CPU" else 0,
            "num_gpus": 1 if slot == "GPU" else 0,
        }
        return self._actor_class.options(**options).remote()

    def _start(self, gen: _Generation, record: JobRecord, env: JobEnv) -> None:
        """Create the actors, find a rendezvous port on rank 0's node, start every rank."""
        try:
            actors = [self._actor(node) for node in gen.placement]
            with gen.lock:
                gen.actors = actors
            addr, port = ray.get(
                [actors[0].node_ip.remote(), actors[0].free_port.remote()],
                timeout=self.settings.launch_timeout_s,
            )
            argv = [self.settings.python, *record.spec.command]
            cwd = str(record.spec.extra.get("cwd") or Path.cwd())
            envs = replica_envs(gen.placement, addr, int(port), env)
            with gen.lock:
                if gen.stop_requested:
                    gen.first_bad = gen.first_bad or (0, EXIT_PREEMPTED, "stopped before start")
                    return
                gen.refs = [
                    actor.run.remote(
                        argv, envs[rank], cwd, str(self.log_path(gen.job_id, gen.generation, rank))
                    )
                    for rank, actor in enumerate(actors)
                ]
                gen.started = True
        except Exception as exc:  # actor creation, node gone, timeout
            log.warning("job %s generation %d: launch failed: %s", gen.job_id, gen.generation, exc)
            with gen.lock:
                gen.first_bad = gen.first_bad or (0, 1, f"launch failed: {exc}")

    def _check(self, gen: _Generation, now_s: float) -> list[EngineEvent]:
        events: list[EngineEvent] = []
        with gen.lock:
            refs, started = list(gen.refs), gen.started
        if started:
            self._collect(gen, refs)
            used = now_s - gen.accounted_s
            if used > 0:
                events.append(Usage(gen.job_id, used * len(gen.placement)))
                gen.accounted_s = now_s
            ready_after = gen.launched_s + self.settings.ready_timeout_s
            if not gen.ready_sent and not gen.codes and now_s >= ready_after:
                gen.ready_sent = True
                events.append(Ready(gen.job_id, gen.generation))
        if gen.first_bad is not None and not gen.stop_requested:
            gen.stop_requested = True  # a crashed rank: stop its peers
            gen.kill_at_s = now_s + self.settings.stop_timeout_s
            for actor in gen.actors:
                actor.terminate.remote()
        if gen.kill_at_s is not None and now_s >= gen.kill_at_s:
            for actor in gen.actors:
                actor.kill.remote()
            gen.kill_at_s = now_s + self.settings.stop_timeout_s
        done = (started and len(gen.codes) == len(gen.placement)) or (
            not started and gen.first_bad is not None
        )
        if done:
            events.append(self._finish(gen, now_s))
        return events

    def _collect(self, gen: _Generation, refs: list[Any]) -> None:
        pending = [r for i, r in enumerate(refs) if i not in gen.codes]
        if not pending:
            return
        ready, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
        for ref in ready:
            rank = refs.index(ref)
            try:
                status, why = int(ray.get(ref)), ""
            except ray.exceptions.RayActorError as exc:
                status, why = 137, self.directory.why_actor_died(gen.placement[rank], exc)
            gen.codes[rank] = status
            if status != 0 and gen.first_bad is None:
                gen.first_bad = (rank, status, why)

    def _finish(self, gen: _Generation, now_s: float) -> Exited:
        for actor in gen.actors:
            ray.kill(actor)
        with self._lock:
            if self._generations.get(gen.job_id) is gen:
                del self._generations[gen.job_id]
        if gen.first_bad is None:
            return Exited(gen.job_id, gen.generation, 0, now_s)
        rank, status, why = gen.first_bad
        lost = self.directory.lost_any(gen.placement)
        if not why:
            tail = last_lines(self.log_path(gen.job_id, gen.generation, rank), 1)
            why = f"rank {rank} exit code {status}" + (f": {tail[-1]}" if tail else "")
        return Exited(gen.job_id, gen.generation, status, now_s, why, interrupted=lost)

    def close(self) -> None:
        """The runtime stops: ask every generation to checkpoint and exit; launch no more."""
        self._closing = True
        now = time.time()
        for gen in list(self._generations.values()):
            with gen.lock:
                gen.stop_requested = True
                gen.kill_at_s = now + self.settings.stop_timeout_s
                actors = list(gen.actors)
            for actor in actors:
                actor.terminate.remote()

    def busy(self) -> bool:
        """Whether some generation has not exited yet."""
        return bool(self._generations)

    def kill_all(self) -> None:
        for gen in list(self._generations.values()):
            for actor in gen.actors:
                ray.kill(actor)
        self._generations.clear()


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` non-empty lines of a log file ([] if it does not exist)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(size - 8192, 0))
            text = handle.read().decode(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-count:]
