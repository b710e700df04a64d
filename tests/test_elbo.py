"""Tests for course_utils.elbo: closed forms against Monte Carlo and torch oracles, the bound, the gap."""
import math

import pytest
import torch

from course_utils import elbo
from course_utils.latent_models import LinearGaussian


@pytest.fixture
def setup():
    g = torch.Generator().manual_seed(0)
    model = LinearGaussian(torch.randn(3, 2, generator=g, dtype=torch.float64), [0.1, 0.2, -0.3], 0.7)
    x, _ = model.sample(4, g)
    q_mean = torch.randn(4, 2, generator=g, dtype=torch.float64)
    q_var = torch.rand(4, 2, generator=g, dtype=torch.float64) + 0.1
    return model, x, q_mean, q_var, g


def test_closed_form_matches_monte_carlo(setup):
    model, x, q_mean, q_var, g = setup
    exact = elbo.elbo_linear_gaussian_closed_form(model, x, q_mean, q_var)
    estimate, stderr = elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), q_mean, q_var.log(), 100_000, g)
    assert exact.shape == estimate.shape == stderr.shape == (4,)
    assert torch.all((estimate - exact).abs() < 4 * stderr)


def test_elbo_below_evidence_and_gap_is_kl(setup):
    model, x, q_mean, q_var, _ = setup
    value = elbo.elbo_linear_gaussian_closed_form(model, x, q_mean, q_var)
    log_px = model.log_evidence(x)
    assert torch.all(value < log_px)
    gap = elbo.elbo_gap_linear_gaussian(model, x, q_mean, q_var)
    torch.testing.assert_close(log_px - value, gap, rtol=1e-10, atol=1e-10)


def test_equality_at_posterior_1d():
    model = LinearGaussian([[2.0]], [0.5], 1.0)
    x = torch.tensor([[2.5], [-1.0]], dtype=torch.float64)
    mean, cov = model.posterior(x)
    var = cov.diagonal().expand_as(mean)
    torch.testing.assert_close(elbo.elbo_linear_gaussian_closed_form(model, x, mean, var),
                               model.log_evidence(x), rtol=0, atol=1e-12)
    estimate, stderr = elbo.elbo_monte_carlo(elbo.log_joint_fn(model, x), mean, var.log(), 10)
    torch.testing.assert_close(estimate, model.log_evidence(x), rtol=0, atol=1e-12)
    assert torch.all(stderr < 1e-12)


def test_kl_against_torch_distributions(setup):
    _, _, q_mean, q_var, g = setup
    A = torch.randn(2, 2, generator=g, dtype=torch.float64)
    p_cov, p_mean = A @ A.T + 0.5 * torch.eye(2, dtype=torch.float64), torch.tensor([0.3, -0.2], dtype=torch.float64)
    q = torch.distributions.MultivariateNormal(q_mean, covariance_matrix=torch.diag_embed(q_var))
    p = torch.distributions.MultivariateNormal(p_mean, covariance_matrix=p_cov)
    torch.testing.assert_close(elbo.kl_diag_to_gaussian(q_mean, q_var, p_mean, p_cov),
                               torch.distributions.kl_divergence(q, p))
    std_normal = torch.distributions.Normal(0.0, 1.0)
    oracle = torch.distributions.kl_divergence(torch.distributions.Normal(q_mean, q_var.sqrt()), std_normal).sum(-1)
    torch.testing.assert_close(elbo.kl_standard_normal(q_mean, q_var), oracle.to(torch.float64))


def test_entropy_against_torch(setup):
    _, _, q_mean, q_var, _ = setup
    oracle = torch.distributions.Normal(q_mean, q_var.sqrt()).entropy().sum(-1)
    torch.testing.assert_close(elbo.gaussian_entropy(q_var.log()), oracle)


def test_expected_log_likelihood_monte_carlo(setup):
    model, x, q_mean, q_var, g = setup
    z = elbo.sample_q(q_mean, q_var.log(), 100_000, g)  # (S, N, d)
    S, N, d = z.shape
    log_lik = model.log_likelihood(x.expand(S, N, model.D).reshape(-1, model.D), z.reshape(-1, d)).reshape(S, N)
    estimate, stderr = elbo.mean_and_stderr(log_lik)
    exact = elbo.expected_log_likelihood_linear_gaussian(model, x, q_mean, q_var)
    assert torch.all((estimate - exact).abs() < 4 * stderr)


def test_sample_q_moments(setup):
    _, _, q_mean, q_var, g = setup
    z = elbo.sample_q(q_mean, q_var.log(), 200_000, g)
    assert z.shape == (200_000, 4, 2)
    torch.testing.assert_close(z.mean(0), q_mean, atol=4 * math.sqrt(q_var.max() / 200_000), rtol=0)
    torch.testing.assert_close(z.var(0), q_var, rtol=0.02, atol=0)


def test_elbo_from_samples_matches_manual_average(setup):
    model, x, q_mean, q_var, g = setup
    z = elbo.sample_q(q_mean, q_var.log(), 7, g)  # (7, 4, 2)
    manual = torch.stack([model.log_joint(x, z[k]) for k in range(7)]) - torch.stack(
        [torch.distributions.Normal(q_mean, q_var.sqrt()).log_prob(z[k]).sum(-1) for k in range(7)])
    value, stderr = elbo.elbo_from_samples(elbo.log_joint_fn(model, x), z, q_mean, q_var.log())
    torch.testing.assert_close(value, manual.mean(0))
    torch.testing.assert_close(stderr, manual.std(0) / math.sqrt(7))


def test_expected_log_likelihood_linear_gradients(setup):
    model, x, q_mean, q_var, _ = setup
    W = model.W.clone().requires_grad_(True)
    log_s = torch.tensor(math.log(model.sigma), dtype=torch.float64, requires_grad=True)
    value = elbo.expected_log_likelihood_linear(x, q_mean, q_var, W, model.b, log_s.exp())
    torch.testing.assert_close(value, elbo.expected_log_likelihood_linear_gaussian(model, x, q_mean, q_var))
    value.sum().backward()
    assert W.grad is not None and log_s.grad is not None and torch.isfinite(W.grad).all()


def test_mean_and_stderr():
    values = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    mean, stderr = elbo.mean_and_stderr(values)
    torch.testing.assert_close(mean, torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(stderr, torch.tensor([math.sqrt(2.0) / math.sqrt(2.0), math.sqrt(8.0) / math.sqrt(2.0)]))


def test_input_errors(setup):
    model, x, q_mean, q_var, _ = setup
    with pytest.raises(ValueError, match="equal shapes"):
        elbo.kl_standard_normal(q_mean, q_var[:, :1])
    with pytest.raises(ValueError, match="strictly positive"):
        elbo.kl_standard_normal(q_mean, -q_var)
    with pytest.raises(ValueError, match="positive int"):
        elbo.sample_q(q_mean, q_var.log(), 0)
    with pytest.raises(TypeError, match="callable"):
        elbo.elbo_monte_carlo(None, q_mean, q_var.log(), 10)
    with pytest.raises(ValueError, match="expected shape"):
        elbo.elbo_monte_carlo(lambda z: z.sum(), q_mean, q_var.log(), 10)
    with pytest.raises(ValueError, match=r"\(N, 3\) and \(N, 2\)"):
        elbo.elbo_linear_gaussian_closed_form(model, x[:2], q_mean, q_var)
    with pytest.raises(TypeError, match="LinearGaussian"):
        elbo.elbo_linear_gaussian_closed_form("model", x, q_mean, q_var)
    with pytest.raises(ValueError, match="p_cov"):
        elbo.kl_diag_to_gaussian(q_mean, q_var, torch.zeros(2), torch.eye(3))
    with pytest.raises(ValueError, match="z: expected shape"):
        elbo.elbo_from_samples(elbo.log_joint_fn(model, x), torch.zeros(5, 4, 3), q_mean, q_var.log())
    with pytest.raises(ValueError, match="at least 2 samples"):
        elbo.mean_and_stderr(torch.zeros(1, 3))
