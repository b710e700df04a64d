"""Chapter 00 (generative models and autoencoders): reference answers of the exercises.

The notebook's checks import these functions, so the student's cell holds only a stub or `prediction = None`.
Reading this module is reading the solutions (the notebook shows them folded, under "Solution").

- exercise 1, predict then run: `decoder_noise_outcome` and `check_decoder_noise` (a VAE trained with a larger
  decoder noise sigma: do its samples land closer to the data or farther?);
- exercise 2, derivation: `diffusion_marginal_variance` (Var[x_t] when x_0 is a random data point);
- exercise 3, implementation: `affine_flow_log_prob` (change of variables for x = a * z + b).
"""
from __future__ import annotations

import math

from .. import check, config

#: The answers exercise 1 accepts, in the order of the question.
DECODER_NOISE_OPTIONS = ("closer", "same", "farther")

MESSAGES = {
    "es": {
        "measured": "   medido: distancia media de las muestras a los datos {before:.3f} (σ = 0.2) → {after:.3f} "
                    "(σ = 0.4), ×{ratio:.2f}: «{outcome}».",
        "why": "   Por qué: con σ = 0.4 el término de reconstrucción ‖x − x̂‖²/(2σ²) pesa 4 veces menos frente "
               "al KL (es el β del capítulo 06). El encoder ensancha sus elipses hacia el prior, códigos de "
               "partes distintas de las lunas se solapan y el decoder, que da una sola media por código, "
               "dibuja su promedio: una curva suave que pasa entre las lunas.",
    },
    "en": {
        "measured": "   measured: mean distance from the samples to the data {before:.3f} (σ = 0.2) → {after:.3f} "
                    "(σ = 0.4), ×{ratio:.2f}: '{outcome}'.",
        "why": "   Why: with σ = 0.4 the reconstruction term ‖x − x̂‖²/(2σ²) weighs 4 times less against the "
               "KL term (it is chapter 06's β). The encoder widens its ellipses towards the prior, codes of "
               "different parts of the moons overlap, and the decoder, which gives one mean per code, draws "
               "their average: a smooth curve that runs between the moons.",
    },
}


def decoder_noise_outcome(distance_before: float, distance_after: float, margin: float = 1.2) -> str:
    """Chapter 00, exercise 1: what the measurement says, one of `DECODER_NOISE_OPTIONS`.

    `distance_before`, `distance_after`: mean distance from the VAE's samples to the nearest data point with the
    decoder noise sigma = 0.2 and sigma = 0.4. 'farther' if it grew by more than `margin` times, 'closer' if it
    shrank by more than that, 'same' otherwise.
    """
    if not (distance_before > 0 and distance_after > 0 and margin >= 1):
        raise ValueError(f"expected positive distances and margin >= 1, got {distance_before!r}, "
                         f"{distance_after!r}, {margin!r}")
    ratio = distance_after / distance_before
    return "farther" if ratio > margin else "closer" if ratio < 1 / margin else "same"


def check_decoder_noise(prediction, distance_before: float, distance_after: float, *,
                        name: str = "prediction", lang: str | None = None) -> check.Feedback:
    """Chapter 00, exercise 1: compare the student's prediction with the measured outcome, and say why.

    `prediction`: None (not attempted yet: the check does not fail) or one of `DECODER_NOISE_OPTIONS`.
    Returns the printed `check.Feedback` (`check.prediction`).
    """
    text = MESSAGES[lang or config.language()]
    outcome = decoder_noise_outcome(distance_before, distance_after)
    measured = text["measured"].format(before=distance_before, after=distance_after,
                                       ratio=distance_after / distance_before, outcome=outcome)
    why = [text["why"]] if outcome == "farther" else []  # the explanation of the outcome every run gives
    return check.prediction(prediction, outcome, options=DECODER_NOISE_OPTIONS, explanation=[measured, *why],
                            name=name, lang=lang)


def diffusion_marginal_variance(alpha_bar, v):
    """Chapter 00, exercise 2: Var[x_t] of one coordinate, x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps.

    x_0 is a random data point with Var[x_0] = v and eps ~ N(0, 1) is independent of x_0, so the variances add:
    abar_t v + (1 - abar_t). `alpha_bar` and `v` may be numbers, tensors of shapes that broadcast (the result has
    the broadcast shape) or SymPy symbols (the result is an expression).
    """
    return alpha_bar * v + 1 - alpha_bar


def affine_flow_log_prob(x, a, b):
    """Chapter 00, exercise 3: log p_x(x) for the flow x = a * z + b, z ~ N(0, I), every a_j != 0.

    x: (N, k) tensor; a, b: (k,) tensors. Returns (N,): log N(z; 0, I) - sum_j log|a_j| with z = (x - b) / a.
    """
    z = (x - b) / a  # (N, k)
    log_normal = -0.5 * (z**2 + math.log(2 * math.pi)).sum(dim=-1)  # log N(z; 0, I), (N,)
    return log_normal - a.abs().log().sum()
