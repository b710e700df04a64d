"""Benchmark (a script, not a test): where chapter 08's World Models loop spends its time.

Measured in one run, on the same CPU:

1. the real environment (Dodge): steps/s of `env.step` with random actions, on one core;
2. the real loop with V and M: agent-steps/s of `rollouts.evaluate_controllers` (frames encoded by V in
   one batch per step, M stepped in one batch), for --population controllers x 4 seeds;
3. the dream: agent-steps/s of `dream.dream_returns` for --population controllers x --rollouts dreams, all
   in one batch; then the ratios dream / real environment and dream / real loop;
4. CMA-ES (`cma`) generations/s when each candidate is scored by real episodes through V and M, one
   candidate per call, with `cma.optimization_tools.EvalParallel2` and 1 and 2 processes.

    .venv/bin/python benchmarks/bench_world_models.py [--population 32] [--rollouts 8] [--generations 3]

Uses the shipped dodge_vae and dodge_mdnrnn (random controllers: the speed does not depend on the skill,
only on how long agents live, so every dream and episode here is cut at --steps steps).
"""
from __future__ import annotations

import argparse
import time

import cma
import gymnasium
import numpy as np
import torch
from cma.optimization_tools import EvalParallel2

from course_utils import checkpoints
from course_utils.envs import DODGE_ID
from course_utils.world import dream, rollouts

_MODELS: dict = {}


def _models():
    if not _MODELS:  # loaded once per process (EvalParallel2's workers each load their own copy)
        torch.set_num_threads(1)
        _MODELS["vae"] = checkpoints.pretrained("dodge_vae")
        _MODELS["mdnrnn"] = checkpoints.pretrained("dodge_mdnrnn")
    return _MODELS["vae"], _MODELS["mdnrnn"]


def real_return(x: np.ndarray) -> float:
    """Minus the mean return of controller x over two seeded real episodes (cma minimises); picklable."""
    vae, mdnrnn = _models()
    return -float(rollouts.evaluate_controllers(vae, mdnrnn, x[None], [0, 1], max_steps=100).returns.mean())


def env_steps_per_second(steps: int) -> float:
    env = gymnasium.make(DODGE_ID).unwrapped
    env.reset(seed=0)
    env.action_space.seed(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def cma_generations_per_second(processes: int, n: int, popsize: int, generations: int) -> float:
    es = cma.CMAEvolutionStrategy(np.zeros(n), 0.1, {"popsize": popsize, "seed": 1, "verbose": -9})
    with EvalParallel2(real_return, number_of_processes=processes) as evaluate:
        evaluate([np.zeros(n)])  # start the workers and load the models before timing
        start = time.perf_counter()
        for _ in range(generations):
            candidates = es.ask()
            es.tell(candidates, evaluate(candidates))
    return generations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--steps", type=int, default=100, help="steps per dream and per real episode")
    parser.add_argument("--generations", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    vae, mdnrnn = checkpoints.pretrained("dodge_vae"), checkpoints.pretrained("dodge_mdnrnn")
    n = (vae.z_dim + mdnrnn.hidden + 1)
    vectors = np.random.default_rng(0).normal(0, 0.1, (args.population, n))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; controller {n} parameters")

    env_rate = env_steps_per_second(20_000)
    print(f"1. real environment: {env_rate:,.0f} steps/s (random actions, one core)")

    start = time.perf_counter()
    real = rollouts.evaluate_controllers(vae, mdnrnn, vectors, range(4), max_steps=args.steps)
    real_rate = real.returns.sum() / (time.perf_counter() - start)
    print(f"2. real loop through V and M: {real_rate:,.0f} agent-steps/s ({args.population} x 4 agents)")

    z0 = vae.encode(rollouts.to_images(gymnasium.make(DODGE_ID).unwrapped.reset(seed=0)[0][None]))[0].detach()
    start = time.perf_counter()
    dreamed = dream.dream_returns(mdnrnn, vectors, z0, rollouts=args.rollouts, max_steps=args.steps,
                                  generator=torch.Generator().manual_seed(0))
    dream_rate = float(dreamed.sum()) / (time.perf_counter() - start)
    print(f"3. dream: {dream_rate:,.0f} agent-steps/s ({args.population} x {args.rollouts} dreamers in one batch)")
    print(f"   ratio dream / real environment: {dream_rate / env_rate:.1f}x; "
          f"dream / real loop with V and M: {dream_rate / real_rate:.1f}x")

    rates = {p: cma_generations_per_second(p, n, 16, args.generations) for p in (1, 2)}
    print(f"4. CMA-ES, 16 candidates x 2 real episodes each (EvalParallel2): "
          f"{rates[1]:.3f} generations/s with 1 process, {rates[2]:.3f} with 2; ratio {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
