"""course_utils.latent_models: closed forms against numerical integration, and the nonlinear models (chapter 01)."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate

from conftest import assert_within_stderr

from course_utils.latent_models import LinearGaussian, NonlinearGaussian, RandomMLPDecoder, ring_decoder


def test_linear_gaussian_log_densities_match_torch():
    """log_normal_diag is gone (gaussian.log_normal, tested in test_gaussian.py); the models' densities still match torch."""
    g = torch.Generator().manual_seed(1)
    model = LinearGaussian(torch.randn(3, 2, generator=g, dtype=torch.float64), [0.1, -0.2, 0.3], 0.5)
    x, z = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 2, generator=g, dtype=torch.float64)
    Normal = torch.distributions.Normal
    expected_lik = Normal(z @ model.W.T + model.b, 0.5).log_prob(x).sum(-1)
    assert torch.allclose(model.log_likelihood(x, z), expected_lik, rtol=1e-12, atol=1e-12)
    assert torch.allclose(model.log_prior(z), Normal(0.0, 1.0).log_prob(z).sum(-1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("w, b, s, x", [(1.5, -0.5, 0.7, 1.2), (-0.3, 2.0, 1.1, -1.0), (3.0, 0.0, 0.1, 2.5)])
def test_linear_gaussian_evidence_and_posterior_by_quadrature(w, b, s, x):
    model = LinearGaussian([[w]], [b], s)
    joint = lambda z: math.exp(model.log_joint(torch.tensor([[x]], dtype=torch.float64), torch.tensor([[z]], dtype=torch.float64)).item())  # noqa: E731
    quad = lambda f: integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-11)[0]  # noqa: E731
    evidence = quad(joint)
    mean = quad(lambda z: z * joint(z)) / evidence
    var = quad(lambda z: (z - mean) ** 2 * joint(z)) / evidence
    m, S = model.posterior(torch.tensor([[x]], dtype=torch.float64))
    assert math.isclose(evidence, math.exp(model.log_evidence(torch.tensor([[x]], dtype=torch.float64)).item()), rel_tol=1e-9)
    assert math.isclose(mean, m.item(), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(var, S.item(), rel_tol=1e-9)


def test_linear_gaussian_bayes_identity_in_two_dimensions():
    g = torch.Generator().manual_seed(0)
    model = LinearGaussian(torch.randn(3, 2, generator=g, dtype=torch.float64), [0.1, -0.2, 0.3], 0.5)
    x, z = torch.randn(4, 3, generator=g, dtype=torch.float64), torch.randn(4, 2, generator=g, dtype=torch.float64)
    m, S = model.posterior(x)
    log_post = torch.distributions.MultivariateNormal(m, covariance_matrix=S).log_prob(z)
    assert torch.allclose(model.log_joint(x, z) - model.log_evidence(x), log_post, rtol=1e-10, atol=1e-10)


def test_linear_gaussian_sample_moments():
    model = LinearGaussian([[2.0]], [1.0], 0.5)
    x, z = model.sample(100_000, torch.Generator().manual_seed(0))
    assert x.shape == (100_000, 1) and z.shape == (100_000, 1)
    se_mean, se_var = math.sqrt(4.25 / 1e5), 4.25 * math.sqrt(2 / 1e5)
    assert_within_stderr(x.mean(), 1.0, se_mean, what="mean of x")
    assert_within_stderr(x.var(), 4.25, se_var, what="variance of x")


def test_nonlinear_with_linear_decoder_matches_linear_gaussian():
    W, b = torch.tensor([[1.5], [-0.5]], dtype=torch.float64), torch.tensor([0.2, 0.1], dtype=torch.float64)
    linear = LinearGaussian(W, b, 0.3)
    nonlinear = NonlinearGaussian(lambda z: z @ W.T + b, d=1, D=2, sigma=0.3)
    x, z = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 1, dtype=torch.float64)
    assert torch.allclose(nonlinear.log_joint(x, z), linear.log_joint(x, z), rtol=1e-13, atol=1e-13)
    assert torch.allclose(nonlinear.log_prior(z), linear.log_prior(z))


def test_nonlinear_broadcasts_one_x_over_many_z():
    model = NonlinearGaussian(ring_decoder(), d=1, D=2, sigma=0.3)
    z = torch.linspace(-2, 2, 7, dtype=torch.float64)[:, None]
    one = model.log_likelihood(torch.tensor([0.0, -1.0]), z)
    many = model.log_likelihood(torch.tensor([[0.0, -1.0]]).repeat(7, 1), z)
    assert one.shape == (7,) and torch.allclose(one, many)


def test_ring_decoder_values_and_symmetric_posterior():
    f = ring_decoder(omega=2.0, radius=1.5)
    z = torch.tensor([[0.0], [math.pi / 4], [math.pi / 2]], dtype=torch.float64)
    expected = torch.tensor([[0.0, 1.5], [1.5, 0.0], [0.0, -1.5]], dtype=torch.float64)
    assert torch.allclose(f(z), expected, atol=1e-12)
    model = NonlinearGaussian(ring_decoder(), d=1, D=2, sigma=0.3)
    z_pair = torch.tensor([[math.pi / 2 - 0.1], [-(math.pi / 2 - 0.1)]], dtype=torch.float64)
    values = model.log_joint(torch.tensor([0.0, -1.0]), z_pair)
    assert torch.allclose(values[0], values[1], atol=1e-12)


def test_random_mlp_decoder_shapes_and_seed():
    a = RandomMLPDecoder(3, 4, hidden=8, generator=torch.Generator().manual_seed(5))
    b = RandomMLPDecoder(3, 4, hidden=8, generator=torch.Generator().manual_seed(5))
    c = RandomMLPDecoder(3, 4, hidden=8, generator=torch.Generator().manual_seed(6))
    z = torch.randn(10, 3, dtype=torch.float64)
    assert a(z).shape == (10, 4) and a(z).dtype == torch.float64
    assert torch.equal(a(z), b(z)) and not torch.allclose(a(z), c(z))


def test_nonlinear_sample_shapes_and_likelihood_formula():
    model = NonlinearGaussian(RandomMLPDecoder(2, 3, generator=torch.Generator().manual_seed(0)), d=2, D=3, sigma=0.2)
    x, z = model.sample(5, torch.Generator().manual_seed(1))
    assert x.shape == (5, 3) and z.shape == (5, 2)
    manual = -0.5 * (3 * math.log(2 * math.pi * 0.04) + ((x - model.decoder(z)) ** 2).sum(1) / 0.04)
    assert torch.allclose(model.log_likelihood(x, z), manual, rtol=1e-12)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(decoder=None, d=1, D=2, sigma=0.3), TypeError, r"decoder: expected a callable \(N, d\) -> \(N, D\), got NoneType"),
    (dict(decoder=ring_decoder(), d=0, D=2, sigma=0.3), ValueError, r"\bd\b.*positive int, got 0"),
    (dict(decoder=ring_decoder(), d=1, D=2, sigma=-1.0), ValueError, r"sigma must be a positive finite number, got -1.0"),
])
def test_nonlinear_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        NonlinearGaussian(**kwargs)


def test_bad_shapes_and_settings_raise():
    model = NonlinearGaussian(ring_decoder(), d=1, D=2, sigma=0.3)
    with pytest.raises(ValueError, match=r"x: expected shape \(N, 2\) or \(2,\), got \(1, 3\)"):
        model.log_likelihood(torch.zeros(3), torch.zeros(4, 1))
    with pytest.raises(ValueError, match=r"\bn\b.*positive int, got 0"):
        model.sample(0)
    with pytest.raises(ValueError, match="omega and radius must be positive, got 0.0, 1.0"):
        ring_decoder(omega=0.0)
    with pytest.raises(ValueError, match=r"\bd\b.*positive int, got 0"):
        RandomMLPDecoder(0, 3)


def test_a_decoder_of_the_wrong_output_shape_is_named():
    model = NonlinearGaussian(lambda z: z.repeat(1, 3), d=1, D=2, sigma=0.5)  # (N, 3), not (N, 2)
    with pytest.raises(ValueError, match=r"decoder\(z\): expected shape \(4, 2\) for z of shape \(4, 1\), got \(4, 3\)"):
        model.log_likelihood(torch.zeros(4, 2, dtype=torch.float64), torch.zeros(4, 1, dtype=torch.float64))
