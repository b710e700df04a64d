r"""C, the controller of World Models: a_t = tanh(W_c [z_t h_t] + b_c), one linear layer. Chapter 08.

The lecture writes a_t = W_c [z_t h_t] + b_c; the tanh squashes the action into the environment's range
[-1, 1]. C has so few parameters (here (z_dim + hidden + 1) * action_dim) that it is trained by an evolution
strategy (CMA-ES) on whole returns, with no gradients: `n_parameters`, `set_vector` and `batched_actions`
let a whole population of controllers act at once. Only torch is imported here.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import float_tensor, positive_int


class LinearController(nn.Module):
    """features [z_t, h_t] (N, F) -> actions tanh(W_c [z_t h_t] + b_c) (N, A). Chapter 08."""

    def __init__(self, in_features: int = 160, action_dim: int = 1):
        super().__init__()
        positive_int("in_features", in_features), positive_int("action_dim", action_dim)
        self.in_features, self.action_dim = in_features, action_dim
        self.linear = nn.Linear(in_features, action_dim)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"in_features": self.in_features, "action_dim": self.action_dim}

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        float_tensor("features", features)
        if features.ndim != 2 or features.shape[1] != self.in_features:
            raise ValueError(f"features: expected shape (N, {self.in_features}), got {tuple(features.shape)}")
        return torch.tanh(self.linear(features))  # a = tanh(W_c [z h] + b_c)

    def n_parameters(self) -> int:
        """(in_features + 1) * action_dim: the length of the vector CMA-ES searches. Chapter 08."""
        return (self.in_features + 1) * self.action_dim

    def vector(self) -> torch.Tensor:
        """The flat parameter vector [W_c row by row, then b_c], the inverse of set_vector. Chapter 08."""
        return torch.cat([self.linear.weight.detach().flatten(), self.linear.bias.detach()])

    def set_vector(self, vector) -> "LinearController":
        """Load a flat parameter vector [W_c row by row, then b_c] (CMA-ES's x). Chapter 08."""
        w, b = split_vector(torch.as_tensor(vector, dtype=torch.float32).unsqueeze(0), self.in_features,
                            self.action_dim)
        with torch.no_grad():
            self.linear.weight.copy_(w[0]), self.linear.bias.copy_(b[0])
        return self


def split_vector(vectors: torch.Tensor, in_features: int, action_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat parameters (P, (F + 1) * A) -> W_c (P, A, F), b_c (P, A) for P controllers. Chapter 08."""
    float_tensor("vectors", vectors)
    size = (in_features + 1) * action_dim
    if vectors.ndim != 2 or vectors.shape[1] != size:
        raise ValueError(f"vectors: expected shape (P, {size}) = (P, (in_features + 1) * action_dim), "
                         f"got {tuple(vectors.shape)}")
    w = vectors[:, :in_features * action_dim].reshape(-1, action_dim, in_features)
    return w, vectors[:, in_features * action_dim:]


def batched_actions(vectors: torch.Tensor, features: torch.Tensor, action_dim: int = 1) -> torch.Tensor:
    """P controllers acting on R agents each: vectors (P, (F+1)A), features (P, R, F) -> actions (P, R, A). Chapter 08."""
    float_tensor("features", features)
    if features.ndim != 3 or features.shape[0] != vectors.shape[0]:
        raise ValueError(f"features: expected shape (P, R, F) with P = {vectors.shape[0]} controllers, "
                         f"got {tuple(features.shape)}")
    w, b = split_vector(vectors, features.shape[-1], action_dim)  # (P, A, F), (P, A)
    return torch.tanh(torch.einsum("prf,paf->pra", features, w) + b[:, None, :])  # a = tanh(W_c [z h] + b_c)
