r"""Monte Carlo gradient estimators of d/d(mu, logvar) E_{z ~ N(mu, diag exp(logvar))}[f(z)]. Chapter 04.

Both estimators return PER-SAMPLE estimates, one row per draw z_l: their mean over the rows is the
usual Monte Carlo gradient, their spread is the estimator's variance (what chapter 04 measures).
f maps a batch of latent vectors z (n, d) to one value per row (n,) and must act row by row.
Only torch (and the torch-only gaussian and montecarlo modules) is imported here.
"""
from __future__ import annotations

from typing import Callable

import torch

from .gaussian import z_from_eps
from .montecarlo import variance_and_stderr

Objective = Callable[[torch.Tensor], torch.Tensor]
Grads = tuple[torch.Tensor, torch.Tensor]


def _check_params(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    for name, t in (("mu", mu), ("logvar", logvar)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 1 or not t.is_floating_point():
            raise ValueError(f"{name}: expected a 1-D float tensor (d,), got shape {tuple(t.shape)} {t.dtype}")
    if mu.shape != logvar.shape:
        raise ValueError(f"shapes must match: mu{tuple(mu.shape)}, logvar{tuple(logvar.shape)}")


def draw_eps(n: int, d: int, generator: torch.Generator | None = None,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """eps ~ N(0, I_d), n rows: -> (n, d). Chapter 04."""
    for name, k in (("n", n), ("d", d)):
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"{name} must be a positive int, got {k!r}")
    return torch.randn(n, d, generator=generator, dtype=dtype)


def _noise(mu: torch.Tensor, n: int | None, generator, eps: torch.Tensor | None) -> torch.Tensor:
    if (n is None) == (eps is None):
        raise ValueError("give exactly one of n (draw eps here) or eps (a fixed (n, d) tensor)")
    if eps is None:
        return draw_eps(n, mu.shape[0], generator, mu.dtype)
    if not isinstance(eps, torch.Tensor) or eps.ndim != 2 or eps.shape[1] != mu.shape[0]:
        got = tuple(eps.shape) if isinstance(eps, torch.Tensor) else type(eps).__name__
        raise ValueError(f"eps: expected shape (n, {mu.shape[0]}), got {got}")
    return eps.to(mu.dtype)


def _leaves(mu: torch.Tensor, logvar: torch.Tensor, n: int) -> Grads:
    """One private copy of (mu, logvar) per row, so autograd hands back one gradient per sample."""
    return (mu.detach().expand(n, -1).clone().requires_grad_(),
            logvar.detach().expand(n, -1).clone().requires_grad_())


def _evaluate(f: Objective, z: torch.Tensor) -> torch.Tensor:
    if not callable(f):
        raise TypeError(f"f: expected a callable z (n, d) -> (n,), got {type(f).__name__}")
    fz = f(z)
    if not isinstance(fz, torch.Tensor) or fz.shape != z.shape[:1]:
        got = tuple(fz.shape) if isinstance(fz, torch.Tensor) else type(fz).__name__
        raise ValueError(f"f(z): expected one value per row, shape ({z.shape[0]},), got {got}")
    return fz


def reparam_grad(f: Objective, mu: torch.Tensor, logvar: torch.Tensor, n: int | None = None,
                 generator: torch.Generator | None = None, *, eps: torch.Tensor | None = None) -> Grads:
    """Pathwise (reparameterization) estimates, (d,), (d,) -> (n, d), (n, d). Chapter 04."""
    _check_params(mu, logvar)
    eps = _noise(mu, n, generator, eps)
    with torch.enable_grad():
        mu_n, logvar_n = _leaves(mu, logvar, eps.shape[0])
        z = z_from_eps(mu_n, logvar_n, eps)  # z_l = mu + sigma * eps_l: differentiable in (mu, logvar)
        fz = _evaluate(f, z)
        if not fz.requires_grad:
            raise ValueError("f(z) is not differentiable in z (no autograd graph): "
                             "the reparameterization needs a differentiable f; use score_function_grad")
        # g_l = d f(mu + sigma * eps_l) / d(mu, logvar) = (f'(z_l), f'(z_l) * eps_l * sigma / 2)
        grads = torch.autograd.grad(fz.sum(), (mu_n, logvar_n), allow_unused=True)
    return tuple(torch.zeros_like(mu_n) if g is None else g for g in grads)


def score_function_grad(f: Objective, mu: torch.Tensor, logvar: torch.Tensor, n: int | None = None,
                        generator: torch.Generator | None = None, *, eps: torch.Tensor | None = None,
                        baseline: float | torch.Tensor | None = None) -> Grads:
    """Score-function (REINFORCE) estimates, (d,), (d,) -> (n, d), (n, d). Chapter 04."""
    _check_params(mu, logvar)
    eps = _noise(mu, n, generator, eps)
    b = torch.as_tensor(0.0 if baseline is None else baseline, dtype=mu.dtype)
    if b.ndim != 0 or not torch.isfinite(b):
        raise ValueError(f"baseline: expected a finite number independent of the samples, got {baseline!r}")
    with torch.enable_grad():
        mu_n, logvar_n = _leaves(mu, logvar, eps.shape[0])
        std_n = torch.exp(0.5 * logvar_n)
        z = z_from_eps(mu_n, logvar_n, eps).detach()  # a plain sample: nothing flows back through z
        fz = _evaluate(f, z).detach()
        log_q = torch.distributions.Normal(mu_n, std_n, validate_args=False).log_prob(z).sum(-1)  # log q(z_l), (n,)
        # g_l = (f(z_l) - b) * d log q(z_l) / d(mu, logvar) = (f - b) * (eps_l / sigma, (eps_l^2 - 1) / 2)
        grads = torch.autograd.grad(((fz - b) * log_q).sum(), (mu_n, logvar_n))
    return grads


def estimator_variance(estimator: Callable[..., Grads], f: Objective, mu: torch.Tensor,
                       logvar: torch.Tensor, L: int, repeats: int,
                       generator: torch.Generator | None = None, **kwargs) -> tuple[Grads, Grads]:
    """Variance of the L-sample average gradient over `repeats` runs: -> ((var, se) for mu, (var, se) for logvar), each (d,).

    Chapter 04.
    """
    for name, k in (("L", L), ("repeats", repeats)):
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"{name} must be a positive int, got {k!r}")
    if repeats < 2:
        raise ValueError(f"repeats must be >= 2 to measure a variance, got {repeats}")
    g_mu, g_logvar = estimator(f, mu, logvar, L * repeats, generator, **kwargs)
    # gradient with L samples: g = (1/L) sum_l g_l; its variance is measured across the repeats
    return tuple(variance_and_stderr(g.reshape(repeats, L, -1).mean(1)) for g in (g_mu, g_logvar))
