"""Models of the course; each returns values (logits, mu, logvar) and leaves the losses to the caller.

Checkpoints (course_utils.checkpoints) find a model class here by its name.
"""
from .code_prior import CodePrior
from .vae import ConvVAE, MLPVAE
from .vqvae import VQVAE

__all__ = ["CodePrior", "ConvVAE", "MLPVAE", "VQVAE"]
