"""PNG figures of a run: the JCT distribution and the GPUs in use over time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adaptsched.sim.results import SimResult


def _pyplot():  # imported lazily: only runs that write figures pay for matplotlib
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_jct_cdf(result: SimResult, path: Path) -> None:
    plt = _pyplot()
    jct = np.sort(result.jcts())
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.step(jct / 3600.0, np.arange(1, jct.size + 1) / max(jct.size, 1), where="post")
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (hours, log scale)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title(f"JCT CDF - {result.policy}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_gpus_in_use(result: SimResult, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(np.array(result.timeline_s) / 3600.0, result.gpus_in_use, drawstyle="steps-post")
    ax.axhline(result.total_gpus, color="grey", linestyle="--", linewidth=1, label="GPUs")
    ax.set_xlabel("time (hours)")
    ax.set_ylabel("GPUs allocated")
    ax.set_title(f"GPUs in use - {result.policy}")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
