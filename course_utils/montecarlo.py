"""Monte Carlo summaries: a mean or a variance over samples, each with its standard error. Chapters 02 and 04.

Samples lie along the first axis; every other axis is kept. Only torch is imported here.
"""
from __future__ import annotations

import math

import torch


def _samples(samples) -> torch.Tensor:
    if not isinstance(samples, torch.Tensor):
        raise TypeError(f"samples: expected a torch.Tensor (S, ...), got {type(samples).__name__}")
    if samples.ndim < 1 or samples.shape[0] < 2:
        raise ValueError(f"samples: expected at least 2 samples along axis 0, got shape {tuple(samples.shape)}")
    return samples


def mean_and_stderr(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample mean over the first axis and its standard error: (S, ...) -> (...), (...). Chapter 02."""
    samples = _samples(samples)
    # stderr = std(samples, ddof=1) / sqrt(S)
    return samples.mean(0), samples.std(0) / math.sqrt(samples.shape[0])


def variance_and_stderr(samples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample variance over the first axis and its standard error: (S, ...) -> (...), (...). Chapter 04."""
    samples = _samples(samples)
    centred = samples - samples.mean(0)
    var = samples.var(0)
    m4 = centred.pow(4).mean(0)
    # stderr(var) = sqrt((m4 - var^2) / S), m4 = fourth central moment
    return var, ((m4 - var.pow(2)).clamp_min(0) / samples.shape[0]).sqrt()
