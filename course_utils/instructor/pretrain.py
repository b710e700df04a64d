"""Training entry point that produces the shipped weights in course_utils/pretrained/. Chapter 05.

    python -m course_utils.instructor.pretrain mnist_mlp_vae --z-dim 2 --epochs 100

trains on MNIST (the bundled 4,000-image split unless --source says otherwise), evaluates on the
test split, and writes OUT.safetensors + OUT.json with the command, the losses and the history.
Nothing runs at import: `main(argv)` parses the arguments.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from .. import checkpoints
from ..data import load_mnist
from ..models import ConvVAE, MLPVAE
from ..objectives import iwae_log_likelihood, negative_elbo
from ..train import evaluate, fit

RECIPES = {"mnist_mlp_vae": MLPVAE, "mnist_conv_vae": ConvVAE}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.pretrain", description=__doc__.split("\n")[0])
    parser.add_argument("recipe", choices=sorted(RECIPES))
    parser.add_argument("--z-dim", type=_positive_int, default=20)
    parser.add_argument("--hidden", type=_positive_int, default=400, help="MLP hidden width (mnist_mlp_vae)")
    parser.add_argument("--channels", type=_positive_int, default=32, help="conv channels (mnist_conv_vae)")
    parser.add_argument("--epochs", type=_positive_int, default=100)
    parser.add_argument("--batch-size", type=_positive_int, default=128)
    parser.add_argument("--lr", type=_positive_float, default=1e-3)
    parser.add_argument("--beta", type=_non_negative_float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=("bundled", "full", "auto"), default="bundled")
    parser.add_argument("--train-size", type=_positive_int, default=None, help="use only the first N training images")
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16", help="storage dtype")
    parser.add_argument("--iwae-k", type=_positive_int, default=100, help="samples of the IWAE log p(x) estimate")
    parser.add_argument("--threads", type=_positive_int, default=None, help="torch.set_num_threads")
    parser.add_argument("--out", type=Path, default=None,
                        help="checkpoint path without suffix (default course_utils/pretrained/RECIPE_zZ)")
    return parser


def _hardware() -> str:
    """What trained the weights: CPU model and core count, and the GPU if one was used."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return f"{cpu}, {os.cpu_count()} cores{gpu}; {platform.system()} {platform.release()}; torch {torch.__version__}"


def _rounded_history(history: dict) -> dict:
    """A training history {name: [values]} with every value rounded to 4 decimals, for the JSON."""
    return {k: [round(v, 4) for v in vs] for k, vs in history.items()}


def _timed(label: str, times: dict, fn, *args, **kwargs):
    """Run fn(*args, **kwargs), store its wall time in times[label] (seconds, 0.1 s) and print it."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    times[label] = round(time.perf_counter() - start, 1)
    print(f"[{label}] {times[label]} s", flush=True)
    return out


def _model(args) -> torch.nn.Module:
    torch.manual_seed(args.seed)
    if args.recipe == "mnist_mlp_vae":
        return MLPVAE(hidden=args.hidden, z_dim=args.z_dim)
    return ConvVAE(z_dim=args.z_dim, channels=args.channels)


def _test_metrics(model, x_test, args) -> dict[str, float]:
    """Test losses per image of the model as stored (generator seed 0), and the IWAE estimate of log p(x)."""
    model = model.to("cpu").eval()
    g = torch.Generator().manual_seed(0)
    metrics = evaluate(model, x_test, lambda m, x: negative_elbo(m, x, beta=args.beta, generator=g))
    iwae = iwae_log_likelihood(model, x_test, k=args.iwae_k, generator=torch.Generator().manual_seed(0))
    return {f"test_{k}": round(v, 4) for k, v in metrics.items()} | {
        f"test_log_px_iwae_k{args.iwae_k}": round(float(iwae.mean()), 4)}


def main(argv: list[str] | None = None) -> dict:
    """Train, save and return the metadata written to the JSON."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or checkpoints.PRETRAINED / f"{args.recipe}_z{args.z_dim}"
    x, _ = load_mnist("train", source=args.source)
    x = x[:args.train_size] if args.train_size is not None else x
    x_test, _ = load_mnist("test", source=args.source)
    model = _model(args)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = fit(model, x, lambda m, xb: negative_elbo(m, xb, beta=args.beta), epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, test_data=x_test, seed=args.seed, log_every=10)
    dtype = torch.float16 if args.dtype == "float16" else torch.float32
    extra = {"command": shlex.join(["python", "-m", "course_utils.instructor.pretrain", *argv]),
             "data": f"MNIST {args.source}: {len(x)} train / {len(x_test)} test images",
             "train_seconds": round(time.perf_counter() - start, 1),
             "train_cpu_seconds": round(time.process_time() - cpu_start, 1),
             "threads": torch.get_num_threads(),
             "hardware": _hardware(),
             "history": _rounded_history(history)}
    checkpoints.save(model, out, extra=extra, dtype=dtype)
    stored = checkpoints.load(out)
    extra |= {"train_loss": round(history["loss"][-1], 4)} | _test_metrics(stored, x_test, args)
    checkpoints.save(model, out, extra=extra, dtype=dtype)
    print(f"wrote {out}.safetensors and .json: " + ", ".join(f"{k} {v}" for k, v in extra.items()
                                                              if k.startswith(("train_", "test_"))))
    return extra


if __name__ == "__main__":
    main()
