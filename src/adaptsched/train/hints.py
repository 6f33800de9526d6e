"""Where a running job's hints go: a pluggable sink (the format itself is
:mod:`adaptsched.models.hints`, readable without torch).

The scheduler needs a job's fitted throughput parameters, gradient statistics, initial batch,
batch limits, progress and metric to predict its speedup under other allocations (Pollux,
section 4). The job publishes them; where they go is the sink's business (a JSON file here,
the runtime's state store later).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from adaptsched.models.hints import Hints
from adaptsched.train.checkpoint import write_atomic


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
