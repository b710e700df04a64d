r"""An autoregressive prior over VQ-VAE code grids: a small causal transformer. Chapter 07.

The grid (h, w) is read in raster order (row by row), i_1, ..., i_T with T = h w, and
p(i) = prod_t p(i_t | i_<t). A start token (index K) precedes i_1, so the logits at position t
see only i_<t (a causal attention mask). Only torch is imported here.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..validate import positive_int


class CodePrior(nn.Module):
    """indices (N, h, w) -> logits (N, K, h, w) of p(i_t | i_<t), raster order. Chapter 07."""

    def __init__(self, codebook_size: int = 128, grid: Sequence[int] = (7, 7), width: int = 128,
                 layers: int = 3, heads: int = 4, dropout: float = 0.1):
        super().__init__()
        for name, value in (("codebook_size", codebook_size), ("width", width), ("layers", layers), ("heads", heads)):
            positive_int(name, value)
        grid = tuple(grid) if isinstance(grid, (tuple, list)) else ()
        if len(grid) != 2 or not all(isinstance(g, int) and g >= 1 for g in grid):
            raise ValueError(f"grid: expected (h, w), two positive ints, got {grid!r}")
        if width % heads:
            raise ValueError(f"width: must be a multiple of heads={heads}, got {width}")
        self.codebook_size, self.grid, self.width, self.layers, self.heads, self.dropout = (
            codebook_size, grid, width, layers, heads, dropout)
        self.length = grid[0] * grid[1]  # T
        self.token = nn.Embedding(codebook_size + 1, width)  # index K is the start token
        self.position = nn.Parameter(torch.zeros(self.length, width))
        block = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, codebook_size)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(self.length), persistent=False)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"codebook_size": self.codebook_size, "grid": list(self.grid), "width": self.width,
                "layers": self.layers, "heads": self.heads, "dropout": self.dropout}

    def _check(self, indices: torch.Tensor) -> torch.Tensor:
        if not isinstance(indices, torch.Tensor) or indices.dtype != torch.long:
            raise TypeError(f"indices: expected a long tensor of code indices (N, {self.grid[0]}, {self.grid[1]}), "
                            f"got {getattr(indices, 'dtype', type(indices).__name__)}")
        if indices.ndim != 3 or tuple(indices.shape[1:]) != self.grid or indices.shape[0] == 0:
            raise ValueError(f"indices: expected shape (N, {self.grid[0]}, {self.grid[1]}) with N >= 1, "
                             f"got {tuple(indices.shape)}")
        return indices

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        """indices (N, h, w) long -> logits (N, K, h, w); position t depends only on i_<t. Chapter 07."""
        n = self._check(indices).shape[0]
        flat = indices.reshape(n, self.length)  # (N, T), raster order
        start = torch.full((n, 1), self.codebook_size, dtype=torch.long, device=flat.device)
        shifted = torch.cat([start, flat[:, :-1]], dim=1)  # (N, T): position t holds i_{t-1}
        h = self.token(shifted) + self.position  # (N, T, width)
        h = self.norm(self.blocks(h, mask=self.mask, is_causal=True))  # (N, T, width)
        return self.head(h).transpose(1, 2).reshape(n, self.codebook_size, *self.grid)  # (N, K, h, w)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> torch.Tensor:
        """n code grids drawn position by position from p(i_t | i_<t): (n, h, w) long. Chapter 07."""
        positive_int("n", n)
        if not temperature > 0:
            raise ValueError(f"temperature: expected a number > 0, got {temperature!r}")
        was_training, device = self.training, self.position.device
        self.eval()  # no dropout while sampling
        indices = torch.zeros(n, *self.grid, dtype=torch.long, device=device)
        flat = indices.view(n, self.length)
        for t in range(self.length):
            logits = self.forward(indices).reshape(n, self.codebook_size, self.length)[:, :, t]  # (n, K)
            probs = torch.softmax(logits / temperature, dim=1)
            flat[:, t] = torch.multinomial(probs.cpu(), 1, generator=generator).flatten().to(device)
        self.train(was_training)
        return indices
