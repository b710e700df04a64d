"""Models of the course; each returns values (logits, mu, logvar) and leaves the losses to the caller.

Checkpoints (course_utils.checkpoints) find a model class here by its name.
"""
from .vae import ConvVAE, MLPVAE

__all__ = ["ConvVAE", "MLPVAE"]
