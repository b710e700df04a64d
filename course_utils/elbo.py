r"""The evidence lower bound (ELBO) for a Gaussian q: Monte Carlo estimator and closed forms. Chapter 02.

Conventions used by chapters 02-05:
- everything is per example: x (N, D), mu and logvar (N, d) -> values of shape (N,);
  the caller reduces (sum or mean over the batch), so the reduction is always visible;
- q(z|x_n) = N(mu[n], diag exp(logvar[n])), the notation table's names;
- the ELBO is a quantity to MAXIMIZE: ELBO <= log p(x); the training loss of later chapters is -ELBO.
Inputs may be tensors, arrays or nested lists (turned into float64 tensors); a vector (d,) is one row.
The Gaussian formulas themselves live in `course_utils.gaussian`.
"""
from __future__ import annotations

from typing import Callable

import torch

from .gaussian import LOG_2PI, kl_normal_full, kl_normal_std, log_normal, sample
from .latent_models import LinearGaussian
from .montecarlo import mean_and_stderr


def _as_rows(t, name: str) -> torch.Tensor:
    t = t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float64)
    if not torch.is_floating_point(t):
        t = t.to(torch.float64)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2:
        raise ValueError(f"{name}: expected shape (N, d) or (d,), got {tuple(t.shape)}")
    return t


def _check_q(mu, logvar) -> tuple[torch.Tensor, torch.Tensor]:
    mu, logvar = _as_rows(mu, "mu"), _as_rows(logvar, "logvar")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)}: expected equal shapes (N, d)")
    return mu, logvar.to(mu.dtype)


def elbo_from_samples(log_joint: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, mu,
                      logvar) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo ELBO per example from given samples z (S, N, d) of q, and its standard error: (N,), (N,). Chapter 02.

    log_joint maps z (S, N, d) to log p(x_n, z_sn) (S, N); see `log_joint_fn` for a LinearGaussian.
    """
    if not callable(log_joint):
        raise TypeError(f"log_joint: expected a callable z (S, N, d) -> (S, N), got {type(log_joint).__name__}")
    mu, logvar = _check_q(mu, logvar)
    z = torch.as_tensor(z)
    if z.ndim != 3 or z.shape[1:] != mu.shape:
        raise ValueError(f"z: expected shape (S, {mu.shape[0]}, {mu.shape[1]}), got {tuple(z.shape)}")
    log_p = log_joint(z)
    if not isinstance(log_p, torch.Tensor) or log_p.shape != z.shape[:2]:
        got = tuple(log_p.shape) if isinstance(log_p, torch.Tensor) else type(log_p).__name__
        raise ValueError(f"log_joint(z) returned {got}, expected shape {tuple(z.shape[:2])}")
    # ELBO_n ~= 1/S * sum_s [log p(x_n, z_s) - log q(z_s | x_n)],  z_s ~ q(z | x_n)   (mean over S only)
    log_w = log_p - log_normal(z, mu, logvar)  # (S, N)
    return mean_and_stderr(log_w)


def elbo_monte_carlo(log_joint: Callable[[torch.Tensor], torch.Tensor], mu, logvar,
                     n_samples: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n_samples z ~ q per example, then `elbo_from_samples`: estimate and standard error, (N,), (N,).

    Chapter 02.
    """
    mu, logvar = _check_q(mu, logvar)
    return elbo_from_samples(log_joint, sample(mu, logvar, n_samples, generator), mu, logvar)


def log_joint_fn(model: LinearGaussian, x) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap model.log_joint for `elbo_monte_carlo`: z (S, N, d) -> log p(x_n, z_sn) (S, N). Chapter 02."""
    x = _as_rows(x, "x").to(torch.float64)
    if x.shape[-1] != model.D:
        raise ValueError(f"x: expected shape (N, {model.D}), got {tuple(x.shape)}")

    def log_joint(z: torch.Tensor) -> torch.Tensor:
        S, N, d = z.shape
        if N != x.shape[0]:
            raise ValueError(f"z: expected shape (S, {x.shape[0]}, {model.d}), got {tuple(z.shape)}")
        return model.log_joint(x.expand(S, N, model.D).reshape(S * N, model.D), z.reshape(S * N, d)).reshape(S, N)

    return log_joint


def _check_model_q(model: LinearGaussian, x, mu, logvar):
    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model: expected a LinearGaussian, got {type(model).__name__}")
    mu, logvar = _check_q(mu, logvar)
    x = _as_rows(x, "x").to(mu.dtype)
    if x.shape[-1] != model.D or mu.shape[-1] != model.d or x.shape[0] != mu.shape[0]:
        raise ValueError(f"x {tuple(x.shape)}, mu {tuple(mu.shape)}: expected (N, {model.D}) and (N, {model.d})")
    return x, mu, logvar


def expected_log_likelihood_linear(x, mu, logvar, W, b, sigma) -> torch.Tensor:
    """E_q[log N(x; W z + b, sigma^2 I)] in closed form, x (N, D), q (N, d) -> (N,); W, b, sigma may carry gradients.

    Chapter 02.
    """
    mu, logvar = _check_q(mu, logvar)
    x = _as_rows(x, "x")
    sigma = torch.as_tensor(sigma, dtype=mu.dtype)
    if sigma.ndim != 0 or not bool(sigma > 0):
        raise ValueError(f"sigma: expected one positive number (the decoder's noise scale), got {sigma.tolist()!r}")
    var = sigma**2
    residual = x - mu @ W.T - b  # (N, D)
    spread = (logvar.exp() * (W**2).sum(0)).sum(-1)  # tr(W V W^T) with V = diag exp(logvar), (N,)
    # E_q log N(x; W z + b, s^2 I) = -D/2 log(2 pi s^2) - (||x - W mu - b||^2 + tr(W V W^T)) / (2 s^2)
    return -0.5 * x.shape[-1] * (LOG_2PI + torch.log(var)) - ((residual**2).sum(-1) + spread) / (2 * var)


def expected_log_likelihood_linear_gaussian(model: LinearGaussian, x, mu, logvar) -> torch.Tensor:
    """Reconstruction term E_q[log p(x|z)] of a LinearGaussian model in closed form -> (N,). Chapter 02."""
    x, mu, logvar = _check_model_q(model, x, mu, logvar)
    W, b = model.W.to(mu.dtype), model.b.to(mu.dtype)
    return expected_log_likelihood_linear(x, mu, logvar, W, b, model.sigma)


def elbo_linear_gaussian_closed_form(model: LinearGaussian, x, mu, logvar) -> torch.Tensor:
    """Exact ELBO of the linear-Gaussian model for Gaussian q: reconstruction - KL(q || p(z)) -> (N,). Chapter 02."""
    x, mu, logvar = _check_model_q(model, x, mu, logvar)
    # ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))   (maximize; one value per example)
    return expected_log_likelihood_linear_gaussian(model, x, mu, logvar) - kl_normal_std(mu, logvar)


def elbo_gap_linear_gaussian(model: LinearGaussian, x, mu, logvar) -> torch.Tensor:
    """The gap log p(x) - ELBO = KL(q(z|x) || p(z|x)), computed from the exact posterior -> (N,). Chapter 02."""
    x, mu, logvar = _check_model_q(model, x, mu, logvar)
    post_mean, post_cov = model.posterior(x)
    # gap = KL(q || p(z|x)) >= 0, zero iff q is the exact posterior
    return kl_normal_full(mu, logvar, post_mean.to(mu.dtype), post_cov.to(mu.dtype))
