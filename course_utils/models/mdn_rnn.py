r"""M, the memory of World Models: an LSTM whose output is a Gaussian mixture over the next z. Chapter 08.

At each step it reads (z_t, a_t), updates its state (h_t, c_t), and predicts p(z_{t+1} | z_<=t, a_<=t) as
K Gaussians per coordinate (the head of mdn.py) and the probability that the episode ends at this step
("done", as a logit). `forward` runs whole sequences (training); `step` one step for a batch of agents
(dreams and the real loop). Only torch is imported here.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import float_tensor, positive_int
from .mdn import MixtureHead

State = tuple[torch.Tensor, torch.Tensor]


class MDNRNN(nn.Module):
    """LSTM over [z_t, a_t] -> mixture over z_{t+1} (K per coordinate) and a done logit. Chapter 08."""

    def __init__(self, z_dim: int = 32, action_dim: int = 1, hidden: int = 128, n_mixtures: int = 5):
        super().__init__()
        for name, value in (("z_dim", z_dim), ("action_dim", action_dim), ("hidden", hidden)):
            positive_int(name, value)
        self.z_dim, self.action_dim, self.hidden, self.n_mixtures = z_dim, action_dim, hidden, n_mixtures
        self.lstm = nn.LSTM(z_dim + action_dim, hidden, batch_first=True)
        self.head = MixtureHead(hidden, z_dim, n_mixtures)
        self.done = nn.Linear(hidden, 1)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"z_dim": self.z_dim, "action_dim": self.action_dim, "hidden": self.hidden,
                "n_mixtures": self.n_mixtures}

    def _inputs(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        float_tensor("z", z), float_tensor("a", a)
        if z.ndim != 3 or z.shape[-1] != self.z_dim or z.shape[0] == 0:
            raise ValueError(f"z: expected shape (N, T, {self.z_dim}) with N >= 1, got {tuple(z.shape)}")
        if a.shape != (*z.shape[:2], self.action_dim):
            raise ValueError(f"a: expected shape {(*z.shape[:2], self.action_dim)} to match z, got {tuple(a.shape)}")
        return torch.cat([z, a], dim=-1)  # (N, T, z_dim + action_dim)

    def forward(self, z: torch.Tensor, a: torch.Tensor, state: State | None = None):
        """z (N, T, D), a (N, T, A) -> log_pi, mu, log_sigma (N, T, D, K), done_logit (N, T), state. Chapter 08."""
        h, state = self.lstm(self._inputs(z, a), state)  # h (N, T, hidden)
        log_pi, mu, log_sigma = self.head(h)
        return log_pi, mu, log_sigma, self.done(h).squeeze(-1), state

    def step(self, z: torch.Tensor, a: torch.Tensor, state: State | None = None):
        """One step for a batch: z (B, D), a (B, A) -> log_pi, mu, log_sigma (B, D, K), done_logit (B,), state. Chapter 08."""
        log_pi, mu, log_sigma, done_logit, state = self(z.unsqueeze(1), a.unsqueeze(1), state)
        return log_pi[:, 0], mu[:, 0], log_sigma[:, 0], done_logit[:, 0], state

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> State:
        """(h_0, c_0) = zeros, each (1, batch, hidden). Chapter 08."""
        zeros = torch.zeros(1, positive_int("batch", batch), self.hidden, device=device)
        return zeros, zeros.clone()
