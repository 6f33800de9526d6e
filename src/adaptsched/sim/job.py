"""One simulated training job's physics: where its processes run, how far it got, what it has
measured. Its lifecycle (state, generation, attained service) is the controller's job record;
this object only reports events (ready, exited, GPU-seconds used) as a real job's processes
would.

Progress is counted in iterations at the initial batch M0: one iteration at total batch M
advances it by M/M0 x E(M) with E the statistical efficiency (Pollux, section 3.1); the job
ends after its application's last epoch.
"""

from __future__ import annotations

from adaptsched.control import EXIT_PREEMPTED, EngineEvent, Exited, Ready, Usage
from adaptsched.models import GOODPUT, GradStats, JobModel, Metric
from adaptsched.models.hints import PRIOR_GRAD, PRIOR_PARAMS, REFIT_INTERVAL_S
from adaptsched.policy.batching import split_batch
from adaptsched.sim.belief import FitCache, ObsKey
from adaptsched.sim.truth import ProfileTruth, progress_gain
from adaptsched.sim.workload import JobSpec


class SimJob:
    """Mutable state of one job inside the simulated cluster (never handed to a policy)."""

    def __init__(
        self,
        spec: JobSpec,
        truth: ProfileTruth,
        adaptive: bool,
        fits: FitCache,
        metric: Metric = GOODPUT,
    ) -> None:
        self.spec = spec
        self.metric = metric  # what the job maximises when it picks its batch size
        self.truth = truth
        self.app = truth.spec
        self.limits = self.app.limits()
        self.fits = fits
        self.fixed_batch = self.app.fixed_batch or (None if adaptive else spec.batch_size)
        self.fixed_replicas = None if adaptive else spec.num_replicas
        self.generation = 0  # of the processes running now
        self.running = False  # past its restart delay
        self.node_ids: tuple[str, ...] = ()
        self.counts: tuple[int, ...] = ()
        self.local_bsz = 0
        self.accum_steps = 0
        self.progress = 0.0  # iterations at M0
        self.batch_progress = 0.0  # sum of total batch x progress made at it
        self.epoch = 0  # 0-based epoch in progress
        self.delay_left_s = 0.0
        self.completion_time_s: float | None = None
        self.finish_left_s: float | None = None  # after the last epoch: its finishing work
        self.observed: dict[ObsKey, tuple[float, float]] = {}
        #: Replicas computing on this job's machine, its own included (set by the engine when
        #: the nodes share one machine's cores; 0: the nodes are machines of their own).
        self.host_busy = 0
        self.grad: GradStats | None = None
        #: False: the scheduler's model of the job takes in every step the moment it is
        #: measured (the Pollux paper's simulator). True: it arrives as the runtime's trainer
        #: publishes it (``SimConfig.runtime_reports``): the trainer refits at each epoch start
        #: (and every ``REFIT_INTERVAL_S``), the hints of each epoch's end carry that fit, and
        #: a process that starts publishes the fit of the rows its checkpoint restored. A new
        #: job is so ranked on the prior for its first two epochs, as on the runtime.
        self.runtime_reports = False
        self.decided: dict[ObsKey, tuple[float, float]] = {}  # the trainer's last refit
        self.published: dict[ObsKey, tuple[float, float]] = {}  # what its last hints carried
        self.refit_s = 0.0  # when the trainer last refitted
        self._model: JobModel | None = None
        self._model_obs = -1

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def replicas(self) -> int:
        return sum(self.counts)

    @property
    def total_batch(self) -> int:
        return self.replicas * self.local_bsz * (self.accum_steps + 1)

    # -- processes -------------------------------------------------------------------------
    def launch(self, node_ids: tuple[str, ...], generation: int, restart_s: float) -> None:
        """Start ``generation`` on ``node_ids``; every (re)start costs ``restart_s``."""
        order: dict[str, int] = {}
        for node in node_ids:
            order[node] = order.get(node, 0) + 1
        self.node_ids, self.counts = tuple(node_ids), tuple(order.values())
        self.generation, self.running = generation, False
        self.delay_left_s = restart_s
        self.finish_left_s = None  # finishing work interrupted is done again
        self.decided = dict(self.observed)  # the trainer refits on the rows it restored
        self.choose_batch()

    def stop(self, now_s: float) -> Exited:
        """Stop at once (the simulated checkpoint is free): exit 75."""
        self._release()
        return Exited(self.name, self.generation, EXIT_PREEMPTED, now_s)

    def _release(self) -> None:
        self.node_ids, self.counts, self.local_bsz, self.accum_steps = (), (), 0, 0
        self.running = False

    # -- beliefs ---------------------------------------------------------------------------
    def model(self, refit: bool = True) -> JobModel:
        """The job's own current model (fitted on what it measured, else the prior).

        ``refit=False`` keeps the throughput fit of the last refit (within a round the job
        re-picks its batch at every epoch boundary, but refits only once, at the round's end).
        """
        seen = self.published if self.runtime_reports else self.observed
        stale = self._model is None or self._model_obs != len(seen)
        if stale and (refit or self._model is None):
            params = self.fits.params(self.app.name, seen) if seen else None
            self._model = JobModel(params or PRIOR_PARAMS, PRIOR_GRAD, self.limits)
            self._model_obs = len(seen)
        grad = self.grad or PRIOR_GRAD
        if self._model.grad is not grad:
            self._model = JobModel(self._model.params, grad, self.limits)
        return self._model

    def _own_model(self, refit: bool) -> JobModel | None:
        """The model the job picks its batch with (None until it has measured a step): with
        ``runtime_reports`` the trainer's last refit, which its hints publish only later."""
        if not self.runtime_reports:
            return self.model(refit) if self.observed else None
        if not self.decided:
            return None
        params = self.fits.params(self.app.name, self.decided)
        return JobModel(params, self.grad or PRIOR_GRAD, self.limits)

    def choose_batch(self, refit: bool = True) -> None:
        """Local batch and accumulation for the current allocation."""
        k = self.replicas
        if self.fixed_batch is not None:
            self.local_bsz, self.accum_steps = split_batch(self.fixed_batch, k, self.limits)
            return
        own = self._own_model(refit)
        if own is not None:
            choice = own.best_config(len(self.counts), k, self.metric)
            if bool(choice.feasible):
                self.local_bsz, self.accum_steps = int(choice.local_bsz), int(choice.accum_steps)
                return
        start = min(max(self.app.init_batch, self.app.min_local * k), self.app.max_batch)
        self.local_bsz, self.accum_steps = split_batch(start, k, self.limits)

    # -- progress --------------------------------------------------------------------------
    def _rate(self) -> float:
        """True progress per second now; records what the job measures while running."""
        step, sync = self.truth.shared_step_sync(self.counts, self.local_bsz, self.host_busy)
        key = (len(self.counts), self.replicas, self.local_bsz)
        if key not in self.observed:
            self.observed[key] = (step, sync)
        batch = self.total_batch
        sqr, var = self.truth.grad_stats(batch, self.epoch)
        if self.grad is None or (self.grad.sqr, self.grad.var) != (sqr, var):
            self.grad = GradStats(sqr=sqr, var=var)
        gain = progress_gain(sqr, var, batch / self.app.init_batch)
        return gain / (step + (step - sync) * self.accum_steps)

    def advance(self, start_s: float, seconds: float) -> list[EngineEvent]:
        """Run for ``seconds`` from ``start_s``: restart delay first, then training. Returns
        what a real job's processes would report (GPU-seconds used, ready, finished)."""
        events: list[EngineEvent] = []
        if not self.counts or self.completion_time_s is not None:
            return events  # no processes, or finished (its last configuration is kept)
        k = self.replicas
        delay = min(self.delay_left_s, seconds)
        self.delay_left_s -= delay
        events.append(Usage(self.name, delay * k))
        now, seconds = start_s + delay, seconds - delay
        if self.delay_left_s > 0:
            return events
        if not self.running:
            self.running = True
            events.append(Ready(self.name, self.generation))
            self.published, self.refit_s = dict(self.decided), now
        while seconds > 0 or self.epoch >= self.app.epochs:
            if self.epoch >= self.app.epochs:
                now, seconds = self._finish(now, seconds, k, events)
                return events
            rate = self._rate()
            need = (self.truth.epoch_end(self.epoch) - self.progress) / rate
            used = min(need, seconds)
            now, seconds = now + used, seconds - used
            events.append(Usage(self.name, used * k))
            before = self.progress
            if used < need:
                self.progress += used * rate
            else:
                self.progress = self.truth.epoch_end(self.epoch)
            self.batch_progress += self.total_batch * (self.progress - before)
            if self.runtime_reports:
                self._trainer_hints(now, epoch_end=used >= need)
            if used >= need:
                self.epoch += 1
                if self.epoch >= self.app.epochs:
                    continue  # training done: the finishing work, then the exit
            # Re-pick the batch at every epoch boundary; refit only at the round's end.
            self.choose_batch(refit=seconds <= 0)
        return events

    def _trainer_hints(self, now_s: float, epoch_end: bool) -> None:
        """What the runtime's trainer refits and publishes (``runtime_reports``): at an epoch's
        end the hints carry the fit of its start, and the next epoch starts with a refit; a
        refit is also due every ``REFIT_INTERVAL_S``, published at once."""
        if epoch_end:
            self.published = self.decided
            self.decided, self.refit_s = dict(self.observed), now_s
        elif now_s - self.refit_s >= REFIT_INTERVAL_S:
            self.decided, self.refit_s = dict(self.observed), now_s
            self.published = self.decided

    def _finish(
        self, now: float, seconds: float, k: int, events: list[EngineEvent]
    ) -> tuple[float, float]:
        """The work after the last epoch (``AppSpec.finish_s``, shared by the replicas); the
        job exits once it is done."""
        if self.finish_left_s is None:
            self.finish_left_s = self.app.finish_s / k
        used = min(self.finish_left_s, seconds)
        self.finish_left_s -= used
        now, seconds = now + used, seconds - used
        if used > 0:
            events.append(Usage(self.name, used * k))
        if self.finish_left_s <= 0:
            self.completion_time_s = now
            events.append(Exited(self.name, self.generation, 0, now))
        return now, seconds

    def remaining_fraction(self) -> float:
        return max(1.0 - self.progress / self.truth.total_progress, 1e-9)

    def mean_batch(self) -> float:
        """Total batch averaged over the progress made (M0 before any progress)."""
        if self.progress <= 0:
            return float(self.app.init_batch)
        return self.batch_progress / self.progress

    def quality(self) -> float:
        """The profile's validation metric at the progress reached, at the mean batch."""
        return self.truth.quality(self.mean_batch(), self.progress)

    def remaining_samples(self) -> float:
        """Statistical work left in samples at M0 (progress counts iterations at M0)."""
        return max(self.truth.total_progress - self.progress, 0.0) * self.limits.init_batch

    def epoch_fraction(self) -> float:
        if self.epoch >= self.app.epochs:
            return 1.0  # training done (finishing work)
        start = self.truth.epoch_end(self.epoch - 1) if self.epoch > 0 else 0.0
        span = self.truth.epoch_end(self.epoch) - start
        return float(min(max((self.progress - start) / span, 0.0), 1.0)) if span > 0 else 0.0
