"""Loading one application's measured profile folder (format: docs/profile-format.md)."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adaptsched.sim.apps import AppSpec, app_spec
from adaptsched.sim.csvtable import LINE, Column, read_table
from adaptsched.sim.errors import SimInputError, at

_STEP_COLUMNS = (
    Column("local_bsz", "int", positive=True),
    Column("step_time", positive=True),
    Column("sync_time", minimum=0.0),
)
_PLACEMENT_COLUMNS = (Column("placement", "digits"), *_STEP_COLUMNS)
_SCALABILITY_COLUMNS = (
    Column("num_nodes", "int", positive=True),
    Column("num_replicas", "int", positive=True),
    *_STEP_COLUMNS,
)
_HOST_COLUMNS = (
    Column("replicas", "int", positive=True),
    Column("local_bsz", "int", positive=True),
    Column("step_time", positive=True),
)
_VALIDATION_COLUMNS = (
    Column("progress", minimum=0.0),
    Column("iteration", minimum=0.0),
    Column("metric"),
    Column("grad_sqr", minimum=0.0),
    Column("grad_var", minimum=0.0),
)
_VALIDATION_NAME = re.compile(r"^validation-(\d+)\.csv$")


@dataclass(frozen=True, eq=False)
class StepTable:
    """Measured step times, one row per (placement, local batch)."""

    counts: tuple[tuple[int, ...], ...]  # GPUs per node of each row's placement
    nodes: np.ndarray
    replicas: np.ndarray
    local_bsz: np.ndarray
    step_time: np.ndarray  # seconds per iteration
    sync_time: np.ndarray  # part of step_time spent synchronising gradients


@dataclass(frozen=True, eq=False)
class ValidationTable:
    """Per-epoch training statistics when training at total batch ``batch``."""

    batch: int
    progress: np.ndarray  # cumulative progress in iterations at M0, end of each epoch
    iteration: np.ndarray  # cumulative optimizer steps at ``batch``
    metric: np.ndarray  # the job's validation metric (e.g. test accuracy) at each epoch's end
    grad_sqr: np.ndarray  # squared norm of the true gradient during the epoch
    grad_var: np.ndarray  # gradient variance at batch M0 during the epoch


@dataclass(frozen=True, eq=False)
class Profile:
    """Everything measured about one application."""

    spec: AppSpec
    placements: StepTable
    scalability: StepTable | None
    validation: Mapping[int, ValidationTable] = field(default_factory=dict)
    #: Optional ``host.csv``: replicas K -> (local batches, one replica's step time while K
    #: unsynchronised one-replica copies of the job share one machine's cores).
    host: Mapping[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name


def write_placements(path: Path, rows: Iterable[tuple[str, int, float, float]]) -> None:
    """Write ``placements.csv`` rows (placement, local batch, step time, sync time), each sync
    time kept below its step time as the reader requires. One writer for every producer of
    the format (a run's export, the real experiment's replay)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["placement", "local_bsz", "step_time", "sync_time"])
        for placement, local_bsz, step, sync in rows:
            step = float(step)
            writer.writerow([placement, int(local_bsz), step, min(float(sync), 0.999 * step)])


def rebase_profile(profile: Profile, init_batch: int) -> Profile:
    """The same measurements for a job whose M0 is ``init_batch`` instead of the profile's.

    A profile's validation files count progress in iterations at *its* M0 and give the
    gradient variance at that batch (Pollux's convention, var = tr(Sigma) / M0). A job with
    another M0 reaches the same statistical work in M0_profile / M0_job as many of its own
    iterations, and its variance at its own M0 scales the same way; the squared gradient norm
    and the measured step times do not depend on M0.
    """
    if init_batch < 1:
        raise SimInputError(f"init_batch: must be >= 1, got {init_batch}")
    ratio = profile.spec.init_batch / init_batch
    validation = {
        batch: dataclasses.replace(
            table, progress=table.progress * ratio, grad_var=table.grad_var * ratio
        )
        for batch, table in profile.validation.items()
    }
    spec = dataclasses.replace(profile.spec, init_batch=init_batch)
    return dataclasses.replace(profile, spec=spec, validation=validation)


def _check_sync(path: Path, table: dict[str, np.ndarray], column: int) -> None:
    bad = np.flatnonzero(table["sync_time"] >= table["step_time"])
    if bad.size:
        line = int(table[LINE][bad[0]])
        raise at(path, line, column, "sync_time: must be below step_time")


def _column_of(path: Path, name: str) -> int:
    header = path.read_text().splitlines()[0].split(",")
    return [h.strip() for h in header].index(name) + 1


def read_placements(path: Path) -> StepTable:
    table = read_table(path, _PLACEMENT_COLUMNS)
    _check_sync(path, table, _column_of(path, "sync_time"))
    counts = tuple(tuple(int(c) for c in str(p)) for p in table["placement"])
    return StepTable(
        counts=counts,
        nodes=np.array([len(c) for c in counts], dtype=float),
        replicas=np.array([sum(c) for c in counts], dtype=float),
        local_bsz=table["local_bsz"].astype(float),
        step_time=table["step_time"].astype(float),
        sync_time=table["sync_time"].astype(float),
    )


def read_scalability(path: Path) -> StepTable:
    table = read_table(path, _SCALABILITY_COLUMNS)
    _check_sync(path, table, _column_of(path, "sync_time"))
    bad = np.flatnonzero(table["num_nodes"] > table["num_replicas"])
    if bad.size:
        line = int(table[LINE][bad[0]])
        raise at(path, line, _column_of(path, "num_nodes"), "num_nodes exceeds num_replicas")
    return StepTable(
        counts=(),
        nodes=table["num_nodes"].astype(float),
        replicas=table["num_replicas"].astype(float),
        local_bsz=table["local_bsz"].astype(float),
        step_time=table["step_time"].astype(float),
        sync_time=table["sync_time"].astype(float),
    )


def read_host(path: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``host.csv``: per replica count, local batches (ascending) and step times, duplicates
    averaged."""
    table = read_table(path, _HOST_COLUMNS)
    rows: dict[int, dict[float, list[float]]] = {}
    for k, m, step in zip(table["replicas"], table["local_bsz"], table["step_time"], strict=True):
        rows.setdefault(int(k), {}).setdefault(float(m), []).append(float(step))
    return {
        k: (np.array(sorted(by)), np.array([np.mean(by[m]) for m in sorted(by)]))
        for k, by in sorted(rows.items())
    }


def read_validation(path: Path, batch: int) -> ValidationTable:
    table = read_table(path, _VALIDATION_COLUMNS)
    drops = np.flatnonzero(np.diff(table["progress"]) < 0)
    if drops.size:
        line = int(table[LINE][drops[0] + 1])
        raise at(path, line, _column_of(path, "progress"), "progress: decreases")
    return ValidationTable(
        batch=batch,
        progress=table["progress"].astype(float),
        iteration=table["iteration"].astype(float),
        metric=table["metric"].astype(float),
        grad_sqr=table["grad_sqr"].astype(float),
        grad_var=table["grad_var"].astype(float),
    )


def load_profile(folder: Path | str) -> Profile:
    """Read ``placements.csv``, optional ``scalability.csv`` and ``host.csv``, and
    ``validation-<batch>.csv``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SimInputError(f"{folder}: profile folder not found")
    spec = app_spec(folder)
    placements_path = folder / "placements.csv"
    if not placements_path.is_file():
        raise SimInputError(f"{placements_path}: missing (every profile needs placements.csv)")
    scal_path, host_path = folder / "scalability.csv", folder / "host.csv"
    validation: dict[int, ValidationTable] = {}
    for path in sorted(folder.glob("validation-*.csv")):
        match = _VALIDATION_NAME.match(path.name)
        if not match or int(match.group(1)) <= 0:
            raise SimInputError(f"{path}: name must be validation-<positive batch>.csv")
        validation[int(match.group(1))] = read_validation(path, int(match.group(1)))
    if not validation:
        raise SimInputError(f"{folder}: no validation-<batch>.csv file")
    return Profile(
        spec=spec,
        placements=read_placements(placements_path),
        scalability=read_scalability(scal_path) if scal_path.is_file() else None,
        validation=dict(sorted(validation.items())),
        host=read_host(host_path) if host_path.is_file() else {},
    )


def load_profiles(traces_dir: Path | str, names: set[str] | None = None) -> dict[str, Profile]:
    """Load every (or the named) application folder under ``traces_dir``."""
    root = Path(traces_dir)
    if not root.is_dir():
        raise SimInputError(f"{root}: traces folder not found")
    folders = {p.name: p for p in sorted(root.iterdir()) if p.is_dir()}
    wanted = sorted(names) if names is not None else sorted(folders)
    missing = [n for n in wanted if n not in folders]
    if missing:
        raise SimInputError(f"{root}: no profile folder for application(s) {', '.join(missing)}")
    return {name: load_profile(folders[name]) for name in wanted}
