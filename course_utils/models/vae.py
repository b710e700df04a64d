"""Two VAEs for images (N, C, H, W): an MLP and a convolutional one. Chapter 05 (MNIST, 1 x 28 x 28).

Encoders return the parameters of q(z|x) = N(mu, diag exp(logvar)); decoders return the logits of
p(x|z) = Bernoulli(sigmoid(x_logits)) (never a sigmoid inside: the loss uses the _with_logits form).
`forward` samples one z per example with the reparameterization of chapter 04.
Inputs get cheap metadata checks (type, dtype, shape), never checks that read their values.
Only torch (and the torch-only gaussian and validate modules) is imported here.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..gaussian import reparameterize
from ..validate import float_tensor, positive_int
from .blocks import down_stack, up_stack

MNIST_SHAPE = (1, 28, 28)


def _image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """(C, H, W) as a tuple of positive ints (a JSON list from a checkpoint is accepted)."""
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else ()
    if len(shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise ValueError(f"image_shape: expected (C, H, W), three positive ints, got {image_shape!r}")
    return shape


class VAEBase(nn.Module):
    """What both VAEs share: forward = encode, reparameterize, decode; input checks. Chapter 05."""

    z_dim: int
    image_shape: tuple[int, int, int]

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(N, C, H, W) -> x_logits (N, C, H, W), mu (N, z_dim), logvar (N, z_dim). Chapter 05."""
        mu, logvar = self.encode(x)  # (N, z_dim) each
        z = reparameterize(mu, logvar, generator)  # (N, z_dim), z = mu + sigma * eps
        return self.decode(z), mu, logvar

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        float_tensor("x", x)
        n, flat = (x.shape[0] if x.ndim else 0), math.prod(self.image_shape)
        if tuple(x.shape[1:]) not in (self.image_shape, (flat,)) or n == 0:
            raise ValueError(f"x: expected shape (N, {', '.join(map(str, self.image_shape))}) or (N, {flat}) "
                             f"with N >= 1, got {tuple(x.shape)}")
        if next(self.parameters()).dtype != x.dtype:
            raise TypeError(f"x: dtype {x.dtype} differs from the model's {next(self.parameters()).dtype} "
                            "(torch.from_numpy gives float64: use x.float())")
        return x.reshape(n, *self.image_shape)  # (N, C, H, W)

    def _latents(self, z: torch.Tensor) -> torch.Tensor:
        float_tensor("z", z)
        if z.ndim != 2 or z.shape[1] != self.z_dim or z.shape[0] == 0:
            raise ValueError(f"z: expected shape (N, {self.z_dim}) with N >= 1, got {tuple(z.shape)}")
        return z


class MLPVAE(VAEBase):
    """x (C*H*W) -> hidden -> (mu, logvar) (z_dim each); z -> hidden -> x_logits. pytorch/examples' VAE. Chapter 05."""

    def __init__(self, image_shape: Sequence[int] = MNIST_SHAPE, hidden: int = 400, z_dim: int = 20):
        super().__init__()
        positive_int("hidden", hidden), positive_int("z_dim", z_dim)
        self.image_shape, self.hidden, self.z_dim = _image_shape(image_shape), hidden, z_dim
        x_dim = math.prod(self.image_shape)
        self.encoder_hidden = nn.Linear(x_dim, hidden)
        self.encoder_mu = nn.Linear(hidden, z_dim)
        self.encoder_logvar = nn.Linear(hidden, z_dim)
        self.decoder_hidden = nn.Linear(z_dim, hidden)
        self.decoder_logits = nn.Linear(hidden, x_dim)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"image_shape": list(self.image_shape), "hidden": self.hidden, "z_dim": self.z_dim}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) or (N, C*H*W) -> mu, logvar, each (N, z_dim). Chapter 05."""
        x = self._images(x).flatten(1)  # (N, C*H*W)
        h = torch.relu(self.encoder_hidden(x))  # (N, hidden)
        return self.encoder_mu(h), self.encoder_logvar(h)  # (N, z_dim), (N, z_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim) -> x_logits (N, C, H, W), the logits of Bernoulli pixel probabilities. Chapter 05."""
        h = torch.relu(self.decoder_hidden(self._latents(z)))  # (N, hidden)
        return self.decoder_logits(h).view(-1, *self.image_shape)  # (N, C, H, W)


def _halvings(image_shape: tuple[int, int, int]) -> int:
    """How many stride-2 layers fit: halve H and W while both are even and stay >= 4 (28 -> 2, 64 -> 4)."""
    _, h, w = image_shape
    n = 0
    while h % 2 == 0 and w % 2 == 0 and min(h, w) // 2 >= 4:
        h, w, n = h // 2, w // 2, n + 1
    return n


class ConvVAE(VAEBase):
    """Stride-2 convolutions (28 -> 14 -> 7; 64 -> 32 -> 16 -> 8 -> 4), channels doubling; mirrored back. Chapter 05."""

    def __init__(self, image_shape: Sequence[int] = MNIST_SHAPE, z_dim: int = 16, channels: int = 32):
        super().__init__()
        positive_int("z_dim", z_dim), positive_int("channels", channels)
        self.image_shape, self.z_dim, self.channels = _image_shape(image_shape), z_dim, channels
        c_in, h, w = self.image_shape
        layers = _halvings(self.image_shape)
        if layers == 0:
            raise ValueError(f"image_shape: H and W must be even and at least 8 for a stride-2 layer, got {image_shape!r}")
        widths = [c_in] + [channels * 2**i for i in range(layers)]  # e.g. 1, 32, 64
        self.feature_shape = (widths[-1], h >> layers, w >> layers)  # e.g. (64, 7, 7)
        flat = math.prod(self.feature_shape)
        self.encoder_conv = down_stack(widths)  # (N, C, H, W) -> (N, c_L, H_L, W_L)
        self.encoder_mu = nn.Linear(flat, z_dim)
        self.encoder_logvar = nn.Linear(flat, z_dim)
        self.decoder_hidden = nn.Linear(z_dim, flat)
        self.decoder_deconv = up_stack(widths[::-1])  # back to (N, C, H, W), logits (no ReLU at the end)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"image_shape": list(self.image_shape), "z_dim": self.z_dim, "channels": self.channels}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) or (N, C*H*W) -> mu, logvar, each (N, z_dim). Chapter 05."""
        h = self.encoder_conv(self._images(x)).flatten(1)  # (N, c_L * H_L * W_L)
        return self.encoder_mu(h), self.encoder_logvar(h)  # (N, z_dim), (N, z_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim) -> x_logits (N, C, H, W). Chapter 05."""
        h = torch.relu(self.decoder_hidden(self._latents(z)))  # (N, c_L * H_L * W_L)
        return self.decoder_deconv(h.view(-1, *self.feature_shape))  # (N, C, H, W)
