"""Live widgets with a kernel: latent-traversal sliders (chapter 05) and a VQ-VAE code editor (chapter 07).

The only module that imports ipywidgets, and nothing in the package imports it. It uses only what
ipywidgets 7.7.x (Colab) and 8.x (JupyterLab) share: FloatSlider, IntSlider, Image, Label, VBox/HBox, Layout
and `observe` (no Stack, no jslink). The pure helpers (checks, decoding, PNG encoding) need no
ipywidgets and are tested on their own. In a static page with no kernel use `course_utils.display.sliders`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .plotting import array_png

MAX_DEFAULT_DIMS = 10


def check_decoder(model: Any) -> int:
    """The model's latent size `z_dim` after checking it has `decode` and an int `z_dim`. Chapter 05."""
    if not callable(getattr(model, "decode", None)):
        raise TypeError(f"model: expected an object with a decode(z) method, got {type(model).__name__}")
    z_dim = getattr(model, "z_dim", None)
    if not isinstance(z_dim, int) or isinstance(z_dim, bool) or z_dim < 1:
        raise TypeError(f"model.z_dim: expected a positive int, got {z_dim!r}")
    return z_dim


def check_dims(dims: Sequence[int] | None, z_dim: int) -> list[int]:
    """Latent dimensions to drive, as distinct ints in [0, z_dim); None -> the first min(z_dim, 10). Chapter 05."""
    if dims is None:
        return list(range(min(z_dim, MAX_DEFAULT_DIMS)))
    if isinstance(dims, torch.Tensor):
        dims = dims.tolist()
    dims = [int(j) if isinstance(j, (int, np.integer)) and not isinstance(j, bool) else j for j in dims]
    bad = [j for j in dims if not isinstance(j, int) or not 0 <= j < z_dim]
    if bad:
        raise ValueError(f"dims: {bad} out of range; expected ints in [0, {z_dim}) for z_dim={z_dim}")
    if not dims or len(set(dims)) != len(dims):
        raise ValueError(f"dims: expected a non-empty list of distinct dimensions, got {dims}")
    return dims


def check_z0(z0: Any, z_dim: int) -> torch.Tensor:
    """Starting latent point as a float32 tensor (z_dim,); None -> the prior mean 0. Chapter 05."""
    if z0 is None:
        return torch.zeros(z_dim)
    z0 = torch.as_tensor(np.asarray(z0.detach().cpu() if isinstance(z0, torch.Tensor) else z0), dtype=torch.float32)
    if z0.shape not in ((z_dim,), (1, z_dim)):
        raise ValueError(f"z0: expected shape ({z_dim},) or (1, {z_dim}), got {tuple(z0.shape)}")
    if not torch.isfinite(z0).all():
        raise ValueError("z0: holds NaN or infinite values")
    return z0.reshape(z_dim).clone()


def _device(model: Any) -> torch.device:
    params = getattr(model, "parameters", None)
    first = next(iter(params()), None) if callable(params) else None
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def decode_image(model: Any, z: torch.Tensor, logits: bool = True) -> np.ndarray:
    """Decode one latent point z (z_dim,) to an image in [0, 1]: (H, W) grey or (H, W, 3) colour. Chapter 05."""
    z_dim = check_decoder(model)
    z = check_z0(z, z_dim).to(_device(model))
    out = model.decode(z[None])[0].float().cpu()
    image = torch.sigmoid(out) if logits else out.clamp(0, 1)
    if image.ndim == 3 and image.shape[0] in (1, 3):  # (C, H, W) -> (H, W, C)
        image = image.permute(1, 2, 0)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 1 and int(image.numel() ** 0.5) ** 2 == image.numel():  # flat (784,) -> (28, 28)
        side = int(image.numel() ** 0.5)
        image = image.reshape(side, side)
    if image.ndim not in (2, 3):
        raise ValueError(f"model.decode: cannot read shape {tuple(out.shape)} as an image")
    return image.numpy()


def decode_to_png(model: Any, z: Any, scale: int = 5, logits: bool = True) -> bytes:
    """PNG bytes of the image decoded from one latent point z (z_dim,). Chapter 05."""
    return array_png(decode_image(model, z, logits=logits), scale=scale)


def latent_traversal(model: Any, z0: Any = None, dims: Sequence[int] | None = None, *,
                     lo: float = -3.0, hi: float = 3.0, step: float = 0.1, scale: int = 5,
                     logits: bool = True):
    """ipywidgets box: a FloatSlider per latent dim in `dims` moves z away from z0; the Image decodes z. Chapter 05.

    The returned VBox also carries `.sliders` (list of FloatSlider), `.image` (Image) and `.z()`
    (the current latent point, a tensor (z_dim,)).
    """
    import ipywidgets as widgets

    z_dim = check_decoder(model)
    dims, z = check_dims(dims, z_dim), check_z0(z0, z_dim)
    if not lo < hi or step <= 0:
        raise ValueError(f"expected lo < hi and step > 0, got lo={lo}, hi={hi}, step={step}")
    z[dims] = z[dims].clamp(lo, hi)
    image = widgets.Image(value=decode_to_png(model, z, scale, logits), format="png")
    label = widgets.Label(value=_describe(z, dims))
    sliders = [widgets.FloatSlider(value=float(z[j]), min=lo, max=hi, step=step,
                                   description=f"z[{j}]", continuous_update=True, readout_format=".1f",
                                   layout=widgets.Layout(width="320px")) for j in dims]

    def redraw(change: dict) -> None:
        for j, slider in zip(dims, sliders):
            z[j] = slider.value
        image.value = decode_to_png(model, z, scale, logits)
        label.value = _describe(z, dims)

    for slider in sliders:
        slider.observe(redraw, names="value")
    box = widgets.VBox([widgets.HBox([image, widgets.VBox(sliders)]), label])
    box.sliders, box.image, box.z = sliders, image, lambda: z.clone()
    return box


def _describe(z: torch.Tensor, dims: list[int]) -> str:
    return "  ".join(f"z[{j}] = {float(z[j]):+.2f}" for j in dims)


def check_code_grid(model: Any, indices: Any) -> torch.Tensor:
    """One code grid (h, w) long with values in [0, K) of a VQ-VAE with `lookup` and `codebook_size`. Chapter 07."""
    if not callable(getattr(model, "lookup", None)) or not isinstance(getattr(model, "codebook_size", None), int):
        raise TypeError(f"model: expected a VQ-VAE with lookup(indices) and codebook_size, got {type(model).__name__}")
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.long:
        raise TypeError(f"indices: expected a long tensor (h, w) of code indices, got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)}")
    grid = indices.reshape(indices.shape[-2:]) if indices.ndim == 3 and indices.shape[0] == 1 else indices
    if grid.ndim != 2:
        raise ValueError(f"indices: expected shape (h, w) or (1, h, w), got {tuple(indices.shape)}")
    if grid.min() < 0 or grid.max() >= model.codebook_size:
        raise ValueError(f"indices: expected values in [0, {model.codebook_size}), got [{int(grid.min())}, {int(grid.max())}]")
    return grid.detach().cpu().clone()


@torch.no_grad()
def code_grid_png(model: Any, grid: torch.Tensor, scale: int = 5) -> bytes:
    """PNG of the image a VQ-VAE decodes from one code grid (h, w), clamped to [0, 1]. Chapter 07."""
    x_hat = model.decode(model.lookup(grid[None].to(_device(model))))[0, 0].float().cpu()  # (H, W)
    return array_png(x_hat.clamp(0, 1).numpy(), scale=scale)


def code_editor(model: Any, indices: Any, *, scale: int = 5):
    """ipywidgets box: pick a grid position (row, col) and a code k; the Image decodes the edited grid. Chapter 07.

    The returned VBox also carries `.row`, `.col`, `.code` (IntSlider), `.image` (Image) and
    `.grid()` (the current code grid, a long tensor (h, w)).
    """
    import ipywidgets as widgets

    grid = check_code_grid(model, indices)
    original = grid.clone()
    h, w = grid.shape
    image = widgets.Image(value=code_grid_png(model, grid, scale), format="png")
    label = widgets.Label()
    row = widgets.IntSlider(value=h // 2, min=0, max=h - 1, description="row")
    col = widgets.IntSlider(value=w // 2, min=0, max=w - 1, description="col")
    code = widgets.IntSlider(value=int(grid[h // 2, w // 2]), min=0, max=model.codebook_size - 1, description="k")
    busy = []

    def describe() -> None:
        r, c = row.value, col.value
        label.value = f"position ({r}, {c}): code {int(grid[r, c])} (was {int(original[r, c])})"

    def move(change: dict) -> None:  # a new position shows its current code
        busy.append(1)
        code.value = int(grid[row.value, col.value])
        busy.pop()
        describe()

    def recode(change: dict) -> None:
        if busy:
            return
        grid[row.value, col.value] = code.value
        image.value = code_grid_png(model, grid, scale)
        describe()

    row.observe(move, names="value"), col.observe(move, names="value"), code.observe(recode, names="value")
    describe()
    box = widgets.VBox([widgets.HBox([image, widgets.VBox([row, col, code])]), label])
    box.row, box.col, box.code, box.image, box.grid = row, col, code, image, lambda: grid.clone()
    return box
