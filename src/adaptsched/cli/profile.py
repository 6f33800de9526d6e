"""`adaptsched profile`: measure a training job on this machine and write a simulator profile.

    adaptsched profile --job mnist --out profiles/mnist
    adaptsched profile --script train.py --out profiles/mine -- --epochs 10

``--job`` measures a built-in job (:mod:`adaptsched.train.profiling`); ``--script`` runs the
user's own script, unchanged, in the trainer's profiling mode
(:mod:`adaptsched.cli.profile_script`).

Writes ``placements.csv`` (step and sync time per replica count and local batch; placement
"2" is one node with 2 replicas), with ``--job`` also ``host.csv`` (one replica's step time
while K unsynchronised copies of the job share the machine), ``validation-<M>.csv`` (per
statistical epoch at total batch M: progress in iterations at M0, test accuracy, grad_sqr,
grad_var at M0) and ``profile.json`` (the job's constants plus where, when and how it was
measured). Format:
docs/profile-format.md. torch loads only when the command runs. ``--rounds R`` measures the
step times R times in turn and keeps each row's median (:mod:`adaptsched.cli.step_rounds`).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from adaptsched.cli.args import bounded, output_dir
from adaptsched.cli.step_rounds import largest_spread, median_rows

if TYPE_CHECKING:
    from adaptsched.train.profiling import ProfileJob, RunOptions

log = logging.getLogger(__name__)


#: Most processes one measurement may start (each is a full training process, ~1 GB).
MAX_PROCESSES = 64

#: Defaults of the flags that only ``--job`` takes (None in the parser, so that a value given
#: with ``--script`` is refused rather than ignored).
JOB_DEFAULTS = {"train_samples": 15000, "test_samples": 10000}
DEFAULT_BATCHES = [64, 128, 256, 512]
DEFAULT_TIMEOUT_S = 3600.0
JOB_ONLY = ("data", "train_samples", "test_samples", "statistics_from")
SCRIPT_ONLY = ("job_epochs", "timeout")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    count, processes = bounded(int, 1, 1_000_000), bounded(int, 1, MAX_PROCESSES)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--job", default=None, help="built-in job to profile (default: mnist)")
    mode.add_argument(
        "--script", type=Path, default=None, help="your training script (uses AdaptiveTrainer)"
    )
    parser.add_argument("--out", required=True, type=Path, help="profile folder to write")
    parser.add_argument("--data", default=None, help="dataset directory (--job only)")
    parser.add_argument("--replicas", type=processes, nargs="+", default=[1, 2])
    parser.add_argument("--local-bsz", type=count, nargs="+", default=[16, 32, 64, 128, 256])
    parser.add_argument("--steps", type=count, default=20, help="timed steps per placement row")
    parser.add_argument(
        "--rounds",
        type=bounded(int, 1, 100),
        default=1,
        help="measure the step times this many times in turn and keep each row's median "
        "(3 on a machine shared with other work)",
    )
    parser.add_argument(
        "--batches",
        type=count,
        nargs="+",
        default=None,
        help="total batches of the statistics runs (default: 64 128 256 512 for --job; the "
        "script's M0 x 1 2 4 8 for --script)",
    )
    parser.add_argument(
        "--epochs", type=bounded(int, 1, 1000), default=3, help="statistical epochs per batch"
    )
    parser.add_argument("--val-replicas", type=processes, default=2, help="processes per batch run")
    samples = bounded(int, 0, 10**9)
    parser.add_argument("--train-samples", type=samples, default=None, help="0: all (15000)")
    parser.add_argument("--test-samples", type=samples, default=None, help="0: all (10000)")
    parser.add_argument(
        "--threads", type=bounded(int, 1, 256), default=1, help="torch threads per process"
    )
    parser.add_argument(
        "--job-epochs",
        type=bounded(int, 1, 10**6),
        default=None,
        help="the real job's length for profile.json (--script; default: --epochs)",
    )
    parser.add_argument(
        "--timeout",
        type=bounded(float, 1, 10**6, " seconds"),
        default=None,
        help="seconds one run of the script may take (--script; default 3600)",
    )
    parser.add_argument(
        "--statistics-from",
        type=Path,
        default=None,
        metavar="PROFILE",
        help="measure step times only; take the gradient statistics from this profile of the "
        "same job (--job only)",
    )
    parser.add_argument(
        "script_args", nargs="*", metavar="-- ARGS", help="the script's own arguments"
    )


def _check_mode(args: argparse.Namespace) -> None:
    """Refuse a flag of the other mode (it would be silently ignored); fill --job defaults.
    A replica count or local batch given twice is measured once."""
    args.replicas = list(dict.fromkeys(args.replicas))
    args.local_bsz = list(dict.fromkeys(args.local_bsz))
    flag = {name: "--" + name.replace("_", "-") for name in (*JOB_ONLY, *SCRIPT_ONLY)}
    if args.script is not None:
        for name in JOB_ONLY:
            if getattr(args, name) is not None:
                hint = (
                    ""
                    if name == "statistics_from"
                    else "; give the script its own arguments after --"
                )
                raise ValueError(f"{flag[name]}: applies to --job only{hint}")
        return
    if args.script_args:
        raise ValueError(f"arguments {args.script_args}: only --script takes arguments after --")
    for name in SCRIPT_ONLY:
        if getattr(args, name) is not None:
            raise ValueError(f"{flag[name]}: applies to --script only")
    args.job = args.job or "mnist"
    args.batches = args.batches or DEFAULT_BATCHES
    for name, value in JOB_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def check_plan(args: argparse.Namespace, job: ProfileJob, train_len: int) -> int:
    """Refuse, before anything is measured, a plan the job cannot carry out; returns the
    training samples per epoch. Every timed step must be a whole batch of the epoch, and each
    validation batch within the job's limits and split evenly over ``--val-replicas``."""
    epoch_samples = min(args.train_samples or train_len, train_len)
    for batch in args.batches:
        if not job.init_batch <= batch <= job.max_batch:
            raise ValueError(
                f"--batches {batch}: outside job {job.name}'s total batch range "
                f"[{job.init_batch}, {job.max_batch}]"
            )
        if batch % args.val_replicas:
            raise ValueError(
                f"--batches {batch}: not divisible by --val-replicas {args.val_replicas}"
            )
    largest = max(max(args.replicas) * max(args.local_bsz), max(args.batches))
    if epoch_samples < largest:
        raise ValueError(
            f"--train-samples {args.train_samples}: {epoch_samples} samples per epoch, fewer "
            f"than the largest batch to measure ({largest}); use 0 (all {train_len}) or more"
        )
    return epoch_samples


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _portable_command(argv: list[str]) -> str:
    """The command line as run, with absolute paths cut to their last part: the metadata says
    how the profile was measured without naming the measuring machine's directories."""
    parts = [Path(a).name if os.path.isabs(a) else a for a in argv]
    return "adaptsched " + shlex.join(parts)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def _measured(
    command: str, torch_version: str, threads: int, load_before: tuple[float, ...], start_s: float
) -> dict[str, object]:
    """Where, when and how a profile was measured (``command`` without the measuring
    machine's paths: see ``_portable_command``)."""
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "torch": torch_version,
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "backend": "gloo",
        "threads_per_process": threads,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "wall_s": round(time.monotonic() - start_s, 1),
    }


def run(args: argparse.Namespace) -> int:
    _check_mode(args)
    if args.script is not None:
        return _run_script(args)
    import torch

    from adaptsched.train.profiling import (
        RunOptions,
        get_profile_job,
        measure_finish,
        measure_validation,
    )

    job = get_profile_job(args.job)
    train_len = len(job.datasets(args.data)[0])
    epoch_samples = check_plan(args, job, train_len)
    reused = _reused_statistics(args.statistics_from, job.name, epoch_samples)
    out = output_dir(args.out, "--out")
    opts = RunOptions(args.job, args.data, args.train_samples, args.test_samples, args.threads)
    start_s = time.monotonic()
    load_before = os.getloadavg()
    placement_rounds, host_rounds = [], []
    for number in range(1, args.rounds + 1):
        if args.rounds > 1:
            log.info("step times, round %d of %d", number, args.rounds)
        placement_rounds.append(_placement_round(opts, args))
        host_rounds.append(_host_round(opts, args))
    _write_csv(
        out / "placements.csv",
        ["placement", "local_bsz", "step_time", "sync_time"],
        median_rows(placement_rounds, keys=2),
    )
    if host_rounds[0]:
        _write_csv(
            out / "host.csv", ["replicas", "local_bsz", "step_time"], median_rows(host_rounds, 2)
        )
    for batch in args.batches if reused is None else []:
        rows = measure_validation(opts, args.val_replicas, batch, args.epochs)
        keys = ["progress", "iteration", "metric", "grad_sqr", "grad_var"]
        _write_csv(out / f"validation-{batch}.csv", keys, [[r[k] for k in keys] for r in rows])
        log.info("batch %d: accuracy %s", batch, [round(r["metric"], 4) for r in rows])
    statistics = _statistics_meta(args)
    if reused is not None:
        statistics = _copy_statistics(args.statistics_from, reused, out)
    finish_s = measure_finish(opts)
    log.info("final evaluation (%d test samples): %.2f s", args.test_samples, finish_s)
    meta = {
        "epochs": max(1, round(job.epochs * train_len / epoch_samples)),
        "finish_s": round(finish_s, 3),
        "init_batch": job.init_batch,
        "max_batch": job.max_batch,
        "min_local": job.min_local,
        "max_local": job.max_local,
        "job": job.name,
        "epoch_samples": epoch_samples,
        "dataset_samples": train_len,
        "note": (
            f"an epoch here is {epoch_samples} training samples; 'epochs' is the real job's "
            f"{job.epochs} epochs of {train_len} samples expressed in those units"
        ),
        "measured": {
            **_measured(
                _portable_command(sys.argv[1:]),
                torch.__version__,
                args.threads,
                load_before,
                start_s,
            ),
            "replicas": args.replicas,
            "local_bsz": args.local_bsz,
            "steps_per_row": args.steps,
            **_rounds_meta(args.rounds, placement_rounds),
            "test_samples": args.test_samples,
            **statistics,
        },
    }
    (out / "profile.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"profile written to {out} in {meta['measured']['wall_s']} s")
    return 0


def _placement_round(opts: RunOptions, args: argparse.Namespace) -> list[list[object]]:
    """One round of placements.csv rows: every replica count at every local batch."""
    from adaptsched.train.profiling import measure_placements

    rows: list[list[object]] = []
    for replicas in args.replicas:
        for row in measure_placements(opts, replicas, args.local_bsz, args.steps):
            rows.append([str(replicas), row["local_bsz"], row["step_time"], row["sync_time"]])
            log.info(
                "placement %d, local batch %d: %.4f s/step",
                replicas,
                row["local_bsz"],
                row["step_time"],
            )
    return rows


def _host_round(opts: RunOptions, args: argparse.Namespace) -> list[list[object]]:
    """One round of host.csv rows: K unsynchronised copies side by side, for every K > 1."""
    from adaptsched.train.profiling import measure_side_by_side

    rows: list[list[object]] = []
    for copies in [r for r in args.replicas if r > 1]:
        for row in measure_side_by_side(opts, copies, args.local_bsz, args.steps):
            rows.append([copies, row["local_bsz"], row["step_time"]])
            log.info("%d copies side by side, local batch %d: %.4f s/step", copies,
                     row["local_bsz"], row["step_time"])  # fmt: skip
    return rows


def _rounds_meta(rounds: int, placement_rounds: list[list[list[object]]]) -> dict[str, object]:
    """How many rounds the step times took, and how far the rounds disagreed (one round:
    nothing to say)."""
    if rounds == 1:
        return {}
    spread = largest_spread(placement_rounds, keys=2, column=2)
    return {"step_rounds": rounds, "step_time_largest_spread": round(spread, 4)}


def _statistics_meta(args: argparse.Namespace) -> dict[str, object]:
    return {
        "validation_batches": args.batches,
        "validation_replicas": args.val_replicas,
        "validation_epochs": args.epochs,
    }


def _reused_statistics(source: Path | None, job: str, epoch_samples: int) -> dict | None:
    """The profile whose gradient statistics ``--statistics-from`` reuses (checked before
    anything is measured: the same job at the same epoch length), or None."""
    if source is None:
        return None
    try:
        meta = json.loads((source / "profile.json").read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"--statistics-from {source}: no readable profile.json ({err})") from None
    if meta.get("job") != job or meta.get("epoch_samples") != epoch_samples:
        raise ValueError(
            f"--statistics-from {source}: a profile of job {meta.get('job')!r} at "
            f"{meta.get('epoch_samples')} samples per epoch, not {job!r} at {epoch_samples}"
        )
    if not list(source.glob("validation-*.csv")):
        raise ValueError(f"--statistics-from {source}: no validation-*.csv files")
    return meta


def _copy_statistics(source: Path, meta: dict, out: Path) -> dict[str, object]:
    """Gradient statistics do not depend on the machine's speed: copy them, and say whence."""
    for path in source.glob("validation-*.csv"):
        shutil.copyfile(path, out / path.name)
    measured = meta.get("measured", {})
    keys = ("validation_batches", "validation_replicas", "validation_epochs")
    return {k: measured.get(k) for k in keys} | {
        "statistics_from": {
            "date_utc": measured.get("date_utc"),
            "command": measured.get("command"),
        }
    }


def _run_script(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    from adaptsched.cli.profile_script import (
        VALIDATION_KEYS,
        check_script,
        measure_script,
        profile_meta,
    )
    from adaptsched.cli.replicas import Script

    path = check_script(args)
    out = output_dir(args.out, "--out")
    timeout_s = args.timeout or DEFAULT_TIMEOUT_S
    script = Script(path, tuple(args.script_args), args.threads, timeout_s)
    start_s, load_before = time.monotonic(), os.getloadavg()
    result = measure_script(args, script)
    header = ["placement", "local_bsz", "step_time", "sync_time"]
    _write_csv(out / "placements.csv", header, result.placements)
    for batch, rows in result.validation.items():
        _write_csv(out / f"validation-{batch}.csv", list(VALIDATION_KEYS), rows)
    meta = profile_meta(args, result)
    meta["measured"] = {
        **_measured(_script_command(args), version("torch"), args.threads, load_before, start_s),
        "replicas": args.replicas,
        "local_bsz": args.local_bsz,
        "steps_per_row": args.steps,
        **_rounds_meta(args.rounds, result.placement_rounds),
        "validation_batches": sorted(result.validation),
        "validation_replicas": args.val_replicas,
        "validation_epochs": args.epochs,
    }
    (out / "profile.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"profile of {path.name} written to {out} in {meta['measured']['wall_s']} s")
    return 0


def _script_command(args: argparse.Namespace) -> str:
    """The command as parsed (whoever called it), paths cut as by ``_portable_command``."""
    argv = ["profile", "--script", str(args.script), "--out", str(args.out)]
    argv += ["--replicas", *map(str, args.replicas), "--local-bsz", *map(str, args.local_bsz)]
    argv += ["--steps", str(args.steps), "--epochs", str(args.epochs)]
    if args.batches:
        argv += ["--batches", *map(str, args.batches)]
    argv += ["--val-replicas", str(args.val_replicas), "--threads", str(args.threads)]
    if args.job_epochs:
        argv += ["--job-epochs", str(args.job_epochs)]
    return _portable_command([*argv, "--", *args.script_args] if args.script_args else argv)
