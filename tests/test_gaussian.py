"""course_utils.gaussian: log-density, sampling, reparameterization and KL divergences of diagonal Gaussians.

Oracles are torch.distributions (Normal, Independent, MultivariateNormal, kl_divergence); sampling is
checked by moments within their standard errors; properties of the KL run under hypothesis.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_within_stderr
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from course_utils import gaussian
from course_utils.montecarlo import mean_and_stderr, variance_and_stderr

F64 = torch.float64


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def diagonal_normal(mu, logvar):
    return Independent(Normal(mu, (0.5 * logvar).exp()), 1)


@st.composite
def gaussian_params(draw, count=2):
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    values = arrays(np.float64, (n, d), elements=st.floats(-4, 4, allow_nan=False))
    return [torch.from_numpy(draw(values)) for _ in range(count)]


def test_log_2pi():
    assert gaussian.LOG_2PI == pytest.approx(math.log(2 * math.pi), rel=1e-15)


# ---------------------------------------------------------------- log_normal
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 4, 6)])
def test_log_normal_matches_torch(shape):
    x, mu, logvar = randn(*shape, seed=1), randn(*shape, seed=2), randn(*shape, seed=3)
    expected = Normal(mu, (0.5 * logvar).exp()).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian.log_normal(x, mu, logvar), expected, rtol=1e-12, atol=1e-12)


def test_log_normal_with_variance_as_the_old_log_normal_diag():
    """What latent_models.log_normal_diag(x, mean, var) gave is log_normal(x, mean, var.log())."""
    x, mean = randn(5, 3, seed=4), randn(5, 3, seed=5)
    var = torch.rand(5, 3, generator=torch.Generator().manual_seed(6), dtype=F64) + 0.1
    expected = Normal(mean, var.sqrt()).log_prob(x).sum(-1)
    torch.testing.assert_close(gaussian.log_normal(x, mean, var.log()), expected, rtol=1e-12, atol=1e-12)


def test_log_normal_broadcasts_samples_over_rows():
    z, mu, logvar = randn(7, 4, 3, seed=7), randn(4, 3, seed=8), randn(4, 3, seed=9)  # (S, N, d), (N, d)
    value = gaussian.log_normal(z, mu, logvar)
    assert value.shape == (7, 4)
    torch.testing.assert_close(value, diagonal_normal(mu, logvar).log_prob(z), rtol=1e-12, atol=1e-12)


def test_log_normal_of_the_standard_normal_at_zero():
    d = 5
    value = gaussian.log_normal(torch.zeros(1, d, dtype=F64), torch.zeros(1, d, dtype=F64), torch.zeros(1, d, dtype=F64))
    assert float(value) == pytest.approx(-0.5 * d * math.log(2 * math.pi), rel=1e-14)


# ---------------------------------------------------------------- z_from_eps, reparameterize, sample
def test_z_from_eps_is_mu_plus_sigma_eps_and_inverts():
    mu, logvar, eps = randn(4, 3, seed=10), randn(4, 3, seed=11), randn(4, 3, seed=12)
    z = gaussian.z_from_eps(mu, logvar, eps)
    sigma = torch.exp(0.5 * logvar)
    torch.testing.assert_close(z, mu + sigma * eps, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close((z - mu) / sigma, eps, rtol=1e-12, atol=1e-12)  # eps = (z - mu) / sigma
    torch.testing.assert_close(gaussian.z_from_eps(mu, logvar, torch.zeros_like(eps)), mu, rtol=0, atol=0)
    torch.testing.assert_close(gaussian.z_from_eps(mu, torch.zeros_like(logvar), eps), mu + eps, rtol=0, atol=0)


def test_z_from_eps_broadcasts_samples():
    mu, logvar, eps = randn(4, 3, seed=13), randn(4, 3, seed=14), randn(6, 4, 3, seed=15)
    z = gaussian.z_from_eps(mu, logvar, eps)
    assert z.shape == (6, 4, 3)
    torch.testing.assert_close(z[2], gaussian.z_from_eps(mu, logvar, eps[2]), rtol=0, atol=0)


def test_z_from_eps_gradcheck():
    mu, logvar = randn(3, 2, seed=16).requires_grad_(), randn(3, 2, seed=17).requires_grad_()
    eps = randn(3, 2, seed=18)
    assert torch.autograd.gradcheck(lambda m, lv: gaussian.z_from_eps(m, lv, eps), (mu, logvar))


def test_reparameterize_gradient_path():
    mu, logvar = randn(4, 3, seed=12).requires_grad_(), randn(4, 3, seed=13).requires_grad_()
    z = gaussian.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(0))
    eps = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    torch.testing.assert_close(z, mu + eps * (0.5 * logvar).exp(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(z, gaussian.z_from_eps(mu, logvar, eps), rtol=0, atol=0)
    z.sum().backward()
    # dz/dmu = 1, dz/dlogvar = eps * sigma / 2: the gradient reaches both parameters
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, 0.5 * eps * (0.5 * logvar.detach()).exp())
    assert (mu.grad != 0).all() and (logvar.grad != 0).all()


def test_reparameterize_is_seeded_and_keeps_dtype():
    mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)
    a = gaussian.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    b = gaussian.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
    c = gaussian.reparameterize(mu, logvar, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32 and a.shape == (3, 2)


def test_reparameterize_moments():
    n = 200_000
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=F64).expand(n, 3)
    logvar = torch.tensor([[0.0, 1.0, -2.0]], dtype=F64).expand(n, 3)
    z = gaussian.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(1))  # (n, 3)
    std = (0.5 * logvar[0]).exp()
    mean, se_mean = mean_and_stderr(z)
    assert_within_stderr(mean, mu[0], se_mean, what="mean of z")
    assert_within_stderr(mean, mu[0], std / math.sqrt(n), what="mean of z (exact stderr)")
    var, se_var = variance_and_stderr(z)
    assert_within_stderr(var, std**2, se_var, what="variance of z")


def test_sample_shape_and_moments():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 2, generator=g, dtype=F64)
    var = torch.rand(4, 2, generator=g, dtype=F64) + 0.1
    z = gaussian.sample(mu, var.log(), 200_000, g)
    assert z.shape == (200_000, 4, 2) and z.dtype == F64
    mean, se = mean_and_stderr(z)
    assert_within_stderr(mean, mu, se, what="sample mean")
    v, se_v = variance_and_stderr(z)
    assert_within_stderr(v, var, se_v, what="sample variance")
    # rows are independent: the sample correlation of two coordinates is within its stderr 1/sqrt(S) of 0
    centred = (z - mean) / v.sqrt()
    corr = (centred[:, 0, 0] * centred[:, 0, 1]).mean()
    assert_within_stderr(corr, 0.0, 1 / math.sqrt(len(z)), what="correlation of z[0, 0] and z[0, 1]")


def test_sample_is_z_from_eps_of_the_generators_draws():
    mu, logvar = randn(3, 2, seed=20), randn(3, 2, seed=21)
    z = gaussian.sample(mu, logvar, 5, torch.Generator().manual_seed(3))
    eps = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(3), dtype=F64)
    torch.testing.assert_close(z, gaussian.z_from_eps(mu, logvar, eps), rtol=0, atol=0)


# ---------------------------------------------------------------- KL oracles
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (2, 20)])
def test_kl_normal_std_matches_torch(shape):
    mu, logvar = randn(*shape, seed=1), randn(*shape, seed=2)
    prior = diagonal_normal(torch.zeros(shape, dtype=F64), torch.zeros(shape, dtype=F64))
    expected = kl_divergence(diagonal_normal(mu, logvar), prior)
    torch.testing.assert_close(gaussian.kl_normal_std(mu, logvar), expected, rtol=1e-12, atol=1e-12)


def test_kl_normal_std_per_dim_matches_torch_and_sums_to_the_kl():
    mu, logvar = randn(6, 4, seed=3), randn(6, 4, seed=4)
    per_dim = gaussian.kl_normal_std_per_dim(mu, logvar)
    assert per_dim.shape == (6, 4)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0))
    torch.testing.assert_close(per_dim, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(per_dim.sum(-1), gaussian.kl_normal_std(mu, logvar), rtol=1e-14, atol=1e-14)


def test_kl_sums_every_axis_after_the_batch_axis():
    mu, logvar = randn(3, 2, 5, seed=5), randn(3, 2, 5, seed=6)
    kl = gaussian.kl_normal_std(mu, logvar)
    assert kl.shape == (3,)
    torch.testing.assert_close(kl, gaussian.kl_normal_std(mu.flatten(1), logvar.flatten(1)), rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(1, 1), (4, 6)])
def test_kl_normal_matches_torch(shape):
    mu_q, logvar_q, mu_p, logvar_p = (randn(*shape, seed=s) for s in range(4))
    expected = kl_divergence(diagonal_normal(mu_q, logvar_q), diagonal_normal(mu_p, logvar_p))
    torch.testing.assert_close(gaussian.kl_normal(mu_q, logvar_q, mu_p, logvar_p), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mu_p_shape", ["rows", "vector", "one_row"])
def test_kl_normal_full_matches_torch_multivariate_normal(mu_p_shape):
    g = torch.Generator().manual_seed(0)
    mu, var = torch.randn(4, 3, generator=g, dtype=F64), torch.rand(4, 3, generator=g, dtype=F64) + 0.1
    A = torch.randn(3, 3, generator=g, dtype=F64)
    cov_p = A @ A.T + 0.5 * torch.eye(3, dtype=F64)
    mu_p = torch.randn(4, 3, generator=g, dtype=F64) if mu_p_shape == "rows" else torch.tensor([0.3, -0.2, 1.0], dtype=F64)
    mu_p = mu_p[None] if mu_p_shape == "one_row" else mu_p
    q = MultivariateNormal(mu, covariance_matrix=torch.diag_embed(var))
    p = MultivariateNormal(mu_p, covariance_matrix=cov_p)
    value = gaussian.kl_normal_full(mu, var.log(), mu_p, cov_p)
    assert value.shape == (4,)
    torch.testing.assert_close(value, kl_divergence(q, p), rtol=1e-10, atol=1e-10)


def test_kl_normal_full_names_a_mu_p_that_does_not_broadcast():
    mu = torch.zeros(4, 3, dtype=F64)
    with pytest.raises(ValueError, match=r"mu_p: expected a shape that broadcasts to mu's \(4, 3\)"):
        gaussian.kl_normal_full(mu, mu, torch.zeros(2, 3, dtype=F64), torch.eye(3, dtype=F64))


def test_kl_normal_full_with_a_diagonal_prior_is_kl_normal():
    mu, logvar, mu_p, logvar_p = (randn(5, 3, seed=s) for s in (30, 31, 32, 33))
    cov_p = torch.diag(logvar_p[0].exp())
    full = gaussian.kl_normal_full(mu, logvar, mu_p, cov_p)
    torch.testing.assert_close(full, gaussian.kl_normal(mu, logvar, mu_p, logvar_p[:1].expand(5, 3)),
                               rtol=1e-10, atol=1e-10)
    standard = gaussian.kl_normal_full(mu, logvar, torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64))
    torch.testing.assert_close(standard, gaussian.kl_normal_std(mu, logvar), rtol=1e-10, atol=1e-10)


def test_every_kl_returns_one_value_per_example_and_keeps_dtype():
    a, b = randn(5, 2, seed=10), randn(5, 2, seed=11)
    outputs = [gaussian.kl_normal_std(a, b), gaussian.kl_normal(a, b, b, a),
               gaussian.kl_normal_full(a, b, b, torch.eye(2, dtype=F64))]
    assert [tuple(o.shape) for o in outputs] == [(5,)] * 3
    assert gaussian.kl_normal_std(a.float(), b.float()).dtype == torch.float32
    assert gaussian.kl_normal(a.float(), b.float(), b.float(), a.float()).dtype == torch.float32


# ---------------------------------------------------------------- KL properties
@settings(max_examples=60, deadline=None)
@given(gaussian_params())
def test_kl_is_non_negative(params):
    mu, logvar = params
    assert (gaussian.kl_normal_std(mu, logvar) >= 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_kl_is_exactly_non_negative_near_the_prior(dtype):
    logvar = torch.linspace(-1e-7, 1e-7, 2001, dtype=dtype)[:, None]  # (2001, 1)
    assert (gaussian.kl_normal_std(torch.zeros_like(logvar), logvar) >= 0).all()
    assert (gaussian.kl_normal_std_per_dim(torch.zeros_like(logvar), logvar) >= 0).all()
    assert (gaussian.kl_normal(torch.zeros_like(logvar), logvar, torch.zeros_like(logvar), -logvar) >= 0).all()


@settings(max_examples=60, deadline=None)
@given(gaussian_params())
def test_kl_is_zero_only_at_the_prior(params):
    mu, logvar = params
    kl = gaussian.kl_normal_std(mu, logvar)
    at_prior = ((mu == 0) & (logvar == 0)).all(dim=-1)
    assert (kl[at_prior] == 0).all()
    far = (mu.abs() > 1e-3).any(dim=-1) | (logvar.abs() > 1e-3).any(dim=-1)
    assert (kl[far] > 0).all()


@settings(max_examples=60, deadline=None)
@given(gaussian_params(count=4))
def test_kl_normal_properties(params):
    mu_q, logvar_q, mu_p, logvar_p = params
    torch.testing.assert_close(gaussian.kl_normal(mu_q, logvar_q, mu_q, logvar_q), torch.zeros(len(mu_q), dtype=F64),
                               rtol=0, atol=1e-12)
    zeros = torch.zeros_like(mu_q)
    torch.testing.assert_close(gaussian.kl_normal(mu_q, logvar_q, zeros, zeros), gaussian.kl_normal_std(mu_q, logvar_q),
                               rtol=1e-12, atol=1e-12)
    assert (gaussian.kl_normal(mu_q, logvar_q, mu_p, logvar_p) >= -1e-12).all()


@settings(max_examples=40, deadline=None)
@given(gaussian_params())
def test_kl_normal_full_is_zero_at_q_and_non_negative(params):
    mu, logvar = params
    d = mu.shape[1]
    for row in range(len(mu)):
        same = gaussian.kl_normal_full(mu[row:row + 1], logvar[row:row + 1], mu[row], torch.diag(logvar[row].exp()))
        torch.testing.assert_close(same, torch.zeros(1, dtype=F64), rtol=0, atol=1e-9)
    assert (gaussian.kl_normal_full(mu, logvar, torch.zeros(d, dtype=F64), torch.eye(d, dtype=F64)) >= -1e-9).all()


# ---------------------------------------------------------------- values are never checked
def test_nan_inputs_propagate_instead_of_raising():
    """Only metadata is checked: a NaN in gives NaN out (no value check reads the tensors)."""
    nan = torch.full((2, 3), float("nan"))
    zeros = torch.zeros(2, 3)
    assert torch.isnan(gaussian.kl_normal_std(zeros, nan)).all()
    assert torch.isnan(gaussian.kl_normal_std_per_dim(nan, zeros)).all()
    assert torch.isnan(gaussian.kl_normal(zeros, zeros, nan, zeros)).all()
    assert torch.isnan(gaussian.kl_normal_full(nan, zeros, torch.zeros(3), torch.eye(3))).all()
    assert torch.isnan(gaussian.log_normal(nan, zeros, zeros)).all()
    assert torch.isnan(gaussian.reparameterize(zeros, nan)).all()
    assert torch.isnan(gaussian.sample(nan, zeros, 2)).all()
    assert torch.isinf(gaussian.z_from_eps(zeros, torch.full((2, 3), float("inf")), torch.ones(2, 3))).all()


# ---------------------------------------------------------------- input errors
@pytest.mark.parametrize("call, error, match", [
    (lambda: gaussian.kl_normal_std(np.zeros((2, 3)), torch.zeros(2, 3)), TypeError, r"mu: expected a torch.Tensor"),
    (lambda: gaussian.kl_normal_std(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.long)), TypeError,
     r"logvar: expected a floating-point tensor, got dtype torch.int64"),
    (lambda: gaussian.kl_normal_std(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError,
     r"shapes must match: mu\(2, 3\), logvar\(2, 4\)"),
    (lambda: gaussian.kl_normal_std_per_dim(torch.zeros(()), torch.zeros(())), ValueError,
     r"mu, logvar: expected at least one axis"),
    (lambda: gaussian.kl_normal(*[torch.zeros(2, 3)] * 3, torch.zeros(3, 3)), ValueError,
     r"shapes must match: .*logvar_p\(3, 3\)"),
    (lambda: gaussian.kl_normal(torch.zeros(2, 3), torch.zeros(2, 3), [0.0], torch.zeros(2, 3)), TypeError,
     r"mu_p: expected a torch.Tensor"),
    (lambda: gaussian.kl_normal_full(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2), torch.eye(3)), ValueError,
     r"cov_p\(3, 3\)"),
    (lambda: gaussian.kl_normal_full(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2), [[1.0, 0.0], [0.0, 1.0]]),
     TypeError, r"cov_p: expected a torch.Tensor"),
    (lambda: gaussian.log_normal(torch.zeros(2, 3), torch.zeros(2, 3), 0.0), TypeError,
     r"logvar: expected a torch.Tensor, got float"),
    (lambda: gaussian.z_from_eps(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.int32)), TypeError,
     r"eps: expected a floating-point tensor"),
    (lambda: gaussian.reparameterize(torch.zeros(2, 3), torch.zeros(3, 2)), ValueError,
     r"shapes must match: mu\(2, 3\), logvar\(3, 2\)"),
    (lambda: gaussian.sample(torch.zeros(2, 3), torch.zeros(2, 3), 0), ValueError,
     r"n_samples: expected a positive int, got 0"),
    (lambda: gaussian.sample(torch.zeros(2, 3), torch.zeros(2, 3), 2.0), ValueError, r"n_samples: .*got 2.0"),
    (lambda: gaussian.sample(torch.zeros(2, 3), torch.zeros(2, 3), True), ValueError, r"n_samples: .*got True"),
])
def test_input_errors_say_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("kl", ["kl_normal_std", "kl_normal"])
def test_kl_of_a_vector_without_batch_axis_names_mu(kl):
    args = [torch.zeros(3)] * (2 if kl == "kl_normal_std" else 4)
    with pytest.raises(ValueError, match=r"mu.*\(N, d\)"):
        getattr(gaussian, kl)(*args)


@pytest.mark.parametrize("cov_p", [[[1.0, 2.0], [2.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
def test_kl_normal_full_refuses_a_covariance_that_is_not_positive_definite(cov_p):
    mu = torch.zeros(3, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"cov_p: expected a symmetric positive-definite covariance matrix"):
        gaussian.kl_normal_full(mu, mu, torch.zeros(2, dtype=F64), torch.tensor(cov_p, dtype=F64))
