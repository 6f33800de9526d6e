"""The controller: one round of scheduling, and the reaction to what the engine reports.

A round: bring the engine up to now (events change job states), build the snapshot, ask the
policy, plan, apply (state changes, then ``reconcile``), ask for the node count, tell the
hooks. ``reconcile`` moves processes towards the placements: it stops every generation whose
placement changed (once), and launches a job whose placement's GPUs are free of other jobs'
processes, so a job keeps its old GPUs until its processes have exited (AdaptDL's controller
reconciles the same way, which lets a missed event heal itself at the next call). The
controller is single-threaded; the runtime calls it under one lock.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence

from adaptsched.control.engine import Engine, EngineEvent, Exited, Ready, Usage
from adaptsched.control.hooks import (
    ControlHooks,
    GenerationEvent,
    HookList,
    PolicyError,
    RoundRecord,
)
from adaptsched.control.jobs import JobRecord, JobSpec, JobTable
from adaptsched.control.lifecycle import EXIT_PREEMPTED, FailurePolicy, JobEvent, JobState
from adaptsched.control.plan import Plan, Resize, Start, Stop, plan, same_gpus
from adaptsched.control.snapshot import ClusterBounds, build_snapshot
from adaptsched.policy.base import ClusterSnapshot, Decision, NodeInfo, Placement, Policy


class Controller:
    """Drives ``engine`` with ``policy`` over the jobs of ``table``."""

    def __init__(
        self,
        policy: Policy,
        engine: Engine,
        table: JobTable,
        bounds: ClusterBounds,
        hooks: Sequence[ControlHooks] = (),
        first_fit: bool = False,
    ) -> None:
        """``first_fit``: a new job gets GPUs at submission if some are free (the runtime);
        the simulator, like Pollux's, waits for the next round."""
        self.policy, self.engine, self.table, self.bounds = policy, engine, table, bounds
        self.hooks = HookList(hooks)
        self.table.listener = self.hooks.on_transition
        self.first_fit = first_fit
        self.rounds = 0

    # -- a round ---------------------------------------------------------------------------
    def run_round(self, now_s: float) -> RoundRecord:
        self.handle(self.engine.advance(now_s), now_s)
        live, nodes = self._decidable(now_s)
        views = {r.job_id: self.engine.view(r) for r in live}
        restart_s = self.engine.restart_cost_s()
        snapshot = build_snapshot(now_s, live, views, nodes, self.bounds, restart_s)
        decision, policy_s, actions = self._decide(snapshot, live, nodes)
        self._apply(actions, now_s)
        desired = self._request_nodes(actions.desired_nodes if live else None, now_s)
        finished, total = self.table.counts()
        record = RoundRecord(
            index=self.rounds,
            time_s=now_s,
            active_jobs=len(live),
            gpus_in_use=sum(len(p) for p in decision.allocations.values()),
            total_gpus=snapshot.total_gpus,
            policy_s=policy_s,
            jobs_finished=finished,
            jobs_total=total,
            snapshot=snapshot,
            decision=decision,
            desired_nodes=desired,
        )
        self.rounds += 1
        self.hooks.on_round(record)
        return record

    def _decidable(self, now_s: float) -> tuple[list[JobRecord], tuple[NodeInfo, ...]]:
        """The jobs the policy decides for and the capacity it may use: a non-preemptible job
        that has GPUs keeps them, out of the policy's sight (its GPUs are taken off its
        nodes)."""
        live = self.table.schedulable(now_s)
        pinned = [r for r in live if not r.spec.preemptible and r.placement]
        nodes = self.engine.nodes(now_s)
        if not pinned:
            return live, nodes
        taken = Counter(n for r in pinned for n in r.placement)
        free = tuple(NodeInfo(n.node_id, max(n.gpus - taken[n.node_id], 0), n.ready) for n in nodes)
        return [r for r in live if r not in pinned], free

    def _decide(
        self, snapshot: ClusterSnapshot, live: list[JobRecord], nodes: Sequence[NodeInfo]
    ) -> tuple[Decision, float | None, Plan]:
        """The policy's decision and its plan; on any error in either, the current
        allocations are kept and the hooks are told."""
        if not live:
            return Decision(allocations={}), None, Plan((), None)
        start = time.perf_counter()
        try:
            decision = self.policy.decide(snapshot)
            policy_s = time.perf_counter() - start
            return decision, policy_s, plan(decision, live, nodes)
        except Exception as exc:  # a policy bug must not take the controller down
            self.hooks.on_policy_error(PolicyError(snapshot.time_s, exc))
            keep = Decision(allocations={r.job_id: r.placement for r in live})
            return keep, time.perf_counter() - start, Plan((), None)

    def _apply(self, actions: Plan, now_s: float) -> None:
        for action in actions.actions:
            record = self.table[action.job_id]
            if isinstance(action, Stop):
                record.placement = ()
                self.table.fire(record.job_id, JobEvent.DEALLOCATE, now_s)
            else:
                new = action.new if isinstance(action, Resize) else action.placement
                record.placement = new
                pending = record.state is JobState.PENDING
                event = JobEvent.ALLOCATE if pending else JobEvent.REALLOCATE
                self.table.fire(record.job_id, event, now_s)
        self.reconcile(now_s)

    def _request_nodes(self, desired: int | None, now_s: float) -> int | None:
        """With no job to schedule the policy is not asked: an idle cluster shrinks to its
        floor. A node that runs or will run a replica is never given back."""
        if not self.bounds.autoscale:
            return None
        if desired is None and not self.table.schedulable(now_s):
            desired = self.bounds.min_nodes
        if desired is not None:
            busy = {n for r in self.table if r.active for n in (*r.placement, *r.held)}
            self.engine.request_nodes(desired, busy, now_s)
        return desired

    # -- outside the round: submissions, cancels, engine events ---------------------------
    def submit(self, spec: JobSpec, now_s: float) -> JobRecord:
        record = self.table.add(spec)
        if self.first_fit and spec.submit_time_s <= now_s:
            self.place_first_fit(record, now_s)
        return record

    def place_first_fit(self, record: JobRecord, now_s: float) -> bool:
        """Give a pending job ``max(min_replicas, 1)`` GPUs on the first ready node that has
        them free (free of every job's processes and placements); whether it did."""
        if record.state is not JobState.PENDING or record.cancel_requested:
            return False
        want = max(record.spec.fixed_replicas or record.spec.min_replicas, 1)
        taken = self._occupied()
        for node in self.engine.nodes(now_s):
            if node.ready and node.gpus - taken[node.node_id] >= want:
                self._apply(Plan((Start(record.job_id, (node.node_id,) * want),), None), now_s)
                return True
        return False

    def cancel(self, job_id: str, now_s: float, reason: str = "cancelled by the user") -> None:
        """Cancel a live job: at once if it has no process, else once they have exited."""
        record = self.table[job_id]
        if not record.active:
            return
        record.cancel_requested = True
        record.reason = reason
        record.placement = ()
        if record.held:
            if record.state is not JobState.STOPPING:
                self.table.fire(job_id, JobEvent.DEALLOCATE, now_s, reason)
            self.reconcile(now_s)
        else:
            self.table.fire(job_id, JobEvent.CANCEL, now_s, reason)

    def recover(self, now_s: float, reason: str) -> list[str]:
        """After the engine lost every process (a controller restarted on a new engine): jobs
        that held GPUs go back to pending without spending their failure budget, and restart
        from their checkpoints; jobs being cancelled end. Returns the ids it touched."""
        touched = []
        for record in self.table:
            if not record.active or (record.state is JobState.PENDING and not record.placement):
                continue
            touched.append(record.job_id)
            record.held, record.placement, record.stop_sent, record.launched_s = (), (), False, None
            if record.cancel_requested:
                self.table.fire(record.job_id, JobEvent.CANCEL, now_s, record.reason)
            elif record.state is not JobState.PENDING:
                record.interruptions += 1
                self.table.fire(record.job_id, JobEvent.RETRY, now_s, f"interrupted ({reason})")
        return touched

    def handle(self, events: Iterable[EngineEvent], now_s: float) -> None:
        """Apply engine events, then reconcile."""
        self._apply_events(events, now_s)
        self.reconcile(now_s)

    def _apply_events(self, events: Iterable[EngineEvent], now_s: float) -> None:
        for event in events:
            if event.job_id not in self.table:
                continue
            record = self.table[event.job_id]
            if isinstance(event, Usage):
                record.attained_gpu_s += event.gpu_s
            elif isinstance(event, Ready):
                if event.generation == record.generation and record.state in (
                    JobState.STARTING,
                    JobState.RESIZING,
                ):
                    self.table.fire(record.job_id, JobEvent.READY, now_s)
            elif event.generation == record.generation and record.held:
                self._on_exit(record, event)

    def _on_exit(self, record: JobRecord, event: Exited) -> None:
        self.hooks.on_generation(
            GenerationEvent(
                record.job_id,
                record.generation,
                "exit",
                record.held,
                event.time_s,
                event.exit_code,
                event.reason,
            )
        )
        requested = record.stop_sent
        record.held, record.stop_sent, record.launched_s = (), False, None
        job_id, time_s = record.job_id, event.time_s
        if event.exit_code == 0:
            record.placement = ()
            self.table.fire(job_id, JobEvent.COMPLETE, time_s)
        elif requested:  # the stop we asked for: a resize goes on in reconcile
            if record.state is JobState.STOPPING:
                done = JobEvent.CANCEL if record.cancel_requested else JobEvent.STOPPED
                self.table.fire(job_id, done, time_s, record.reason)
        else:
            record.placement = ()
            # Exit 75 unasked: stopped from outside after a checkpoint (a node shutting down).
            interrupted = event.interrupted or event.exit_code == EXIT_PREEMPTED
            if interrupted:
                record.interruptions += 1
            else:
                record.failures += 1
            what = event.reason or f"exit code {event.exit_code}"
            if record.cancel_requested:
                self.table.fire(job_id, JobEvent.CANCEL, time_s, record.reason)
            elif interrupted:
                self.table.fire(job_id, JobEvent.RETRY, time_s, f"interrupted ({what})")
            elif FailurePolicy(record.spec.max_failures).retry(record.failures):
                budget = f"{record.failures}/{record.spec.max_failures}"
                self.table.fire(job_id, JobEvent.RETRY, time_s, f"crashed ({what}), retry {budget}")
            else:
                self.table.fire(job_id, JobEvent.FAIL, time_s, f"crashed ({what})")

    # -- processes towards placements -------------------------------------------------------
    def reconcile(self, now_s: float) -> None:
        """Stop generations whose placement changed, settle jobs with nothing left to stop,
        launch jobs whose GPUs are free."""
        events: list[EngineEvent] = []
        for record in self.table:
            if (
                record.held
                and not record.stop_sent
                and not same_gpus(record.held, record.placement)
            ):
                record.stop_sent = True
                events.extend(self.engine.stop(record, now_s))
        self._apply_events(events, now_s)
        for record in self.table:
            if record.state is JobState.STOPPING and not record.held:
                done = JobEvent.CANCEL if record.cancel_requested else JobEvent.STOPPED
                self.table.fire(record.job_id, done, now_s, record.reason)
        self._launch_ready(now_s)

    def _launch_ready(self, now_s: float) -> None:
        ready = {n.node_id: n.gpus for n in self.engine.nodes(now_s) if n.ready}
        used: Counter[str] = Counter(n for r in self.table for n in r.held)
        events: list[EngineEvent] = []
        for record in self.table:
            if not record.active or record.held or not record.placement:
                continue
            want = Counter(record.placement)
            if any(used[n] + c > ready.get(n, 0) for n, c in want.items()):
                continue  # its GPUs are still held by another job's processes
            used.update(want)
            record.generation += 1
            record.held, record.stop_sent, record.launched_s = record.placement, False, now_s
            if record.started_s is None:
                record.started_s = now_s
            self.hooks.on_generation(
                GenerationEvent(record.job_id, record.generation, "launch", record.held, now_s)
            )
            events.extend(self.engine.launch(record, record.placement, now_s))
        self._apply_events(events, now_s)

    def _occupied(self) -> Counter[str]:
        """GPUs per node that some job's processes or placement claim."""
        taken: Counter[str] = Counter()
        for record in self.table:
            if record.active:
                taken.update(_union(record.held, record.placement))
        return taken


def _union(a: Placement, b: Placement) -> Counter[str]:
    """Per node, the larger of two placements' GPU counts."""
    ca, cb = Counter(a), Counter(b)
    return Counter({n: max(ca[n], cb[n]) for n in set(ca) | set(cb)})
