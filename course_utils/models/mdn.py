r"""Mixture density networks (Bishop 1994): a network whose output is a Gaussian mixture. Chapter 08.

`MixtureHead` turns features into, for each of D output coordinates, K mixture weights (as log-softmax
log_pi), means mu and log standard deviations log_sigma (bounded, smoothly, to [log sigma_min, log sigma_max]:
an unbounded sigma lets the likelihood grow without limit on one point and the loss go NaN).
`MDN` is a small MLP with that head, for the 1-D demo; `MDNRNN` (mdn_rnn.py) puts it on an LSTM.
`sample_mixture` draws with a temperature tau, as in World Models. Only torch is imported here.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..validate import float_tensor, positive_int


class MixtureHead(nn.Module):
    """features (..., F) -> log_pi, mu, log_sigma, each (..., D, K): K Gaussians per coordinate. Chapter 08."""

    def __init__(self, in_features: int, out_dim: int, n_mixtures: int = 5,
                 sigma_min: float = 1e-2, sigma_max: float = 10.0):
        super().__init__()
        positive_int("in_features", in_features), positive_int("out_dim", out_dim)
        positive_int("n_mixtures", n_mixtures)
        if not 0 < sigma_min < sigma_max < math.inf:
            raise ValueError(f"sigma_min, sigma_max: expected 0 < sigma_min < sigma_max, got {sigma_min!r}, {sigma_max!r}")
        self.out_dim, self.n_mixtures = out_dim, n_mixtures
        self.log_sigma_min, self.log_sigma_max = math.log(sigma_min), math.log(sigma_max)
        self.linear = nn.Linear(in_features, 3 * out_dim * n_mixtures)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.linear(features).unflatten(-1, (self.out_dim, 3 * self.n_mixtures))  # (..., D, 3K)
        logits, mu, raw = out.chunk(3, dim=-1)  # (..., D, K) each
        log_pi = torch.log_softmax(logits, dim=-1)  # log pi_k, normalized over the K components
        span = self.log_sigma_max - self.log_sigma_min
        log_sigma = self.log_sigma_min + span * torch.sigmoid(raw)  # log sigma in (log sigma_min, log sigma_max)
        return log_pi, mu, log_sigma


class MDN(nn.Module):
    """An MLP mixture density network: x (N, in_dim) -> log_pi, mu, log_sigma (N, out_dim, K). Chapter 08."""

    def __init__(self, in_dim: int = 1, out_dim: int = 1, hidden: int = 32, n_mixtures: int = 5):
        super().__init__()
        positive_int("in_dim", in_dim), positive_int("hidden", hidden)
        self.in_dim, self.out_dim, self.hidden, self.n_mixtures = in_dim, out_dim, hidden, n_mixtures
        self.body = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.head = MixtureHead(hidden, out_dim, n_mixtures)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"in_dim": self.in_dim, "out_dim": self.out_dim, "hidden": self.hidden, "n_mixtures": self.n_mixtures}

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        float_tensor("x", x)
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"x: expected shape (N, {self.in_dim}), got {tuple(x.shape)}")
        return self.head(self.body(x))


def sample_mixture(log_pi: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor, tau: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw per coordinate from the mixture at temperature tau: (..., D, K) -> (..., D). Chapter 08.

    As in World Models: the mixture logits are divided by tau and each sigma is multiplied by sqrt(tau),
    so tau -> 0 picks the most likely component's mean and tau > 1 is more random than the model.
    """
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not (tau > 0 and math.isfinite(tau)):
        raise ValueError(f"tau: expected a positive finite temperature, got {tau!r}")
    if not (log_pi.shape == mu.shape == log_sigma.shape) or log_pi.ndim < 2:
        raise ValueError(f"log_pi, mu, log_sigma: expected equal shapes (..., D, K), got "
                         f"{tuple(log_pi.shape)}, {tuple(mu.shape)}, {tuple(log_sigma.shape)}")
    probs = torch.softmax(log_pi / tau, dim=-1).flatten(0, -2)  # (M, K), pi_k^(1/tau) renormalized
    k = torch.multinomial(probs, 1, generator=generator).view(*log_pi.shape[:-1], 1)  # (..., D, 1)
    mean, std = mu.gather(-1, k).squeeze(-1), log_sigma.gather(-1, k).squeeze(-1).exp()  # (..., D)
    eps = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
    return mean + std * math.sqrt(tau) * eps  # z = mu_k + sigma_k * sqrt(tau) * eps
