"""Benchmark (a script, not a test): per-step time of chapter 05's training, before and after the
validation change (losses that read tensor values on every call vs metadata-only checks).

"Before" is the package at git revision --ref (default: 5044f49, the last commit whose losses ran
`isfinite(...).all()` and range `.any()` checks on every call); "after" is this working tree.
Both trees are exported (git archive) to temporary folders and run the SAME timed loop in separate
subprocesses, alternating before/after --repeats times, on the same data and seed:

    MLPVAE 784-400-20, batch 128, negative_elbo, fused Adam (what train.fit does per step):
    forward, loss, backward, optimizer step; timed over --steps steps after --warmup steps.

    .venv/bin/python benchmarks/bench_validation_overhead.py [--threads 2] [--repeats 5] [--steps 300]

Prints each run's milliseconds per step, the median of each side, and the ratio before / after.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIMED = r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[1]))
steps, warmup = int(sys.argv[2]), int(sys.argv[3])
from course_utils.models import MLPVAE
from course_utils.objectives import negative_elbo
from course_utils.data import load_mnist
import course_utils
x, _ = load_mnist("train", source="bundled")
torch.manual_seed(0)
model = MLPVAE(z_dim=20)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
g = torch.Generator().manual_seed(0)
batches = [x[torch.randint(0, len(x), (128,), generator=g)] for _ in range(32)]
def step(k):
    loss = negative_elbo(model, batches[k % len(batches)])["loss"].mean()
    if not torch.isfinite(loss):  # fit's one value check per step, on both sides
        raise FloatingPointError
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
for k in range(warmup):
    step(k)
start = time.perf_counter()
for k in range(steps):
    step(k)
seconds = time.perf_counter() - start
print(json.dumps({"ms_per_step": 1000 * seconds / steps, "file": course_utils.__file__}))
"""


def _export(ref: str, into: Path) -> Path:
    """Write the course_utils folder of git revision `ref` into `into`; return that folder."""
    archive = into / "tree.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref, "course_utils"], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(tree: Path, args) -> float:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "COURSE_TIER": "ci"}
    out = subprocess.run([sys.executable, "-c", TIMED, str(args.threads), str(args.steps), str(args.warmup)],
                         env=env, cwd=tree, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["file"].startswith(str(tree)):
        raise RuntimeError(f"imported course_utils from {result['file']}, expected the tree {tree}")
    return result["ms_per_step"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="5044f49", help="git revision of the 'before' package")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as before_dir, tempfile.TemporaryDirectory() as after_dir:
        trees = {"before": _export(args.ref, Path(before_dir)), "after": Path(after_dir)}
        (trees["after"] / "course_utils").symlink_to(ROOT / "course_utils")
        times: dict[str, list[float]] = {"before": [], "after": []}
        for repeat in range(args.repeats):
            for side in ("before", "after"):
                times[side].append(_run(trees[side], args))
                print(f"repeat {repeat + 1}: {side:6} {times[side][-1]:.3f} ms/step", flush=True)
    med = {side: statistics.median(v) for side, v in times.items()}
    print(f"\nmedian ms per step ({args.threads} threads, batch 128, {args.steps} steps x {args.repeats}): "
          f"before ({args.ref}) {med['before']:.3f}, after (this tree) {med['after']:.3f}")
    print(f"ratio before / after: x{med['before'] / med['after']:.3f} (medians), "
          f"x{min(times['before']) / min(times['after']):.3f} (best of each)")


if __name__ == "__main__":
    main()
