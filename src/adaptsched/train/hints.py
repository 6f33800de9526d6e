"""Hints: what a running job tells the scheduler about itself, through a pluggable sink.

The scheduler needs a job's fitted throughput parameters, gradient statistics, initial batch,
batch limits, progress and metric to predict its speedup under other allocations (Pollux,
section 4). The job publishes them; where they go is the sink's business (a JSON file here,
the runtime's state store later).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from adaptsched.train.checkpoint import write_atomic


@dataclass(frozen=True)
class Hints:
    """One snapshot of the job's self-description (plain values, JSON-ready)."""

    metric: str
    init_batch: int
    max_batch: int
    min_local_bsz: int
    max_local_bsz: int | None
    max_accum_steps: int
    progress: float  # scale-invariant iterations at M0 done so far
    epoch: int
    nodes: int
    replicas: int
    local_bsz: int
    accum_steps: int
    throughput_params: dict[str, float] | None  # fitted ThroughputParams, None before a fit
    grad_sqr: float | None  # |G|^2
    grad_var: float | None  # gradient variance at batch M0
    observations: list[dict[str, float]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class HintSink(Protocol):
    """Where hints go. The runtime adds its own implementation."""

    def publish(self, hints: Hints) -> None: ...


class JsonFileSink:
    """Writes the latest hints to one JSON file, atomically (readers never see half a file)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def publish(self, hints: Hints) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(hints.to_json(), indent=1, sort_keys=True).encode()
        write_atomic(self.path, data)


class NullSink:
    """Drops hints (a job run with nobody listening)."""

    def publish(self, hints: Hints) -> None:
        return None
