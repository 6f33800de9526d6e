"""Noise-scale estimation on a problem whose noise scale is known.

Per-sample loss ``x_i . w`` has gradient ``x_i`` whatever w is; with ``x_i ~ N(mu, sigma^2 I)``
the true gradient is mu and tr(Sigma) = d * sigma^2, so the noise scale is
``d * sigma^2 / |mu|^2``. The job also checks that the learning rate the optimizer applied is
the rule's factor times the base rate.

``--curvature h`` adds ``h/2 |w - c|^2`` to the loss and steps at lr = 1.8 / h: the true gradient
``mu + h (w - c)`` then changes sign nearly every step (as under the large learning rates of
real jobs), and the job reports its mean squared norm over the second half of the run, the
|G|^2 an unbiased estimator must find."""

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
    parser.add_argument("--curvature", type=float, default=0.0)
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
    h = args.curvature
    lr = 1.8 / h if h > 0 else 1e-3
    center = mu.clone()  # c: w starts at 0, |G(w0)|^2 = |mu - h c|^2
    # the oscillating problem keeps lr x curvature at 1.8: its M0 is the whole step's batch
    init_batch = m * (args.accum_steps + 1) if h > 0 else m
    trainer = AdaptiveTrainer(
        model,
        torch.optim.SGD(model.parameters(), lr=lr),
        data,
        limits=BatchLimits(init_batch=init_batch, max_batch=samples, min_local=1),
        fixed_config=BatchConfig(m, args.accum_steps),
        scaling_rule=get_scaling_rule(args.rule),
        stats_period_s=args.stats_period_s,
    )
    lr_errors, true_sqr = [], []
    for _ in trainer.epochs(1e9):
        for (xb,) in trainer.batches():
            loss = trainer.model(xb).mean()
            if h > 0:
                loss = loss + 0.5 * h * ((model.weight[0] - center) ** 2).sum()
            loss.backward()
            if trainer.model.accumulating:
                trainer.step()
                continue
            grad = model.weight.grad.detach().clone()
            before = model.weight.detach().clone()
            factor, _ = trainer.lr_factor()
            trainer.step()
            applied = float(((before - model.weight.detach()) * grad).sum() / (grad * grad).sum())
            lr_errors.append(abs(applied / (lr * factor) - 1.0))
            true_grad = mu + h * (before[0] - center)
            true_sqr.append(float(true_grad @ true_grad))
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
        "true_sqr": sum(true_sqr[len(true_sqr) // 2 :]) / (len(true_sqr) - len(true_sqr) // 2),
    }
    if trainer.topo.rank == 0:
        with open(args.out, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    main()
