"""Figures used by several chapters: image grids and loss curves. Functions return the Figure."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure


def _to_numpy_images(images) -> np.ndarray:
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[1] in (1, 3):  # (N, C, H, W) -> (N, H, W, C)
        arr = arr.transpose(0, 2, 3, 1)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4):
        raise ValueError(f"images: expected (N, H, W), (N, 1|3, H, W) or (N, H, W, 1|3), got shape {np.shape(images)}")
    return arr


def image_grid(images, ncols: int = 8, titles: Sequence[str] | None = None,
               cell_size: float = 1.2, cmap: str = "gray") -> Figure:
    """Grid of N images (values in [0, 1]); returns the figure."""
    arr = _to_numpy_images(images)
    n = len(arr)
    if n == 0:
        raise ValueError("images is empty")
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles: expected {n} titles, got {len(titles)}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell_size * ncols, cell_size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(np.clip(arr[k], 0, 1), cmap=cmap, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[k], fontsize=8)
    fig.tight_layout()
    return fig


def loss_curves(history: Mapping[str, Sequence[float]], xlabel: str = "step",
                logy: bool = False, title: str | None = None) -> Figure:
    """One line per named series in `history` (e.g. {'recon': [...], 'KL': [...]})."""
    if not history:
        raise ValueError("history is empty: expected a mapping name -> list of values")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"history[{name!r}]: expected a 1-D sequence, got shape {values.shape}")
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
