"""The thesis experiment's comparisons with the thesis's own numbers, its markdown report and
its bar charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adaptsched.experiments.thesis_numbers import (
    THESIS_ACCURACY_PCT,
    THESIS_JCT_S,
    THESIS_NODE_LIFETIME_MIN,
    thesis_change_pct,
)

#: Our arm -> the thesis arm it reproduces (absent: the thesis had none).
THESIS_ARM = {a: a for a in ("pollux", "goodput", "speed-thesis", "cost-thesis")}
#: The thesis compared its speed and cost runs with its unmodified-AdaptDL run.
THESIS_REFERENCE = {"framework": "pollux", "speed": "pollux", "cost": "pollux"}


def _thesis_mean(arm: str) -> float | None:
    jobs = THESIS_JCT_S.get(arm)
    return float(np.mean(list(jobs.values()))) if jobs else None


def _thesis_node_min(arm: str) -> float | None:
    nodes = THESIS_NODE_LIFETIME_MIN.get(arm)
    return float(np.mean(list(nodes.values()))) if nodes else None


def comparisons(report: dict) -> list[dict]:
    """Per scenario and non-reference arm: our changes against the scenario's reference arm,
    in the thesis's convention (negative = variant worse), next to the thesis's change."""
    rows = []
    for scenario, body in report["scenarios"].items():
        arms = list(body["arms"])
        ref_name, ref = arms[0], body["arms"][arms[0]]
        for arm in arms[1:]:
            ours = body["arms"][arm]
            row = {
                "scenario": scenario,
                "arm": arm,
                "reference": ref_name,
                "jct_change_pct": thesis_change_pct(ref["mean_jct_s"], ours["mean_jct_s"]),
                "node_time_change_pct": thesis_change_pct(
                    ref["node_seconds"], ours["node_seconds"]
                ),
                "quality_change_pct": thesis_change_pct(ref["quality"], ours["quality"]),
                "thesis_jct_change_pct": None,
                "thesis_node_time_change_pct": None,
            }
            thesis_arm, thesis_ref = THESIS_ARM.get(arm), THESIS_REFERENCE.get(scenario)
            if thesis_arm and thesis_ref:
                row["thesis_jct_change_pct"] = thesis_change_pct(
                    _thesis_mean(thesis_ref), _thesis_mean(thesis_arm)
                )
                ref_min, arm_min = _thesis_node_min(thesis_ref), _thesis_node_min(thesis_arm)
                if ref_min and arm_min:
                    row["thesis_node_time_change_pct"] = thesis_change_pct(ref_min, arm_min)
            rows.append(row)
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f} %"


def markdown(report: dict) -> str:
    """The report: per scenario, per-job JCTs (ours and the thesis's), quality, node time."""
    setup = report["setup"]
    lines = [
        "# The thesis experiment in the simulator",
        "",
        f"Five MNIST jobs submitted together, nodes of {setup['gpus_per_node']} GPU, "
        f"{setup['min_nodes']} to {setup['max_nodes']} nodes (starting at "
        f"{setup['initial_nodes']}), {setup['seeds']} seeds per arm; truth: the MNIST profile "
        "measured on this machine. Times in seconds; thesis numbers from its tables V.6.1-V.6.7 "
        "(one run per arm on EKS T4 nodes, so absolute times differ from ours). Changes in the "
        "thesis's convention: (reference - variant) / reference x 100, negative = worse.",
        "",
    ]
    for scenario, body in report["scenarios"].items():
        arms = body["arms"]
        jobs = list(next(iter(arms.values()))["jobs"])
        lines += [f"## {scenario}", "", "| arm | " + " | ".join(jobs) + " | mean | std (seeds) |"]
        lines.append("|---" * (len(jobs) + 3) + "|")
        for arm, fig in arms.items():
            cells = [f"{fig['jobs'][j]:.0f}" for j in jobs]
            lines.append(
                f"| {arm} | " + " | ".join(cells) + f" | {fig['mean_jct_s']:.0f} | "
                f"{fig['std_jct_s']:.0f} |"
            )
            thesis = THESIS_JCT_S.get(THESIS_ARM.get(arm, ""))
            if thesis:
                cells = [f"{thesis[j]:.0f}" for j in jobs]
                lines.append(
                    f"| thesis {arm} | "
                    + " | ".join(cells)
                    + f" | {np.mean(list(thesis.values())):.0f} | - |"
                )
        lines += ["", "| arm | quality (accuracy) | thesis accuracy | node-seconds | nodes |"]
        lines.append("|---|---|---|---|---|")
        for arm, fig in arms.items():
            acc = THESIS_ACCURACY_PCT.get(THESIS_ARM.get(arm, ""))
            acc_s = f"{np.mean(list(acc.values())):.2f} %" if acc else "-"
            nodes = ", ".join(f"{n}: {s:.0f} s" for n, s in fig["node_lifetimes_s"].items())
            lines.append(
                f"| {arm} | {100 * fig['quality']:.2f} % | {acc_s} | {fig['node_seconds']:.0f} | "
                f"{nodes} |"
            )
        lines.append("")
    lines += [
        "## Changes against each scenario's reference arm",
        "",
        "| scenario | arm | vs | JCT | thesis JCT | node time | thesis node time |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in report["comparisons"]:
        lines.append(
            f"| {row['scenario']} | {row['arm']} | {row['reference']} | "
            f"{_fmt(row['jct_change_pct'])} | {_fmt(row['thesis_jct_change_pct'])} | "
            f"{_fmt(row['node_time_change_pct'])} | {_fmt(row['thesis_node_time_change_pct'])} |"
        )
    return "\n".join(lines) + "\n"


def bar_charts(report: dict, out: Path) -> list[Path]:
    """One PNG per scenario: per-job completion time of every arm (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for scenario, body in report["scenarios"].items():
        arms = body["arms"]
        jobs = list(next(iter(arms.values()))["jobs"])
        x = np.arange(len(jobs) + 1)
        width = 0.8 / len(arms)
        fig, ax = plt.subplots(figsize=(7, 3.8))
        for i, (arm, fig_data) in enumerate(arms.items()):
            values = [fig_data["jobs"][j] for j in jobs] + [fig_data["mean_jct_s"]]
            ax.bar(x + (i - (len(arms) - 1) / 2) * width, np.array(values) / 60.0, width, label=arm)
        ax.set_xticks(x, [*jobs, "mean"])
        ax.set_ylabel("completion time (minutes)")
        ax.set_title(f"thesis experiment - {scenario}")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = out / f"thesis-{scenario}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
