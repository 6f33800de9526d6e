"""A DDP communication hook that measures gradient norms on the flattened buckets.

Per-parameter Python hooks in float64 made AdaptDL's wrapper up to 2.6x slower than plain
DDP. Here the whole cost is one dot product per *bucket* (DDP's flattened gradient chunks,
~25 MB each) on the local gradient before the all-reduce, and one squared norm of the reduced
gradients after backward (on the training thread: a norm in the hook's completion callback
would run on the communication thread and contend with backward for the GIL). The hook also
divides by the number of accumulated micro-steps, so that the gradient the optimizer sees is
the mean over the whole batch M = K * m * (s + 1).

With one replica there is no second batch size inside a step; the hook then keeps the previous
step's gradient and pairs consecutive steps (batch B and 2B). Parameters move a little between
the two, which biases |G|^2 slightly upward at large learning rates; it is the fallback only.
"""

import time
from typing import Any

import torch
import torch.distributed as dist

from adaptsched.train.noise import NormSample


class PendingExchange:
    """An exchange in flight; ``result()`` waits for it (once)."""

    def __init__(self, sums: torch.Tensor, work: Any, step_batch: int, world_size: int) -> None:
        self._sums = sums
        self._work = work
        self._step_batch = step_batch
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
        batch = self._step_batch
        big = batch * world if world > 1 else 2 * batch
        return NormSample(small, large, batch, big), summed


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
        self._cross = torch.zeros((), dtype=torch.float64, device=self.device)
        self._prev: dict[int, torch.Tensor] = {}
        self._prev_sqr: float | None = None
        self._sums = [0.0, 0.0, 0.0]  # small, large, steps since the last exchange

    # -- called from the hook, once per bucket -----------------------------------------------
    def record_local(self, index: int, buf: torch.Tensor) -> None:
        """``buf`` holds this replica's mean gradient over its m * (s + 1) samples."""
        self._local_sqr += torch.dot(buf, buf).double()
        if self.world_size == 1:
            prev = self._prev.get(index)
            if prev is not None and prev.numel() == buf.numel():
                self._cross += torch.dot(buf, prev).double()
                prev.copy_(buf)
            else:
                self._prev[index] = buf.detach().clone()

    # -- called by the trainer after backward, before the optimizer step --------------------
    def record_reduced(self, grads: list[torch.Tensor]) -> None:
        """``grads`` are the all-reduced (mean) gradients of every parameter."""
        if grads:
            dots = [torch.dot(g.flatten(), g.flatten()) for g in grads]
            self._global_sqr = float(torch.stack(dots).double().sum())

    # -- called by the trainer, once per optimizer step --------------------------------------
    def end_step(self) -> None:
        """Fold this step's bucket sums into the running sums (pairing steps if K = 1)."""
        if self.measure:
            local = float(self._local_sqr)
            pair: tuple[float, float] | None = None
            if self.world_size > 1:
                pair = (local, self._global_sqr)
            elif self._prev_sqr is not None:
                small = 0.5 * (local + self._prev_sqr)
                pair = (small, 0.25 * (local + self._prev_sqr + 2.0 * float(self._cross)))
            if pair is not None:
                self._sums[0] += pair[0]
                self._sums[1] += pair[1]
                self._sums[2] += 1.0
            self._prev_sqr = local if self.world_size == 1 else None
        else:
            self.reset_pairing()
        self._local_sqr.zero_()
        self._global_sqr = 0.0
        self._cross.zero_()

    def reset_pairing(self) -> None:
        """Forget the previous step (its batch size differs from the next one's)."""
        self._prev.clear()
        self._prev_sqr = None

    def exchange(self, step_batch: int, flags: tuple[float, ...] = ()) -> PendingExchange:
        """Start averaging the norm sums over replicas and summing ``flags`` over replicas, in
        one small non-blocking all-reduce; resets the sums.

        Collective: every replica calls it at the same step. ``step_batch`` is the local batch
        m * (s + 1) of the steps being exchanged; flags carry decisions every replica must
        agree on (stop, checkpoint now). The trainer collects the result at its next exchange,
        so the all-reduce's latency (most of the trainer's overhead over plain DDP when it
        blocked) hides behind the following steps' compute.
        """
        sums = torch.tensor([*self._sums, *flags], dtype=torch.float64, device=self.device)
        self._sums = [0.0, 0.0, 0.0]
        work = None
        if self.world_size > 1:
            work = dist.all_reduce(sums, group=self.group, async_op=True)
        return PendingExchange(sums, work, step_batch, self.world_size)


def grad_norm_hook(
    state: GradNormState, bucket: dist.GradBucket
) -> torch.futures.Future[torch.Tensor]:
    """Mean-all-reduce the bucket, measuring the local and the reduced squared norms."""
    state.last_hook_s = time.perf_counter()
    buf = bucket.buffer()
    if state.micro_steps > 1:
        buf.div_(state.micro_steps)
    if state.measure:
        state.record_local(bucket.index(), buf)
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
