"""Training entry point for chapter 08's shipped World Models agent on Dodge (course_utils/pretrained/).

    python -m course_utils.instructor.pretrain_world --threads 2

The whole loop of the chapter, with the same package functions: collect random rollouts, train V (a ConvVAE
with chapter 05's loss), encode the rollouts and train M (MDNRNN), then for each temperature tau evolve C with
CMA-ES inside M's dream and score it over seeded real episodes. Writes dodge_vae, dodge_mdnrnn and
dodge_controller_tau{tau} (safetensors + JSON with the command, hardware, times and scores); with --vae or
--mdnrnn a trained V or M is reused, and its file (with the command that made it) is left as it is.
Nothing runs at import: `main(argv)` parses the arguments.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .. import checkpoints, objectives
from ..models import MDNRNN, ConvVAE, LinearController
from ..train import fit_stream
from ..world.dream import dream_returns, mean_and_std
from ..world.evolve import evolve
from ..world.rollouts import collect_random, evaluate_controllers, to_images
from ..world.sequences import encode_episodes, memory_loss, sequence_sampler
from .pretrain import _hardware, _positive_float, _positive_int, _rounded_history, _timed

EVAL_SEEDS = range(100_000, 100_100)  # the 100 seeded real episodes every score in chapter 08 uses


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.pretrain_world",
                                     description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--episodes", type=_positive_int, default=1000, help="random rollouts collected")
    add("--hold", type=_positive_float, default=4.0, help="mean steps a random action is held")
    add("--z-dim", type=_positive_int, default=32)
    add("--channels", type=_positive_int, default=16)
    add("--vae-steps", type=_positive_int, default=2000)
    add("--vae", default=None, help="reuse a trained V (a checkpoint path) instead of training one")
    add("--hidden", type=_positive_int, default=128, help="M's LSTM size")
    add("--mdn-steps", type=_positive_int, default=6000)
    add("--mdnrnn", default=None, help="reuse a trained M (a checkpoint path) instead of training one")
    add("--taus", type=_positive_float, nargs="+", default=[0.1, 0.5, 1.0, 1.15, 1.3])
    add("--popsize", type=_positive_int, default=32)
    add("--sigma0", type=_positive_float, default=0.5, help="CMA-ES's initial step size")
    add("--generations", type=_positive_int, default=40)
    add("--rollouts", type=_positive_int, default=8, help="dreams per candidate per generation")
    add("--dream-steps", type=_positive_int, default=500)
    add("--eval-episodes", type=_positive_int, default=100)
    add("--seed", type=int, default=0)
    add("--threads", type=_positive_int, default=None, help="torch.set_num_threads")
    add("--prefix", type=Path, default=None, help="output path prefix (default course_utils/pretrained/dodge)")
    return parser


def train_world(args) -> dict:
    """Run the loop; returns the models and a summary (scores per tau, times)."""
    times: dict[str, float] = {}
    episodes = _timed("collect", times, collect_random, args.episodes, seed=args.seed, hold=args.hold)
    frames = torch.from_numpy(np.concatenate([e.frames for e in episodes]))  # (N, 64, 64, 3) uint8
    torch.manual_seed(args.seed)
    if args.vae:
        vae, v_hist = checkpoints.load(args.vae), None  # reused: its file keeps its own history
    else:
        vae = ConvVAE((3, 64, 64), z_dim=args.z_dim, channels=args.channels)
        sample_frames = lambda step, g: to_images(frames[torch.randint(len(frames), (64,), generator=g)])
        v_hist = _timed("V", times, fit_stream, vae, sample_frames, objectives.negative_elbo,
                        steps=args.vae_steps, lr=1e-3, seed=args.seed, log_every=max(args.vae_steps // 10, 1),
                        device="cpu")
    vae.eval()
    data = _timed("encode", times, encode_episodes, vae, episodes)
    if args.mdnrnn:
        mdnrnn, m_hist = checkpoints.load(args.mdnrnn), None
    else:
        mdnrnn = MDNRNN(vae.z_dim, 1, hidden=args.hidden)
        m_hist = _timed("M", times, fit_stream, mdnrnn, sequence_sampler(data, 64), memory_loss(vae.z_dim, 1),
                        steps=args.mdn_steps, lr=1e-3, seed=args.seed, log_every=max(args.mdn_steps // 10, 1),
                        device="cpu")
    mdnrnn.eval()
    z0 = data.mu[:, 0]  # first frames' latents: where every dream starts
    n = LinearController(vae.z_dim + args.hidden).n_parameters()
    random_real = _timed("random", times, lambda: [len(e.actions) for e in collect_random(
        args.eval_episodes, seed=EVAL_SEEDS.start, hold=1.0)])
    results = {"random_iid": mean_and_std(random_real)}
    controllers = {}
    for tau in args.taus:
        g = torch.Generator().manual_seed(args.seed)
        score = lambda X: dream_returns(mdnrnn, X, z0, rollouts=args.rollouts, max_steps=args.dream_steps,
                                        tau=tau, generator=g).mean(1).numpy()
        best, c_hist = _timed(f"C tau={tau}", times, evolve, score, n, popsize=args.popsize,
                              generations=args.generations, sigma0=args.sigma0, seed=args.seed)
        dream = dream_returns(mdnrnn, best[None], z0, rollouts=100, max_steps=args.dream_steps, tau=tau,
                              generator=torch.Generator().manual_seed(1))
        real = _timed(f"real tau={tau}", times, evaluate_controllers, vae, mdnrnn, best[None],
                      list(EVAL_SEEDS)[:args.eval_episodes])
        results[f"tau={tau}"] = {"dream": mean_and_std(dream), "real": mean_and_std(real.returns)}
        controllers[tau] = (LinearController(vae.z_dim + args.hidden).set_vector(best), c_hist)
        print(f"tau {tau}: dream {results[f'tau={tau}']['dream']}, real {results[f'tau={tau}']['real']}", flush=True)
    return {"vae": (vae, v_hist), "mdnrnn": (mdnrnn, m_hist), "controllers": controllers, "results": results,
            "times": times, "frames": len(frames)}


def main(argv: list[str] | None = None) -> dict:
    """Train, save and return the summary written to the JSONs."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    out = train_world(args)
    prefix = args.prefix or checkpoints.PRETRAINED / "dodge"
    common = {"command": shlex.join(["python", "-m", "course_utils.instructor.pretrain_world", *argv]),
              "threads": torch.get_num_threads(), "hardware": _hardware(), "loop_seconds": round(time.perf_counter() - start, 1),
              "times": out["times"], "frames": out["frames"], "results": out["results"]}
    if not args.vae:  # a reused V or M keeps its own file and the command that made it
        checkpoints.save(out["vae"][0], f"{prefix}_vae", extra=common | {"history": _rounded_history(out["vae"][1])})
    if not args.mdnrnn:
        checkpoints.save(out["mdnrnn"][0], f"{prefix}_mdnrnn",
                         extra=common | {"history": _rounded_history(out["mdnrnn"][1])})
    for tau, (controller, hist) in out["controllers"].items():
        checkpoints.save(controller, f"{prefix}_controller_tau{tau:g}",
                         extra=common | {"tau": tau, "history": _rounded_history(hist)})
    print(f"loop {common['loop_seconds']} s; wrote {prefix}_*; results {out['results']}")
    return common


if __name__ == "__main__":
    main()
