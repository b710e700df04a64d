"""Two VAEs for 1 x 28 x 28 images (MNIST), chapter 05: an MLP and a small convolutional one.

Encoders return the parameters of q(z|x) = N(mu, diag exp(logvar)); decoders return the logits of
p(x|z) = Bernoulli(sigmoid(x_logits)) (never a sigmoid inside: the loss uses the _with_logits form).
`forward` samples one z per example with the reparameterization of chapter 04.
Only torch (and the torch-only losses module) is imported here.
"""
from __future__ import annotations

import torch
from torch import nn

from ..losses import reparameterize

IMAGE_SHAPE = (1, 28, 28)


def _positive_ints(**values: int) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_tensor(name: str, t: torch.Tensor) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {t.dtype} (use .float())")


class VAEBase(nn.Module):
    """What both VAEs share: forward = encode, reparameterize, decode; input checks."""

    z_dim: int

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(N, 1, 28, 28) -> x_logits (N, 1, 28, 28), mu (N, z_dim), logvar (N, z_dim)."""
        mu, logvar = self.encode(x)  # (N, z_dim) each
        z = reparameterize(mu, logvar, generator)  # (N, z_dim), z = mu + sigma * eps
        return self.decode(z), mu, logvar

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        _check_tensor("x", x)
        n = x.shape[0] if x.ndim else 0
        if tuple(x.shape[1:]) not in (IMAGE_SHAPE, (784,)) or n == 0:
            raise ValueError(f"x: expected shape (N, 1, 28, 28) or (N, 784) with N >= 1, got {tuple(x.shape)}")
        return x.reshape(n, *IMAGE_SHAPE)  # (N, 1, 28, 28)

    def _latents(self, z: torch.Tensor) -> torch.Tensor:
        _check_tensor("z", z)
        if z.ndim != 2 or z.shape[1] != self.z_dim or z.shape[0] == 0:
            raise ValueError(f"z: expected shape (N, {self.z_dim}) with N >= 1, got {tuple(z.shape)}")
        return z


class MLPVAE(VAEBase):
    """x (784) -> hidden -> (mu, logvar) (z_dim each); z -> hidden -> x_logits (784). pytorch/examples' VAE."""

    def __init__(self, x_dim: int = 784, hidden: int = 400, z_dim: int = 20):
        super().__init__()
        _positive_ints(x_dim=x_dim, hidden=hidden, z_dim=z_dim)
        if x_dim != 784:
            raise ValueError(f"x_dim must be 784 (= 1 x 28 x 28 MNIST pixels), got {x_dim}")
        self.x_dim, self.hidden, self.z_dim = x_dim, hidden, z_dim
        self.encoder_hidden = nn.Linear(x_dim, hidden)
        self.encoder_mu = nn.Linear(hidden, z_dim)
        self.encoder_logvar = nn.Linear(hidden, z_dim)
        self.decoder_hidden = nn.Linear(z_dim, hidden)
        self.decoder_logits = nn.Linear(hidden, x_dim)

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"x_dim": self.x_dim, "hidden": self.hidden, "z_dim": self.z_dim}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 1, 28, 28) or (N, 784) -> mu, logvar, each (N, z_dim)."""
        x = self._images(x).flatten(1)  # (N, 784)
        h = torch.relu(self.encoder_hidden(x))  # (N, hidden)
        return self.encoder_mu(h), self.encoder_logvar(h)  # (N, z_dim), (N, z_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim) -> x_logits (N, 1, 28, 28), the logits of Bernoulli pixel probabilities."""
        h = torch.relu(self.decoder_hidden(self._latents(z)))  # (N, hidden)
        return self.decoder_logits(h).view(-1, *IMAGE_SHAPE)  # (N, 1, 28, 28)


class ConvVAE(VAEBase):
    """Two stride-2 convolutions (28 -> 14 -> 7) to (mu, logvar); two transposed ones back to 28 x 28 logits."""

    def __init__(self, z_dim: int = 16, channels: int = 32):
        super().__init__()
        _positive_ints(z_dim=z_dim, channels=channels)
        self.z_dim, self.channels = z_dim, channels
        c, flat = channels, 2 * channels * 7 * 7
        self.encoder_conv = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.ReLU(),  # (N, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),  # (N, 2c, 7, 7)
        )
        self.encoder_mu = nn.Linear(flat, z_dim)
        self.encoder_logvar = nn.Linear(flat, z_dim)
        self.decoder_hidden = nn.Linear(z_dim, flat)
        self.decoder_deconv = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),  # (N, c, 14, 14)
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),  # (N, 1, 28, 28)
        )

    @property
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able), saved with checkpoints."""
        return {"z_dim": self.z_dim, "channels": self.channels}

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 1, 28, 28) or (N, 784) -> mu, logvar, each (N, z_dim)."""
        h = self.encoder_conv(self._images(x)).flatten(1)  # (N, 2c * 7 * 7)
        return self.encoder_mu(h), self.encoder_logvar(h)  # (N, z_dim), (N, z_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, z_dim) -> x_logits (N, 1, 28, 28)."""
        h = torch.relu(self.decoder_hidden(self._latents(z)))  # (N, 2c * 7 * 7)
        return self.decoder_deconv(h.view(-1, 2 * self.channels, 7, 7))  # (N, 1, 28, 28)
