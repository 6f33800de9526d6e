"""Workload traces: which job arrives when, and the fixed configuration baselines use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adaptsched.sim.csvtable import LINE, Column, read_table
from adaptsched.sim.errors import at

_COLUMNS = (
    Column("name", "str"),
    Column("time", minimum=0.0),
    Column("application", "str"),
    Column("num_replicas", "int", positive=True),
    Column("batch_size", "int", positive=True),
)


@dataclass(frozen=True)
class JobSpec:
    """One submitted job."""

    name: str
    submit_time_s: float
    application: str
    num_replicas: int  # hand-tuned GPU count (non-adaptive policies)
    batch_size: int  # hand-tuned total batch (non-adaptive policies)
    line: int = 0  # source line in the workload file, for error messages


def load_workload(path: Path | str) -> tuple[JobSpec, ...]:
    """Read ``name,time,application,num_replicas,batch_size``, sorted by submission time."""
    path = Path(path)
    table = read_table(path, _COLUMNS)
    seen: dict[str, int] = {}
    jobs = []
    for i, name in enumerate(table["name"]):
        line = int(table[LINE][i])
        if name in seen:
            raise at(path, line, 1, f"name: {name!r} already used on line {seen[name]}")
        seen[name] = line
        jobs.append(
            JobSpec(
                name=str(name),
                submit_time_s=float(table["time"][i]),
                application=str(table["application"][i]),
                num_replicas=int(table["num_replicas"][i]),
                batch_size=int(table["batch_size"][i]),
                line=line,
            )
        )
    return tuple(sorted(jobs, key=lambda j: j.submit_time_s))


def check_applications(path: Path | str, jobs: tuple[JobSpec, ...], known: set[str]) -> None:
    """Every job's application must have a profile; the error points at the first that lacks one."""
    for job in jobs:
        if job.application not in known:
            raise at(
                path,
                job.line,
                3,
                f"application: no profile for {job.application!r} "
                f"(have: {', '.join(sorted(known))})",
            )
