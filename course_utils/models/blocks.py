"""Convolutional building blocks shared by the image models (chapters 05 and 07). Only torch.

A stride-2 convolution with kernel 4 and padding 1 halves H and W; its transpose doubles them back.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn


def down_stack(widths: Sequence[int]) -> nn.Sequential:
    """Conv(4, stride 2) + ReLU per step: channels widths[0] -> widths[1] -> ..., H and W halved each. Chapter 05."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.ReLU()]  # (N, a, H, W) -> (N, b, H/2, W/2)
    return nn.Sequential(*layers)


def up_stack(widths: Sequence[int]) -> nn.Sequential:
    """ConvTranspose(4, stride 2) + ReLU per step, no ReLU after the last (it gives logits). Chapter 05."""
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1), nn.ReLU()]  # (N, a, H, W) -> (N, b, 2H, 2W)
    return nn.Sequential(*layers[:-1])
