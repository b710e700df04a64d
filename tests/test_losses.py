"""Tests of course_utils.losses: torch.distributions oracles, properties (hypothesis), input errors, gradients."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from course_utils import losses

F64 = torch.float64


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def diagonal_normal(mu, logvar):
    return Independent(Normal(mu, (0.5 * logvar).exp()), mu.ndim - 1)


@st.composite
def gaussian_params(draw, count=2):
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    values = arrays(np.float64, (n, d), elements=st.floats(-4, 4, allow_nan=False))
    return [torch.from_numpy(draw(values)) for _ in range(count)]


# ---------------------------------------------------------------- oracles
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 20)])
def test_kl_normal_std_matches_torch(shape):
    mu, logvar = randn(*shape, seed=1), randn(*shape, seed=2)
    prior = diagonal_normal(torch.zeros(shape, dtype=F64), torch.zeros(shape, dtype=F64))
    expected = kl_divergence(diagonal_normal(mu, logvar), prior)
    torch.testing.assert_close(losses.kl_normal_std(mu, logvar), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (4, 6)])
def test_kl_normal_matches_torch(shape):
    mu_q, logvar_q, mu_p, logvar_p = (randn(*shape, seed=s) for s in range(4))
    expected = kl_divergence(diagonal_normal(mu_q, logvar_q), diagonal_normal(mu_p, logvar_p))
    torch.testing.assert_close(losses.kl_normal(mu_q, logvar_q, mu_p, logvar_p), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("binary", [True, False])
def test_bernoulli_nll_matches_torch(binary):
    x_logits = randn(3, 1, 4, 4, seed=5)
    x = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(6), dtype=F64)
    x = x.round() if binary else x
    expected = -Independent(Bernoulli(logits=x_logits, validate_args=False), 3).log_prob(x)
    torch.testing.assert_close(losses.bernoulli_nll(x_logits, x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("logvar", [0.0, -1.3, "tensor"])
def test_gaussian_nll_matches_torch(logvar):
    x_hat, x = randn(2, 3, 4, 4, seed=7), randn(2, 3, 4, 4, seed=8)
    logvar = randn(1, 3, 1, 1, seed=9) if logvar == "tensor" else logvar
    std = torch.exp(0.5 * torch.as_tensor(logvar, dtype=F64)).expand_as(x_hat)
    expected = -Independent(Normal(x_hat, std), 3).log_prob(x)
    torch.testing.assert_close(losses.gaussian_nll(x_hat, x, logvar), expected, rtol=1e-12, atol=1e-12)


def test_every_loss_returns_one_value_per_example():
    a, b = randn(5, 2, 3, seed=10), randn(5, 2, 3, seed=11)
    outputs = [losses.kl_normal_std(a, b), losses.kl_normal(a, b, b, a), losses.gaussian_nll(a, b),
               losses.bernoulli_nll(a, torch.sigmoid(b))]
    assert [tuple(o.shape) for o in outputs] == [(5,)] * 4
    assert losses.kl_normal_std(a.float(), b.float()).dtype == torch.float32


# ---------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(gaussian_params())
def test_kl_is_non_negative(params):
    mu, logvar = params
    assert (losses.kl_normal_std(mu, logvar) >= 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_kl_is_exactly_non_negative_near_the_prior(dtype):
    logvar = torch.linspace(-1e-7, 1e-7, 2001, dtype=dtype)[:, None]  # (2001, 1)
    assert (losses.kl_normal_std(torch.zeros_like(logvar), logvar) >= 0).all()
    assert (losses.kl_normal(torch.zeros_like(logvar), logvar, torch.zeros_like(logvar), -logvar) >= 0).all()


@settings(max_examples=60, deadline=None)
@given(gaussian_params())
def test_kl_is_zero_only_at_the_prior(params):
    mu, logvar = params
    kl = losses.kl_normal_std(mu, logvar)
    at_prior = ((mu == 0) & (logvar == 0)).all(dim=-1)
    assert (kl[at_prior] == 0).all()
    far = (mu.abs() > 1e-3).any(dim=-1) | (logvar.abs() > 1e-3).any(dim=-1)
    assert (kl[far] > 0).all()


@settings(max_examples=60, deadline=None)
@given(gaussian_params(count=4))
def test_kl_normal_properties(params):
    mu_q, logvar_q, mu_p, logvar_p = params
    torch.testing.assert_close(losses.kl_normal(mu_q, logvar_q, mu_q, logvar_q), torch.zeros(len(mu_q), dtype=F64),
                               rtol=0, atol=1e-12)
    zeros = torch.zeros_like(mu_q)
    torch.testing.assert_close(losses.kl_normal(mu_q, logvar_q, zeros, zeros), losses.kl_normal_std(mu_q, logvar_q),
                               rtol=1e-12, atol=1e-12)
    assert (losses.kl_normal(mu_q, logvar_q, mu_p, logvar_p) >= -1e-12).all()


# ---------------------------------------------------------------- input errors
@pytest.mark.parametrize("call, error, match", [
    (lambda: losses.kl_normal_std(np.zeros((2, 3)), torch.zeros(2, 3)), TypeError, r"mu: expected a torch.Tensor"),
    (lambda: losses.kl_normal_std(torch.zeros(3), torch.zeros(3)), ValueError, r"batch axis first"),
    (lambda: losses.kl_normal_std(torch.zeros(2, 3), torch.full((2, 3), float("nan"))), ValueError, r"logvar: holds NaN"),
    (lambda: losses.kl_normal_std(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError, r"shapes must match: mu\(2, 3\), logvar\(2, 4\)"),
    (lambda: losses.kl_normal(*[torch.zeros(2, 3)] * 3, torch.zeros(3, 3)), ValueError, r"shapes must match"),
    (lambda: losses.bernoulli_nll(torch.zeros(2, 3), torch.full((2, 3), 1.5)), ValueError, r"must lie in \[0, 1\]"),
    (lambda: losses.gaussian_nll(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(4)), ValueError, r"does not broadcast"),
    (lambda: losses.gaussian_nll(torch.zeros(2, 3), torch.zeros(2, 3), float("inf")), ValueError, r"logvar: holds NaN"),
    (lambda: losses.reparameterize(torch.zeros(2, 3), torch.zeros(3, 2)), ValueError, r"shapes must match"),
])
def test_input_errors_say_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- reparameterize
def test_reparameterize_gradient_path():
    mu, logvar = randn(4, 3, seed=12).requires_grad_(), randn(4, 3, seed=13).requires_grad_()
    z = losses.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    torch.testing.assert_close(z, mu + eps * (0.5 * logvar).exp(), rtol=1e-12, atol=1e-12)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, 0.5 * eps * (0.5 * logvar.detach()).exp())


def test_reparameterize_moments():
    n = 200_000
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=F64).expand(n, 3)
    logvar = torch.tensor([[0.0, 1.0, -2.0]], dtype=F64).expand(n, 3)
    z = losses.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(1))  # (n, 3)
    std = (0.5 * logvar[0]).exp()
    assert ((z.mean(0) - mu[0]).abs() < 4 * std / n**0.5).all()
    assert ((z.std(0) - std).abs() < 4 * std / (2 * n) ** 0.5).all()
