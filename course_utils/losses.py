r"""Reconstruction losses -log p(x|z), one per decoder; each returns one value per example (N,). Chapter 05.

The KL term of the VAE loss lives with the other Gaussian formulas in `course_utils.gaussian`
(chapter 03). These functions check only metadata (type, dtype, shape): no call reads tensor values,
so a training step never waits on them. Values are checked at the boundaries instead: data loading,
`train.fit` (the loss of each step), checkpoint loading and the exercise self-checks.
Only torch is imported here.
"""
from __future__ import annotations

import torch

from .gaussian import log_normal
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
