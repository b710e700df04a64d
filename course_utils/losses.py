r"""VAE losses, one per formula; each returns one value per example (shape (N,)): the caller reduces.

Chapter 03 derives the KL terms, chapter 04 the reparameterization, chapter 05 trains with them.
Only torch is imported here.
"""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def _check(name: str, t: torch.Tensor) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.ndim < 2:
        raise ValueError(f"{name}: expected shape (N, ...) with a batch axis first, got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name}: holds NaN or infinite values")


def _check_pair(names: tuple[str, ...], *tensors: torch.Tensor) -> None:
    for name, t in zip(names, tensors):
        _check(name, t)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        detail = ", ".join(f"{n}{tuple(t.shape)}" for n, t in zip(names, tensors))
        raise ValueError(f"shapes must match: {detail}")


def _per_example(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).sum(1)


def kl_normal_std(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example: (N, d), (N, d) -> (N,). Chapter 03."""
    _check_pair(("mu", "logvar"), mu, logvar)
    # KL = 1/2 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)   (>= 0; summed over j, not over N)
    # sigma^2 - 1 is computed as expm1(logvar): exact near the prior, so the KL never rounds below 0.
    return 0.5 * _per_example(mu.pow(2) + torch.expm1(logvar) - logvar)


def kl_normal(mu_q: torch.Tensor, logvar_q: torch.Tensor,
              mu_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_q, diag var_q) || N(mu_p, diag var_p)) per example -> (N,). Chapter 03."""
    _check_pair(("mu_q", "logvar_q", "mu_p", "logvar_p"), mu_q, logvar_q, mu_p, logvar_p)
    # KL = 1/2 * sum_j (log var_p - log var_q + (var_q + (mu_q - mu_p)^2) / var_p - 1)
    # with u = log var_q - log var_p: var_q / var_p - 1 - u = expm1(u) - u, exact when q is near p.
    u = logvar_q - logvar_p
    return 0.5 * _per_example(torch.expm1(u) - u + (mu_q - mu_p).pow(2) / logvar_p.exp())


def bernoulli_nll(x_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) for a Bernoulli decoder given logits: (N, ...) -> (N,). Chapter 05."""
    _check_pair(("x_logits", "x"), x_logits, x)
    if (x < 0).any() or (x > 1).any():
        raise ValueError("x: Bernoulli targets must lie in [0, 1]")
    # -log p(x|z) = -sum_j [x_j log sigmoid(l_j) + (1 - x_j) log(1 - sigmoid(l_j))]
    nll = torch.nn.functional.binary_cross_entropy_with_logits(x_logits, x, reduction="none")
    return _per_example(nll)


def gaussian_nll(x_hat: torch.Tensor, x: torch.Tensor, logvar: float | torch.Tensor = 0.0) -> torch.Tensor:
    """-log N(x; x_hat, diag exp(logvar)) per example: (N, ...) -> (N,). Chapters 05 and 07."""
    _check_pair(("x_hat", "x"), x_hat, x)
    logvar = torch.as_tensor(logvar, dtype=x_hat.dtype, device=x_hat.device)
    if not torch.isfinite(logvar).all():
        raise ValueError("logvar: holds NaN or infinite values")
    try:
        logvar = logvar.expand_as(x_hat)
    except RuntimeError as err:
        raise ValueError(f"logvar: shape {tuple(logvar.shape)} does not broadcast to {tuple(x_hat.shape)}") from err
    # -log N = 1/2 * sum_j (log 2 pi + log var_j + (x_j - x_hat_j)^2 / var_j)
    return 0.5 * _per_example(LOG_2PI + logvar + (x - x_hat).pow(2) / logvar.exp())


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps, sigma = exp(logvar / 2), eps ~ N(0, I): (N, d) -> (N, d). Chapter 04."""
    _check_pair(("mu", "logvar"), mu, logvar)
    std = torch.exp(0.5 * logvar)
    eps = torch.randn(std.shape, generator=generator, dtype=std.dtype, device=std.device)
    return mu + eps * std
