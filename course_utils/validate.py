"""Cheap argument checks shared by the math and model modules: type, dtype, shape, never values. Chapter 05.

Each raises with a message that names the argument, what was expected and what came. None reads
tensor contents, so none forces a device sync; values are checked only at the boundaries (data
loading, `train.fit`, checkpoint loading, exercise self-checks). Only torch is imported here.
"""
from __future__ import annotations

import torch


def float_tensor(name: str, t) -> torch.Tensor:
    """`t` itself if it is a floating-point tensor, else TypeError naming `name`. Chapter 05."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {t.dtype} (use .float())")
    return t


def same_shape(**tensors: torch.Tensor) -> None:
    """Floating-point tensors of one shape with at least one axis, else an error naming each. Chapter 03."""
    for name, t in tensors.items():
        float_tensor(name, t)
    shapes = {tuple(t.shape) for t in tensors.values()}
    if len(shapes) != 1:
        detail = ", ".join(f"{n}{tuple(t.shape)}" for n, t in tensors.items())
        raise ValueError(f"shapes must match: {detail}")
    if next(iter(tensors.values())).ndim < 1:
        raise ValueError(f"{', '.join(tensors)}: expected at least one axis (..., d), got scalars")


def positive_int(name: str, value) -> int:
    """`value` if it is an int >= 1 (not a bool), else ValueError naming `name`. Chapter 05."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return value
