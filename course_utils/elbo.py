r"""The evidence lower bound (ELBO) for a Gaussian q: Monte Carlo estimator and closed forms (chapter 02).

Conventions used by chapters 02-05:
- everything is per example: x (N, D), q_mean and q_var / q_logvar (N, d) -> values of shape (N,);
  the caller reduces (sum or mean over the batch), so the reduction is always visible;
- q(z|x_n) = N(q_mean[n], diag(q_var[n])) with q_var = exp(q_logvar);
- the ELBO is a quantity to MAXIMIZE: ELBO <= log p(x); the training loss of later chapters is -ELBO.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .latent_models import LinearGaussian, log_normal_diag
from .losses import kl_normal_std

LOG_2PI = math.log(2 * math.pi)


def _as_float(t, name: str) -> torch.Tensor:
    t = t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float64)
    if not torch.is_floating_point(t):
        t = t.to(torch.float64)
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2:
        raise ValueError(f"{name}: expected shape (N, d) or (d,), got {tuple(t.shape)}")
    return t


def _check_q(q_mean, q_spread, spread_name: str, positive: bool) -> tuple[torch.Tensor, torch.Tensor]:
    q_mean, q_spread = _as_float(q_mean, "q_mean"), _as_float(q_spread, spread_name)
    if q_mean.shape != q_spread.shape:
        raise ValueError(f"q_mean {tuple(q_mean.shape)} and {spread_name} {tuple(q_spread.shape)}: "
                         "expected equal shapes (N, d)")
    if positive and not bool((q_spread > 0).all()):
        raise ValueError(f"{spread_name}: expected strictly positive variances")
    return q_mean, q_spread


def gaussian_entropy(q_logvar) -> torch.Tensor:
    """Entropy H[N(mu, diag(exp(q_logvar)))], q_logvar (N, d) -> (N,); does not depend on mu."""
    q_logvar = _as_float(q_logvar, "q_logvar")
    # H = 1/2 * sum_j (log 2 pi + 1 + log sigma_j^2)   (nats, one value per example)
    return 0.5 * (LOG_2PI + 1.0 + q_logvar).sum(-1)


def kl_standard_normal(q_mean, q_var) -> torch.Tensor:
    """KL(N(q_mean, diag q_var) || N(0, I)), (N, d) -> (N,); derived in chapter 03."""
    q_mean, q_var = _check_q(q_mean, q_var, "q_var", positive=True)
    # KL = 1/2 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)   (>= 0, one value per example)
    return kl_normal_std(q_mean, torch.log(q_var))


def kl_diag_to_gaussian(q_mean, q_var, p_mean, p_cov) -> torch.Tensor:
    """KL(N(q_mean, diag q_var) || N(p_mean, p_cov)), q: (N, d), p_mean (N, d) or (d,), p_cov (d, d) -> (N,)."""
    q_mean, q_var = _check_q(q_mean, q_var, "q_var", positive=True)
    d = q_mean.shape[-1]
    p_cov = torch.as_tensor(p_cov, dtype=q_mean.dtype)
    if p_cov.shape != (d, d):
        raise ValueError(f"p_cov: expected shape ({d}, {d}), got {tuple(p_cov.shape)}")
    p_mean = torch.as_tensor(p_mean, dtype=q_mean.dtype).expand_as(q_mean)
    p_prec = torch.linalg.inv(p_cov)
    diff = p_mean - q_mean
    # KL = 1/2 * (tr(P^-1 V) + (mu_p - mu_q)^T P^-1 (mu_p - mu_q) - d + log det P - sum_j log v_j)
    trace = (torch.diagonal(p_prec) * q_var).sum(-1)
    mahalanobis = ((diff @ p_prec) * diff).sum(-1)
    return 0.5 * (trace + mahalanobis - d + torch.logdet(p_cov) - torch.log(q_var).sum(-1))


def sample_q(q_mean, q_logvar, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw z_s ~ N(q_mean, diag exp(q_logvar)) for every example: (N, d) -> (n_samples, N, d)."""
    q_mean, q_logvar = _check_q(q_mean, q_logvar, "q_logvar", positive=False)
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    eps = torch.randn((n_samples, *q_mean.shape), generator=generator, dtype=q_mean.dtype)
    # z = mu + sigma * eps, eps ~ N(0, I)   (the reparameterization of chapter 04)
    return q_mean + torch.exp(0.5 * q_logvar) * eps


def mean_and_stderr(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo mean over the first axis and its standard error: (S, ...) -> (...), (...)."""
    values = torch.as_tensor(values)
    if values.ndim < 1 or values.shape[0] < 2:
        raise ValueError(f"values: expected at least 2 samples along axis 0, got shape {tuple(values.shape)}")
    # stderr = std(values, ddof=1) / sqrt(S)
    return values.mean(0), values.std(0) / math.sqrt(values.shape[0])


def elbo_from_samples(log_joint: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, q_mean,
                      q_logvar) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte Carlo ELBO per example from given samples z (S, N, d) of q, and its standard error: (N,), (N,).

    log_joint maps z (S, N, d) to log p(x_n, z_sn) (S, N); see `log_joint_fn` for a LinearGaussian.
    """
    if not callable(log_joint):
        raise TypeError(f"log_joint must be a callable z (S, N, d) -> (S, N), got {type(log_joint).__name__}")
    q_mean, q_logvar = _check_q(q_mean, q_logvar, "q_logvar", positive=False)
    z = torch.as_tensor(z)
    if z.ndim != 3 or z.shape[1:] != q_mean.shape:
        raise ValueError(f"z: expected shape (S, {q_mean.shape[0]}, {q_mean.shape[1]}), got {tuple(z.shape)}")
    log_p = log_joint(z)
    if not isinstance(log_p, torch.Tensor) or log_p.shape != z.shape[:2]:
        got = tuple(log_p.shape) if isinstance(log_p, torch.Tensor) else type(log_p).__name__
        raise ValueError(f"log_joint(z) returned {got}, expected shape {tuple(z.shape[:2])}")
    # ELBO_n ~= 1/S * sum_s [log p(x_n, z_s) - log q(z_s | x_n)],  z_s ~ q(z | x_n)   (mean over S only)
    log_w = log_p - log_normal_diag(z, q_mean, torch.exp(q_logvar))  # (S, N)
    return mean_and_stderr(log_w)


def elbo_monte_carlo(log_joint: Callable[[torch.Tensor], torch.Tensor], q_mean, q_logvar,
                     n_samples: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw n_samples z ~ q per example, then `elbo_from_samples`: ELBO estimate and standard error, (N,), (N,)."""
    return elbo_from_samples(log_joint, sample_q(q_mean, q_logvar, n_samples, generator), q_mean, q_logvar)


def log_joint_fn(model: LinearGaussian, x) -> Callable[[torch.Tensor], torch.Tensor]:
    """Wrap model.log_joint for `elbo_monte_carlo`: z (S, N, d) -> log p(x_n, z_sn) (S, N)."""
    x = _as_float(x, "x").to(torch.float64)
    if x.shape[-1] != model.D:
        raise ValueError(f"x: expected shape (N, {model.D}), got {tuple(x.shape)}")

    def log_joint(z: torch.Tensor) -> torch.Tensor:
        S, N, d = z.shape
        if N != x.shape[0]:
            raise ValueError(f"z: expected shape (S, {x.shape[0]}, {model.d}), got {tuple(z.shape)}")
        return model.log_joint(x.expand(S, N, model.D).reshape(S * N, model.D), z.reshape(S * N, d)).reshape(S, N)

    return log_joint


def _check_model_q(model: LinearGaussian, x, q_mean, q_var):
    if not isinstance(model, LinearGaussian):
        raise TypeError(f"model: expected a LinearGaussian, got {type(model).__name__}")
    q_mean, q_var = _check_q(q_mean, q_var, "q_var", positive=True)
    x = _as_float(x, "x").to(q_mean.dtype)
    if x.shape[-1] != model.D or q_mean.shape[-1] != model.d or x.shape[0] != q_mean.shape[0]:
        raise ValueError(f"x {tuple(x.shape)}, q_mean {tuple(q_mean.shape)}: "
                         f"expected (N, {model.D}) and (N, {model.d})")
    return x, q_mean, q_var


def expected_log_likelihood_linear(x, q_mean, q_var, W, b, sigma) -> torch.Tensor:
    """E_q[log N(x; W z + b, sigma^2 I)] in closed form, x (N, D), q (N, d) -> (N,); W, b, sigma may carry gradients."""
    x, q_mean, q_var = _as_float(x, "x"), _as_float(q_mean, "q_mean"), _as_float(q_var, "q_var")
    var = torch.as_tensor(sigma, dtype=q_mean.dtype) ** 2
    residual = x - q_mean @ W.T - b  # (N, D)
    spread = (q_var * (W**2).sum(0)).sum(-1)  # tr(W diag(v) W^T), (N,)
    # E_q log N(x; W z + b, s^2 I) = -D/2 log(2 pi s^2) - (||x - W mu - b||^2 + tr(W V W^T)) / (2 s^2)
    return -0.5 * x.shape[-1] * (LOG_2PI + torch.log(var)) - ((residual**2).sum(-1) + spread) / (2 * var)


def expected_log_likelihood_linear_gaussian(model: LinearGaussian, x, q_mean, q_var) -> torch.Tensor:
    """Reconstruction term E_q[log p(x|z)] of a LinearGaussian model in closed form -> (N,)."""
    x, q_mean, q_var = _check_model_q(model, x, q_mean, q_var)
    W, b = model.W.to(q_mean.dtype), model.b.to(q_mean.dtype)
    return expected_log_likelihood_linear(x, q_mean, q_var, W, b, model.sigma)


def elbo_linear_gaussian_closed_form(model: LinearGaussian, x, q_mean, q_var) -> torch.Tensor:
    """Exact ELBO of the linear-Gaussian model for Gaussian q: reconstruction - KL(q || p(z)) -> (N,)."""
    # ELBO = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))   (maximize; one value per example)
    return expected_log_likelihood_linear_gaussian(model, x, q_mean, q_var) - kl_standard_normal(q_mean, q_var)


def elbo_gap_linear_gaussian(model: LinearGaussian, x, q_mean, q_var) -> torch.Tensor:
    """The gap log p(x) - ELBO = KL(q(z|x) || p(z|x)), computed from the exact posterior -> (N,)."""
    x, q_mean, q_var = _check_model_q(model, x, q_mean, q_var)
    post_mean, post_cov = model.posterior(x)
    # gap = KL(q || p(z|x)) >= 0, zero iff q is the exact posterior
    return kl_diag_to_gaussian(q_mean, q_var, post_mean.to(q_mean.dtype), post_cov.to(q_mean.dtype))
