"""``spawn_json`` measures again once when a worker is killed by a signal, never more, and
never when a worker raised."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch.multiprocessing as mp
from spawn_workers import abort_once, always_abort, raise_error

from adaptsched.train.profiling import spawn_json


def test_a_worker_killed_once_is_measured_again(tmp_path: Path) -> None:
    marker = tmp_path / "aborted"
    assert spawn_json(abort_once, 2, str(marker)) == {"world": 2}
    assert marker.read_text() == "aborted"


def test_a_worker_killed_every_time_fails() -> None:
    with pytest.raises(mp.ProcessExitedException, match="SIGABRT"):
        spawn_json(always_abort, 2)


def test_an_exception_in_a_worker_is_not_retried() -> None:
    with pytest.raises(mp.ProcessRaisedException, match="a bug in the worker"):
        spawn_json(raise_error, 1)
