"""Random argument vectors for every command: each ends with exit 0 and output, or exit 2 and
one line; never a traceback, never a hang (each call is bounded in time).

Flag values are drawn from lists that mix valid, out-of-range and malformed values. `sim`
runs for real on a tiny synthetic workload; the measuring of `profile` and the simulations of
`experiment` (minutes each) are replaced by quick stand-ins, so that what is exercised is the
commands' own argument handling, checks and output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import assert_clean_outcome, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import mixed_jobs, write_profile, write_workload
from torch.utils.data import TensorDataset

from adaptsched.experiments.thesis import bundled_profile_dir

INTS = st.sampled_from(["-1", "0", "1", "2", "3", "x", "1.5", "99999999"])
FLOATS = st.sampled_from(["-1", "0", "0.001", "1", "30", "nan", "inf", "1e9", "x"])
FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
#: Seconds one command may run (a valid `sim` vector here takes well under one).
TIMEOUT_S = 20.0


def _vector(flags: dict[str, st.SearchStrategy[str] | None]) -> st.SearchStrategy[list[str]]:
    """A random subset of ``flags`` in random order; None marks a switch without a value."""
    names = st.lists(st.sampled_from(sorted(flags)), max_size=5, unique=True)

    def build(chosen: list[str]) -> st.SearchStrategy[list[str]]:
        parts = [
            st.just([name]) if flags[name] is None else _pair(name, flags[name]) for name in chosen
        ]
        return st.tuples(*parts).map(lambda groups: [token for g in groups for token in g])

    return names.flatmap(build)


def _pair(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return values.map(lambda value: [name, value])


SIM_FLAGS: dict[str, st.SearchStrategy[str] | None] = {
    "--policy": st.sampled_from(["fifo", "tiresias", "optimus", "pollux", "pollux-milp", "bogus"]),
    "--nodes": INTS,
    "--gpus-per-node": INTS,
    "--interval": FLOATS,
    "--seed": INTS,
    "--metric": st.sampled_from(["speed", "cost", "balanced:2", "bogus"]),
    "--autoscale": None,
    "--min-nodes": INTS,
    "--max-nodes": INTS,
    "--initial-nodes": INTS,
    "--provision-delay": FLOATS,
    "--generations": INTS,
    "--json": None,
}


@pytest.fixture(scope="module")
def sim_inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("fuzz-sim")
    traces = write_profile(root / "traces").parent
    blocker = root / "a-file"
    blocker.write_text("")
    return write_workload(root / "w.csv", mixed_jobs(3)), traces, blocker


@FUZZ
@given(flags=_vector(SIM_FLAGS), out=st.sampled_from([None, "folder", "file"]))
def test_sim_random_arguments(
    sim_inputs: tuple[Path, Path, Path],
    flags: list[str],
    out: str | None,
    capsys: pytest.CaptureFixture,
) -> None:
    workload, traces, blocker = sim_inputs
    argv = ["sim", str(workload), "--traces", str(traces), "--no-progress", *flags]
    pollux = "--policy" in flags and flags[flags.index("--policy") + 1] == "pollux"
    if pollux and "--generations" not in flags:
        argv += ["--generations", "2"]  # a short search keeps a valid vector quick
    if out is not None:
        argv += ["--out", str(blocker if out == "file" else workload.parent / "out")]
    assert_clean_outcome("sim", *run_cli(argv, capsys, TIMEOUT_S))


PROFILE_FLAGS: dict[str, st.SearchStrategy[str] | None] = {
    "--job": st.sampled_from(["tiny", "bogus"]),
    "--replicas": INTS,
    "--local-bsz": INTS,
    "--steps": INTS,
    "--batches": st.sampled_from(["8", "16", "12", "0", "4096", "x"]),
    "--epochs": INTS,
    "--val-replicas": INTS,
    "--train-samples": st.sampled_from(["0", "10", "64", "-5"]),
    "--test-samples": INTS,
    "--threads": INTS,
    "--job-epochs": INTS,  # --script only: refused with --job
    "--script": st.sampled_from(["no-such-script.py"]),
}


@pytest.fixture
def tiny_profile_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registered job 'tiny' of 64 samples whose measurements return at once."""
    import dataclasses

    import torch

    from adaptsched.train import profiling

    data = TensorDataset(torch.zeros(64, 2), torch.zeros(64, dtype=torch.long))
    job = dataclasses.replace(
        profiling.PROFILE_JOBS["mnist"],
        name="tiny",
        init_batch=8,
        max_batch=64,
        min_local=2,
        max_local=16,
        datasets=lambda data_dir: (data, data),
    )
    row = {"progress": 1.0, "iteration": 1, "metric": 0.5, "grad_sqr": 1.0, "grad_var": 1.0}
    monkeypatch.setitem(profiling.PROFILE_JOBS, "tiny", job)
    monkeypatch.setattr(
        profiling,
        "measure_placements",
        lambda opts, k, sizes, steps: [
            {"local_bsz": m, "step_time": 0.01, "sync_time": 0.0} for m in sizes
        ],
    )
    monkeypatch.setattr(
        profiling, "measure_validation", lambda opts, k, batch, epochs: [row] * epochs
    )
    monkeypatch.setattr(profiling, "measure_finish", lambda opts: 0.01)


@FUZZ
@given(flags=_vector(PROFILE_FLAGS))
def test_profile_random_arguments(
    tiny_profile_job: None, tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture
) -> None:
    argv = ["profile", "--out", str(tmp_path / "profile"), "--job", "tiny", "--batches", "8"]
    argv += ["--replicas", "1", "--local-bsz", "4", *flags]
    assert_clean_outcome("profile", *run_cli(argv, capsys, TIMEOUT_S))


EXPERIMENT_FLAGS: dict[str, st.SearchStrategy[str] | None] = {
    "--seeds": INTS,
    "--generations": INTS,
    "--json": None,
    "--profile": st.sampled_from([str(bundled_profile_dir()), "no-such-profile"]),
}


@pytest.fixture
def quick_thesis(monkeypatch: pytest.MonkeyPatch) -> None:
    """The thesis experiment with its simulations replaced by a canned report (its profile is
    still loaded, so a bad --profile is still found)."""
    from adaptsched.experiments import thesis, thesis_report

    def run_thesis(seeds, setup, profile_dir, progress):  # type: ignore[no-untyped-def]
        thesis.job_truths(profile_dir or thesis.bundled_profile_dir())
        progress("pollux", 0)
        return {"scenarios": {}, "setup": {"seeds": seeds}}

    monkeypatch.setattr(thesis, "run_thesis", run_thesis)
    monkeypatch.setattr(thesis_report, "comparisons", lambda report: [])
    monkeypatch.setattr(thesis_report, "markdown", lambda report: "report\n")
    monkeypatch.setattr(thesis_report, "bar_charts", lambda report, out: None)


@FUZZ
@given(flags=_vector(EXPERIMENT_FLAGS), name=st.sampled_from(["thesis", "bogus"]))
def test_experiment_random_arguments(
    quick_thesis: None, tmp_path: Path, flags: list[str], name: str, capsys: pytest.CaptureFixture
) -> None:
    argv = ["experiment", name, "--out", str(tmp_path / "report"), *flags]
    assert_clean_outcome("experiment", *run_cli(argv, capsys, TIMEOUT_S))


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=INTS)
def test_demo_random_arguments(seed: str, capsys: pytest.CaptureFixture) -> None:
    assert_clean_outcome("demo", *run_cli(["demo", "--no-sim", "--seed", seed], capsys, TIMEOUT_S))
