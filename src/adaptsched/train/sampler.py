"""Elastic sampling: a deterministic shuffle per epoch, cut into global batches by position.

The sampler does not own a fixed shard per rank (as torch's DistributedSampler does). It keeps
one number, the count of samples of the epoch already consumed by *all* replicas together, and
cuts the next global batch ``perm[pos : pos + K * m]`` into K contiguous pieces. Because the
permutation depends only on (seed, epoch) and the position is global, a job checkpointed at
position p and restarted with any other number of replicas continues at p: no sample of the
epoch is skipped or repeated.

The last global batch of an epoch may be short: it is split as evenly as possible. If fewer
samples than replicas remain, each replica without a sample of its own is given a copy of one
(``real`` tells which indices are new), because every replica must join the all-reduce.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Shard:
    """This replica's part of one global micro-batch."""

    indices: list[int]  # dataset indices to load
    real: int  # the first ``real`` of them are new samples; the rest are padding copies
    global_size: int  # samples in the whole global micro-batch (all replicas, no padding)
    last: bool  # this micro-batch ends the epoch


class ElasticSampler:
    """Global-position sampler over ``length`` samples, shuffled per epoch by ``seed``."""

    def __init__(self, length: int, *, shuffle: bool = True, seed: int = 0) -> None:
        if length <= 0:
            raise ValueError(f"dataset: empty (length {length})")
        self.length = length
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.position = 0  # samples of this epoch consumed by all replicas together
        self._perm: torch.Tensor | None = None
        self._perm_epoch = -1

    def permutation(self) -> torch.Tensor:
        """This epoch's order: the same on every replica and after every restart."""
        if self._perm is None or self._perm_epoch != self.epoch:
            if self.shuffle:
                gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
                self._perm = torch.randperm(self.length, generator=gen)
            else:
                self._perm = torch.arange(self.length)
            self._perm_epoch = self.epoch
        return self._perm

    @property
    def remaining(self) -> int:
        return self.length - self.position

    def next_shard(self, rank: int, replicas: int, local_bsz: int) -> Shard:
        """Take the next global micro-batch of up to ``replicas * local_bsz`` samples and
        return ``rank``'s piece; advances the position (identically on every replica)."""
        if not 0 <= rank < replicas:
            raise ValueError(f"rank: {rank} outside [0, {replicas})")
        if local_bsz <= 0:
            raise ValueError(f"local_bsz: must be > 0, got {local_bsz}")
        if self.remaining <= 0:
            raise StopIteration
        size = min(replicas * local_bsz, self.remaining)
        chunk = self.permutation()[self.position : self.position + size].tolist()
        base, extra = divmod(size, replicas)
        start = rank * base + min(rank, extra)
        mine = chunk[start : start + base + (1 if rank < extra else 0)]
        real = len(mine)
        if not mine:
            mine = [chunk[rank % size]]
        self.position += size
        return Shard(indices=mine, real=real, global_size=size, last=self.remaining == 0)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning."""
        self.epoch = epoch
        self.position = 0

    def state_dict(self) -> dict[str, int | bool]:
        return {
            "length": self.length,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "epoch": self.epoch,
            "position": self.position,
        }

    def load_state_dict(self, state: dict[str, int | bool]) -> None:
        if int(state["length"]) != self.length:
            raise ValueError(
                f"sampler state: dataset length {state['length']} in the checkpoint, "
                f"{self.length} now"
            )
        self.shuffle = bool(state["shuffle"])
        self.seed = int(state["seed"])
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
