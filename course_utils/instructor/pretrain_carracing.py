"""Training entry point for chapter 08's shipped CarRacing agent (course_utils/pretrained/carracing_*), on a CPU.

    OMP_NUM_THREADS=1 python -m course_utils.instructor.pretrain_carracing --threads 1

The paper's CarRacing recipe at a small budget, with the package functions of the Dodge loop: collect random
rollouts (held actions) in course_utils/CarRacing64-v0, train V (a ConvVAE with chapter 05's loss), encode the
rollouts and train M (MDNRNN, 3 actions), then evolve C with CMA-ES in the REAL environment, through V and M
([z_t, h_t] as C's features; M predicts no rewards, so as in the paper C does not learn in a dream here), on
episodes cut to --train-steps. The final C (CMA-ES's mean), C = 0 (straight ahead at half gas: where CMA-ES starts)
and the random collection policy are then scored on the same seeded full episodes. Writes carracing_vae,
carracing_mdnrnn and carracing_controller (safetensors + JSON with the command, threads, hardware, per-phase times,
the budget, the scores and a few real first-frame latents z0 for dreams without Box2D).
Needs Box2D (`pip install "gymnasium[box2d]"`). Nothing runs at import: `main(argv)` parses the arguments.
"""
from __future__ import annotations

import argparse
import itertools
import shlex
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import torch

from .. import checkpoints, objectives
from ..envs import CARRACING_ID
from ..models import MDNRNN, ConvVAE, LinearController
from ..train import fit_stream
from ..world.dream import mean_and_std
from ..world.evolve import evolve
from ..world.rollouts import collect_random, evaluate_controllers, to_images
from ..world.sequences import encode_episodes, memory_loss, sequence_sampler
from .pretrain import _hardware, _positive_float, _positive_int, _rounded_history, _timed

ACTION_DIM = 3  # (steer, gas, brake), each in [-1, 1] for C (envs/carracing.py maps them)
TRAIN_SEEDS = 10_000  # generation g plays tracks TRAIN_SEEDS + g * tracks + k, k < tracks
EVAL_SEEDS = 100_000  # the scored tracks: EVAL_SEEDS, EVAL_SEEDS + 1, ...


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.pretrain_carracing",
                                     description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--episodes", type=_positive_int, default=40, help="random rollouts collected")
    add("--collect-steps", type=_positive_int, default=300, help="each random rollout is cut after this many steps")
    add("--hold", type=_positive_float, default=8.0, help="mean steps a random action is held")
    add("--z-dim", type=_positive_int, default=32)
    add("--channels", type=_positive_int, default=16)
    add("--vae-steps", type=_positive_int, default=1500)
    add("--hidden", type=_positive_int, default=128, help="M's LSTM size")
    add("--mdn-steps", type=_positive_int, default=1500)
    add("--popsize", type=_positive_int, default=12)
    add("--sigma0", type=_positive_float, default=0.1, help="CMA-ES's initial step size")
    add("--generations", type=_positive_int, default=20)
    add("--tracks", type=_positive_int, default=1, help="tracks per candidate per generation (the same for all)")
    add("--train-steps", type=_positive_int, default=250, help="episodes are cut after this many steps while C learns")
    add("--eval-episodes", type=_positive_int, default=10, help="seeded tracks the final scores use")
    add("--eval-steps", type=_positive_int, default=1000, help="steps of a scored episode (CarRacing-v3's limit)")
    add("--z0", type=_positive_int, default=8, help="real first-frame latents saved for dreams")
    add("--seed", type=int, default=0)
    add("--threads", type=_positive_int, default=None, help="torch.set_num_threads")
    add("--prefix", type=Path, default=None, help="output path prefix (default course_utils/pretrained/carracing)")
    return parser


def _versions(*packages: str) -> dict:
    """Installed versions of the packages that shape the environment (None where one is absent)."""
    out = {}
    for package in packages:
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


def train_world(args) -> tuple[torch.nn.Module, torch.nn.Module, np.ndarray, dict]:
    """V and M from random rollouts; also the first frames' latents z0 and a summary (times, histories)."""
    times: dict[str, float] = {}
    episodes = _timed("collect", times, collect_random, args.episodes, seed=args.seed, hold=args.hold,
                      env_id=CARRACING_ID, max_steps=args.collect_steps)
    frames = torch.from_numpy(np.concatenate([e.frames for e in episodes]))  # (N, 64, 64, 3) uint8
    torch.manual_seed(args.seed)
    vae = ConvVAE((3, 64, 64), z_dim=args.z_dim, channels=args.channels)
    sample_frames = lambda step, g: to_images(frames[torch.randint(len(frames), (64,), generator=g)])
    v_hist = _timed("V", times, fit_stream, vae, sample_frames, objectives.negative_elbo, steps=args.vae_steps,
                    lr=1e-3, seed=args.seed, log_every=max(args.vae_steps // 10, 1), device="cpu")
    vae.eval()
    data = _timed("encode", times, encode_episodes, vae, episodes)
    mdnrnn = MDNRNN(vae.z_dim, ACTION_DIM, hidden=args.hidden)
    m_hist = _timed("M", times, fit_stream, mdnrnn, sequence_sampler(data, 64), memory_loss(vae.z_dim, ACTION_DIM),
                    steps=args.mdn_steps, lr=1e-3, seed=args.seed, log_every=max(args.mdn_steps // 10, 1),
                    device="cpu")
    mdnrnn.eval()
    z0 = data.mu[:args.z0, 0].numpy().round(4)  # real first frames' latents: where a dream can start
    summary = {"times": times, "frames": len(frames), "v_hist": v_hist, "m_hist": m_hist,
               "collected_steps": int(sum(e.steps for e in episodes))}
    return vae, mdnrnn, z0, summary


def train_controller(args, vae, mdnrnn, times: dict) -> tuple[np.ndarray, dict]:
    """CMA-ES on C in the real game: each generation, every candidate plays the same `tracks` new tracks."""
    generation = itertools.count()

    def score(candidates: np.ndarray) -> np.ndarray:
        first = TRAIN_SEEDS + next(generation) * args.tracks
        tracks = range(first, first + args.tracks)
        result = evaluate_controllers(vae, mdnrnn, candidates, tracks, max_steps=args.train_steps, env_id=CARRACING_ID)
        return result.returns.mean(1)  # (popsize,) mean return over the tracks

    n = LinearController(vae.z_dim + mdnrnn.hidden, ACTION_DIM).n_parameters()
    log = lambda g, h: print(f"generation {g}: best {h['best'][-1]:.1f}, mean {h['mean'][-1]:.1f}", flush=True)
    return _timed("C", times, evolve, score, n, popsize=args.popsize, generations=args.generations,
                  sigma0=args.sigma0, seed=args.seed, on_generation=log)


def score_final(args, vae, mdnrnn, best: np.ndarray, times: dict) -> dict:
    """The final C and C = 0 on the same seeded full episodes (in lockstep), and the random policy."""
    seeds = list(range(EVAL_SEEDS, EVAL_SEEDS + args.eval_episodes))
    both = np.stack([best, np.zeros_like(best)])
    real = _timed("score C", times, evaluate_controllers, vae, mdnrnn, both, seeds, max_steps=args.eval_steps,
                  env_id=CARRACING_ID).returns  # (2, S)
    rand = _timed("score random", times, collect_random, len(seeds), seed=seeds[0], hold=args.hold,
                  env_id=CARRACING_ID, max_steps=args.eval_steps)  # the collection's policy, on the same tracks
    per_seed = {"controller": real[0], "straight": real[1], "random": np.array([e.rewards.sum() for e in rand])}
    return {"eval_seeds": seeds, "eval_steps": args.eval_steps,
            "scores": {k: [round(v, 1) for v in mean_and_std(r)] for k, r in per_seed.items()},
            "per_seed": {k: [round(float(v), 1) for v in r] for k, r in per_seed.items()}}


def main(argv: list[str] | None = None) -> dict:
    """Train, save and return the summary written to the JSONs."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    vae, mdnrnn, z0, world = train_world(args)
    best, c_hist = train_controller(args, vae, mdnrnn, world["times"])
    results = score_final(args, vae, mdnrnn, best, world["times"])
    print(f"scores {results['scores']}", flush=True)
    budget = {k: getattr(args, k) for k in ("episodes", "collect_steps", "hold", "vae_steps", "mdn_steps", "popsize",
                                            "sigma0", "generations", "tracks", "train_steps", "seed")}
    budget |= {"frames": world["frames"], "collected_steps": world["collected_steps"],
               "c_env_steps_at_most": args.generations * args.popsize * args.tracks * args.train_steps}
    prefix = args.prefix or checkpoints.PRETRAINED / "carracing"
    common = {"command": shlex.join(["python", "-m", "course_utils.instructor.pretrain_carracing", *argv]),
              "threads": torch.get_num_threads(), "hardware": _hardware(), "env": CARRACING_ID,
              "versions": _versions("gymnasium", "box2d", "pygame-ce", "cma"),
              "loop_seconds": round(time.perf_counter() - start, 1), "times": world["times"], "budget": budget,
              **results, "z0": z0.tolist()}
    checkpoints.save(vae, f"{prefix}_vae", extra=common | {"history": _rounded_history(world["v_hist"])})
    checkpoints.save(mdnrnn, f"{prefix}_mdnrnn", extra=common | {"history": _rounded_history(world["m_hist"])})
    controller = LinearController(vae.z_dim + mdnrnn.hidden, ACTION_DIM).set_vector(best)
    checkpoints.save(controller, f"{prefix}_controller", extra=common | {"history": _rounded_history(c_hist)})
    print(f"loop {common['loop_seconds']} s; wrote {prefix}_*")
    return common


if __name__ == "__main__":
    main()
