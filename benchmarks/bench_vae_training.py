"""Benchmark (a script, not a test): course_utils.train.fit vs a pytorch/examples-style VAE loop.

Same CPU, same data (bundled MNIST: 4,000 train / 1,000 test), same model (784-400-20 MLP VAE).
1. The reference, in the style of pytorch/examples vae/main.py (DataLoader over a TensorDataset,
   batch 128, Adam 1e-3, loss = BCE(sum) + KLD on sigmoid outputs, a .item() per batch, a test
   pass after every epoch), runs 10 epochs; its test loss per image after epoch 10 is the target.
2. course_utils.fit (in-memory batches, its own settings: --batch-size, --lr) trains until its test
   loss per image reaches the target (checked after every epoch, like the reference).
Each run is a separate subprocess, so that their peak RSS do not mix. Wall times count training
and the per-epoch test pass, not the process start nor torch's one-off imports (both warm up first).

    .venv/bin/python benchmarks/bench_vae_training.py [--threads 1] [--repeats 3] [--batch-size 128] [--lr 3e-3]

Each role runs --repeats times, alternating (reference, course_utils, matmul, reference, ...);
times are the best of the repeats, since other processes on the machine only ever slow a run down.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch
from torch import nn
from torch.nn import functional as F

N_TRAIN, N_TEST, LAYERS = 4000, 1000, [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]


class ReferenceVAE(nn.Module):
    """pytorch/examples vae/main.py's VAE, with its names: 784-400-(20, 20), 20-400-784, sigmoid output."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def forward(self, x):
        h1 = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def reference_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())  # + KL, written as in the examples
    return bce + kld


def _data():
    from course_utils.data import load_mnist

    return load_mnist("train", source="bundled"), load_mnist("test", source="bundled")


def _warm_up():
    """Pay torch's one-off costs (torch.optim imports torch._dynamo) before any clock starts."""
    torch.optim.Adam(nn.Linear(2, 2).parameters())


def run_reference(epochs: int, seed: int) -> dict:
    from torch.utils.data import DataLoader, TensorDataset

    (x, y), (x_test, y_test) = _data()
    torch.manual_seed(seed)
    model = ReferenceVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train_loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=128, shuffle=False)
    test_losses, seconds = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for data, _ in train_loader:
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = reference_loss(recon, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        model.eval()
        test_loss = 0.0
        with torch.no_grad():
            for data, _ in test_loader:
                recon, mu, logvar = model(data)
                test_loss += reference_loss(recon, data, mu, logvar).item()
        test_losses.append(test_loss / len(test_loader.dataset))
        seconds.append(time.perf_counter() - start)
    return {"test_loss": test_losses, "seconds": seconds}


def run_course(max_epochs: int, batch_size: int, lr: float, seed: int) -> dict:
    from course_utils.models import MLPVAE
    from course_utils.objectives import negative_elbo
    from course_utils.train import fit

    (x, y), (x_test, _) = _data()
    torch.manual_seed(seed)
    model = MLPVAE(hidden=400, z_dim=20)
    start = time.perf_counter()
    history = fit(model, (x, y), negative_elbo, epochs=max_epochs, batch_size=batch_size, lr=lr,
                  test_data=x_test, device="cpu", seed=seed, progress=False)
    total = time.perf_counter() - start
    return {"test_loss": history["test_loss"], "seconds": history["seconds"], "fit_seconds": total}


def run_matmul(n: int = 2048, repeats: int = 10) -> dict:
    """float32 matmul throughput in FLOP/s: 2 n^3 per product, best of `repeats`."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = min(_timed(lambda: torch.matmul(a, b)) for _ in range(repeats))
    return {"flops": 2 * n**3 / best, "n": n}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def child(args) -> None:
    """Run one role in this process and print its result as JSON (with peak RSS and threads)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    _warm_up()
    if args.role == "reference":
        result = run_reference(args.reference_epochs, args.seed)
    elif args.role == "course":
        result = run_course(args.max_epochs, args.batch_size, args.lr, args.seed)
    else:
        result = run_matmul()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    result["threads"] = torch.get_num_threads()
    print(json.dumps(result))


def spawn(role: str, args) -> dict:
    command = [sys.executable, __file__, "--role", role, "--seed", str(args.seed),
               "--reference-epochs", str(args.reference_epochs), "--max-epochs", str(args.max_epochs),
               "--batch-size", str(args.batch_size), "--lr", str(args.lr)]
    command += ["--threads", str(args.threads)] if args.threads else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def epoch_flops(n_train: int = N_TRAIN, n_test: int = N_TEST) -> float:
    """Matmul FLOPs of one epoch: 2 N in out per Linear forward, x3 for training, x1 for the test pass."""
    per_example = sum(2 * i * o for i, o in LAYERS)
    return 3 * per_example * n_train + per_example * n_test


def _epochs_to(target: float, losses: list[float]) -> int | None:
    return next((e for e, v in enumerate(losses, 1) if v <= target), None)


def report(runs: dict[str, list[dict]], args) -> None:
    """Print the comparison; times are the best of the repeats (other processes only ever slow a run down)."""
    ref, course = runs["reference"], runs["course"]
    target = ref[0]["test_loss"][-1]
    reached = _epochs_to(target, course[0]["test_loss"])
    print(f"torch {torch.__version__}; torch.get_num_threads(): reference {ref[0]['threads']}, "
          f"course_utils {course[0]['threads']}, matmul {runs['matmul'][0]['threads']}; {len(ref)} repeats, alternating")
    print(f"reference (DataLoader, batch 128, Adam lr 1e-3): test loss per image after "
          f"{len(ref[0]['test_loss'])} epochs = {target:.2f}")
    print("  per-epoch test loss: " + ", ".join(f"{v:.1f}" for v in ref[0]["test_loss"]))
    print("course_utils.fit (batch %d, lr %g): per-epoch test loss: %s" % (
        args.batch_size, args.lr, ", ".join(f"{v:.1f}" for v in course[0]["test_loss"])))
    if any(r["test_loss"] != ref[0]["test_loss"] for r in ref) or any(
            c["test_loss"] != course[0]["test_loss"] for c in course):
        print("  warning: the loss curves differ between repeats")
    if reached is None:
        print(f"course_utils.fit did NOT reach {target:.2f} within {len(course[0]['test_loss'])} epochs")
        return
    ref_times = [sum(r["seconds"]) for r in ref]
    course_times = [sum(c["seconds"][:reached]) for c in course]
    print(f"wall time to reach {target:.2f} (best of repeats): reference {min(ref_times):.2f} s "
          f"({len(ref[0]['seconds'])} epochs), course_utils {min(course_times):.2f} s ({reached} epochs) "
          f"-> speed-up x{min(ref_times) / min(course_times):.2f}")
    print("  all repeats: reference " + ", ".join(f"{t:.2f}" for t in ref_times)
          + " s; course_utils " + ", ".join(f"{t:.2f}" for t in course_times)
          + f" s; speed-up of the medians x{statistics.median(ref_times) / statistics.median(course_times):.2f}")
    _throughput(runs)


def _throughput(runs: dict[str, list[dict]]) -> None:
    eps = {role: max(len(r["seconds"]) / sum(r["seconds"]) for r in runs[role]) for role in ("reference", "course")}
    rss = {role: max(r["peak_rss_mb"] for r in runs[role]) for role in ("reference", "course")}
    matmul = max(m["flops"] for m in runs["matmul"])
    print(f"epochs per second (train + test pass, best): reference {eps['reference']:.2f}, "
          f"course_utils {eps['course']:.2f} (x{eps['course'] / eps['reference']:.2f})")
    print(f"peak RSS (max of repeats): reference {rss['reference']:.0f} MB, course_utils {rss['course']:.0f} MB "
          f"(ratio {rss['course'] / rss['reference']:.2f})")
    flops = epoch_flops()
    limit = flops / matmul
    n = runs["matmul"][0]["n"]
    print(f"model FLOPs per epoch {flops / 1e9:.2f} GFLOP; float32 matmul {matmul / 1e9:.1f} GFLOP/s "
          f"({n}x{n}, best) -> compute-bound limit {limit:.3f} s/epoch")
    print(f"fraction of that limit: reference {limit * eps['reference']:.2f}, course_utils {limit * eps['course']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--role", choices=("main", "reference", "course", "matmul"), default="main")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--reference-epochs", type=int, default=10)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128, help="course_utils.fit batch size")
    parser.add_argument("--lr", type=float, default=3e-3, help="course_utils.fit learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each; times are the best")
    args = parser.parse_args()
    if args.role != "main":
        return child(args)
    runs: dict[str, list[dict]] = {"reference": [], "course": [], "matmul": []}
    for _ in range(args.repeats):
        for role in runs:
            runs[role].append(spawn(role, args))
    report(runs, args)


if __name__ == "__main__":
    main()
