"""The runtime's state store: one SQLite file (job specs and records, the event history,
every hint received, node lifetimes, round summaries and the policy's carried state), so that
a controller killed at any moment and started again loses nothing.

SQLite because it is a single file with transactions and no server (the controller is one
process); WAL mode so that a reader (``sqlite3`` by hand, a dashboard) never blocks it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from adaptsched.control import GenerationEvent, JobRecord, JobSpec, JobState, Transition
from adaptsched.models import get_metric
from adaptsched.models.hints import Hints

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, spec TEXT NOT NULL,
    record TEXT NOT NULL, updated_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time_s REAL NOT NULL, job_id TEXT, kind TEXT NOT NULL,
    old TEXT, new TEXT, detail TEXT);
CREATE TABLE IF NOT EXISTS hints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, time_s REAL NOT NULL,
    generation INTEGER NOT NULL, hints TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, node_id TEXT NOT NULL, ray_id TEXT NOT NULL,
    gpus INTEGER NOT NULL, joined_s REAL NOT NULL, left_s REAL);
CREATE TABLE IF NOT EXISTS rounds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time_s REAL NOT NULL, policy_s REAL,
    active_jobs INTEGER, gpus_in_use INTEGER, total_gpus INTEGER, desired_nodes INTEGER,
    allocations TEXT, info TEXT);
CREATE TABLE IF NOT EXISTS generations (
    job_id TEXT NOT NULL, generation INTEGER NOT NULL, placement TEXT NOT NULL,
    launched_s REAL NOT NULL, exited_s REAL, exit_code INTEGER, reason TEXT,
    PRIMARY KEY (job_id, generation));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: Record fields persisted as they are (the rest: spec, state, hints, placements).
_PLAIN = tuple(
    f.name
    for f in fields(JobRecord)
    if f.name not in ("spec", "state", "hints", "placement", "held")
)


def spec_to_json(spec: JobSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["metric"] = spec.metric.name
    data["command"] = list(spec.command)
    return data


def spec_from_json(data: dict[str, Any]) -> JobSpec:
    values = dict(data)
    values["metric"] = get_metric(values["metric"])
    values["command"] = tuple(values["command"])
    return JobSpec(**values)


def record_to_json(record: JobRecord) -> dict[str, Any]:
    data = {name: getattr(record, name) for name in _PLAIN}
    data["state"] = record.state.value
    data["placement"] = list(record.placement)
    data["held"] = list(record.held)
    data["hints"] = record.hints.to_json() if record.hints is not None else None
    return data


def record_from_json(spec: JobSpec, data: dict[str, Any]) -> JobRecord:
    values = {name: data[name] for name in _PLAIN if name in data}
    hints = data.get("hints")
    return JobRecord(
        spec=spec,
        state=JobState(data["state"]),
        placement=tuple(data["placement"]),
        held=tuple(data["held"]),
        hints=Hints.from_json(hints) if hints is not None else None,
        **values,
    )


class StateStore:
    """All reads and writes of the state file; safe to call from several threads."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # -- jobs ------------------------------------------------------------------------------
    def save_job(self, record: JobRecord, now_s: float) -> None:
        spec = json.dumps(spec_to_json(record.spec))
        body = json.dumps(record_to_json(record))
        self._run(
            "INSERT INTO jobs (id, spec, record, updated_s) VALUES (?, ?, ?, ?) ON CONFLICT(id) "
            "DO UPDATE SET record = excluded.record, updated_s = excluded.updated_s",
            (record.job_id, spec, body, now_s),
        )

    def load_jobs(self) -> list[JobRecord]:
        """Every job, in submission order."""
        rows = self._run("SELECT spec, record FROM jobs ORDER BY seq").fetchall()
        return [record_from_json(spec_from_json(json.loads(s)), json.loads(r)) for s, r in rows]

    # -- history ---------------------------------------------------------------------------
    def add_event(
        self, time_s: float, kind: str, job_id: str | None = None, detail: str = "", **states: str
    ) -> None:
        self._run(
            "INSERT INTO events (time_s, job_id, kind, old, new, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (time_s, job_id, kind, states.get("old"), states.get("new"), detail),
        )

    def add_transition(self, change: Transition) -> None:
        self.add_event(
            change.time_s,
            change.event.value,
            change.job_id,
            change.reason,
            old=change.old.value,
            new=change.new.value,
        )

    def events(self, job_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT seq, time_s, job_id, kind, old, new, detail FROM events"
        rows = (
            self._run(sql + " WHERE job_id = ? ORDER BY seq", (job_id,))
            if job_id
            else self._run(sql + " ORDER BY seq")
        )
        keys = ("seq", "time_s", "job_id", "kind", "old", "new", "detail")
        return [dict(zip(keys, row, strict=True)) for row in rows.fetchall()]

    def add_hints(self, job_id: str, time_s: float, generation: int, hints: Hints) -> None:
        self._run(
            "INSERT INTO hints (job_id, time_s, generation, hints) VALUES (?, ?, ?, ?)",
            (job_id, time_s, generation, json.dumps(hints.to_json())),
        )

    def hints_history(self, job_id: str) -> Iterator[tuple[float, int, dict[str, Any]]]:
        rows = self._run(
            "SELECT time_s, generation, hints FROM hints WHERE job_id = ? ORDER BY seq", (job_id,)
        ).fetchall()
        for time_s, generation, body in rows:
            yield time_s, generation, json.loads(body)

    def add_round(self, time_s: float, policy_s: float | None, values: dict[str, Any]) -> None:
        self._run(
            "INSERT INTO rounds (time_s, policy_s, active_jobs, gpus_in_use, total_gpus, "
            "desired_nodes, allocations, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time_s,
                policy_s,
                values["active_jobs"],
                values["gpus_in_use"],
                values["total_gpus"],
                values["desired_nodes"],
                json.dumps(values["allocations"]),
                json.dumps(values["info"]),
            ),
        )

    def rounds(self, since_s: float = 0.0) -> list[dict[str, Any]]:
        rows = self._run(
            "SELECT time_s, policy_s, active_jobs, gpus_in_use, total_gpus, desired_nodes, "
            "allocations, info FROM rounds WHERE time_s >= ? ORDER BY seq",
            (since_s,),
        ).fetchall()
        keys = ("time_s", "policy_s", "active_jobs", "gpus_in_use", "total_gpus", "desired_nodes")
        out = []
        for row in rows:
            item = dict(zip(keys, row[:6], strict=True))
            item["allocations"], item["info"] = json.loads(row[6]), json.loads(row[7])
            out.append(item)
        return out

    def add_generation(self, event: GenerationEvent) -> None:
        """A generation's launch or exit: the rows of the allocation timeline."""
        if event.kind == "launch":
            self._run(
                "INSERT OR REPLACE INTO generations (job_id, generation, placement, launched_s) "
                "VALUES (?, ?, ?, ?)",
                (event.job_id, event.generation, json.dumps(list(event.placement)), event.time_s),
            )
        else:
            self._run(
                "UPDATE generations SET exited_s = ?, exit_code = ?, reason = ? "
                "WHERE job_id = ? AND generation = ?",
                (event.time_s, event.exit_code, event.reason, event.job_id, event.generation),
            )

    def generations(self, job_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT job_id, generation, placement, launched_s, exited_s, exit_code, reason "
        sql += "FROM generations"
        rows = (
            self._run(sql + " ORDER BY launched_s")
            if job_id is None
            else self._run(sql + " WHERE job_id = ? ORDER BY generation", (job_id,))
        ).fetchall()
        keys = ("job_id", "generation", "placement", "launched_s", "exited_s", "exit_code")
        out = []
        for row in rows:
            item = dict(zip(keys, row[:6], strict=True))
            item["placement"], item["reason"] = json.loads(item["placement"]), row[6]
            out.append(item)
        return out

    # -- nodes -----------------------------------------------------------------------------
    def node_joined(self, node_id: str, ray_id: str, gpus: int, time_s: float) -> None:
        self._run(
            "INSERT INTO nodes (node_id, ray_id, gpus, joined_s) VALUES (?, ?, ?, ?)",
            (node_id, ray_id, gpus, time_s),
        )

    def node_left(self, ray_id: str, time_s: float) -> None:
        self._run(
            "UPDATE nodes SET left_s = ? WHERE ray_id = ? AND left_s IS NULL", (time_s, ray_id)
        )

    def nodes(self) -> list[dict[str, Any]]:
        rows = self._run(
            "SELECT node_id, ray_id, gpus, joined_s, left_s FROM nodes ORDER BY seq"
        ).fetchall()
        keys = ("node_id", "ray_id", "gpus", "joined_s", "left_s")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def open_nodes(self) -> list[str]:
        """Ray ids of nodes recorded as joined and not left."""
        return [r[0] for r in self._run("SELECT ray_id FROM nodes WHERE left_s IS NULL").fetchall()]

    # -- small values ----------------------------------------------------------------------
    def put_meta(self, key: str, value: Any) -> None:
        self._run(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value)),
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._run("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])
