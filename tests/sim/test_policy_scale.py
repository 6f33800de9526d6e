"""benchmarks/policy_scale.py on its smallest size: the JSON the issue asks for, both searches
scored on the same snapshots, never above the bound."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmark_module import BENCHMARKS


def test_policy_scale_prints_every_figure_per_policy() -> None:
    script = str(BENCHMARKS / "policy_scale.py")
    out = subprocess.run(
        [sys.executable, script, "--sizes", "64", "--rounds", "2", "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.stdout)
    size = result["sizes"]["64"]
    assert set(size) == {"pollux", "pollux-milp"}
    for figures in size.values():
        for key in ("round_ms_p50", "round_ms_p95", "peak_rss_mb", "objective", "lp_bound"):
            assert figures[key] > 0, key
        assert figures["objective"] <= figures["lp_bound"] * (1 + 1e-6)
        assert figures["rounds"] == 2
        assert len(figures["round_ms"]) == len(figures["solves_per_round"]) == 2
        assert all(n >= 1 for n in figures["solves_per_round"])
    assert size["pollux"]["lp_bound"] == size["pollux-milp"]["lp_bound"]  # same snapshots
    assert result["jobs"]["64"] == 10
    assert result["milp_over_genetic"]["64"] >= 1.0
