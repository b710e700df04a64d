"""Training entry point for the shipped beta-VAEs on dSprites (course_utils/pretrained/). Chapter 06.

    python -m course_utils.instructor.pretrain_dsprites beta --beta 4 --steps 5000
    python -m course_utils.instructor.pretrain_dsprites dual --capacity 8 --steps 5000
    python -m course_utils.instructor.pretrain_dsprites capacity --capacity 25 --gamma 1000 --steps 5000

Each step renders a fresh batch of dSprites (course_utils.data.dsprites) and takes an Adam step on
a ConvVAE (64 x 64, z = 10) with the chosen objective: fixed beta, the capacity schedule of Burgess
et al. (C raised linearly over the run) or dual ascent on beta for the constraint KL <= C. Every
--eval-every steps the MIG of the mean representation is measured on 10,000 fixed images (--eval-images); at the end
also the beta-VAE metric (with --bvae-train / --bvae-eval points). OUT.safetensors + OUT.json record
the command, the hardware, the time and every metric. Nothing runs at import.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

from .. import checkpoints, disentanglement
from ..data import dsprites
from ..models import ConvVAE
from ..objectives import CapacitySchedule, DualAscent, kl_per_dimension, negative_elbo
from ..train import evaluate, fit_stream
from .pretrain import _hardware, _non_negative_float, _positive_float, _positive_int

EVAL_SEED = 123


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.pretrain_dsprites",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("objective", choices=("beta", "dual", "capacity"))
    parser.add_argument("--beta", type=_non_negative_float, default=4.0, help="fixed beta; the start of dual ascent")
    parser.add_argument("--capacity", type=_non_negative_float, default=8.0, help="C in nats (its maximum for 'capacity')")
    parser.add_argument("--gamma", type=_positive_float, default=1000.0, help="capacity schedule's gamma")
    parser.add_argument("--lr-beta", type=_positive_float, default=0.01, help="dual ascent step on beta")
    parser.add_argument("--steps", type=_positive_int, default=5000)
    parser.add_argument("--batch-size", type=_positive_int, default=64)
    parser.add_argument("--lr", type=_positive_float, default=5e-4)
    parser.add_argument("--z-dim", type=_positive_int, default=10)
    parser.add_argument("--channels", type=_positive_int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=_positive_int, default=500)
    parser.add_argument("--eval-images", type=_positive_int, default=10000, help="fixed images for MIG")
    parser.add_argument("--bvae-train", type=_positive_int, default=1000, help="beta-VAE metric training points")
    parser.add_argument("--bvae-eval", type=_positive_int, default=500, help="beta-VAE metric evaluation points")
    parser.add_argument("--threads", type=_positive_int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    return parser


def _loss(args):
    if args.objective == "beta":
        return lambda m, x: negative_elbo(m, x, beta=args.beta)
    if args.objective == "dual":
        return DualAscent(args.capacity, beta=args.beta, lr_beta=args.lr_beta)
    return CapacitySchedule(gamma=args.gamma, capacity_max=args.capacity, ramp_steps=args.steps)


def _name(args) -> str:
    if args.objective == "beta":
        return f"dsprites_beta{args.beta:g}"
    return f"dsprites_{args.objective}_c{args.capacity:g}"


def mean_representation(model, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """mu(x) in eval mode, in batches: (N, 1, 64, 64) -> (N, z_dim)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        mu = torch.cat([model.encode(x[i:i + batch_size])[0] for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return mu


def main(argv: list[str] | None = None) -> dict:
    """Train, save and return the metadata written to the JSON."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    eval_classes = dsprites.sample_classes(args.eval_images, torch.Generator().manual_seed(EVAL_SEED))
    eval_x = dsprites.render(eval_classes)
    torch.manual_seed(args.seed)
    model = ConvVAE(image_shape=(1, 64, 64), z_dim=args.z_dim, channels=args.channels)
    loss_fn = _loss(args)
    mig_history: list[float] = []

    def on_log(step, history):
        if step % args.eval_every == 0 or step == args.steps:
            mig_history.append(round(disentanglement.mig(mean_representation(model, eval_x), eval_classes)["score"], 4))
            print(f"step {step}: recon {history['recon'][-1]:.1f}, kl {history['kl'][-1]:.2f}, mig {mig_history[-1]}",
                  flush=True)

    start, cpu_start = time.perf_counter(), time.process_time()
    history = fit_stream(model, lambda step, g: dsprites.render(dsprites.sample_classes(args.batch_size, g)),
                         loss_fn, steps=args.steps, lr=args.lr, seed=args.seed, on_log=on_log,
                         log_every=100 if args.eval_every % 100 == 0 else args.eval_every)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    model.eval()
    mig = disentanglement.mig(mean_representation(model, eval_x), eval_classes)
    bvae = disentanglement.beta_vae_score(lambda x: mean_representation(model, x), dsprites.PairSampler(),
                                          n_train=args.bvae_train, n_eval=args.bvae_eval, seed=0)
    test = evaluate(model, eval_x[:2000], lambda m, x: negative_elbo(m, x, generator=torch.Generator().manual_seed(0)))
    extra = {"command": shlex.join(["python", "-m", "course_utils.instructor.pretrain_dsprites", *argv]),
             "data": f"dSprites rendered on demand: {args.steps} steps x batch {args.batch_size} "
                     f"({args.steps * args.batch_size} images drawn uniformly from the 737,280)",
             "train_seconds": round(seconds, 1), "train_cpu_seconds": round(cpu, 1),
             "threads": torch.get_num_threads(), "hardware": _hardware(),
             "mig": round(mig["score"], 4), "mig_per_factor": [round(float(v), 4) for v in mig["per_factor"]],
             "mig_history": mig_history, "mig_steps": list(range(args.eval_every, args.steps + 1, args.eval_every))[:len(mig_history)],
             "beta_vae_metric": round(bvae["eval_accuracy"], 4),
             "beta_vae_metric_settings": f"{args.bvae_train} train / {args.bvae_eval} eval points, batches of 64",
             "test_recon": round(test["recon"], 3), "test_kl": round(test["kl"], 3),
             "kl_per_dimension": [round(float(v), 4) for v in kl_per_dimension(model, eval_x[:2000])],
             "history": {k: [round(float(v), 4) for v in vs] for k, vs in history.items()}}
    if isinstance(loss_fn, DualAscent):
        extra["betas"] = [round(b, 4) for b in loss_fn.betas[::10]]
        extra["final_beta"] = round(loss_fn.beta, 4)
    out = args.out or checkpoints.PRETRAINED / _name(args)
    checkpoints.save(model, out, extra=extra, dtype=torch.float32)
    print(f"wrote {out}: mig {extra['mig']}, beta-VAE metric {extra['beta_vae_metric']}, "
          f"recon {extra['test_recon']}, kl {extra['test_kl']}, {extra['train_seconds']} s")
    return extra


if __name__ == "__main__":
    main()
