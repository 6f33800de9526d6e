"""Workers for tests of ``spawn_json`` (importable by the spawned processes)."""

from __future__ import annotations

import json
import os
from pathlib import Path


def abort_once(rank: int, world: int, port: int, marker: str, out: str) -> None:
    """Rank 1 aborts (SIGABRT) the first time; rank 0 writes the result each time."""
    if rank == 1 and not Path(marker).exists():
        Path(marker).write_text("aborted")
        os.abort()
    if rank == 0:
        Path(out).write_text(json.dumps({"world": world}))


def always_abort(rank: int, world: int, port: int, out: str) -> None:
    if rank == 1:
        os.abort()


def raise_error(rank: int, world: int, port: int, out: str) -> None:
    raise ValueError("a bug in the worker")
