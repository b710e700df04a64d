r"""Chapter 03 (the KL divergence): reference answers of the exercises and their checks.

- exercise 1 (transcription): `kl_per_example`, KL(N(mu, diag exp(logvar)) || N(0, I)) per example, the answer
  that `check.kl` expects;
- exercise 2 (derivation): `kl_correlated_expression` / `kl_correlated`, the KL of a 2-D Gaussian with
  correlation rho to N(0, I), derived by hand with the chapter's three terms (q is no longer a product);
- exercise 3 (predict, then run): `mode_behaviour` reads whether the fit of min_q KL(q || p) to a two-mode
  mixture sits on one mode or covers both, and `check_mode_prediction` compares it with the student's prediction.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from .. import check, config, symbolic

# ---------------------------------------------------------------- exercise 1


def kl_per_example(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Chapter 03, exercise 1: KL(N(mu, diag exp(logvar)) || N(0, I)) per example, (N, d), (N, d) -> (N,).

    The lecture's formula in log var, summed over the latent dimensions (last axis) only, not over the batch.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=-1)


# ---------------------------------------------------------------- exercise 2


def correlated_symbols() -> tuple[sp.Symbol, ...]:
    """Chapter 03, exercise 2: (mu_1, mu_2, sigma_1, sigma_2, rho); those of `symbolic.symbols(2)`, rho real."""
    _, mu, sigma = symbolic.symbols(2)
    return mu[0], mu[1], sigma[0], sigma[1], sp.Symbol("rho", real=True)


def kl_correlated_expression() -> sp.Expr:
    r"""Chapter 03, exercise 2: KL(N(mu, Sigma) || N(0, I)) in 2-D, Sigma = [[s1^2, rho s1 s2], [rho s1 s2, s2^2]].

    (1/2) [tr Sigma + mu^T mu - 2 - log det Sigma], with det Sigma = s1^2 s2^2 (1 - rho^2): the diagonal KL plus
    -(1/2) log(1 - rho^2). A SymPy expression in `correlated_symbols()`, for -1 < rho < 1.
    """
    mu_1, mu_2, sigma_1, sigma_2, rho = correlated_symbols()
    log_det = sp.log(sigma_1**2 * sigma_2**2 * (1 - rho**2))
    return sp.Rational(1, 2) * (sigma_1**2 + sigma_2**2 + mu_1**2 + mu_2**2 - 2 - log_det)


def kl_correlated(mu_1, mu_2, sigma_1, sigma_2, rho):
    """Chapter 03, exercise 2: the same KL as numbers; NumPy arrays of one shape (or floats) -> that shape."""
    mu_1, mu_2, sigma_1, sigma_2, rho = (np.asarray(a, dtype=np.float64) for a in (mu_1, mu_2, sigma_1, sigma_2, rho))
    log_det = np.log(sigma_1**2 * sigma_2**2 * (1 - rho**2))
    return 0.5 * (sigma_1**2 + sigma_2**2 + mu_1**2 + mu_2**2 - 2 - log_det)


def kl_correlated_cases() -> list[tuple]:
    """Chapter 03, exercise 2: one case, five arrays (mu_1, mu_2, sigma_1, sigma_2, rho) of shape (8,).

    One vector case, so that the check can tell a constant offset or factor from noise; rho spans (-0.9, 0.9)
    and the last entry has rho = 0 (the diagonal KL of the chapter).
    """
    rng = np.random.default_rng(3)
    low, high = np.array([-1.5, -1.5, 0.3, 0.3, -0.9]), np.array([1.5, 1.5, 2.0, 2.0, 0.9])
    values = rng.uniform(low, high, size=(8, 5))
    values[-1, 4] = 0.0
    return [tuple(values.T.copy())]


def check_kl_expression(student_expression, *, lang: str | None = None) -> check.Feedback:
    """Chapter 03, exercise 2: evaluate the student's SymPy expression on `kl_correlated_cases()`, compare with
    `kl_correlated`.

    `student_expression` is a function with no arguments that returns the expression (it may raise
    NotImplementedError: not attempted yet). Prints and returns the feedback of `check.function`.
    """
    return check.expression(student_expression, correlated_symbols(), kl_correlated, kl_correlated_cases(),
                            name="KL(q || p), rho", lang=lang)


# ---------------------------------------------------------------- exercise 3

MODE_OPTIONS = ("one_mode", "both_modes")

_PREDICTION = {
    "es": {
        "measured": ("Medido: el ajuste de KL(q||p) tiene s = {s_reverse:.3f}, el {percent:.0f} % de la anchura del "
                     "de KL(p||q) (s = {s_forward:.3f}); KL(q||p) = {kl_fit:.3f} para ese ajuste y {kl_mode:.3f} para "
                     "una q sentada en el modo más pesado."),
        "both_modes": ("Buscar un modo exige un valle profundo. Sentarse en un modo cuesta hasta "
                       "log(1/0.6) ≈ 0.51 nats, porque q finge que un modo con el 60 % de la masa es toda p; cubrir "
                       "los dos cuesta lo que q pone en el valle, y aquí el valle conserva el {valley_percent:.0f} % de la "
                       "altura del pico menor: cubrir sale más barato."),
        "one_mode": ("El valle es profundo: la masa que q pondría entre los modos, donde p casi se anula, cuesta más "
                     "que fingir que un modo es toda p."),
    },
    "en": {
        "measured": ("Measured: the fit of KL(q||p) has s = {s_reverse:.3f}, {percent:.0f}% of the width of the fit "
                     "of KL(p||q) (s = {s_forward:.3f}); KL(q||p) = {kl_fit:.3f} for that fit and {kl_mode:.3f} for a q "
                     "sitting on the heavier mode."),
        "both_modes": ("Mode seeking needs a deep valley. Sitting on one mode costs up to log(1/0.6) ≈ 0.51 "
                       "nats, because q pretends that a mode holding 60% of the mass is all of p; covering both costs "
                       "what q puts in the valley, and here the valley keeps {valley_percent:.0f}% of the lower peak's height: "
                       "covering is cheaper."),
        "one_mode": ("The valley is deep: the mass q would put between the modes, where p almost vanishes, costs more "
                     "than pretending that one mode is all of p."),
    },
}


def mode_behaviour(s_reverse: float, s_forward: float) -> str:
    """Chapter 03, exercise 3: "one_mode" when the best fit of KL(q || p) is narrower than half the fit of KL(p || q)
    (the chapter's criterion for mode seeking), "both_modes" otherwise. Both arguments are standard deviations > 0.
    """
    if not (s_reverse > 0 and s_forward > 0):
        raise ValueError(f"expected two standard deviations > 0, got {s_reverse!r} and {s_forward!r}")
    return "one_mode" if s_reverse < 0.5 * s_forward else "both_modes"


def check_mode_prediction(prediction, s_reverse: float, s_forward: float, kl_fit: float, kl_mode: float,
                          valley: float, *, lang: str | None = None) -> check.Feedback:
    """Chapter 03, exercise 3: compare the student's prediction (one of `MODE_OPTIONS`, or None) with `mode_behaviour`.

    s_reverse, s_forward: the widths of the best fits of KL(q || p) and KL(p || q); kl_fit, kl_mode: KL(q || p) of
    that fit and of a q sitting on the heavier mode; valley: p at the valley over p at the lower peak. All are quoted
    in the explanation. Prints and returns the feedback;
    None means not attempted yet (it does not fail).
    """
    text = _PREDICTION[lang or config.language()]
    measured = mode_behaviour(s_reverse, s_forward)
    numbers = text["measured"].format(s_reverse=s_reverse, percent=100 * s_reverse / s_forward, s_forward=s_forward,
                                      kl_fit=kl_fit, kl_mode=kl_mode)
    why = text[measured].format(valley_percent=100 * valley)
    return check.prediction(prediction, measured, options=MODE_OPTIONS, explanation=[numbers, why], lang=lang)
