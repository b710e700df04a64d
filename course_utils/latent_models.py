"""Small latent-variable models with known answers (chapters 01 and 02).

LinearGaussian: z ~ N(0, I_d), x | z ~ N(W z + b, sigma^2 I_D). Its evidence p(x) and posterior
p(z|x) are Gaussian in closed form, so every approximation in the course can be checked against them.
"""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def _as_2d(x: torch.Tensor, dim: int, name: str) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.ndim == 1:
        x = x.unsqueeze(0)
    if x.ndim != 2 or x.shape[-1] != dim:
        raise ValueError(f"{name}: expected shape (N, {dim}) or ({dim},), got {tuple(x.shape)}")
    return x


def log_normal_diag(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(var)) summed over the last axis -> (N,)."""
    # log N = -1/2 * sum_j (log 2 pi + log var_j + (x_j - mean_j)^2 / var_j)
    return -0.5 * (LOG_2PI + torch.log(var) + (x - mean) ** 2 / var).sum(-1)


class LinearGaussian:
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

    def log_prior(self, z) -> torch.Tensor:
        """log p(z), z: (N, d) -> (N,)."""
        z = _as_2d(z, self.d, "z")
        return log_normal_diag(z, torch.zeros_like(z), torch.ones_like(z))

    def log_likelihood(self, x, z) -> torch.Tensor:
        """log p(x|z), x: (N, D) or (D,), z: (N, d) -> (N,)."""
        x, z = _as_2d(x, self.D, "x"), _as_2d(z, self.d, "z")
        mean = z @ self.W.T + self.b
        return log_normal_diag(x, mean, torch.full_like(mean, self.sigma**2))

    def log_joint(self, x, z) -> torch.Tensor:
        """log p(x, z) = log p(x|z) + log p(z) -> (N,)."""
        return self.log_likelihood(x, z) + self.log_prior(z)

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

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (x, z) pairs: z ~ p(z), x ~ p(x|z); shapes (n, D), (n, d)."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        z = torch.randn(n, self.d, generator=generator, dtype=torch.float64)
        noise = torch.randn(n, self.D, generator=generator, dtype=torch.float64)
        return z @ self.W.T + self.b + self.sigma * noise, z
