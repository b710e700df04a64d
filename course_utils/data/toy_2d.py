"""Seeded 2-D toy data sets for the pictures of chapter 00 (and anyone who needs small 2-D data).

Every generator returns a float32 tensor of shape (n, 2), centred near the origin with a spread
of about one unit, and gives the same points for the same `seed`. Nothing is downloaded.
"""
from __future__ import annotations

import math

import torch

__all__ = ["two_moons", "rings", "spiral", "gaussian_mixture", "lift_matrix", "grid_2d", "DATASETS"]


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")


def _check_nonnegative(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _generator(seed: int) -> torch.Generator:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return torch.Generator().manual_seed(seed)


def _finish(x: torch.Tensor, noise: float, gen: torch.Generator) -> torch.Tensor:
    """Add isotropic Gaussian noise, shuffle the rows, return float32 (n, 2)."""
    x = x + noise * torch.randn(x.shape, generator=gen, dtype=torch.float64)
    return x[torch.randperm(len(x), generator=gen)].to(torch.float32)


def two_moons(n: int, noise: float = 0.1, *, seed: int = 0) -> torch.Tensor:
    """Two interleaved half circles of radius 1, centred at the origin -> (n, 2) (chapter 00)."""
    _check_n(n)
    noise = _check_nonnegative(noise, "noise")
    gen = _generator(seed)
    n_outer = n // 2
    t = math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    outer = torch.stack([torch.cos(t[:n_outer]), torch.sin(t[:n_outer])], dim=1)
    inner = torch.stack([1 - torch.cos(t[n_outer:]), 0.5 - torch.sin(t[n_outer:])], dim=1)
    x = torch.cat([outer, inner]) - torch.tensor([0.5, 0.25], dtype=torch.float64)
    return _finish(x, noise, gen)


def rings(n: int, noise: float = 0.05, radii: tuple[float, ...] = (0.5, 1.5), *, seed: int = 0) -> torch.Tensor:
    """Concentric circles with the given radii (points split as evenly as possible) -> (n, 2) (chapter 00)."""
    _check_n(n)
    noise = _check_nonnegative(noise, "noise")
    radii = tuple(radii)
    if not radii or any(isinstance(r, bool) or not isinstance(r, (int, float)) or not r > 0 for r in radii):
        raise ValueError(f"radii must be a non-empty sequence of positive numbers, got {radii!r}")
    gen = _generator(seed)
    which = torch.arange(n) % len(radii)
    r = torch.tensor(radii, dtype=torch.float64)[which]
    t = 2 * math.pi * torch.rand(n, generator=gen, dtype=torch.float64)
    x = torch.stack([r * torch.cos(t), r * torch.sin(t)], dim=1)
    return _finish(x, noise, gen)


def spiral(n: int, noise: float = 0.05, turns: float = 1.5, *, seed: int = 0) -> torch.Tensor:
    """One Archimedean spiral arm, radius growing from 0 to 1.5 over `turns` turns -> (n, 2) (chapter 00)."""
    _check_n(n)
    noise = _check_nonnegative(noise, "noise")
    if isinstance(turns, bool) or not isinstance(turns, (int, float)) or not turns > 0:
        raise ValueError(f"turns must be a positive number, got {turns!r}")
    gen = _generator(seed)
    s = torch.rand(n, generator=gen, dtype=torch.float64).sqrt()
    angle = 2 * math.pi * turns * s
    x = 1.5 * s[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return _finish(x, noise, gen)


def gaussian_mixture(n: int, k: int = 8, radius: float = 1.5, std: float = 0.1, *, seed: int = 0) -> torch.Tensor:
    """k equally weighted Gaussians (std `std`) with means evenly spaced on a circle -> (n, 2) (chapter 00)."""
    _check_n(n)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    std = _check_nonnegative(std, "std")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not radius >= 0:
        raise ValueError(f"radius must be a number >= 0, got {radius!r}")
    gen = _generator(seed)
    component = torch.randint(k, (n,), generator=gen)
    angle = 2 * math.pi * component.to(torch.float64) / k
    x = radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return _finish(x, std, gen)


def lift_matrix(D: int, d: int = 2, *, seed: int = 0) -> torch.Tensor:
    """Random (D, d) matrix Q, orthonormal columns: x @ Q.T puts (n, d) points on a plane in R^D (chapter 00)."""
    for value, name in ((D, "D"), (d, "d")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if d > D:
        raise ValueError(f"d={d} must be <= D={D}: a plane of dimension d must fit in R^D")
    gen = _generator(seed)
    Q, R = torch.linalg.qr(torch.randn(D, d, generator=gen, dtype=torch.float64))
    return (Q * torch.sign(torch.diagonal(R))).to(torch.float32)


DATASETS = {"two_moons": two_moons, "rings": rings, "spiral": spiral, "gaussian_mixture": gaussian_mixture}


def grid_2d(xlim: tuple[float, float] = (-3.0, 3.0), ylim: tuple[float, float] = (-3.0, 3.0),
            num: int = 201) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Regular float64 grid: points (num*num, 2) with x varying fastest, axes xs (num,), ys (num,) (chapter 00).

    A function of the points reshaped to (num, num) is indexed [y, x], as `plt.contour(xs, ys, values)` expects.
    """
    if isinstance(num, bool) or not isinstance(num, int) or num < 2:
        raise ValueError(f"num must be an int >= 2, got {num!r}")
    for lim, name in ((xlim, "xlim"), (ylim, "ylim")):
        if len(lim) != 2 or not all(math.isfinite(v) for v in lim) or not lim[0] < lim[1]:
            raise ValueError(f"{name} must be (low, high) with finite low < high, got {lim!r}")
    xs = torch.linspace(float(xlim[0]), float(xlim[1]), num, dtype=torch.float64)
    ys = torch.linspace(float(ylim[0]), float(ylim[1]), num, dtype=torch.float64)
    Y, X = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([X.reshape(-1), Y.reshape(-1)], dim=1), xs, ys
