"""Tests for course_utils.elbo: closed forms against Monte Carlo and torch oracles, the bound, the gap.

q(z|x_n) = N(mu[n], diag exp(logvar[n])): every function takes (mu, logvar).
"""
import math

import pytest
import torch
from conftest import assert_within_stderr

from course_utils import elbo, gaussian
from course_utils.latent_models import LinearGaussian
from course_utils.montecarlo import mean_and_stderr


@pytest.fixture
def setup():
    g = torch.Generator().manual_seed(0)
    model = LinearGaussian(torch.randn(3, 2, generator=g, dtype=torch.float64), [0.1, 0.2, -0.3], 0.7)
    x, _ = model.sample(4, g)
    mu = torch.randn(4, 2, generator=g, dtype=torch.float64)
    var = torch.rand(4, 2, generator=g, dtype=torch.float64) + 0.1
    return model, x, mu, var.log(), g


def test_closed_form_matches_monte_carlo(setup):
    model, x, mu, logvar, g = setup
    exact = elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar)
    estimate, stderr = elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), mu, logvar, 100_000, g)
    assert exact.shape == estimate.shape == stderr.shape == (4,)
    assert_within_stderr(estimate, exact, stderr, what="Monte Carlo ELBO")


def test_elbo_below_evidence_and_gap_is_kl(setup):
    model, x, mu, logvar, _ = setup
    value = elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar)
    log_px = model.log_evidence(x)
    assert torch.all(value < log_px)
    gap = elbo.elbo_gap_linear_gaussian(model, x, mu, logvar)
    torch.testing.assert_close(log_px - value, gap, rtol=1e-10, atol=1e-10)


def test_gap_is_kl_to_the_exact_posterior_by_torch(setup):
    model, x, mu, logvar, _ = setup
    post_mean, post_cov = model.posterior(x)
    q = torch.distributions.MultivariateNormal(mu, covariance_matrix=torch.diag_embed(logvar.exp()))
    p = torch.distributions.MultivariateNormal(post_mean, covariance_matrix=post_cov)
    torch.testing.assert_close(elbo.elbo_gap_linear_gaussian(model, x, mu, logvar),
                               torch.distributions.kl_divergence(q, p), rtol=1e-10, atol=1e-10)


def test_closed_form_is_reconstruction_minus_kl(setup):
    model, x, mu, logvar, _ = setup
    torch.testing.assert_close(elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar),
                               elbo.expected_log_likelihood_linear_gaussian(model, x, mu, logvar)
                               - gaussian.kl_normal_std(mu, logvar), rtol=1e-12, atol=1e-12)


def test_equality_at_posterior_1d():
    model = LinearGaussian([[2.0]], [0.5], 1.0)
    x = torch.tensor([[2.5], [-1.0]], dtype=torch.float64)
    mean, cov = model.posterior(x)
    logvar = cov.diagonal().expand_as(mean).log()
    torch.testing.assert_close(elbo.elbo_linear_gaussian_closed_form(model, x, mean, logvar),
                               model.log_evidence(x), rtol=0, atol=1e-12)
    estimate, stderr = elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), mean, logvar, 10)
    torch.testing.assert_close(estimate, model.log_evidence(x), rtol=0, atol=1e-12)
    assert torch.all(stderr < 1e-12)
    torch.testing.assert_close(elbo.elbo_gap_linear_gaussian(model, x, mean, logvar), torch.zeros(2, dtype=torch.float64),
                               rtol=0, atol=1e-12)


def test_expected_log_likelihood_monte_carlo(setup):
    model, x, mu, logvar, g = setup
    z = gaussian.sample(mu, logvar, 100_000, g)  # (S, N, d)
    S, N, d = z.shape
    log_lik = model.log_likelihood(x.expand(S, N, model.D).reshape(-1, model.D), z.reshape(-1, d)).reshape(S, N)
    estimate, stderr = mean_and_stderr(log_lik)
    exact = elbo.expected_log_likelihood_linear_gaussian(model, x, mu, logvar)
    assert_within_stderr(estimate, exact, stderr, what="Monte Carlo E_q[log p(x|z)]")


def test_elbo_from_samples_matches_manual_average(setup):
    model, x, mu, logvar, g = setup
    z = gaussian.sample(mu, logvar, 7, g)  # (7, 4, 2)
    std = (0.5 * logvar).exp()
    manual = torch.stack([model.log_joint(x, z[k]) for k in range(7)]) - torch.stack(
        [torch.distributions.Normal(mu, std).log_prob(z[k]).sum(-1) for k in range(7)])
    value, stderr = elbo.elbo_from_samples(elbo.log_joint_fn(model, x), z, mu, logvar)
    torch.testing.assert_close(value, manual.mean(0))
    torch.testing.assert_close(stderr, manual.std(0) / math.sqrt(7))


def test_elbo_monte_carlo_is_elbo_from_samples_of_the_generators_draws(setup):
    model, x, mu, logvar, _ = setup
    a = elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), mu, logvar, 9, torch.Generator().manual_seed(4))
    z = gaussian.sample(mu, logvar, 9, torch.Generator().manual_seed(4))
    b = elbo.elbo_from_samples(elbo.log_joint_fn(model, x), z, mu, logvar)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, rtol=0, atol=0)


def test_inputs_may_be_lists_or_one_row(setup):
    model, x, mu, logvar, _ = setup
    rows = elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar)
    one = elbo.elbo_linear_gaussian_closed_form(model, x[0].tolist(), mu[0].tolist(), logvar[0].tolist())
    assert one.shape == (1,) and one.dtype == torch.float64
    torch.testing.assert_close(one, rows[:1], rtol=1e-12, atol=1e-12)


def test_expected_log_likelihood_linear_gradients(setup):
    model, x, mu, logvar, _ = setup
    W = model.W.clone().requires_grad_(True)
    log_s = torch.tensor(math.log(model.sigma), dtype=torch.float64, requires_grad=True)
    value = elbo.expected_log_likelihood_linear(x, mu, logvar, W, model.b, log_s.exp())
    torch.testing.assert_close(value, elbo.expected_log_likelihood_linear_gaussian(model, x, mu, logvar))
    value.sum().backward()
    assert W.grad is not None and log_s.grad is not None and torch.isfinite(W.grad).all()


def test_input_errors(setup):
    model, x, mu, logvar, _ = setup
    with pytest.raises(ValueError, match=r"mu \(4, 2\) and logvar \(4, 1\): expected equal shapes"):
        elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar[:, :1])
    with pytest.raises(ValueError, match=r"mu: expected shape \(N, d\) or \(d,\)"):
        elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), mu[None], logvar[None], 10)
    with pytest.raises(ValueError, match="n_samples: expected a positive int"):
        elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), mu, logvar, 0)
    with pytest.raises(TypeError, match="log_joint: expected a callable"):
        elbo.elbo_monte_carlo(None, mu, logvar, 10)
    with pytest.raises(ValueError, match=r"log_joint\(z\) returned \(\), expected shape"):
        elbo.elbo_monte_carlo(lambda z: z.sum(), mu, logvar, 10)
    with pytest.raises(ValueError, match=r"x \(2, 3\), mu \(4, 2\): expected \(N, 3\) and \(N, 2\)"):
        elbo.elbo_linear_gaussian_closed_form(model, x[:2], mu, logvar)
    with pytest.raises(TypeError, match="model: expected a LinearGaussian"):
        elbo.elbo_linear_gaussian_closed_form("model", x, mu, logvar)
    with pytest.raises(ValueError, match=r"z: expected shape \(S, 4, 2\)"):
        elbo.elbo_from_samples(elbo.log_joint_fn(model, x), torch.zeros(5, 4, 3), mu, logvar)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 3\)"):
        elbo.log_joint_fn(model, torch.zeros(4, 2))


@pytest.mark.parametrize("sigma", [-0.5, 0.0, [0.5, 0.5]])
def test_a_non_positive_or_non_scalar_sigma_is_named(sigma):
    W, b = torch.ones(2, 1, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"sigma: expected one positive number"):
        elbo.expected_log_likelihood_linear(torch.zeros(3, 2), torch.zeros(3, 1), torch.zeros(3, 1), W, b, sigma)
