"""Rollouts as animations that play in the static book: frames side by side, matplotlib's `to_jshtml`. Chapter 08.

The HTML carries every frame as an image and its own play/pause buttons, so it needs no kernel.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation


def _frames(name: str, frames) -> np.ndarray:
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or len(array) == 0:
        raise ValueError(f"{name}: expected frames (T, H, W, 3) with T >= 1, got shape {array.shape}")
    return array


def side_by_side(panels: Sequence, titles: Sequence[str], *, interval: int = 100, scale: float = 2.0,
                 dpi: int = 72) -> str:
    """HTML animation of several rollouts, one panel each (frames (T, H, W, 3)); shorter ones hold their last frame. Chapter 08."""
    panels = [_frames(f"panels[{i}]", p) for i, p in enumerate(panels)]
    if len(titles) != len(panels):
        raise ValueError(f"titles: expected {len(panels)} titles, one per panel, got {len(titles)}")
    length = max(len(p) for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(scale * len(panels), scale + 0.4), dpi=dpi, squeeze=False)
    images = []
    for ax, frames, title in zip(axes[0], panels, titles):
        images.append(ax.imshow(frames[0], interpolation="nearest"))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    label = fig.suptitle("t = 0", fontsize=10)

    def draw(t: int):
        for image, frames in zip(images, panels):
            image.set_data(frames[min(t, len(frames) - 1)])
        label.set_text(f"t = {t}")
        return images

    movie = animation.FuncAnimation(fig, draw, frames=length, interval=interval)
    html = movie.to_jshtml(default_mode="once")
    plt.close(fig)
    return html
