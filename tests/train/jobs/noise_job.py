"""Noise-scale estimation on a problem whose noise scale is known.

Per-sample loss ``x_i . w`` has gradient ``x_i`` whatever w is; with ``x_i ~ N(mu, sigma^2 I)``
the true gradient is mu and tr(Sigma) = d * sigma^2, so the noise scale is
``d * sigma^2 / |mu|^2``. The job also checks that the learning rate the optimizer applied is
the rule's factor times the base rate."""

from __future__ import annotations

import argparse
import json
import math

import torch
from torch import nn

from adaptsched.models import BatchLimits
from adaptsched.train import AdaptiveTrainer, BatchConfig, get_scaling_rule


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--noise-scale", type=float, default=200.0)
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--local-bsz", type=int, default=16)
    parser.add_argument("--accum-steps", type=int, default=0)
    parser.add_argument("--rule", default="adascale")
    parser.add_argument("--stats-period-s", type=float, default=0.0)
    args = parser.parse_args()
    replicas = int(__import__("os").environ.get("WORLD_SIZE", "1"))
    d, m = args.dim, args.local_bsz
    samples = args.steps * replicas * m * (args.accum_steps + 1)
    mu = torch.ones(d) / math.sqrt(d)  # |G|^2 = 1
    sigma = math.sqrt(args.noise_scale / d)  # tr(Sigma) = noise scale
    gen = torch.Generator().manual_seed(0)
    x = mu + sigma * torch.randn(samples, d, generator=gen)
    data = torch.utils.data.TensorDataset(x)
    model = nn.Linear(d, 1, bias=False)
    lr = 1e-3
    trainer = AdaptiveTrainer(
        model,
        torch.optim.SGD(model.parameters(), lr=lr),
        data,
        limits=BatchLimits(init_batch=m, max_batch=samples, min_local=1),
        fixed_config=BatchConfig(m, args.accum_steps),
        scaling_rule=get_scaling_rule(args.rule),
        stats_period_s=args.stats_period_s,
    )
    lr_errors = []
    for _ in trainer.epochs(1e9):
        for (xb,) in trainer.batches():
            trainer.model(xb).mean().backward()
            if trainer.model.accumulating:
                trainer.step()
                continue
            grad = model.weight.grad.detach().clone()
            before = model.weight.detach().clone()
            factor, _ = trainer.lr_factor()
            trainer.step()
            applied = float(((before - model.weight.detach()) * grad).sum() / (grad * grad).sum())
            lr_errors.append(abs(applied / (lr * factor) - 1.0))
        break
    est = trainer.estimator
    stats = est.stats(m)
    result = {
        "noise_scale": est.noise_scale(),
        "sqr": est.sqr(),
        "trace": est.trace(),
        "var_at_m0": stats.var if stats else None,
        "updates": est.count,
        "steps": trainer.steps,
        "stride": trainer.cadence.stride,
        "max_lr_error": max(lr_errors),
        "final_factor": trainer.lr_factor()[0],
        "final_gain": trainer.lr_factor()[1],
        "scale": replicas * (args.accum_steps + 1),
    }
    if trainer.topo.rank == 0:
        with open(args.out, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
