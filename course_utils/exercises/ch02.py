r"""Chapter 02 (the ELBO via Jensen's inequality): reference answers of the exercises and their checks.

- exercise 1 (transcription): `elbo_from_samples`, the Monte Carlo estimate of the ELBO per data point;
- exercise 2 (derivation): `elbo_1d_expression` / `elbo_1d`, the ELBO of the 1-D linear-Gaussian model for
  q = N(mu, sigma^2), written as log p(x) - KL(q || p(z|x)) so that a student's direct derivation
  (reconstruction + E_q[log p(z)] + entropy) is compared with the other side of the gap identity;
- exercise 3 (predict, then run): `bound_trend` reads what happens to E[log (1/S) sum_s W_s] as S grows,
  and `check_bound_prediction` compares it with the student's prediction.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import sympy as sp
import torch

from .. import check, config, elbo, gaussian
from ..latent_models import LinearGaussian

# ---------------------------------------------------------------- exercise 1


def elbo_from_samples(model: LinearGaussian, x: torch.Tensor, z: torch.Tensor, mu: torch.Tensor,
                      logvar: torch.Tensor) -> torch.Tensor:
    """Chapter 02, exercise 1: the ELBO per data point from given samples of q.

    x (N, D); z (S, N, d) drawn from q(z | x_n) = N(mu_n, diag exp(logvar_n)); mu, logvar (N, d) -> (N,):
    the mean over the S samples (axis 0) of log p(x_n, z_sn) - log q(z_sn | x_n).
    """
    log_joint = elbo.log_joint_fn(model, x)(z)  # (S, N)
    return (log_joint - gaussian.log_normal(z, mu, logvar)).mean(0)  # (N,)


def elbo_from_samples_cases() -> list[tuple]:
    """Chapter 02, exercise 1: the check's arguments, (model, x (4, 2), z (S, 4, 1), mu (4, 1), logvar (4, 1)).

    A linear-Gaussian model with D = 2, d = 1; one case with S = 5 samples and one with S = 1000.
    """
    model = LinearGaussian([[1.0], [-0.5]], [0.2, -0.1], 0.8)
    cases = []
    for seed, n_samples in ((1, 5), (2, 1000)):
        g = torch.Generator().manual_seed(seed)
        x = model.sample(4, g)[0]  # (4, 2)
        mu = torch.randn(4, 1, generator=g, dtype=torch.float64)
        logvar = (torch.rand(4, 1, generator=g, dtype=torch.float64) + 0.2).log()
        cases.append((model, x, gaussian.sample(mu, logvar, n_samples, g), mu, logvar))
    return cases


# ---------------------------------------------------------------- exercise 2


def elbo_1d_symbols() -> tuple[sp.Symbol, ...]:
    """Chapter 02, exercise 2: (w, b, s, x, mu, sigma); b, x, mu real, w, s, sigma positive (as in the chapter)."""
    x, b, mu = sp.symbols("x b mu", real=True)
    w, s, sigma = sp.symbols("w s sigma", positive=True)
    return w, b, s, x, mu, sigma


def _log_normal_sym(value, mean, var):
    return -sp.log(2 * sp.pi * var) / 2 - (value - mean) ** 2 / (2 * var)


def elbo_1d_expression() -> sp.Expr:
    r"""Chapter 02, exercise 2: ELBO(q) of z ~ N(0, 1), x | z ~ N(w z + b, s^2), q = N(mu, sigma^2), in SymPy.

    Written as the other side of the gap identity, log p(x) - KL(q || p(z|x)), with p(x) = N(x; b, w^2 + s^2)
    and p(z|x) = N(m, v), m = w (x - b) / (w^2 + s^2), v = s^2 / (w^2 + s^2). A scalar expression in
    `elbo_1d_symbols()`.
    """
    w, b, s, x, mu, sigma = elbo_1d_symbols()
    m, v = w * (x - b) / (w**2 + s**2), s**2 / (w**2 + s**2)
    kl = sp.log(sp.sqrt(v) / sigma) + (sigma**2 + (mu - m) ** 2) / (2 * v) - sp.Rational(1, 2)
    return _log_normal_sym(x, b, w**2 + s**2) - kl


def elbo_1d(w, b, s, x, mu, sigma):
    """Chapter 02, exercise 2: the same ELBO as numbers; NumPy arrays of one shape (or floats) -> that shape."""
    w, b, s, x, mu, sigma = (np.asarray(a, dtype=np.float64) for a in (w, b, s, x, mu, sigma))
    m, v = w * (x - b) / (w**2 + s**2), s**2 / (w**2 + s**2)
    log_evidence = -0.5 * np.log(2 * np.pi * (w**2 + s**2)) - (x - b) ** 2 / (2 * (w**2 + s**2))
    kl = np.log(np.sqrt(v) / sigma) + (sigma**2 + (mu - m) ** 2) / (2 * v) - 0.5
    return log_evidence - kl


def elbo_1d_cases() -> list[tuple]:
    """Chapter 02, exercise 2: one case, six arrays (w, b, s, x, mu, sigma) of shape (8,); the first is the chapter's.

    One vector case (not eight scalar ones), so that the check can tell a constant offset or factor from noise.
    """
    rng = np.random.default_rng(2)
    low, high = np.array([0.3, -1.0, 0.3, -2.0, -1.5, 0.2]), np.array([2.5, 1.0, 1.5, 3.0, 1.5, 1.5])
    values = rng.uniform(low, high, size=(8, 6))
    values[0] = [2.0, 0.5, 1.0, 2.5, 0.2, 0.7]  # the chapter's model, x and q = N(0.2, 0.7^2)
    return [tuple(values.T.copy())]


def check_elbo_expression(student_expression, *, lang: str | None = None) -> check.Feedback:
    """Chapter 02, exercise 2: evaluate the student's SymPy expression on `elbo_1d_cases()` and compare with `elbo_1d`.

    `student_expression` is a function with no arguments that returns the expression (it may raise
    NotImplementedError: not attempted yet). Prints and returns the feedback of `check.function`.
    """
    return check.expression(student_expression, elbo_1d_symbols(), elbo_1d, elbo_1d_cases(), name="ELBO(mu, sigma)",
                            lang=lang)


# ---------------------------------------------------------------- exercise 3

BOUND_OPTIONS = ("stays", "rises", "overshoots", "falls")

_PREDICTION = {
    "es": {
        "measured": ("Medido: {first:+.4f} con S = {s_first} (el ELBO, {elbo:+.4f}) y {last:+.4f} con S = {s_last}; "
                     "log p(x) = {log_px:+.4f}."),
        "rises": ("Promediar S pesos antes del logaritmo es Jensen aplicado a una variable menos dispersa: la media de "
                  "S pesos sigue teniendo esperanza p(x), así que la cota nunca pasa de log p(x), pero fluctúa menos, "
                  "y la brecha de Jensen se encoge al crecer S. No es solo menos ruido: cambia la "
                  "cantidad estimada."),
        "other": "Esta medición no sigue la teoría: revisa el código de la celda de medición.",
    },
    "en": {
        "measured": ("Measured: {first:+.4f} with S = {s_first} (the ELBO, {elbo:+.4f}) and {last:+.4f} with "
                     "S = {s_last}; log p(x) = {log_px:+.4f}."),
        "rises": ("Averaging S weights before the log is Jensen applied to a less variable quantity: the mean of S "
                  "weights still has expectation p(x), so the bound never passes log p(x), but it fluctuates less, "
                  "and Jensen's gap shrinks as S grows. It is not just less noise: the estimated quantity "
                  "changes."),
        "other": "This measurement does not follow the theory: check the code of the measurement cell.",
    },
}


def bound_trend(sizes: Sequence[int], means: Sequence[float], stderrs: Sequence[float], elbo_value: float,
                log_px: float, k: float = 4.0) -> str:
    """Chapter 02, exercise 3: what E[log (1/S) sum_s W_s] does as S grows, read from estimates ± standard errors.

    sizes, means, stderrs: one entry per S, S increasing. Returns one of `BOUND_OPTIONS`: "overshoots" if some
    estimate lies more than k standard errors above log p(x); "stays" if every estimate is within k standard errors
    of the ELBO; "rises" / "falls" if the last estimate is above / below the first by more than k combined standard
    errors ("stays" otherwise).
    """
    sizes, means, stderrs = (np.asarray(a, dtype=np.float64) for a in (sizes, means, stderrs))
    if not (sizes.ndim == 1 and sizes.shape == means.shape == stderrs.shape and len(sizes) >= 2):
        raise ValueError("sizes, means and stderrs: expected 1-D sequences of one length >= 2")
    if np.any(np.diff(sizes) <= 0):
        raise ValueError(f"sizes: expected increasing numbers of samples, got {sizes.tolist()}")
    if np.any(means > log_px + k * stderrs):
        return "overshoots"
    if np.all(np.abs(means - elbo_value) <= k * stderrs):
        return "stays"
    change, noise = means[-1] - means[0], k * math.hypot(stderrs[0], stderrs[-1])
    if change > noise:
        return "rises"
    if change < -noise:
        return "falls"
    return "stays"


def check_bound_prediction(prediction, sizes: Sequence[int], means: Sequence[float], stderrs: Sequence[float],
                           elbo_value: float, log_px: float, *, lang: str | None = None) -> check.Feedback:
    """Chapter 02, exercise 3: compare the student's prediction (one of `BOUND_OPTIONS`, or None) with `bound_trend`.

    Prints and returns the feedback; None means not attempted yet (it does not fail). The explanation quotes the
    measured first and last estimates.
    """
    text = _PREDICTION[lang or config.language()]
    measured = bound_trend(sizes, means, stderrs, elbo_value, log_px)
    numbers = text["measured"].format(first=means[0], s_first=sizes[0], elbo=elbo_value, last=means[-1],
                                      s_last=sizes[-1], log_px=log_px)
    why = text["rises"] if measured == "rises" else text["other"]
    return check.prediction(prediction, measured, options=BOUND_OPTIONS, explanation=[numbers, why], lang=lang)
