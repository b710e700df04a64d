r"""dSprites, generated on demand: 737,280 binary 64 x 64 images of one white shape. Chapter 06.

The factor grid and the index order are those of the official data set (deepmind/dsprites-dataset,
Apache-2.0): shape in {square, ellipse, heart}, scale = linspace(0.5, 1, 6), orientation =
linspace(0, 2 pi, 40), posX = posY = linspace(0, 1, 32); every combination once, posY fastest:

    index = sum_k class_k * base_k,   bases (245760, 40960, 1024, 32, 1) over (shape, scale, orientation, posX, posY).

The pictures are our own renders (the official generator is not published): a binary test of each
pixel centre against an implicit curve, no anti-aliasing (the official images have none either).
At scale 1 the square's side is 18 pixels and the ellipse's axes are 18 x 9; the heart fits in
about 18 x 18. The centre moves from pixel 12 to pixel 52 as posX (or posY) goes from 0 to 1; posX
moves right, posY moves down. Orientation turns the shape counterclockwise on the screen.
Two facts students meet: orientation 0 and 2 pi are the same picture (the official set has this
duplicate too), and a square repeats every pi/2, an ellipse every pi.

Nothing holds 737,280 images at once: `images(indices)` renders any subset, `chunks` iterates.
"""
from __future__ import annotations

import math
from typing import Iterator

import torch

SHAPES = ("square", "ellipse", "heart")
FACTORS = ("shape", "scale", "orientation", "pos_x", "pos_y")
SIZES = (3, 6, 40, 32, 32)  # classes per factor
BASES = (245760, 40960, 1024, 32, 1)  # index = sum_k class_k * base_k
N_IMAGES = 737280
SIDE = 64
HALF_SIZE = 9.0  # pixels, at scale 1
FIRST_CENTRE, LAST_CENTRE = 12.0, 52.0  # pixel coordinate of the centre at pos 0 and at pos 1


def factor_values() -> dict[str, torch.Tensor]:
    """The value of each class of each factor (float64), as in the official latents_values. Chapter 06."""
    return {"shape": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
            "scale": torch.linspace(0.5, 1.0, 6, dtype=torch.float64),
            "orientation": torch.linspace(0.0, 2 * math.pi, 40, dtype=torch.float64),
            "pos_x": torch.linspace(0.0, 1.0, 32, dtype=torch.float64),
            "pos_y": torch.linspace(0.0, 1.0, 32, dtype=torch.float64)}


def _long(name: str, t) -> torch.Tensor:
    if not isinstance(t, torch.Tensor) or t.dtype != torch.long:
        raise TypeError(f"{name}: expected a long tensor, got {getattr(t, 'dtype', type(t).__name__)}")
    return t


def index_of(classes: torch.Tensor) -> torch.Tensor:
    """Official image index of factor classes: (N, 5) long -> (N,) long. Chapter 06."""
    _long("classes", classes)
    if classes.ndim != 2 or classes.shape[1] != len(FACTORS):
        raise ValueError(f"classes: expected shape (N, 5) over {FACTORS}, got {tuple(classes.shape)}")
    sizes = torch.tensor(SIZES)
    if classes.numel() and ((classes < 0).any() or (classes >= sizes).any()):
        bad = ((classes < 0) | (classes >= sizes)).any(0).nonzero().flatten().tolist()
        raise ValueError(f"classes: out of range for factors {[FACTORS[k] for k in bad]}; sizes are {dict(zip(FACTORS, SIZES))}")
    return classes @ torch.tensor(BASES)


def classes_of(index: torch.Tensor) -> torch.Tensor:
    """Factor classes of official image indices: (N,) long -> (N, 5) long. Chapter 06."""
    _long("index", index)
    if index.ndim != 1:
        raise ValueError(f"index: expected shape (N,), got {tuple(index.shape)}")
    if index.numel() and (index.min() < 0 or index.max() >= N_IMAGES):
        raise ValueError(f"index: expected values in [0, {N_IMAGES}), got [{int(index.min())}, {int(index.max())}]")
    return torch.stack([(index // base) % size for base, size in zip(BASES, SIZES)], dim=1)


def sample_classes(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n factor combinations drawn uniformly (independently per factor): (n, 5) long. Chapter 06."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n: expected a positive int, got {n!r}")
    return torch.stack([torch.randint(size, (n,), generator=generator) for size in SIZES], dim=1)


def _inside(shape: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Is the point (u, v), in the shape's own frame (units of HALF_SIZE, v up), inside? (N, H, W) bool."""
    square = torch.maximum(u.abs(), v.abs()) <= 1
    ellipse = u.pow(2) + (v / 0.5).pow(2) <= 1
    # heart: (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, a curve about 2.3 wide and 2.3 tall; scaled to fit in [-1, 1]^2
    x, y = 1.15 * u, 1.15 * v + 0.15
    heart = (x.pow(2) + y.pow(2) - 1).pow(3) - x.pow(2) * y.pow(3) <= 0
    kind = shape[:, None, None]
    return torch.where(kind == 0, square, torch.where(kind == 1, ellipse, heart))


def render(classes: torch.Tensor) -> torch.Tensor:
    """Binary images of factor classes: (N, 5) long -> (N, 1, 64, 64) float32 in {0, 1}. Chapter 06."""
    index_of(classes)  # checks type, shape and range
    values = factor_values()
    scale = values["scale"][classes[:, 1]].float()
    angle = torch.remainder(values["orientation"][classes[:, 2]], 2 * math.pi).float()  # 2 pi -> exactly 0
    cx = FIRST_CENTRE + (LAST_CENTRE - FIRST_CENTRE) * values["pos_x"][classes[:, 3]].float()
    cy = FIRST_CENTRE + (LAST_CENTRE - FIRST_CENTRE) * values["pos_y"][classes[:, 4]].float()
    pixel = torch.arange(SIDE, dtype=torch.float32) + 0.5  # pixel centres
    dx = pixel[None, None, :] - cx[:, None, None]  # (N, 1, W), to the right
    dy = cy[:, None, None] - pixel[None, :, None]  # (N, H, 1), upwards (rows grow downwards)
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    size = HALF_SIZE * scale[:, None, None]
    u = (cos * dx + sin * dy) / size  # rotate the pixel by -angle: the shape turns by +angle
    v = (-sin * dx + cos * dy) / size
    return _inside(classes[:, 0], u, v).float()[:, None]  # (N, 1, 64, 64)


def images(index: torch.Tensor) -> torch.Tensor:
    """Images at official indices: (N,) long -> (N, 1, 64, 64) float32 in {0, 1}. Chapter 06."""
    return render(classes_of(index))


def chunks(index: torch.Tensor, size: int = 4096) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(indices, images) in chunks of at most `size`, in the order given: memory stays O(size). Chapter 06."""
    _long("index", index)
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size: expected a positive int, got {size!r}")
    for start in range(0, len(index), size):
        part = index[start:start + size]
        yield part, images(part)


class PairSampler:
    """Pairs of batches whose factor k is equal pair by pair, the rest drawn independently. Chapter 06.

    sampler(k, batch_size, generator) -> (x1, x2), each (batch_size, 1, 64, 64): the input of the
    beta-VAE metric (course_utils.disentanglement.beta_vae_score).
    """

    n_factors = len(FACTORS)

    def __call__(self, k: int, batch_size: int, generator: torch.Generator | None = None):
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < self.n_factors:
            raise ValueError(f"k: expected a factor index in [0, {self.n_factors}) {FACTORS}, got {k!r}")
        first, second = sample_classes(batch_size, generator), sample_classes(batch_size, generator)
        second[:, k] = first[:, k]
        return render(first), render(second)
