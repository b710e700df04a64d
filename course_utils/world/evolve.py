"""C trained by CMA-ES (chapter 08), with the `cma` package: ask a population, score it, tell the scores.

pycma minimizes, so the score told is minus the mean return. `evolve` scores a whole population with one
call (a batched dream, or a batched real evaluation); `cma.optimization_tools.EvalParallel2` is the tool
for scoring candidates one by one in several processes (see benchmarks/bench_world_models.py).
"""
from __future__ import annotations

import time
from typing import Callable

import cma
import numpy as np

from ..validate import positive_int


def evolve(score_population: Callable[[np.ndarray], np.ndarray], n_parameters: int, *, popsize: int = 32,
           generations: int = 50, sigma0: float = 0.5, seed: int = 0,
           on_generation: Callable[[int, dict], None] | None = None) -> tuple[np.ndarray, dict]:
    """CMA-ES from x0 = 0: score_population(X (popsize, n)) -> mean returns (popsize,). Chapter 08.

    Returns the mean of the final search distribution (CMA-ES's estimate of the best controller) and a
    history with each generation's best, mean and the seconds it took.
    """
    positive_int("n_parameters", n_parameters), positive_int("popsize", popsize)
    positive_int("generations", generations)
    es = cma.CMAEvolutionStrategy(np.zeros(n_parameters), sigma0,
                                  {"popsize": popsize, "seed": seed + 1, "verbose": -9})  # pycma: seed 0 = random
    history: dict[str, list[float]] = {"best": [], "mean": [], "seconds": []}
    for g in range(1, generations + 1):
        start = time.perf_counter()
        candidates = np.asarray(es.ask())  # (popsize, n)
        returns = np.asarray(score_population(candidates), dtype=float)
        if returns.shape != (popsize,) or not np.all(np.isfinite(returns)):
            raise ValueError(f"score_population: expected {popsize} finite returns, got {returns!r}")
        es.tell(list(candidates), list(-returns))  # CMA-ES minimizes: tell it minus the return
        history["best"].append(float(returns.max())), history["mean"].append(float(returns.mean()))
        history["seconds"].append(time.perf_counter() - start)
        if on_generation is not None:
            on_generation(g, history)
    return np.asarray(es.result.xfavorite), history
