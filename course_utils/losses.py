r"""Reconstruction losses -log p(x|z), one per decoder; each returns one value per example (N,). Chapter 05.

The KL term of the VAE loss lives with the other Gaussian formulas in `course_utils.gaussian`
(chapter 03). These functions check only metadata (type, dtype, shape): no call reads tensor values,
so a training step never waits on them. Values are checked at the boundaries instead: data loading,
`train.fit` (the loss of each step), checkpoint loading and the exercise self-checks.
Only torch is imported here.
"""
from __future__ import annotations

import torch

from .gaussian import LOG_2PI, log_normal
from .validate import float_tensor


def _pair(prediction: str, p: torch.Tensor, x: torch.Tensor) -> None:
    float_tensor(prediction, p), float_tensor("x", x)
    if p.shape != x.shape or p.ndim < 2:
        raise ValueError(f"{prediction}{tuple(p.shape)} and x{tuple(x.shape)}: expected equal shapes (N, ...) "
                         "with the batch axis first")


def bernoulli_nll(x_logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) for a Bernoulli decoder given logits, x in [0, 1]: (N, ...) -> (N,). Chapter 05."""
    _pair("x_logits", x_logits, x)
    # -log p(x|z) = -sum_j [x_j log sigmoid(l_j) + (1 - x_j) log(1 - sigmoid(l_j))]   (summed over pixels j)
    nll = torch.nn.functional.binary_cross_entropy_with_logits(x_logits, x, reduction="none")
    return nll.flatten(1).sum(1)


def gaussian_nll(x_hat: torch.Tensor, x: torch.Tensor, logvar: float | torch.Tensor = 0.0) -> torch.Tensor:
    """-log N(x; x_hat, diag exp(logvar)) per example; logvar broadcasts: (N, ...) -> (N,). Chapters 05 and 07."""
    _pair("x_hat", x_hat, x)
    logvar = torch.as_tensor(logvar, dtype=x_hat.dtype, device=x_hat.device)
    try:
        logvar = logvar.expand_as(x_hat)
    except RuntimeError as err:
        raise ValueError(f"logvar: shape {tuple(logvar.shape)} does not broadcast to {tuple(x_hat.shape)}") from err
    # -log N = 1/2 * sum_j (log 2 pi + log sigma_j^2 + (x_j - x_hat_j)^2 / sigma_j^2)   (summed over j)
    return -log_normal(x.flatten(1), x_hat.flatten(1), logvar.flatten(1))


def squared_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||x - x_hat||^2 per example: (N, ...) -> (N,). Chapter 07 (the VQ-VAE's reconstruction term)."""
    _pair("x_hat", x_hat, x)
    # recon = sum_j (x_j - x_hat_j)^2   (summed over pixels j, not averaged)
    return (x - x_hat).pow(2).flatten(1).sum(1)


def codebook_loss(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """||sg[z_e] - e||^2 per example: moves the codes, not the encoder. (N, D, h, w) -> (N,). Chapter 07."""
    _pair("z_q", z_q, z_e)
    # codebook = sum_{positions, D} (sg[z_e] - z_q)^2   (sg = .detach(): no gradient to the encoder)
    return (z_e.detach() - z_q).pow(2).flatten(1).sum(1)


def commitment_loss(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """||z_e - sg[e]||^2 per example: pulls the encoder to its codes. (N, D, h, w) -> (N,). Chapter 07."""
    _pair("z_q", z_q, z_e)
    # commitment = sum_{positions, D} (z_e - sg[z_q])^2   (no gradient to the codebook)
    return (z_e - z_q.detach()).pow(2).flatten(1).sum(1)


def categorical_nll(logits: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """-sum_t log p(i_t | ...) in nats per example: logits (N, K, ...), indices (N, ...) long -> (N,). Chapter 07."""
    float_tensor("logits", logits)
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.long:
        raise TypeError(f"indices: expected a long tensor, got {getattr(indices, 'dtype', type(indices).__name__)}")
    if logits.ndim < 2 or logits.shape[:1] + logits.shape[2:] != indices.shape:
        raise ValueError(f"logits{tuple(logits.shape)} and indices{tuple(indices.shape)}: expected logits "
                         "(N, K, ...) and indices (N, ...)")
    # -log p(i) = -sum_t log softmax(logits_t)[i_t]   (summed over the grid positions t)
    nll = torch.nn.functional.cross_entropy(logits, indices, reduction="none")
    return nll.flatten(1).sum(1)


def mdn_nll(log_pi: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """-log p(y) under K Gaussians per coordinate: (N, ..., D, K) and y (N, ..., D) -> (N, ...). Chapter 08."""
    float_tensor("log_pi", log_pi), float_tensor("mu", mu), float_tensor("log_sigma", log_sigma), float_tensor("y", y)
    if not (log_pi.shape == mu.shape == log_sigma.shape) or log_pi.shape[:-1] != y.shape or y.ndim < 2:
        raise ValueError(f"log_pi{tuple(log_pi.shape)}, mu{tuple(mu.shape)}, log_sigma{tuple(log_sigma.shape)}, "
                         f"y{tuple(y.shape)}: expected three equal shapes (N, ..., D, K) and y (N, ..., D)")
    # -log p(y) = -sum_d log sum_k pi_dk N(y_d; mu_dk, sigma_dk^2)   (log-sum-exp over the K components,
    #   summed over the D coordinates; log N = -1/2 log 2 pi - log sigma - (y - mu)^2 / (2 sigma^2))
    log_n = -0.5 * LOG_2PI - log_sigma - 0.5 * ((y.unsqueeze(-1) - mu) * torch.exp(-log_sigma)).pow(2)
    return -torch.logsumexp(log_pi + log_n, dim=-1).sum(-1)
