"""A Pollux golden run through the shared controller and the simulated engine, on a synthetic
application and workloads the test writes itself (no reference data needed). The pinned figures
were printed by the simulator before the controller moved into ``adaptsched.control`` and
again after (identical), so any change of behaviour in the loop, the state machine, the
snapshot, the planner or the engine shows here."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import write_profile, write_workload

from adaptsched.policy.pollux import PolluxPolicy
from adaptsched.sim.autoscaler import AutoscaleConfig
from adaptsched.sim.runner import SimConfig, load_truths, simulate
from adaptsched.sim.workload import load_workload

#: name -> (JCT s, restarts, GPU-seconds) per job, and node-seconds in total.
GOLDEN = {
    "fixed": (
        {
            "job-0": (70.940626, 0, 68.940626),
            "job-1": (69.940626, 0, 68.940626),
            "job-2": (70.940626, 0, 68.940626),
            "job-3": (69.940626, 0, 68.940626),
            "job-4": (129.9271, 1, 69.9271),
            "job-5": (132.027408, 1, 72.054816),
            "job-6": (128.722465, 1, 71.444931),
            "job-7": (121.940626, 0, 68.940626),
        },
        2 * 147.027,
    ),
    "autoscaled": (
        {
            "job-0": (119.530165, 3, 86.120659),
            "job-1": (70.940626, 1, 69.940626),
            "job-2": (71.940626, 1, 69.940626),
            "job-3": (70.940626, 1, 69.940626),
            "job-4": (71.940626, 1, 69.940626),
            "job-5": (71.986471, 1, 73.972942),
            "job-6": (71.729468, 1, 71.458936),
            "job-7": (100.845851, 1, 81.691702),
        },
        121.846 + 2 * (121.846 - 4.0),
    ),
}
CONFIGS = {
    "fixed": SimConfig(nodes=2, gpus_per_node=2, interval_s=2.0, restart_s=1.0),
    "autoscaled": SimConfig(
        gpus_per_node=2,
        interval_s=2.0,
        restart_s=1.0,
        autoscale=AutoscaleConfig(min_nodes=1, max_nodes=3, initial_nodes=1, provision_delay_s=3.0),
    ),
}


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_pollux_golden_run(tmp_path: Path, case: str) -> None:
    truths = load_truths(write_profile(tmp_path / "traces", epochs=30).parent)
    jobs = [(f"job-{i}", 3.0 * i, 1, 8) for i in range(8)]
    workload = load_workload(write_workload(tmp_path / "w.csv", jobs))
    policy = PolluxPolicy(seed=3, population=16, generations=5)
    result = simulate(workload, truths, policy, CONFIGS[case])
    expected, node_s = GOLDEN[case]
    got = {j.name: (j.jct_s, j.restarts, j.gpu_hours * 3600.0) for j in result.jobs}
    assert got.keys() == expected.keys()
    for name, (jct_s, restarts, gpu_s) in expected.items():
        assert got[name][0] == pytest.approx(jct_s, abs=1e-5), name
        assert got[name][1] == restarts, name
        assert got[name][2] == pytest.approx(gpu_s, abs=1e-5), name
    total = sum(end - start for _, start, end in result.node_lifetimes)
    assert total == pytest.approx(node_s, abs=1e-2)
