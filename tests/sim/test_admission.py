"""Admission: a job that can never run is refused before the first round, by name, with what
it needs against what the cluster offers; the answer comes from the policy itself."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from synthetic import mixed_jobs, write_profile, write_workload

from adaptsched.policy.base import ClusterSnapshot, Decision
from adaptsched.policy.fifo import FifoPolicy
from adaptsched.policy.registry import make_policy
from adaptsched.sim.admission import load_admitted
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.errors import SimInputError
from adaptsched.sim.runner import SimConfig, load_truths, run_workload_file

TWO_NODES = SimConfig(nodes=2, gpus_per_node=4, interval_s=30.0)
FAST = {"seed": 1, "population": 8, "generations": 3}


@pytest.fixture
def truths(tmp_path: Path) -> dict:
    return load_truths(write_profile(tmp_path / "traces").parent)


def _workload(tmp_path: Path, big_replicas: int, big_time: float = 10.0) -> Path:
    jobs = [("small", 0.0, 2, 16), ("big", big_time, big_replicas, 64)]
    return write_workload(tmp_path / "w.csv", jobs)


@pytest.mark.parametrize("name", ["tiresias", "fifo"])
def test_fixed_size_job_larger_than_the_cluster_is_refused(
    tmp_path: Path, truths: dict, name: str
) -> None:
    path = _workload(tmp_path, big_replicas=12)
    with pytest.raises(SimInputError) as err:
        load_admitted(path, truths, make_policy(name), TWO_NODES)
    message = str(err.value)
    assert message.startswith(f"{path}:3: job 'big' can never run")
    assert f"needs 12 GPUs at once (num_replicas) under policy {name}" in message
    assert "at most 8 GPUs (2 nodes x 4)" in message


def test_the_same_job_is_admitted_where_it_fits_or_the_policy_shrinks_it(
    tmp_path: Path, truths: dict
) -> None:
    path = _workload(tmp_path, big_replicas=12)
    assert len(load_admitted(path, truths, make_policy("optimus"), TWO_NODES)) == 2
    assert len(load_admitted(path, truths, make_policy("pollux", **FAST), TWO_NODES)) == 2
    three = SimConfig(nodes=3, gpus_per_node=4, interval_s=30.0)
    assert len(load_admitted(path, truths, make_policy("tiresias"), three)) == 2


def test_autoscaled_maximum_counts_only_if_the_policy_grows_the_cluster(
    tmp_path: Path, truths: dict, caplog: pytest.LogCaptureFixture
) -> None:
    path = _workload(tmp_path, big_replicas=6)
    scaling = SimConfig(nodes=4, interval_s=30.0, autoscale=AutoscaleConfig(1, 4, 1, 10.0))
    with pytest.raises(SimInputError, match="never grows it towards its maximum of 4 nodes"):
        load_admitted(path, truths, make_policy("tiresias"), scaling)
    small = write_workload(tmp_path / "s.csv", [("a", 0.0, 2, 16)])
    with caplog.at_level(logging.WARNING, logger="adaptsched.sim.admission"):
        load_admitted(small, truths, make_policy("fifo"), scaling)
    assert "policy fifo does not size the cluster" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="adaptsched.sim.admission"):
        load_admitted(path, truths, make_policy("pollux", **FAST), scaling)
    assert "does not size the cluster" not in caplog.text


def test_submission_after_the_horizon_is_refused(tmp_path: Path, truths: dict) -> None:
    path = _workload(tmp_path, big_replicas=2, big_time=1e7)
    with pytest.raises(SimInputError) as err:
        run_workload_file(path, truths, make_policy("fifo"), TWO_NODES)
    assert str(err.value) == (
        f"{path}:3: job 'big' can never run: it is submitted at 1e+07 s, after the "
        "simulated time limit of 2.592e+06 s (720 h, --max-time)"
    )


class CountingFifo(FifoPolicy):
    """FIFO that counts its own decisions (state a probe must not touch)."""

    def __init__(self) -> None:
        self.decisions = 0

    def decide(self, snapshot: ClusterSnapshot) -> Decision:
        self.decisions += 1
        return super().decide(snapshot)


def test_checking_leaves_the_policy_untouched(tmp_path: Path, truths: dict) -> None:
    """The probe runs on a copy: the policy the run will use has decided nothing yet."""
    policy = CountingFifo()
    load_admitted(write_workload(tmp_path / "w.csv", mixed_jobs(4)), truths, policy, TWO_NODES)
    assert policy.decisions == 0
