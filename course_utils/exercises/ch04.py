"""Chapter 04 (the reparameterization trick): reference answers of the exercises, and the feedback of the
predict-then-run question.

Exercise 1 (transcription): `reparameterize`, the lecture's code; `check.reparameterize` checks it.
Exercise 2 (derivation): `exp_moment`, E_q[e^z] and its gradient in closed form.
Exercise 3 (predict, then run): which estimator's variance changes when a constant is added to f;
`constant_shift_feedback` compares the student's prediction with the measured variance ratios.
`judge_prediction` is the generic comparison of a prediction with a measurement (chapter 05 uses it too).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch

from .. import check, config
from ..check import Feedback

SHIFT_OPTIONS = ("reparam", "score", "both", "neither")
SHIFT_WHY = {
    "es": ("La estimación por reparametrización es f'(z) por la derivada del camino: la derivada de una "
           "constante es 0, así que sus estimaciones no cambian ni en un bit (cociente 1). La estimación score "
           "es f(z) por la score: la constante le suma 100 · score, ruido de media 0 cuya varianza es "
           "100² · E[(ε/σ)²] = 10⁴/σ² para μ. Es justo lo que una línea base b resta."),
    "en": ("The reparameterization estimate is f'(z) times the derivative of the path: a constant has "
           "derivative 0, so its estimates do not change by a single bit (ratio 1). The score estimate is "
           "f(z) times the score: the constant adds 100 · score, noise with mean 0 whose variance is "
           "100² · E[(ε/σ)²] = 10⁴/σ² for μ. That is exactly what a baseline b subtracts."),
}


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Chapter 04, exercise 1: z = mu + sigma * eps, sigma = exp(logvar / 2), eps ~ N(0, I).

    mu, logvar (N, d) -> z (N, d), differentiable in mu and logvar.
    """
    std = torch.exp(0.5 * logvar)
    eps = torch.randn_like(std)
    return mu + eps * std


def exp_moment(mu: float, logvar: float) -> tuple[float, float, float]:
    """Chapter 04, exercise 2: E_q[e^z] and its gradient, q = N(mu, sigma^2), sigma^2 = exp(logvar).

    mu, logvar: numbers -> (E, dE/dmu, dE/dlogvar), three floats:
    E = exp(mu + sigma^2 / 2), dE/dmu = E, dE/dlogvar = (sigma^2 / 2) * E.
    """
    variance = math.exp(logvar)
    mean = math.exp(mu + variance / 2)
    return mean, mean, variance / 2 * mean


EXP_MOMENT_CASES = [(0.0, 0.0), (1.0, -0.5), (-2.0, 1.0), (0.5, -3.0)]


def constant_shift_feedback(prediction: Any, ratios: Mapping[str, torch.Tensor], *,
                            lang: str | None = None) -> Feedback:
    """Chapter 04, exercise 3: which estimator's variance changes when a constant is added to f?

    ratios: {"reparam": (2,), "score": (2,)}, the per-sample variance of each estimator of (d/dmu, d/dlogvar)
    for f + constant over the one for f, on the same eps; an estimator "changes" when a ratio leaves
    [0.8, 1.25]. The right prediction is "score".
    """
    changed = [name for name in ("reparam", "score")
               if bool(((ratios[name] < 0.8) | (ratios[name] > 1.25)).any())]
    measured = {0: "neither", 2: "both"}.get(len(changed)) or changed[0]
    why = "   " + SHIFT_WHY[lang or config.language()]
    return check.prediction(prediction, measured, options=SHIFT_OPTIONS, explanation=[why], lang=lang)
