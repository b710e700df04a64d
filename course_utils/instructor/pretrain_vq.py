"""Training entry point for the shipped VQ-VAE and its code prior (course_utils/pretrained/). Chapter 07.

    python -m course_utils.instructor.pretrain_vq vqvae --epochs 60
    python -m course_utils.instructor.pretrain_vq prior --vqvae mnist_vqvae_k128 --epochs 60

`vqvae` trains a VQVAE on MNIST grey levels (the bundled 4,000-image split unless --source says
otherwise) with the loss of chapter 07; `prior` encodes the same images with a trained VQ-VAE and
fits a CodePrior to their code grids. Each writes OUT.safetensors + OUT.json with the command,
the hardware, the time and the test metrics. Nothing runs at import: `main(argv)` parses the arguments.
"""
from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

import torch

from .. import checkpoints
from ..data import load_mnist
from ..models import VQVAE, CodePrior
from ..objectives import code_indices, code_prior_nll, codebook_usage, vq_vae_loss
from ..train import evaluate, fit
from .pretrain import _hardware, _non_negative_float, _positive_float, _positive_int, _rounded_history


def _decay(text: str) -> float | None:
    if text.lower() == "none":
        return None
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected 'none' or a number in [0, 1), got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.pretrain_vq",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="recipe", required=True)
    vq = sub.add_parser("vqvae", help="train a VQVAE on MNIST grey levels")
    vq.add_argument("--codebook-size", type=_positive_int, default=128)
    vq.add_argument("--code-dim", type=_positive_int, default=16)
    vq.add_argument("--channels", type=_positive_int, default=32)
    vq.add_argument("--ema-decay", type=_decay, default=0.99, help="'none' learns the codebook by its loss")
    vq.add_argument("--restart-after", type=lambda t: None if t.lower() == "none" else _positive_int(t), default=20)
    vq.add_argument("--beta", type=_non_negative_float, default=0.25, help="weight of the commitment loss")
    prior = sub.add_parser("prior", help="fit a CodePrior to the code grids of a trained VQ-VAE")
    prior.add_argument("--vqvae", default="mnist_vqvae_k128", help="a shipped name or a checkpoint path")
    prior.add_argument("--width", type=_positive_int, default=128)
    prior.add_argument("--layers", type=_positive_int, default=3)
    prior.add_argument("--heads", type=_positive_int, default=4)
    prior.add_argument("--dropout", type=_non_negative_float, default=0.1)
    for p in (vq, prior):
        p.add_argument("--epochs", type=_positive_int, default=60)
        p.add_argument("--batch-size", type=_positive_int, default=64)
        p.add_argument("--lr", type=_positive_float, default=1e-3)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--source", choices=("bundled", "full", "auto"), default="bundled")
        p.add_argument("--threads", type=_positive_int, default=None, help="torch.set_num_threads")
        p.add_argument("--out", type=Path, default=None, help="checkpoint path without suffix")
    return parser


def _vqvae(args, x, x_test) -> tuple[torch.nn.Module, dict, Path]:
    torch.manual_seed(args.seed)
    model = VQVAE(channels=args.channels, code_dim=args.code_dim, codebook_size=args.codebook_size,
                  ema_decay=args.ema_decay, restart_after=args.restart_after)
    usage: list[int] = []
    history = fit(model, x, lambda m, xb: vq_vae_loss(m, xb, beta=args.beta), epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, test_data=x_test, seed=args.seed, log_every=10,
                  on_epoch=lambda epoch, h: usage.append(codebook_usage(model, x)["in_use"]))
    history["codes_in_use"] = usage
    out = args.out or checkpoints.PRETRAINED / f"mnist_vqvae_k{args.codebook_size}"
    return model, history, out


def _vq_metrics(model, x, x_test, args) -> dict:
    test = evaluate(model, x_test, lambda m, xb: vq_vae_loss(m, xb, beta=args.beta))
    train_use, test_use = codebook_usage(model, x), codebook_usage(model, x_test)
    return {"test_recon": round(test["recon"], 4), "test_mse_per_pixel": round(test["recon"] / x_test[0].numel(), 6),
            "train_codes_in_use": train_use["in_use"], "train_perplexity": round(train_use["perplexity"], 2),
            "test_codes_in_use": test_use["in_use"], "test_perplexity": round(test_use["perplexity"], 2)}


def _prior(args, x, x_test) -> tuple[torch.nn.Module, dict, Path]:
    source = args.vqvae if args.vqvae in checkpoints.available() else None
    vqvae = checkpoints.pretrained(source) if source else checkpoints.load(args.vqvae)
    i_train, i_test = code_indices(vqvae, x), code_indices(vqvae, x_test)  # (N, 7, 7) long
    torch.manual_seed(args.seed)
    prior = CodePrior(vqvae.codebook_size, vqvae.grid, width=args.width, layers=args.layers, heads=args.heads,
                      dropout=args.dropout)
    history = fit(prior, i_train, code_prior_nll, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                  test_data=i_test, seed=args.seed, log_every=10)
    out = args.out or checkpoints.PRETRAINED / f"mnist_code_prior_k{vqvae.codebook_size}"
    args.i_test = i_test
    return prior, history, out


def _prior_metrics(model, x, x_test, args) -> dict:
    nats = evaluate(model, args.i_test, code_prior_nll)["loss"]
    return {"test_nll_nats": round(nats, 4), "test_bits_per_image": round(nats / math.log(2), 4),
            "uniform_bits_per_image": round(args.i_test[0].numel() * math.log2(model.codebook_size), 4)}


def main(argv: list[str] | None = None) -> dict:
    """Train, save and return the metadata written to the JSON."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, _ = load_mnist("train", source=args.source)
    x_test, _ = load_mnist("test", source=args.source)
    train_fn, metrics_fn = (_vqvae, _vq_metrics) if args.recipe == "vqvae" else (_prior, _prior_metrics)
    start, cpu_start = time.perf_counter(), time.process_time()
    model, history, out = train_fn(args, x, x_test)
    extra = {"command": shlex.join(["python", "-m", "course_utils.instructor.pretrain_vq", *argv]),
             "data": f"MNIST {args.source}: {len(x)} train / {len(x_test)} test images (grey levels)",
             "train_seconds": round(time.perf_counter() - start, 1),
             "train_cpu_seconds": round(time.process_time() - cpu_start, 1),
             "threads": torch.get_num_threads(), "hardware": _hardware(),
             "history": _rounded_history(history)}
    model.eval()
    extra |= {"train_loss": round(history["loss"][-1], 4)} | metrics_fn(model, x, x_test, args)
    checkpoints.save(model, out, extra=extra, dtype=torch.float32)
    print(f"wrote {out}.safetensors and .json: " + ", ".join(f"{k} {v}" for k, v in extra.items()
                                                              if k.startswith(("train_", "test_", "uniform_"))))
    return extra


if __name__ == "__main__":
    main()
