"""The runtime end to end, through the CLI, on an emulated 2-node cluster: a job resized by
another's arrival, crashes retried and a spent failure budget, cancel, and a controller killed
with SIGKILL and started again. Real Ray, real torch.distributed (gloo), real SQLite."""

from __future__ import annotations

import itertools
import os
import signal
from collections import defaultdict
from pathlib import Path

import pytest
from runtime_helpers import Runtime

pytestmark = pytest.mark.slow

SLEEP = ("--step-sleep", "0.05")
TERMINAL = ("succeeded", "failed", "cancelled")


def seen_samples(job_dir: Path) -> dict[int, list[tuple[int, int, float]]]:
    """generation -> [(epoch, sample, time)] over all ranks, from the job's own records."""
    out: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
    for path in job_dir.glob("seen-g*-r*.txt"):
        generation = int(path.name.split("-")[1][1:])
        for line in path.read_text().splitlines():
            epoch, index, stamp = line.split()
            out[generation].append((int(epoch), int(index), float(stamp)))
    return out


def assert_resumed_without_gap_or_repeat(
    job_dir: Path, samples: int, repeats: bool = False
) -> None:
    """Every epoch but the last covers each sample exactly once across generations and ranks
    (the elastic sampler resumes from the checkpoint); generations never overlap in time.
    ``repeats``: a generation was killed without a checkpoint, so what it did since its last
    one is done again; still no sample may be missing."""
    by_gen = seen_samples(job_dir)
    per_epoch: dict[int, list[int]] = defaultdict(list)
    for rows in by_gen.values():
        for epoch, index, _ in rows:
            per_epoch[epoch].append(index)
    last = max(per_epoch)
    for epoch, indices in per_epoch.items():
        if not repeats:
            assert len(indices) == len(set(indices)), f"epoch {epoch}: a sample repeated"
        if epoch < last:
            assert sorted(set(indices)) == list(range(samples)), f"epoch {epoch}: samples missing"
    gens = sorted(by_gen)
    for a, b in itertools.pairwise(gens):
        assert max(t for *_, t in by_gen[a]) < min(t for *_, t in by_gen[b]), "generations overlap"


def assert_history_consistent(runtime: Runtime, job_id: str, final: str) -> None:
    with runtime.db() as db:
        rows = db.execute(
            "SELECT old, new FROM events WHERE job_id = ? AND new IS NOT NULL ORDER BY seq",
            (job_id,),
        ).fetchall()
    assert rows and rows[0][0] == "pending" and rows[-1][1] == final
    for (_, new), (old, _) in itertools.pairwise(rows):
        assert new == old, f"{job_id}: history jumps from {new} to {old}"


def running_on(runtime: Runtime, job_id: str, replicas: int) -> bool:
    job = runtime.job(job_id)
    return job["state"] == "running" and job["replicas"] == replicas


def test_arrival_resizes_the_first_job_and_both_finish(runtime: Runtime) -> None:
    first = runtime.submit("--name", "first", job_args=("--epochs", "25", *SLEEP))
    # Running on 2 replicas, not only given them: a second generation stopped before it starts
    # would never report (its hints, and the 2-replica step times, would be missing below).
    runtime.wait("first running on 2 replicas", lambda: running_on(runtime, first, 2), 120)
    second = runtime.submit("--name", "second", job_args=("--epochs", "6", *SLEEP))
    runtime.wait(
        "first shrunk for second",
        lambda: (
            runtime.job(second)["state"] in ("running", "succeeded")
            and runtime.job(first)["generation"] >= 3
        ),
        120,
    )
    for job_id in (first, second):
        job = runtime.wait_state(job_id, *TERMINAL, timeout_s=150)
        assert job["state"] == "succeeded", job
        assert job["failures"] == 0
        assert_resumed_without_gap_or_repeat(runtime.state_dir / "jobs" / job_id, 512)
        assert_history_consistent(runtime, job_id, "succeeded")
    history = [e["new"] for e in runtime.job(first)["events"] if e["new"]]
    assert "resizing" in history  # grown to 2, then shrunk when the second arrived
    with runtime.db() as db:
        hints = db.execute("SELECT COUNT(*) FROM hints WHERE job_id = ?", (first,)).fetchone()[0]
        gens = db.execute(
            "SELECT COUNT(DISTINCT generation) FROM hints WHERE job_id = ?", (first,)
        ).fetchone()[0]
    assert hints >= 3 and gens >= 3  # every generation reported
    assert_exported_profile_loads(runtime, first)


def assert_exported_profile_loads(runtime: Runtime, job_id: str) -> None:
    """The job's own measurements make a simulator profile: step times at the replica counts
    it ran on (1 and 2), gradient statistics for every epoch it reported."""
    from adaptsched.sim.profile import load_profile

    out = runtime.state_dir.parent / f"profile-{job_id}" / "tiny"
    printed = runtime.cli("export-profile", job_id, "--out", str(out)).stdout
    assert "wrote" in printed
    profile = load_profile(out)
    assert set(profile.placements.replicas) >= {1.0, 2.0}
    assert (profile.placements.step_time > 0).all()
    table = profile.validation[profile.spec.init_batch]
    assert table.progress.size >= 5 and (table.grad_var > 0).all()
    refused = runtime.cli("export-profile", "nope-1", "--out", str(out), check=False)
    assert refused.returncode == 2 and "job 'nope-1': not in" in refused.stderr


def test_crash_retries_budget_and_cancel(runtime: Runtime) -> None:
    retried = runtime.submit(
        "--name", "retried", job_args=("--epochs", "2", "--crash-generations", "1")
    )
    doomed = runtime.submit(
        "--name",
        "doomed",
        "--max-failures",
        "1",
        job_args=("--epochs", "2", "--crash-generations", "1,2"),
    )
    job = runtime.wait_state(doomed, *TERMINAL)
    assert job["state"] == "failed" and job["failures"] == 2
    assert "crashing on purpose" in job["reason"]
    assert "crashing on purpose" in runtime.cli("show", doomed).stdout  # the log tail
    job = runtime.wait_state(retried, *TERMINAL)
    assert job["state"] == "succeeded" and job["failures"] == 1 and job["generation"] >= 2
    with runtime.db() as db:
        first_exit = db.execute(
            "SELECT exit_code FROM generations WHERE job_id = ? AND generation = 1", (retried,)
        ).fetchone()[0]
    # Its first generation crashed and was retried (failures 1); a later start is a resize
    # (once doomed is gone it may get 2 GPUs), which spends no failure budget.
    assert first_exit == 1
    assert_history_consistent(runtime, doomed, "failed")
    victim = runtime.submit("--name", "victim", job_args=("--epochs", "100", *SLEEP))
    runtime.wait_state(victim, "running")
    runtime.cli("cancel", victim)
    job = runtime.wait_state(victim, "cancelled", timeout_s=60)
    assert job["held"] == [] and job["failures"] == 0
    assert_history_consistent(runtime, victim, "cancelled")


def test_controller_killed_and_restarted_loses_nothing(runtime: Runtime) -> None:
    jobs = [
        runtime.submit("--name", f"survivor{i}", job_args=("--epochs", "12", *SLEEP))
        for i in range(2)
    ]
    for job_id in jobs:
        runtime.wait_state(job_id, "running")
    runtime.wait("some progress", lambda: (runtime.job(jobs[0])["progress"] or 0) > 0.2, 60)
    os.kill(runtime.info()["pid"], signal.SIGKILL)
    runtime.up()
    for job_id in jobs:
        job = runtime.wait_state(job_id, *TERMINAL, timeout_s=180)
        assert job["state"] == "succeeded" and job["failures"] == 0
        assert job["interruptions"] >= 1 and job["generation"] >= 2
        job_dir = runtime.state_dir / "jobs" / job_id
        assert_resumed_without_gap_or_repeat(job_dir, 512, repeats=True)
        assert_history_consistent(runtime, job_id, "succeeded")
