"""Data sets of the course as in-memory tensors, generated or shipped so that everything runs offline.

- `toy_2d`: two-dimensional toy distributions (two moons, rings, mixtures). Chapter 00.
- `mnist`: a bundled 5,000-digit real-MNIST subset, or full MNIST when online. Chapter 05.
- `dsprites`: the dSprites factor grid and images, rendered on demand in the official index order. Chapter 06.
- `download`: sha256-verified, atomic downloads from a list of mirrors (full data sets, when online).
"""
from .download import DownloadError, download_file
from .mnist import binarize_images, load_mnist

__all__ = ["DownloadError", "binarize_images", "download_file", "load_mnist"]
