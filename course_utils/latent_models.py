"""Small latent-variable models with known answers (chapters 01 and 02).

LinearGaussian: z ~ N(0, I_d), x | z ~ N(W z + b, sigma^2 I_D). Its evidence p(x) and posterior
p(z|x) are Gaussian in closed form, so every approximation in the course can be checked against them.
NonlinearGaussian: the same with a fixed nonlinear decoder f(z) (ring_decoder, RandomMLPDecoder):
no closed form, so chapter 01 computes its evidence by brute force (course_utils.quadrature).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .gaussian import log_normal


def _as_2d(x: torch.Tensor, dim: int, name: str) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2 or x.shape[-1] != dim:
        raise ValueError(f"{name}: expected shape (N, {dim}) or ({dim},), got {tuple(x.shape)}")
    return x


class GaussianLatentModel:
    """What both models share: z ~ N(0, I_d), x | z ~ N(mean_x(z), sigma^2 I_D), float64. Chapters 01-02."""

    d: int
    D: int
    sigma: float

    def mean_x(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prior(self, z) -> torch.Tensor:
        """log p(z), z: (N, d) -> (N,). Chapter 01."""
        z = _as_2d(z, self.d, "z")
        return log_normal(z, torch.zeros_like(z), torch.zeros_like(z))  # log N(z; 0, I)

    def log_likelihood(self, x, z) -> torch.Tensor:
        """log p(x|z) = log N(x; mean_x(z), sigma^2 I), x: (N, D) or (D,), z: (N, d) -> (N,). Chapter 01."""
        x, z = _as_2d(x, self.D, "x"), _as_2d(z, self.d, "z")
        mean = self.mean_x(z)
        return log_normal(x, mean, torch.full_like(mean, 2 * math.log(self.sigma)))  # log N(x; mean, sigma^2 I)

    def log_joint(self, x, z) -> torch.Tensor:
        """log p(x, z) = log p(x|z) + log p(z) -> (N,). Chapter 01."""
        return self.log_likelihood(x, z) + self.log_prior(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (x, z) pairs: z ~ p(z), x ~ p(x|z); shapes (n, D), (n, d). Chapter 01."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n: expected a positive int, got {n!r}")
        z = torch.randn(n, self.d, generator=generator, dtype=torch.float64)
        noise = torch.randn(n, self.D, generator=generator, dtype=torch.float64)
        return self.mean_x(z) + self.sigma * noise, z


class LinearGaussian(GaussianLatentModel):
    """z ~ N(0, I_d), x | z ~ N(W z + b, sigma^2 I_D); float64 throughout (chapters 01-02)."""

    def __init__(self, W, b, sigma: float):
        self.W = torch.as_tensor(W, dtype=torch.float64)
        if self.W.ndim != 2:
            raise ValueError(f"W: expected a (D, d) matrix, got shape {tuple(self.W.shape)}")
        self.D, self.d = self.W.shape
        self.b = torch.as_tensor(b, dtype=torch.float64).reshape(-1)
        if self.b.shape != (self.D,):
            raise ValueError(f"b: expected shape ({self.D},), got {tuple(self.b.shape)}")
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
        self.sigma = float(sigma)

    def mean_x(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean W z + b, z: (N, d) -> (N, D). Chapter 01."""
        return z @ self.W.T + self.b

    def evidence_cov(self) -> torch.Tensor:
        """Cov[x] = W W^T + sigma^2 I (D, D)."""
        return self.W @ self.W.T + self.sigma**2 * torch.eye(self.D, dtype=torch.float64)

    def log_evidence(self, x) -> torch.Tensor:
        """Exact log p(x) = log N(x; b, W W^T + sigma^2 I) -> (N,)."""
        x = _as_2d(x, self.D, "x")
        dist = torch.distributions.MultivariateNormal(self.b, covariance_matrix=self.evidence_cov())
        return dist.log_prob(x)

    def posterior(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """Exact p(z|x) = N(m, S): S = (I + W^T W / sigma^2)^-1, m = S W^T (x - b) / sigma^2."""
        x = _as_2d(x, self.D, "x")
        precision = torch.eye(self.d, dtype=torch.float64) + self.W.T @ self.W / self.sigma**2
        S = torch.linalg.inv(precision)
        m = (x - self.b) @ self.W @ S.T / self.sigma**2
        return m, S


class NonlinearGaussian(GaussianLatentModel):
    """z ~ N(0, I_d), x | z ~ N(f(z), sigma^2 I_D), f: (N, d) -> (N, D) fixed; p(x) has no closed form (chapter 01)."""

    def __init__(self, decoder: Callable[[torch.Tensor], torch.Tensor], d: int, D: int, sigma: float):
        if not callable(decoder):
            raise TypeError(f"decoder: expected a callable (N, d) -> (N, D), got {type(decoder).__name__}")
        for name, value in (("d", d), ("D", D)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
            raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
        self.decoder, self.d, self.D, self.sigma = decoder, d, D, float(sigma)

    def mean_x(self, z: torch.Tensor) -> torch.Tensor:
        """The decoder's mean f(z), z: (N, d) -> (N, D). Chapter 01."""
        mean = self.decoder(z)
        if not isinstance(mean, torch.Tensor) or mean.shape != (z.shape[0], self.D):
            got = tuple(mean.shape) if isinstance(mean, torch.Tensor) else type(mean).__name__
            raise ValueError(f"decoder(z): expected shape ({z.shape[0]}, {self.D}) for z of shape {tuple(z.shape)}, "
                             f"got {got}")
        return mean


def ring_decoder(omega: float = 2.0, radius: float = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """f(z) = radius * (sin(omega z), cos(omega z)): wraps a 1-D latent around a circle, (N, 1) -> (N, 2) (chapter 01)."""
    if not (omega > 0 and radius > 0):
        raise ValueError(f"omega and radius must be positive, got {omega!r}, {radius!r}")

    def f(z: torch.Tensor) -> torch.Tensor:
        angle = omega * z[:, :1]
        return radius * torch.cat([torch.sin(angle), torch.cos(angle)], dim=1)

    return f


class RandomMLPDecoder:
    """f(z) = W2 tanh(W1 z + c1) + c2 with fixed random weights (an untrained decoder), (N, d) -> (N, D) (chapter 01)."""

    def __init__(self, d: int, D: int, hidden: int = 16, scale: float = 2.0,
                 generator: torch.Generator | None = None):
        for name, value in (("d", d), ("D", D), ("hidden", hidden)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        randn = lambda *shape: torch.randn(*shape, generator=generator, dtype=torch.float64)  # noqa: E731
        self.W1, self.c1 = scale * randn(hidden, d) / math.sqrt(d), randn(hidden)
        self.W2, self.c2 = randn(D, hidden) / math.sqrt(hidden), 0.1 * randn(D)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z @ self.W1.T + self.c1) @ self.W2.T + self.c2
