"""Models of the course; each returns values (logits, mu, logvar) and leaves the losses to the caller.

Checkpoints (course_utils.checkpoints) find a model class here by its name.
"""
from .code_prior import CodePrior
from .controller import LinearController
from .mdn import MDN
from .mdn_rnn import MDNRNN
from .vae import ConvVAE, MLPVAE
from .vqvae import VQVAE

__all__ = ["CodePrior", "ConvVAE", "LinearController", "MDN", "MDNRNN", "MLPVAE", "VQVAE"]
