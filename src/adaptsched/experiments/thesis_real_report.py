"""The real thesis experiment's report: real and simulated figures side by side per arm, the
thesis's percent differences between arms (real, simulated, the thesis's own), and charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from adaptsched.experiments.thesis import SCENARIOS
from adaptsched.experiments.thesis_report import comparisons


def scenario_view(report: dict[str, Any], side: str) -> dict[str, Any]:
    """The arms of one side (``real`` or ``sim``) in the simulated experiment's scenario
    layout, keeping only scenarios whose arms all ran, so its comparisons apply unchanged."""
    arms = report["arms"]
    scenarios = {
        name: {"arms": {a: arms[a][side] for a in members}}
        for name, members in SCENARIOS.items()
        if all(a in arms for a in members)
    }
    return {"scenarios": scenarios}


def real_comparisons(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per scenario and arm: the change against the reference arm, real and simulated, with
    the thesis's own change where it had that comparison."""
    real = comparisons(scenario_view(report, "real"))
    sim = comparisons(scenario_view(report, "sim"))
    rows = []
    for r, s in zip(real, sim, strict=True):
        rows.append(
            {
                "scenario": r["scenario"],
                "arm": r["arm"],
                "reference": r["reference"],
                "real_jct_change_pct": r["jct_change_pct"],
                "sim_jct_change_pct": s["jct_change_pct"],
                "thesis_jct_change_pct": r["thesis_jct_change_pct"],
                "real_node_time_change_pct": r["node_time_change_pct"],
                "sim_node_time_change_pct": s["node_time_change_pct"],
                "thesis_node_time_change_pct": r["thesis_node_time_change_pct"],
            }
        )
    return rows


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f} %"


def _acc(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f} %"


def markdown(report: dict[str, Any]) -> str:
    setup = report["setup"]
    lines = [
        "# The thesis experiment on the real runtime, and the simulator's prediction",
        "",
        f"Five MNIST jobs (epochs 10, 15, 40, 45, 45; initial batch 64, 64, 64, 64, 128), "
        f"{setup['train_samples']} training samples per epoch (scale {setup['scale']:g}), "
        f"accuracy on the full test set; one-GPU nodes emulated on this machine, autoscaled "
        f"from {setup['min_nodes']} to {setup['max_nodes']}; rounds every "
        f"{setup['interval_s']:g} s. Simulated: the profile of the same scaled job measured "
        "here, the restart and provisioning delays the real run measured. Times in seconds; "
        "errors (sim - real) / real.",
        "",
        "| arm | job | real JCT | simulated JCT | real restarts | simulated restarts | "
        "test accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for arm, body in report["arms"].items():
        real, sim = body["real"], body["sim"]
        for job, jct in real["jobs"].items():
            lines.append(
                f"| {arm} | {job} | {jct:.0f} | {sim['jobs'].get(job, float('nan')):.0f} | "
                f"{real['restarts'][job]} | {sim['restarts'].get(job, float('nan')):.1f} | "
                f"{_acc(real['accuracy'][job])} |"
            )
    lines += [
        "",
        "| arm | real mean JCT (std over jobs) | simulated mean JCT (std) | JCT error | "
        "real node-seconds | simulated node-seconds | node-seconds error | real nodes | "
        "simulated nodes | restart delay used |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for arm, body in report["arms"].items():
        real, sim = body["real"], body["sim"]
        lines.append(
            f"| {arm} | {real['mean_jct_s']:.0f} ({real['std_across_jobs_s']:.0f}) | "
            f"{sim['mean_jct_s']:.0f} ({sim['std_across_jobs_s']:.0f}) | "
            f"{_pct(body['jct_error_pct'])} | {real['node_seconds']:.0f} | "
            f"{sim['node_seconds']:.0f} | {_pct(body['node_seconds_error_pct'])} | "
            f"{_lifetimes(real)} | {_lifetimes(sim)} | {body['sim_inputs']['restart_s']:.1f} s |"
        )
    lines += _replay_lines(report)
    lines += _step_time_lines(report)
    rows = report.get("comparisons") or []
    if rows:
        lines += [
            "",
            "## Changes against each scenario's reference arm (the thesis's convention: "
            "(reference - arm) / reference, negative = worse)",
            "",
            "| scenario | arm | vs | JCT real | JCT simulated | JCT thesis | node time real | "
            "node time simulated | node time thesis |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['scenario']} | {row['arm']} | {row['reference']} | "
                f"{_pct(row['real_jct_change_pct'])} | {_pct(row['sim_jct_change_pct'])} | "
                f"{_pct(row['thesis_jct_change_pct'])} | "
                f"{_pct(row['real_node_time_change_pct'])} | "
                f"{_pct(row['sim_node_time_change_pct'])} | "
                f"{_pct(row['thesis_node_time_change_pct'])} |"
            )
    return "\n".join(lines) + "\n"


def _replay_lines(report: dict[str, Any]) -> list[str]:
    """The replay (the simulation with the real jobs' own step times), where the report has
    one: what the simulator gets wrong once the machine's speed is taken as the run found it."""
    rows = [(arm, body["replay"]) for arm, body in report["arms"].items() if "replay" in body]
    if not rows:
        return []
    lines = [
        "",
        "Replay: the same simulation with the step times the real jobs measured during the run "
        "(a diagnostic, not a prediction).",
        "",
        "| arm | replayed mean JCT | JCT error | replayed node-seconds | node-seconds error |",
        "|---|---|---|---|---|",
    ]
    for arm, replay in rows:
        lines.append(
            f"| {arm} | {replay['mean_jct_s']:.0f} | {_pct(replay['jct_error_pct'])} | "
            f"{replay['node_seconds']:.0f} | {_pct(replay['node_seconds_error_pct'])} |"
        )
    return lines


def _step_time_lines(report: dict[str, Any]) -> list[str]:
    """Per arm, the step times the prediction used next to those the real jobs measured (the
    largest single cause of a JCT error, docs/fidelity.md); the rows the real jobs ran."""
    lines = [
        "",
        "## Step times: the prediction's profile and the real jobs' own (seconds)",
        "",
        "| arm | replicas x local batch | profile | real | difference |",
        "|---|---|---|---|---|",
    ]
    rows = 0
    for arm, body in report["arms"].items():
        profile = body["sim_inputs"].get("step_times", {})
        for key, real in body["real"].get("step_times", {}).items():
            if key in profile:
                change = _pct((profile[key] - real) / real * 100.0)
                lines.append(f"| {arm} | {key} | {profile[key]:.4f} | {real:.4f} | {change} |")
                rows += 1
    return lines if rows else []


def _lifetimes(side: dict[str, Any]) -> str:
    return ", ".join(f"{n}: {s:.0f}" for n, s in side["node_lifetimes_s"].items())


def charts(report: dict[str, Any], out: Path) -> list[Path]:
    """``real-vs-sim.png``: per arm and job, real and simulated completion time;
    ``node-lifetimes.png``: per arm, each node's lifetime, real and simulated."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(report["arms"])
    fig, axes = plt.subplots(1, len(arms), figsize=(4 * len(arms), 3.6), squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        real, sim = report["arms"][arm]["real"], report["arms"][arm]["sim"]
        jobs = list(real["jobs"])
        x = np.arange(len(jobs) + 1)
        real_v = [real["jobs"][j] for j in jobs] + [real["mean_jct_s"]]
        sim_v = [sim["jobs"].get(j, np.nan) for j in jobs] + [sim["mean_jct_s"]]
        ax.bar(x - 0.2, real_v, 0.4, label="real")
        ax.bar(x + 0.2, sim_v, 0.4, label="simulated")
        ax.set_xticks(x, [*jobs, "mean"], fontsize=8)
        ax.set_title(arm)
        ax.set_ylabel("completion time (s)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    jct_path = out / "real-vs-sim.png"
    fig.savefig(jct_path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(arms)), 3.6))
    x = np.arange(len(arms))
    stacks = node_stacks(report)
    for offset, side, label in ((-0.2, "real", "real"), (0.2, "sim", "simulated")):
        bottom = np.zeros(len(arms))
        for rank, values in enumerate(stacks[side]):
            ax.bar(x + offset, values, 0.4, bottom=bottom, label=f"{label} node {rank + 1}")
            bottom += values
    ax.set_xticks(x, arms)
    ax.set_ylabel("node lifetime (s)")
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    node_path = out / "node-lifetimes.png"
    fig.savefig(node_path, dpi=110)
    plt.close(fig)
    return [jct_path, node_path]


def node_stacks(report: dict[str, Any]) -> dict[str, np.ndarray]:
    """The node-lifetime chart's bars: per side ("real", "sim"), one row per node rank
    (longest-lived first) and one column per arm. Every node a side had counts, not the
    cluster's limit: a node that left and one that joined later are two lifetimes."""
    arms = list(report["arms"])
    sides = ("real", "sim")
    most = max(len(report["arms"][a][s]["node_lifetimes_s"]) for a in arms for s in sides)
    return {
        side: np.array(
            [
                [_nth(report["arms"][a][side]["node_lifetimes_s"], r) for a in arms]
                for r in range(most)
            ]
        )
        for side in sides
    }


def _nth(lifetimes: dict[str, float], rank: int) -> float:
    """The ``rank``-th longest-lived node's lifetime (0 if there were fewer nodes)."""
    values = sorted(lifetimes.values(), reverse=True)
    return values[rank] if rank < len(values) else 0.0
