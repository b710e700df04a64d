"""Rollouts as animations that play in the static book: frames side by side, matplotlib's `to_jshtml`. Chapter 08.

The HTML carries every frame as an image and its own play/pause buttons, so it needs no kernel.
`localize_jshtml` gives any `to_jshtml` page alt text and, in Spanish, Spanish button labels (chapters 00, 08).
"""
from __future__ import annotations

import html as html_lib
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import animation

from ..config import language
from .style import report_figure

CONTROLS_ES = {
    'title="Decrease speed"': 'title="Más lento"', 'title="First frame"': 'title="Primer fotograma"',
    'title="Previous frame"': 'title="Fotograma anterior"', 'title="Play backwards"': 'title="Reproducir hacia atrás"',
    'title="Pause"': 'title="Pausa"', 'title="Play"': 'title="Reproducir"', 'title="Next frame"': 'title="Fotograma siguiente"',
    'title="Last frame"': 'title="Último fotograma"', 'title="Increase speed"': 'title="Más rápido"',
    'title="Repetition mode"': 'title="Modo de repetición"',
    '">Once': '">Una vez', '">Loop': '">En bucle', '">Reflect': '">Ida y vuelta',
}


def localize_jshtml(page: str, alt: str, lang: str | None = None) -> str:
    """`to_jshtml` output with `alt` on its image and, for lang 'es', Spanish controls. Chapters 00 and 08."""
    if not isinstance(alt, str) or not alt.strip():
        raise ValueError(f"alt: expected a short description of the animation, got {alt!r}")
    page = page.replace('<img id="_anim_img', f'<img alt="{html_lib.escape(alt.strip())}" id="_anim_img', 1)
    if (lang or language()) == "es":
        for english, spanish in CONTROLS_ES.items():
            page = page.replace(english, spanish)
    return page


def _frames(name: str, frames) -> np.ndarray:
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or len(array) == 0:
        raise ValueError(f"{name}: expected frames (T, H, W, 3) with T >= 1, got shape {array.shape}")
    return array


def side_by_side(panels: Sequence, titles: Sequence[str], *, interval: int = 100, scale: float = 2.0,
                 dpi: int = 100, alt: str | None = None) -> str:
    """HTML animation of several rollouts, one panel each (frames (T, H, W, 3)); shorter ones hold their last frame.

    `alt` describes it for screen readers (default: the panel titles). Chapter 08.
    """
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
    report_figure(fig, where="animation")
    plt.close(fig)
    return localize_jshtml(html, alt or " | ".join(titles))
