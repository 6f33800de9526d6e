"""A DDP communication hook that measures gradient norms on the flattened buckets.

Per-parameter Python hooks in float64 made AdaptDL's wrapper up to 2.6x slower than plain
DDP. Here the whole cost is one dot product per *bucket* (DDP's flattened gradient chunks,
~25 MB each) on the local gradient before the all-reduce, and one squared norm of the reduced
gradients after backward (on the training thread: a norm in the hook's completion callback
would run on the communication thread and contend with backward for the GIL). The hook also
divides by the number of accumulated micro-steps, so that the gradient the optimizer sees is
the mean over the whole batch M = K * m * (s + 1).

With one replica the second batch size must come from inside the step: the squared norms of
the first and the last micro-batch's gradients (batch m; the last is K x mean minus the sum of
the others, so the gradients are copied once on a measured step) against the squared norm of
the step's mean gradient (batch m (s + 1)). With accumulation the step has those micro-batches
already; without, the trainer splits a measuring step's batch in two micro-batches (the same
samples, the same mean gradient). Pairing two consecutive steps instead (AdaptDL's fallback)
is biased: the parameters move between them, and under a large learning rate consecutive
gradients point against each other, so the pair's |G|^2 estimate g_t . g_(t+1) comes out
negative (on the MNIST job: -2.7 against +8.0 from split steps); docs/fidelity.md.
"""

import time
from typing import Any

import torch
import torch.distributed as dist

from adaptsched.train.noise import NormSample


class PendingExchange:
    """An exchange in flight; ``result()`` waits for it (once)."""

    def __init__(
        self, sums: torch.Tensor, work: Any, batches: tuple[float, float], world_size: int
    ) -> None:
        self._sums = sums
        self._work = work
        self._batches = batches  # (small, large) batch sizes of the measured pairs
        self._world_size = world_size

    def result(self) -> tuple[NormSample | None, tuple[float, ...]]:
        """(norm sample or None when no step was measured, flags summed over replicas)."""
        sums, world = self._sums, self._world_size
        if self._work is not None:
            self._work.wait()
            self._work = None
            sums[1:3] /= world  # the reduced gradient is the same on every replica
        summed = tuple(float(v) for v in sums[3:])
        steps = float(sums[2])
        if steps < 1:
            return None, summed
        small = float(sums[0]) / (steps * world)
        large = float(sums[1]) / steps
        return NormSample(small, large, *self._batches), summed


class GradNormState:
    """What the hook needs (world size, micro-steps) and what it accumulates (norms, times)."""

    def __init__(
        self,
        world_size: int,
        group: dist.ProcessGroup | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.world_size = world_size
        self.group = group
        self.device = device or torch.device("cpu")  # the gradients' (NCCL reduces only these)
        self.micro_steps = 1  # micro-batches summed into the gradient being reduced
        self.measure = True  # compute norms this step (off for ragged tail steps)
        self.last_hook_s = 0.0  # perf_counter() of the latest bucket handed to the hook
        self._local_sqr = torch.zeros((), dtype=torch.float64, device=self.device)
        self._global_sqr = 0.0
        # one replica: squared norms of the step's first and last micro-batch gradients, and the
        # gradient summed over all micro-batches but the last (to take the last one out)
        self._micro_sqr: list[float] = []
        self._partial: list[torch.Tensor] | None = None
        self._sums = [0.0, 0.0, 0.0]  # small, large, steps since the last exchange

    # -- called from the hook, once per bucket -----------------------------------------------
    def record_local(self, buf: torch.Tensor) -> None:
        """``buf`` holds this replica's mean gradient over its m * (s + 1) samples."""
        self._local_sqr += torch.dot(buf, buf).double()

    # -- called by the trainer ---------------------------------------------------------------
    def record_micro(self, index: int, grads: list[torch.Tensor]) -> None:
        """One replica, after the backward of micro-batch ``index`` (not the last) of a measured
        step: ``grads`` hold the sum of the micro-batch gradients so far."""
        if not grads:
            return
        if index == 0:
            self._micro_sqr.append(float(_squared_norm(grads)))
        if index == self.micro_steps - 2:  # the next micro-batch is the last
            self._partial = [g.detach().clone() for g in grads]

    def record_reduced(self, grads: list[torch.Tensor]) -> None:
        """After the last backward, before the optimizer step: ``grads`` are the mean gradients
        (all-reduced over replicas). One replica takes its last micro-batch's gradient out of
        them: K x mean - the sum of the others."""
        if not grads:
            return
        if self.world_size > 1:
            self._global_sqr = float(_squared_norm(grads))
        elif self._partial is not None:
            k = float(self.micro_steps)
            last = [k * g - s for g, s in zip(grads, self._partial, strict=True)]
            self._micro_sqr.append(float(_squared_norm(last)))
            self._partial = None

    def end_step(self) -> None:
        """Once per optimizer step: fold this step's pair of norms into the running sums."""
        if self.measure:
            local = float(self._local_sqr)
            pair: tuple[float, float] | None = None
            if self.world_size > 1:
                pair = (local, self._global_sqr)
            elif self._micro_sqr:
                pair = (sum(self._micro_sqr) / len(self._micro_sqr), local)
            if pair is not None:
                self._sums[0] += pair[0]
                self._sums[1] += pair[1]
                self._sums[2] += 1.0
        self._local_sqr.zero_()
        self._global_sqr = 0.0
        self._micro_sqr.clear()
        self._partial = None

    def exchange(self, step_batch: int, flags: tuple[float, ...] = ()) -> PendingExchange:
        """Start averaging the norm sums over replicas and summing ``flags`` over replicas, in
        one small non-blocking all-reduce; resets the sums.

        Collective: every replica calls it at the same step. ``step_batch`` is the local batch
        m * (s + 1) of the steps being exchanged (one replica: of the step just taken, whose
        micro-batches hold ``step_batch / micro_steps`` samples on average); flags carry
        decisions every replica must agree on (stop, checkpoint now). The trainer collects the
        result at its next exchange, so the all-reduce's latency (most of the trainer's overhead
        over plain DDP when it blocked) hides behind the following steps' compute.
        """
        sums = torch.tensor([*self._sums, *flags], dtype=torch.float64, device=self.device)
        self._sums = [0.0, 0.0, 0.0]
        work = None
        if self.world_size > 1:
            work = dist.all_reduce(sums, group=self.group, async_op=True)
        if self.world_size > 1:
            batches = (step_batch, step_batch * self.world_size)
        else:
            batches = (step_batch / self.micro_steps, step_batch)
        return PendingExchange(sums, work, batches, self.world_size)


def grad_norm_hook(
    state: GradNormState, bucket: dist.GradBucket
) -> torch.futures.Future[torch.Tensor]:
    """Mean-all-reduce the bucket, measuring the local and the reduced squared norms."""
    state.last_hook_s = time.perf_counter()
    buf = bucket.buffer()
    if state.micro_steps > 1:
        buf.div_(state.micro_steps)
    if state.measure:
        state.record_local(buf)
    if state.world_size == 1:
        fut: torch.futures.Future[torch.Tensor] = torch.futures.Future()
        fut.set_result(buf)
        return fut
    buf.div_(state.world_size)
    work = dist.all_reduce(buf, group=state.group, async_op=True)
    return work.get_future().then(_first_tensor)


def _first_tensor(done: torch.futures.Future[list[torch.Tensor]]) -> torch.Tensor:
    """DDP wants the hook's future to hold the bucket, the all-reduce's holds a list of it."""
    return done.value()[0]


def _squared_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """Sum of the squared entries of every tensor, in float64."""
    return torch.stack([torch.dot(g.flatten(), g.flatten()) for g in grads]).double().sum()
