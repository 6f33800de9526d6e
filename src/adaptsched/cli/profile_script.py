"""`adaptsched profile --script`: measure a user's own training script for the simulator.

The script runs unchanged, training through ``AdaptiveTrainer`` as any adaptsched job does.
The profiler starts K replicas of it (:mod:`adaptsched.cli.replicas`) with the variables of
the trainer's profiling mode (:mod:`adaptsched.train.profile_mode`): once per replica count
for the step times, every ``--local-bsz`` in turn for ``--steps`` timed steps, and once per
``--batches`` value for the gradient statistics, ``--epochs`` statistical epochs on
``--val-replicas`` replicas. Each run leaves a JSON file of what the trainer measured (its
hints and epoch rows); this module turns them into the rows of ``placements.csv`` and
``validation-<M>.csv``. torch never loads in this process.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adaptsched import runtime_env as renv
from adaptsched.cli.replicas import Script, run_replicas
from adaptsched.cli.step_rounds import median_rows
from adaptsched.models.hints import Hints

log = logging.getLogger(__name__)

#: Default total batches to measure, as multiples of the script's M0.
DEFAULT_BATCH_FACTORS = (1, 2, 4, 8)
VALIDATION_KEYS = ("progress", "iteration", "metric", "grad_sqr", "grad_var")


@dataclass(frozen=True)
class ScriptProfile:
    """What the runs measured, as CSV rows."""

    hints: Hints  # the first run's: the script's batch limits
    #: per round (``--rounds``): placement, local_bsz, step_time, sync_time rows
    placement_rounds: list[list[list[object]]]
    validation: dict[int, list[list[object]]]  # total batch -> VALIDATION_KEYS rows
    rows_without_metric: int  # epoch rows for which the script reported no metric (0 written)

    @property
    def placements(self) -> list[list[object]]:
        """placements.csv's rows: each row's median over the rounds."""
        return median_rows(self.placement_rounds, keys=2)


def check_script(args: argparse.Namespace) -> Path:
    """Refuse, before anything runs, what can be known wrong without running the script;
    returns the script's absolute path."""
    script = args.script.expanduser()
    if not script.is_file():
        raise ValueError(f"--script {args.script}: no such file")
    for batch in args.batches or []:
        if batch % args.val_replicas:
            raise ValueError(
                f"--batches {batch}: not divisible by --val-replicas {args.val_replicas}"
            )
    return script.resolve()


def measure_script(args: argparse.Namespace, script: Script) -> ScriptProfile:
    """Every run of the plan; ValueError (one line) at the first that fails."""
    sizes = args.local_bsz  # without repeats (profile._check_mode)
    rounds: list[list[list[object]]] = []
    hints: Hints | None = None
    with tempfile.TemporaryDirectory(prefix="adaptsched-profile-") as work:
        for number in range(1, args.rounds + 1):
            placements: list[list[object]] = []
            for replicas in args.replicas:
                env = {
                    renv.PROFILE_LOCAL_BSZ: ",".join(map(str, sizes)),
                    renv.PROFILE_STEPS: str(args.steps),
                }
                what = f"{_replicas(replicas)}, local batch {' '.join(map(str, sizes))}"
                if args.rounds > 1:
                    what += f" (round {number} of {args.rounds})"
                run_dir = Path(work) / f"placements-{replicas}-{number}"
                body = _measure(script, replicas, env, run_dir, what)
                run_hints = Hints.from_json(body["hints"])
                hints = hints or run_hints
                placements += _placement_rows(run_hints, replicas, sizes, what)
            rounds.append(placements)
        assert hints is not None  # --replicas takes one value at least
        batches = _checked_batches(args.batches, hints, args.val_replicas)
        validation: dict[int, list[list[object]]] = {}
        missing = 0
        for batch in batches:
            env = {renv.PROFILE_BATCH: str(batch), renv.PROFILE_EPOCHS: str(args.epochs)}
            what = f"total batch {batch} on {_replicas(args.val_replicas)}"
            body = _measure(script, args.val_replicas, env, Path(work) / f"batch-{batch}", what)
            rows = body["epochs"]
            missing += sum(row["metric"] is None for row in rows)
            validation[batch] = [[row[k] or 0 for k in VALIDATION_KEYS] for row in rows]
            log.info("total batch %d: %d epochs measured", batch, len(rows))
    return ScriptProfile(hints, rounds, validation, missing)


def _replicas(count: int) -> str:
    return f"{count} replica{'s' if count > 1 else ''}"


def _measure(
    script: Script, replicas: int, env: dict[str, str], run_dir: Path, what: str
) -> dict[str, Any]:
    """One run of ``replicas`` processes; the trainer's JSON, complete."""
    out = run_dir / "measured.json"
    env = {**env, renv.PROFILE_OUT: str(out), renv.JOB_DIR: str(run_dir)}
    log.info("measuring %s: %s", script.path.name, what)
    run_replicas(script, replicas, env, run_dir, what)
    name = script.path.name
    if not out.is_file():
        raise ValueError(
            f"script {name} ({what}) exited without measuring anything: it must train "
            "through adaptsched.train.AdaptiveTrainer"
        )
    body: dict[str, Any] = json.loads(out.read_text())
    if not body["done"]:
        raise ValueError(
            f"script {name} ({what}) ended before the measurement was complete "
            f"({_progress(body)}); let it train longer (its arguments after --)"
        )
    return body


def _progress(body: dict[str, Any]) -> str:
    plan = body["plan"]
    if plan["local_bsz"]:
        counts = {int(r["local_bsz"]): int(r["count"]) for r in body["hints"]["observations"]}
        done = ", ".join(f"local batch {m}: {counts.get(m, 0)}" for m in plan["local_bsz"])
        return f"timed steps of {plan['steps']} wanted: {done}"
    return f"{len(body['epochs'])} of {plan['epochs']} epochs"


def _placement_rows(hints: Hints, replicas: int, sizes: list[int], what: str) -> list[list[object]]:
    """One placements.csv row per local batch: placement "K" is one node with K replicas."""
    rows = {
        int(r["local_bsz"]): r
        for r in hints.observations
        if int(r["replicas"]) == replicas and int(r["nodes"]) == 1
    }
    out: list[list[object]] = []
    for size in sizes:
        if size not in rows:
            raise ValueError(f"({what}) the trainer recorded no step time at local batch {size}")
        row = rows[size]
        out.append([str(replicas), size, row["step_time"], row["sync_time"]])
        log.info("placement %d, local batch %d: %.4f s/step", replicas, size, row["step_time"])
    return out


def _checked_batches(given: list[int] | None, hints: Hints, replicas: int) -> list[int]:
    """``--batches``, each within the script's [M0, max batch]; without it M0 x 1, 2, 4, 8
    (those within the maximum and divisible by the replicas)."""
    low, high = hints.init_batch, hints.max_batch
    if given is None:
        batches = [
            low * f for f in DEFAULT_BATCH_FACTORS if low * f <= high and not low * f % replicas
        ]
        if not batches:
            raise ValueError(
                f"no default --batches: no multiple of the script's M0 = {low} up to {high} is "
                f"divisible by --val-replicas {replicas}; give --batches"
            )
        return batches
    for batch in given:
        if not low <= batch <= high:
            raise ValueError(
                f"--batches {batch}: outside the script's total batch range [{low}, {high}] "
                "(its BatchLimits init_batch and max_batch)"
            )
    return list(dict.fromkeys(given))


def profile_meta(args: argparse.Namespace, result: ScriptProfile) -> dict[str, Any]:
    """profile.json's job constants and note (the measuring metadata is added by the caller)."""
    hints = result.hints
    notes = []
    epochs = args.job_epochs or args.epochs
    if args.job_epochs is None:
        notes.append(
            f"'epochs' is the {args.epochs} statistical epochs measured; pass --job-epochs for "
            "the real job's length"
        )
    if result.rows_without_metric:
        notes.append(
            "the script reported no validation metric (AdaptiveTrainer.report_metric) for "
            f"{result.rows_without_metric} epoch rows: their metric column is 0"
        )
    return {
        "epochs": epochs,
        "init_batch": hints.init_batch,
        "max_batch": hints.max_batch,
        "min_local": hints.min_local_bsz,
        "max_local": hints.max_local_bsz or hints.max_batch,
        "script": args.script.name,
        **({"note": "; ".join(notes)} if notes else {}),
    }
