"""Diagrams drawn in code (matplotlib), the same picture in both languages with labels from the math.

- `graphical_model()`: the VAE's plate diagram, z -> x inside a plate of N data points (chapters 01, 02).
- `vae_pipeline(reparameterized)`: encoder -> sampler -> decoder, before and after the reparameterization
  trick, with the path the gradient can (or cannot) take back to phi (chapter 04).
- `landscape()`: the four families of generative models of chapter 00, one row each.
Each returns a Figure that fits the book's column, with text of at least `style.MIN_POINTS` at that size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from ..config import tr

BLUE, ORANGE, GREY, RED, GREEN = "#4C72B0", "#DD8452", "#8C8C8C", "#C44E52", "#55A868"
TEXT = 11


def _canvas(width: float, height: float, xlim: float, ylim: float):
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.set_xlim(0, xlim)
    ax.set_ylim(0, ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax, x: float, y: float, text: str, color: str = BLUE, w: float = 1.5, h: float = 0.8,
         dashed: bool = False) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04,rounding_size=0.12",
                                facecolor=color + "22", edgecolor=color, linewidth=1.6,
                                linestyle="--" if dashed else "-"))
    ax.text(x, y, text, ha="center", va="center", fontsize=TEXT)


def _arrow(ax, start, end, color: str = "black", dashed: bool = False, rad: float = 0.0, width: float = 1.5) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, color=color, linewidth=width,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=2, shrinkB=2))


def graphical_model() -> Figure:
    """Plate diagram of the VAE: p(z) p_theta(x | z) (solid), q_phi(z | x) (dashed), N data points. Chapters 01, 02."""
    fig, ax = _canvas(6.0, 3.0, 6.0, 3.0)
    ax.add_patch(Rectangle((0.9, 0.25), 2.0, 2.45, fill=False, linewidth=1.4))
    ax.text(2.8, 0.35, "$N$", ha="right", va="bottom", fontsize=TEXT)
    ax.add_patch(Circle((1.9, 2.05), 0.38, facecolor="white", edgecolor="black", linewidth=1.6))
    ax.text(1.9, 2.05, r"$z_i$", ha="center", va="center", fontsize=TEXT + 2)
    ax.add_patch(Circle((1.9, 0.85), 0.38, facecolor="#d9d9d9", edgecolor="black", linewidth=1.6))
    ax.text(1.9, 0.85, r"$x_i$", ha="center", va="center", fontsize=TEXT + 2)
    _arrow(ax, (1.9, 1.67), (1.9, 1.23))
    _arrow(ax, (1.55, 1.0), (1.55, 1.9), color=BLUE, dashed=True, rad=-0.6)
    ax.plot([3.4], [0.85], "ko", markersize=5)
    ax.text(3.4, 1.05, r"$\theta$", ha="center", va="bottom", fontsize=TEXT + 1)
    _arrow(ax, (3.35, 0.85), (2.3, 0.85))
    ax.plot([0.35], [1.45], "o", color=BLUE, markersize=5)
    ax.text(0.35, 1.65, r"$\phi$", ha="center", va="bottom", fontsize=TEXT + 1, color=BLUE)
    _arrow(ax, (0.42, 1.45), (1.22, 1.45), color=BLUE, dashed=True)
    legend = [("black", False, tr(es="modelo generativo", en="generative model"), r"$p(z)\,p_\theta(x \mid z)$"),
              (BLUE, True, tr(es="inferencia (encoder)", en="inference (encoder)"), r"$q_\phi(z \mid x)$")]
    for k, (color, dashed, words, formula) in enumerate(legend):
        y = 2.3 - 0.75 * k
        _arrow(ax, (3.9, y), (4.4, y), color=color, dashed=dashed)
        ax.text(4.5, y + 0.08, words, ha="left", va="bottom", fontsize=TEXT - 1, color=color)
        ax.text(4.5, y - 0.05, formula, ha="left", va="top", fontsize=TEXT - 1, color=color)
    ax.text(3.9, 0.45, tr(es="$x_i$ observada, $z_i$ latente", en="$x_i$ observed, $z_i$ latent"), ha="left",
            va="center", fontsize=TEXT - 1)
    fig.tight_layout(pad=0.2)
    return fig


def vae_pipeline(reparameterized: bool) -> Figure:
    """x -> encoder -> (mu, sigma) -> z -> decoder -> x_hat, and where the gradient of the loss stops. Chapter 04."""
    if not isinstance(reparameterized, bool):
        raise TypeError(f"reparameterized: expected True or False, got {reparameterized!r}")
    fig, ax = _canvas(6.8, 2.6, 13.6, 5.2)
    _box(ax, 0.8, 3.2, "$x$", GREY, w=1.0)
    _box(ax, 3.0, 3.2, "encoder\n" + r"$q_\phi$", BLUE, w=1.9, h=1.3)
    _box(ax, 5.4, 3.2, r"$\mu, \sigma$", BLUE, w=1.4)
    if reparameterized:
        _box(ax, 7.9, 3.2, r"$z = \mu + \sigma \odot \varepsilon$", GREEN, w=2.6)
        _box(ax, 7.9, 1.1, r"$\varepsilon \sim \mathcal{N}(0, I)$", ORANGE, w=2.6, dashed=True)
        _arrow(ax, (7.9, 1.5), (7.9, 2.8), ORANGE)
    else:
        _box(ax, 7.9, 3.2, r"$z \sim \mathcal{N}(\mu, \sigma^2)$", ORANGE, w=2.6, dashed=True)
    _box(ax, 10.6, 3.2, "decoder\n" + r"$p_\theta$", BLUE, w=1.9, h=1.3)
    _box(ax, 12.8, 3.2, r"$\hat{x}$", GREY, w=1.0)
    for a, b in [(1.3, 2.05), (3.95, 4.7), (6.1, 6.6), (9.2, 9.65), (11.55, 12.3)]:
        _arrow(ax, (a, 3.2), (b, 3.2))
    ax.text(6.8, 4.55, tr(es="gradiente de la pérdida", en="gradient of the loss"), ha="center", fontsize=TEXT,
            color=RED if not reparameterized else GREEN)
    if reparameterized:
        _arrow(ax, (12.3, 4.1), (3.2, 4.1), GREEN, dashed=True, width=2)
    else:
        _arrow(ax, (12.3, 4.1), (9.3, 4.1), RED, dashed=True, width=2)
        ax.text(8.2, 4.1, "✕", ha="center", va="center", fontsize=TEXT + 7, color=RED)
        ax.text(7.9, 2.05, tr(es="muestrear no es derivable", en="sampling is not differentiable"),
                ha="center", va="center", fontsize=TEXT - 1, color=RED)
    fig.tight_layout(pad=0.2)
    return fig


def landscape() -> Figure:
    """The four families of generative models, one row each: what is trained and how a sample is made. Chapter 00."""
    fig, ax = _canvas(6.8, 5.0, 13.6, 10.0)
    rows = [
        ("VAE", [("$x$", GREY), ("encoder", BLUE), ("$z$", ORANGE), ("decoder", BLUE), (r"$\hat{x}$", GREY)],
         tr(es="maximiza el ELBO", en="maximizes the ELBO")),
        ("GAN", [("$z$", ORANGE), ("$G$", BLUE), (r"$\tilde{x}$", GREY), ("$D$", RED), (tr(es="¿real?", en="real?"), GREY)],
         tr(es="juego entre $G$ y $D$", en="a game between $G$ and $D$")),
        (tr(es="Difusión", en="Diffusion"), [("$x_0$", GREY), ("$x_1$", GREY), (r"$\cdots$", GREY), ("$x_T$", ORANGE),
                                             (r"$\hat{x}_0$", GREY)],
         tr(es="añade ruido y aprende a quitarlo", en="adds noise, learns to remove it")),
        (tr(es="Flujo", en="Flow"), [("$x$", GREY), ("$f^{-1}$", BLUE), ("$z$", ORANGE), ("$f$", BLUE), ("$x$", GREY)],
         tr(es="invertible: $\\log p(x)$ exacta", en="invertible: exact $\\log p(x)$")),
    ]
    for k, (name, nodes, note) in enumerate(rows):
        y = 8.6 - k * 2.45
        ax.text(0.1, y, name, ha="left", va="center", fontsize=TEXT + 1, fontweight="bold")
        xs = [3.2 + 2.35 * j for j in range(len(nodes))]
        for x, (label, color) in zip(xs, nodes):
            _box(ax, x, y, label, color, w=1.7, h=0.9)
        for a, b in zip(xs, xs[1:]):
            _arrow(ax, (a + 0.85, y), (b - 0.85, y))
        ax.text(xs[2], y - 0.85, note, ha="center", va="top", fontsize=TEXT - 1, color="#333333")
    fig.tight_layout(pad=0.2)
    return fig
