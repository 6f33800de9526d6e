"""Per-application constants: how long a job trains and which batch sizes it may use.

The six applications of the Pollux paper (Qiao et al., OSDI'21, table 1 and the published
simulator) are built in; a profile folder of any other application supplies the same numbers in
a ``profile.json`` (docs/profile-format.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from adaptsched.models import BatchLimits
from adaptsched.sim.errors import SimInputError, read_text

PROFILE_JSON = "profile.json"


@dataclass(frozen=True)
class AppSpec:
    """Training length and batch bounds of one application (batches in samples)."""

    name: str
    epochs: int  # the job ends after this many epochs (epoch = M0-progress of one data pass)
    init_batch: int  # M0: the batch its hyper-parameters were tuned for
    max_batch: int  # largest total batch M the job may use
    min_local: int  # smallest per-GPU batch m
    max_local: int  # largest per-GPU batch m (memory bound)
    max_accum_steps: int = 15
    fixed_batch: int | None = None  # every job of this app uses this total batch
    max_replicas: int | None = None  # and never more GPUs than this
    #: Seconds of work after the last training step (the final evaluation, saving the model)
    #: at one replica, shared by the job's replicas; it holds the job's GPUs meanwhile.
    finish_s: float = 0.0

    def limits(self) -> BatchLimits:
        return BatchLimits(
            init_batch=self.init_batch,
            max_batch=self.max_batch,
            min_local=self.min_local,
            max_local=self.max_local,
            max_accum_steps=self.max_accum_steps,
        )


POLLUX_APPS: dict[str, AppSpec] = {
    spec.name: spec
    for spec in (
        AppSpec(
            "cifar10", epochs=100, init_batch=128, max_batch=4096, min_local=32, max_local=1024
        ),
        AppSpec(
            "imagenet", epochs=90, init_batch=200, max_batch=12800, min_local=20, max_local=200
        ),
        AppSpec("bert", epochs=2, init_batch=12, max_batch=384, min_local=4, max_local=12),
        AppSpec("deepspeech2", epochs=80, init_batch=20, max_batch=640, min_local=10, max_local=80),
        AppSpec("yolov3", epochs=50, init_batch=8, max_batch=512, min_local=4, max_local=8),
        # The Pollux simulator runs NCF (a tiny model) on one GPU at batch 32768 under every policy.
        AppSpec(
            "ncf",
            epochs=10,
            init_batch=256,
            max_batch=32768,
            min_local=32,
            max_local=32768,
            fixed_batch=32768,
            max_replicas=1,
        ),
    )
}

_JSON_FIELDS = ("epochs", "init_batch", "max_batch", "min_local", "max_local")


def spec_from_json(path: Path, name: str) -> AppSpec:
    """Read ``profile.json`` (keys: epochs, init_batch, max_batch, min_local, max_local)."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise SimInputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise SimInputError(f"{path}: expected a JSON object")
    values: dict[str, int] = {}
    for key in _JSON_FIELDS:
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SimInputError(f"{path}: field {key!r} must be a positive integer, got {value!r}")
        values[key] = value
    finish = data.get("finish_s", 0.0)
    if isinstance(finish, bool) or not isinstance(finish, int | float) or not finish >= 0:
        raise SimInputError(f"{path}: field 'finish_s' must be a number >= 0, got {finish!r}")
    if finish == float("inf"):
        raise SimInputError(f"{path}: field 'finish_s' must be finite")
    spec = AppSpec(name=name, **values, finish_s=float(finish))
    try:
        spec.limits()
    except ValueError as exc:
        raise SimInputError(f"{path}: {exc}") from None
    return spec


def app_spec(folder: Path) -> AppSpec:
    """Constants of the application profiled in ``folder`` (its name is the folder name)."""
    name = folder.name
    meta = folder / PROFILE_JSON
    if meta.is_file():
        return spec_from_json(meta, name)
    if name in POLLUX_APPS:
        return POLLUX_APPS[name]
    raise SimInputError(
        f"{folder}: no constants for application {name!r}: add a {PROFILE_JSON} "
        f"(built in: {', '.join(sorted(POLLUX_APPS))})"
    )
