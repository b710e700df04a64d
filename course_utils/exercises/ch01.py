"""Chapter 01 (the Bayes posterior and why it is intractable): reference answers of the exercises.

The notebook's checks import these functions, so the student's cell holds only a stub or `prediction = None`.
Reading this module is reading the solutions (the notebook shows them folded, under "Solution").

- exercise 1, derivation: `posterior_n_observations` (the linear-Gaussian posterior after n observations of z);
- exercise 2, implementation: `log_evidence_on_grid` (the midpoint rule in logarithms, with log-sum-exp);
- exercise 3, predict then run: `check_ring_centre` (the ring posterior's variance when x is the ring's centre).
"""
from __future__ import annotations

import math

import torch

from .. import check, config

#: How far (absolute) a predicted variance may be from the measured one and still count as right (exercise 3).
RING_CENTRE_TOLERANCE = 0.15

MESSAGES = {
    "es": {
        "measured": "   tu predicción: {got:.3g}; medido por cuadratura: {measured:.4f}.",
        "wider": "   Predijiste una posterior más ancha de lo que es. Una posterior más ancha que el "
                 "prior, como la de x = (0, −1), necesita una verosimilitud que favorezca códigos lejos de 0; "
                 "en el centro todos los puntos f(z) del anillo están a distancia 1 de x, así que p(x | z) vale "
                 "lo mismo para todo z y la posterior es el prior (varianza 1).",
        "narrower": "   Predijiste una posterior más estrecha de lo que es: observar el centro no "
                    "enseña nada sobre z. Todos los puntos f(z) del anillo están a distancia 1 de x = (0, 0), así "
                    "que p(x | z) vale lo mismo para todo z y la posterior es el prior (varianza 1).",
    },
    "en": {
        "measured": "   your prediction: {got:.3g}; measured by quadrature: {measured:.4f}.",
        "wider": "   You predicted a wider posterior than it is. A posterior wider than the prior, like "
                 "the one of x = (0, −1), needs a likelihood that favours codes far from 0; at the centre every "
                 "point f(z) of the ring is at distance 1 from x, so p(x | z) takes the same value for every z "
                 "and the posterior is the prior (variance 1).",
        "narrower": "   You predicted a narrower posterior than it is: observing the centre teaches "
                    "nothing about z. Every point f(z) of the ring is at distance 1 from x = (0, 0), so "
                    "p(x | z) takes the same value for every z and the posterior is the prior (variance 1).",
    },
}


def posterior_n_observations(x_bar, n, w, b, s):
    """Chapter 01, exercise 1: mean and variance of p(z | x_1, ..., x_n) in the linear-Gaussian model.

    z ~ N(0, 1) and, given z, x_1, ..., x_n are independent, each N(w z + b, s^2); `x_bar` is their mean.
    The n observations act as one observation x_bar with noise variance s^2 / n, so step 4 gives
    mean n w (x_bar - b) / (s^2 + n w^2) and variance s^2 / (s^2 + n w^2).
    Arguments: numbers, tensors of one shape (each result has that shape) or SymPy symbols.
    Returns (mean, variance).
    """
    denominator = s**2 + n * w**2
    return n * w * (x_bar - b) / denominator, s**2 / denominator


def log_evidence_on_grid(log_joint_values: torch.Tensor, h: float) -> torch.Tensor:
    """Chapter 01, exercise 2: log sum_j h exp(a_j) from a_j = log p(x, z_j) at the midpoints of a 1-D grid.

    log_joint_values: (k,) tensor; h: the cells' width. Returns a 0-d tensor. The largest a_j is taken out
    first, so no exp underflows to 0 even when every a_j is about -1e5.
    """
    a_max = log_joint_values.max()
    return a_max + torch.log(torch.exp(log_joint_values - a_max).sum()) + math.log(h)


def check_ring_centre(prediction, measured_variance: float, *, name: str = "prediction",
                      lang: str | None = None) -> check.Feedback:
    """Chapter 01, exercise 3: compare a predicted Var[z | x = (0, 0)] (ring decoder) with the measured one.

    `prediction`: None (not attempted yet: the check does not fail) or a number. Right when it is within
    `RING_CENTRE_TOLERANCE` of `measured_variance`; otherwise the message says which way it missed and why.
    Returns the printed `check.Feedback` (`check.prediction`).
    """
    text = MESSAGES[lang or config.language()]
    value = check._as_number(prediction)
    lines = []
    if value is not None:
        lines.append(text["measured"].format(got=value, measured=measured_variance))
        if abs(value - measured_variance) > RING_CENTRE_TOLERANCE:
            lines.append(text["wider" if value > measured_variance else "narrower"])
    return check.prediction(prediction, measured_variance, close=lambda a, b: abs(a - b) <= RING_CENTRE_TOLERANCE,
                            explanation=lines, name=name, lang=lang)
