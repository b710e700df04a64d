"""Figures used by several chapters: image grids, loss curves, PNG encoding and a live loss plot.

Figure functions return the Figure; `figure_png` and `array_png` return PNG bytes (sliders, widgets).
Chapters 00-05.
"""
from __future__ import annotations

import io
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .style import COLUMN_PX, report_figure


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
               cell_size: float = 0.85, cmap: str = "gray") -> Figure:
    """Grid of N images (values in [0, 1]); returns the figure, at most the book's column wide. Chapter 05."""
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
    cell_size = min(cell_size, COLUMN_PX / 100 / ncols)  # the whole grid fits the column at 100 dpi
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell_size * ncols, (cell_size + (0.3 if titles else 0)) * nrows),
                             dpi=100, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < n:
            ax.imshow(np.clip(arr[k], 0, 1), cmap=cmap, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9.5)
    fig.tight_layout()
    return fig


def loss_curves(history: Mapping[str, Sequence[float]], xlabel: str = "step",
                logy: bool = False, title: str | None = None) -> Figure:
    """One line per named series in `history`; 'test_<key>' is drawn dashed in the colour of '<key>'. Chapter 05."""
    if not history:
        raise ValueError("history: expected a mapping name -> list of values, got an empty one")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    colors: dict[str, str] = {}
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"history[{name!r}]: expected a 1-D sequence, got shape {values.shape}")
        base = name[len("test_"):] if name.startswith("test_") and name[len("test_"):] in history else name
        color = colors.setdefault(base, f"C{len(colors)}")
        ax.plot(np.arange(1, len(values) + 1), values, "--" if base != name else "-", color=color, label=name)
    ax.set_xlabel(xlabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


class LiveLossPlot:
    """An `on_epoch` hook for `train.fit`: redraws the loss curves after each epoch in a notebook. Chapter 05.

    fit(..., on_epoch=LiveLossPlot()) shows one image, updated in place (a display handle); outside
    a notebook (a terminal, a script) it draws nothing. `keys` limits the series drawn.
    """

    def __init__(self, keys: Sequence[str] | None = None, dpi: int = 100):
        self.keys, self.dpi, self.handle = keys, dpi, None
        try:
            from IPython import get_ipython

            shell = get_ipython()
        except ImportError:
            shell = None
        self.active = shell is not None and type(shell).__name__ != "TerminalInteractiveShell"

    def __call__(self, epoch: int, history: Mapping[str, Sequence[float]]) -> None:
        if not self.active:
            return
        from IPython.display import Image, display

        shown = {k: v for k, v in history.items() if k != "seconds" and (self.keys is None or k in self.keys)}
        if not shown:  # nothing to draw: say so once, and never stop the training loop
            if self.handle is None:
                self.handle = display(f"LiveLossPlot: keys={self.keys!r} match none of {sorted(history)}",
                                      display_id=True)
            return
        image = Image(data=figure_png(loss_curves(shown, xlabel="epoch"), dpi=self.dpi, colors=None))
        if self.handle is None:
            self.handle = display(image, display_id=True)
        else:
            self.handle.update(image)


def figure_png(fig: Figure, dpi: int = 100, colors: int | None = 128, shown_px: float | None = None) -> bytes:
    """PNG bytes of a figure (closed afterwards); colors=k quantizes to a k-colour palette (smaller). Chapter 05.

    The figure is reported to the course's readability check as shown `shown_px` wide (default: its width
    at `dpi`, at most the book's column; see `display.style`).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    natural = fig.get_figwidth() * dpi
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        # measured after drawing: automatic tick labels exist only then
        report_figure(fig, where="png", shown_px=min(natural, COLUMN_PX) if shown_px is None else shown_px)
    finally:
        plt.close(fig)
    return _quantize(buf.getvalue(), colors)


def array_png(image, colors: int | None = None, scale: int = 1) -> bytes:
    """PNG bytes of an image array (H, W) or (H, W, 3|4), floats in [0, 1] or uint8, enlarged `scale` times.

    Chapter 05.
    """
    from PIL import Image

    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f"scale: expected an int >= 1, got {scale!r}")
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"image: expected shape (H, W) or (H, W, 3|4), got {arr.shape}")
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0.0, 1.0) * 255).round().astype(np.uint8)
    arr = arr.repeat(scale, axis=0).repeat(scale, axis=1)  # sharp, enlarged pixels
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=True)
    return _quantize(buf.getvalue(), colors)


def _quantize(png: bytes, colors: int | None) -> bytes:
    if colors is None:
        return png
    from PIL import Image

    if not isinstance(colors, int) or not 2 <= colors <= 256:
        raise ValueError(f"colors must be an int in [2, 256] or None, got {colors!r}")
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colors)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
