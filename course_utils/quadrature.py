"""The evidence p(x) = ∫ p(x, z) dz by brute force: grids, Monte Carlo from the prior, timings (chapter 01).

Everything works in log space (log-sum-exp) and float64, so tiny densities do not underflow.
These are the methods that variational inference replaces: they are exact in 1-2 latent
dimensions and hopeless in 20.
"""
from __future__ import annotations

import math
import time
from typing import Callable, Sequence

import torch

from .latent_models import LinearGaussian

SECONDS_PER_YEAR = 365.25 * 24 * 3600
LogDensity = Callable[[torch.Tensor], torch.Tensor]
#: The largest grid log_evidence_grid evaluates unless told otherwise (about a minute on a laptop).
MAX_GRID_POINTS = 10**8


def _one_per_row(values, m: int, name: str) -> torch.Tensor:
    if not isinstance(values, torch.Tensor) or values.shape != (m,):
        got = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise ValueError(f"{name}: expected one log-density per point, shape ({m},), got {got}")
    return values


def _check_grid(k: int, d: int, lo: float, hi: float) -> None:
    for name, value in (("k", k), ("d", d)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"expected finite lo < hi, got lo={lo!r}, hi={hi!r}")


def midpoint_nodes(k: int, lo: float = -6.0, hi: float = 6.0) -> tuple[torch.Tensor, float]:
    """k midpoints of equal cells of [lo, hi] (k,) and the cell width h. Chapter 01."""
    _check_grid(k, 1, lo, hi)
    h = (hi - lo) / k
    return lo + h * (torch.arange(k, dtype=torch.float64) + 0.5), h


def grid_points(k: int, d: int, lo: float, hi: float, start: int, stop: int) -> torch.Tensor:
    """Points start..stop-1 of the k^d tensor-product midpoint grid on [lo, hi]^d -> (stop - start, d). Chapter 01."""
    _check_grid(k, d, lo, hi)
    if not 0 <= start <= stop <= k**d:
        raise ValueError(f"expected 0 <= start <= stop <= k**d = {k**d}, got {start}, {stop}")
    nodes, _ = midpoint_nodes(k, lo, hi)
    index = torch.arange(start, stop, dtype=torch.int64)
    powers = k ** torch.arange(d - 1, -1, -1, dtype=torch.int64)  # (d,)
    return nodes[(index[:, None] // powers) % k]  # (stop - start, d)


def log_integral(log_values: torch.Tensor, h: float, d: int = 1) -> float:
    """log of the midpoint rule: log sum_j h^d exp(f_j) from the values f_j (M,) on a grid of cell width h.

    Chapter 01.
    """
    log_values = torch.as_tensor(log_values, dtype=torch.float64).reshape(-1)
    if log_values.numel() == 0 or not h > 0:
        raise ValueError(f"expected a non-empty (M,) tensor and h > 0, got {tuple(log_values.shape)} and h={h!r}")
    # log sum_j h^d e^{f_j} = logsumexp_j f_j + d log h   (no exp of f_j alone: it may underflow)
    return float(torch.logsumexp(log_values, dim=0)) + d * math.log(h)


def log_evidence_grid(log_joint: LogDensity, d: int, k: int, lo: float = -6.0, hi: float = 6.0,
                      chunk: int = 2**16, max_points: int = MAX_GRID_POINTS) -> tuple[float, int]:
    """log p(x) ≈ log sum_j h^d p(x, z_j) on a k^d midpoint grid; log_joint maps (M, d) -> (M,). Chapter 01.

    Returns (log p(x), number of evaluations of log_joint). Points go in chunks to bound memory.
    A grid of more than `max_points` points is refused before it starts (see `grid_years`).
    """
    _check_grid(k, d, lo, hi)
    if k**d > max_points:
        raise ValueError(f"k**d = {k}**{d} = {float(k**d):.3g} grid points is more than max_points = {max_points:.3g}; "
                         f"at 10 million points per second it would take {grid_years(k, d, 1e-7):.3g} years "
                         "(that is chapter 01's point); lower k or d, or raise max_points")
    h = (hi - lo) / k
    total, partial = k**d, []
    for start in range(0, total, chunk):
        points = grid_points(k, d, lo, hi, start, min(start + chunk, total))
        values = _one_per_row(log_joint(points), len(points), "log_joint(z)")  # (M,)
        partial.append(torch.logsumexp(values, dim=0))
    return log_integral(torch.stack(partial), h, d), total


def log_evidence_prior_mc(log_likelihood: LogDensity, d: int, n_samples: int,
                          generator: torch.Generator | None = None) -> tuple[float, float]:
    """log p(x) ≈ log (1/S) sum_s p(x|z_s), z_s ~ N(0, I_d); returns (estimate, relative standard error). Chapter 01."""
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
    z = torch.randn(n_samples, d, generator=generator, dtype=torch.float64)
    log_w = _one_per_row(log_likelihood(z), n_samples, "log_likelihood(z)")  # (S,)
    log_mean = torch.logsumexp(log_w, 0) - math.log(n_samples)
    ratio = torch.exp(log_w - log_mean)  # p(x|z_s) / estimate, mean 1
    return float(log_mean), float(ratio.std() / math.sqrt(n_samples))


def prior_mc_relative_variance(model: LinearGaussian, x) -> torch.Tensor:
    """Exact Var_{p(z)}[p(x|z)] / p(x)^2 for the linear-Gaussian model, x: (N, D) -> (N,). Chapter 01.

    Uses N(x; m, s^2)^2 = N(x; m, s^2 / 2) / (2 sqrt(pi) s) per coordinate, so
    E[p(x|z)^2] = (2 sqrt(pi) sigma)^(-D) N(x; b, W W^T + sigma^2 I / 2).
    """
    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model: expected a LinearGaussian, got {type(model).__name__}")
    x = torch.as_tensor(x, dtype=torch.float64).reshape(-1, model.D)
    cov_half = model.W @ model.W.T + model.sigma**2 / 2 * torch.eye(model.D, dtype=torch.float64)
    log_second = (torch.distributions.MultivariateNormal(model.b, covariance_matrix=cov_half).log_prob(x)
                  - model.D * math.log(2 * math.sqrt(math.pi) * model.sigma))
    return torch.exp(log_second - 2 * model.log_evidence(x)) - 1


def time_grid_evidence(make_log_joint: Callable[[int], LogDensity], ds: Sequence[int], k: int,
                       lo: float = -6.0, hi: float = 6.0, repeats: int = 3) -> list[dict]:
    """Best-of-`repeats` wall time of log_evidence_grid for each latent dimension d in ds. Chapter 01.

    make_log_joint(d) returns the (M, d) -> (M,) log joint of a model with d latent dimensions.
    Returns one dict per d: {'d', 'evaluations', 'seconds', 'log_evidence'}.
    """
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    rows = []
    for d in ds:
        log_joint, best = make_log_joint(d), math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            log_px, evaluations = log_evidence_grid(log_joint, d, k, lo, hi)
            best = min(best, time.perf_counter() - start)
        rows.append({"d": d, "evaluations": evaluations, "seconds": best, "log_evidence": log_px})
    return rows


def grid_years(k: int, d: int, seconds_per_evaluation: float) -> float:
    """Years that k^d evaluations take at a given cost per evaluation. Chapter 01."""
    _check_grid(k, d, 0.0, 1.0)
    if not seconds_per_evaluation > 0:
        raise ValueError(f"seconds_per_evaluation must be positive, got {seconds_per_evaluation!r}")
    return k**d * seconds_per_evaluation / SECONDS_PER_YEAR
