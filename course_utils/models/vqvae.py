r"""The VQ-VAE of van den Oord et al. (2017), small enough for MNIST on a CPU. Chapter 07.

x (N, C, H, W) -> encoder -> z_e (N, D, H/4, W/4) -> nearest code -> z_q -> decoder -> x_hat.
On MNIST the grid is 7 x 7: each image becomes 49 code indices in {0, ..., K-1}.
The model returns values; the three losses live in `course_utils.losses` and
`course_utils.objectives.vq_vae_loss`. Only torch (and course_utils' torch-only modules) is imported.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..quantize import VectorQuantizer, straight_through
from ..validate import float_tensor, positive_int
from .blocks import down_stack, up_stack
from .vae import MNIST_SHAPE, _image_shape


class VQVAE(nn.Module):
    """Two stride-2 convolutions to a grid of D-vectors, a codebook of K codes, the mirror back. Chapter 07."""

    def __init__(self, image_shape: Sequence[int] = MNIST_SHAPE, channels: int = 32, code_dim: int = 16,
                 codebook_size: int = 128, ema_decay: float | None = None, restart_after: int | None = None):
        super().__init__()
        positive_int("channels", channels), positive_int("code_dim", code_dim)
        self.image_shape, self.channels, self.code_dim = _image_shape(image_shape), channels, code_dim
        c, h, w = self.image_shape
        if h % 4 or w % 4:
            raise ValueError(f"image_shape: H and W must be multiples of 4 (two halvings), got {image_shape!r}")
        self.grid = (h // 4, w // 4)
        self.encoder = nn.Sequential(down_stack([c, channels, 2 * channels]),  # (N, 2ch, H/4, W/4)
                                     nn.Conv2d(2 * channels, code_dim, 1))  # z_e (N, D, H/4, W/4)
        self.quantizer = VectorQuantizer(codebook_size, code_dim, ema_decay=ema_decay, restart_after=restart_after)
        self.decoder = nn.Sequential(nn.Conv2d(code_dim, 2 * channels, 3, padding=1), nn.ReLU(),
                                     up_stack([2 * channels, channels, c]))  # x_hat (N, C, H, W), linear output

    @property
    def codebook_size(self) -> int:
        return self.quantizer.codebook_size

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        q = self.quantizer
        return {"image_shape": list(self.image_shape), "channels": self.channels, "code_dim": self.code_dim,
                "codebook_size": q.codebook_size, "ema_decay": q.ema_decay, "restart_after": q.restart_after}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) -> z_e (N, D, H/4, W/4), the encoder's continuous output. Chapter 07."""
        float_tensor("x", x)
        if tuple(x.shape[1:]) != self.image_shape or x.shape[0] == 0:
            raise ValueError(f"x: expected shape (N, {', '.join(map(str, self.image_shape))}) with N >= 1, "
                             f"got {tuple(x.shape)}")
        return self.encoder(x)

    def decode(self, z_q: torch.Tensor) -> torch.Tensor:
        """z_q (N, D, H/4, W/4) -> x_hat (N, C, H, W), a linear output (no sigmoid: see the chapter). Chapter 07."""
        float_tensor("z_q", z_q)
        if z_q.ndim != 4 or z_q.shape[1] != self.code_dim:
            raise ValueError(f"z_q: expected shape (N, {self.code_dim}, h, w), got {tuple(z_q.shape)}")
        return self.decoder(z_q)

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Code grid indices (N, h, w) long -> z_q = codebook[indices] (N, D, h, w). Chapter 07."""
        if not isinstance(indices, torch.Tensor) or indices.dtype != torch.long or indices.ndim != 3:
            raise TypeError(f"indices: expected a long tensor (N, h, w), got "
                            f"{getattr(indices, 'dtype', type(indices).__name__)} {tuple(getattr(indices, 'shape', ()))}")
        k = self.codebook_size
        if indices.numel() and (indices.min() < 0 or indices.max() >= k):
            raise ValueError(f"indices: expected values in [0, {k}), got [{int(indices.min())}, {int(indices.max())}]")
        return self.quantizer.codebook[indices].permute(0, 3, 1, 2)  # (N, D, h, w)

    def forward(self, x: torch.Tensor):
        """x (N, C, H, W) -> x_hat (N, C, H, W), z_e, z_q (N, D, h, w), indices (N, h, w). Chapter 07."""
        z_e = self.encode(x)  # (N, D, h, w)
        z_q, indices = self.quantizer(z_e)  # (N, D, h, w), (N, h, w)
        x_hat = self.decode(straight_through(z_e, z_q))  # the decoder's gradient reaches z_e unchanged
        return x_hat, z_e, z_q, indices
