r"""The diagonal Gaussian N(mu, diag exp(logvar)): log-density, sampling and KL divergences.

One home for each Gaussian formula of the course: chapter 02 uses the log-density and sampling,
chapter 03 derives the KL divergences, chapter 04 the reparameterization z = mu + sigma * eps,
chapter 05 trains with them. Names follow the notation table: `mu`, `logvar` = log sigma^2,
`std` = sigma, `eps`. Values are per example (summed over the last axis, or over every axis
after the batch axis for the KL); the caller reduces over the batch. Only torch is imported here.
"""
from __future__ import annotations

import math

import torch

from .validate import float_tensor, positive_int, same_shape

LOG_2PI = math.log(2 * math.pi)


def log_normal(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(x; mu, diag exp(logvar)) summed over the last axis: (..., d) -> (...). Chapters 01-02."""
    float_tensor("x", x), float_tensor("mu", mu), float_tensor("logvar", logvar)
    # log N = -1/2 * sum_j (log 2 pi + log sigma_j^2 + (x_j - mu_j)^2 / sigma_j^2)
    return -0.5 * (LOG_2PI + logvar + (x - mu).pow(2) * torch.exp(-logvar)).sum(-1)


def z_from_eps(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2); broadcasts: (..., d) -> (..., d). Chapter 04."""
    float_tensor("mu", mu), float_tensor("logvar", logvar), float_tensor("eps", eps)
    # z = mu + sigma * eps, sigma = exp(logvar / 2): a differentiable path from (mu, logvar) to z
    return mu + torch.exp(0.5 * logvar) * eps


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """One z ~ N(mu, diag exp(logvar)) per row, differentiable in (mu, logvar): (N, d) -> (N, d). Chapter 04."""
    same_shape(mu=mu, logvar=logvar)
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)  # eps ~ N(0, I)
    return z_from_eps(mu, logvar, eps)


def sample(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """n_samples draws z_s ~ N(mu, diag exp(logvar)) for every row: (N, d) -> (n_samples, N, d). Chapter 02."""
    same_shape(mu=mu, logvar=logvar)
    positive_int("n_samples", n_samples)
    eps = torch.randn((n_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    return z_from_eps(mu, logvar, eps)


def kl_normal_std_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_j, sigma_j^2) || N(0, 1)) for every coordinate j: (N, ...) -> (N, ...). Chapter 03."""
    same_shape(mu=mu, logvar=logvar)
    # KL_j = 1/2 * (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)   (>= 0, one value per coordinate)
    # sigma^2 - 1 is computed as expm1(logvar): exact near the prior, so the KL never rounds below 0.
    return 0.5 * (mu.pow(2) + torch.expm1(logvar) - logvar)


def _batched(mu: torch.Tensor) -> None:
    if mu.ndim < 2:
        raise ValueError(f"mu: expected shape (N, d) with the batch axis first, got {tuple(mu.shape)} "
                         "(use mu[None] for one example)")


def kl_normal_std(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example: (N, d) -> (N,). Chapter 03."""
    _batched(mu)
    # KL = 1/2 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)   (summed over j, not over N)
    return kl_normal_std_per_dim(mu, logvar).flatten(1).sum(1)


def kl_normal(mu_q: torch.Tensor, logvar_q: torch.Tensor,
              mu_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_q, diag exp(logvar_q)) || N(mu_p, diag exp(logvar_p))) per example: (N, d) x 4 -> (N,). Chapter 03."""
    same_shape(mu_q=mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p)
    _batched(mu_q)
    # KL = 1/2 * sum_j (log var_p - log var_q + (var_q + (mu_q - mu_p)^2) / var_p - 1)
    # with u = log var_q - log var_p: var_q / var_p - 1 - u = expm1(u) - u, exact when q is near p.
    u = logvar_q - logvar_p
    return 0.5 * (torch.expm1(u) - u + (mu_q - mu_p).pow(2) * torch.exp(-logvar_p)).flatten(1).sum(1)


def kl_normal_full(mu: torch.Tensor, logvar: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(mu_p, cov_p)), full cov_p (d, d); mu_p (N, d) or (d,): -> (N,). Chapter 02."""
    same_shape(mu=mu, logvar=logvar)
    float_tensor("mu_p", mu_p), float_tensor("cov_p", cov_p)
    d = mu.shape[-1]
    if mu.ndim != 2 or cov_p.shape != (d, d):
        raise ValueError(f"mu (N, d) and cov_p (d, d) expected, got mu{tuple(mu.shape)}, cov_p{tuple(cov_p.shape)}")
    try:
        if torch.broadcast_shapes(mu_p.shape, mu.shape) != mu.shape:
            raise RuntimeError
    except RuntimeError:
        raise ValueError(f"mu_p: expected a shape that broadcasts to mu's {tuple(mu.shape)} ((d,), (1, d) or (N, d)), "
                         f"got {tuple(mu_p.shape)}") from None
    if torch.linalg.cholesky_ex(cov_p).info != 0:
        raise ValueError("cov_p: expected a symmetric positive-definite covariance matrix; it is not "
                         f"(smallest eigenvalue {torch.linalg.eigvalsh(cov_p).min().item():.3g})")
    precision = torch.linalg.inv(cov_p)  # P^-1, (d, d)
    diff = mu_p.expand_as(mu) - mu  # (N, d)
    # KL = 1/2 * (tr(P^-1 V) + (mu_p - mu)^T P^-1 (mu_p - mu) - d + log det P - sum_j log v_j),  V = diag exp(logvar)
    trace = (torch.diagonal(precision) * logvar.exp()).sum(-1)
    mahalanobis = ((diff @ precision) * diff).sum(-1)
    return 0.5 * (trace + mahalanobis - d + torch.logdet(cov_p) - logvar.sum(-1))
