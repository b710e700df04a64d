"""Benchmark (a script, not a test): dSprites rendered on demand vs a DataLoader over a TensorDataset.

Chapter 06 trains on dSprites, whose 737,280 images do not fit in memory as floats (12 GB).
`course_utils.data.dsprites` renders any batch from its factors instead. This script measures, in one
run and on the same CPU threads:

1. generator throughput: images/s of `dsprites.render` on random batches of --batch-size;
2. training throughput of a `ConvVAE(image_shape=(1, 64, 64), z_dim=10)` step (forward, -ELBO,
   backward, Adam), fed either
   a. by the generator (render a fresh random batch each step), or
   b. by `torch.utils.data.DataLoader(TensorDataset(images), batch_size, shuffle=True)` over
      --pool images rendered beforehand (the usual baseline, which needs the images in memory).

    .venv/bin/python benchmarks/bench_dsprites.py [--threads 2] [--steps 60] [--batch-size 64] [--pool 8192]

Prints images/s for each, and the ratios generator-fed / DataLoader-fed and render / train.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from course_utils.data import dsprites
from course_utils.models import ConvVAE
from course_utils.objectives import negative_elbo


def _steps(model, optimizer, batches, steps: int) -> float:
    """Seconds for `steps` training steps on the batches the iterator yields."""
    start = time.perf_counter()
    for _, x in zip(range(steps), batches):
        loss = negative_elbo(model, x)["loss"].mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def _generated(batch_size: int, g: torch.Generator):
    while True:
        yield dsprites.render(dsprites.sample_classes(batch_size, g))


def _loaded(pool: torch.Tensor, batch_size: int, g: torch.Generator):
    while True:
        for (x,) in DataLoader(TensorDataset(pool), batch_size=batch_size, shuffle=True, generator=g):
            yield x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--pool", type=int, default=8192, help="images pre-rendered for the DataLoader baseline")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)

    start = time.perf_counter()
    n = 0
    while time.perf_counter() - start < 3.0:
        n += len(dsprites.render(dsprites.sample_classes(args.batch_size, g)))
    render_rate = n / (time.perf_counter() - start)

    pool = torch.cat([x for _, x in dsprites.chunks(torch.randperm(dsprites.N_IMAGES, generator=g)[:args.pool])])
    rates = {}
    for name in ("generator", "DataLoader", "generator ", "DataLoader "):  # each twice, alternating
        torch.manual_seed(0)
        model = ConvVAE(image_shape=(1, 64, 64), z_dim=10)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        batches = _generated(args.batch_size, g) if name.startswith("generator") else _loaded(pool, args.batch_size, g)
        _steps(model, optimizer, batches, 5)  # warm-up
        seconds = _steps(model, optimizer, batches, args.steps)
        rates.setdefault(name.strip(), []).append(args.steps * args.batch_size / seconds)

    best = {name: max(values) for name, values in rates.items()}
    print(f"threads {args.threads}, batch {args.batch_size}, {args.steps} steps per run, best of 2 runs")
    print(f"render only            {render_rate:9.0f} images/s")
    for name, rate in best.items():
        print(f"train, fed by {name:<10} {rate:7.0f} images/s   (runs: {', '.join(f'{r:.0f}' for r in rates[name])})")
    print(f"ratio generator-fed / DataLoader-fed training: {best['generator'] / best['DataLoader']:.2f}")
    print(f"ratio render / generator-fed training: {render_rate / best['generator']:.1f} "
          "(how many times faster rendering is than training)")


if __name__ == "__main__":
    main()
