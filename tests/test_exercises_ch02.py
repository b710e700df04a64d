"""Chapter 02's exercises (course_utils.exercises.ch02): the reference answers against independent oracles
(torch.distributions, numerical quadrature, the package's closed form), and wrong answers rejected by the checks."""
import math

import numpy as np
import pytest
import sympy as sp
import torch
from scipy import integrate
from torch.distributions import Normal

from course_utils import check, elbo, gaussian, montecarlo
from course_utils.exercises import ch02
from course_utils.latent_models import LinearGaussian

# ---------------------------------------------------------------- exercise 1: the Monte Carlo ELBO


def _elbo_by_distributions(model, x, z, mu, logvar):
    """Oracle: log N(x; W z + b, s^2 I) + log N(z; 0, I) - log q(z) with torch.distributions, mean over S."""
    mean_x = z @ model.W.T.to(z.dtype) + model.b.to(z.dtype)  # (S, N, D)
    log_lik = Normal(mean_x, model.sigma).log_prob(x).sum(-1)
    log_prior = Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_q = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
    return (log_lik + log_prior - log_q).mean(0)


def test_reference_monte_carlo_elbo_matches_torch_distributions():
    for case in ch02.elbo_from_samples_cases():
        assert torch.allclose(ch02.elbo_from_samples(*case), _elbo_by_distributions(*case), rtol=1e-12, atol=1e-12)


def test_reference_monte_carlo_elbo_estimates_the_closed_form():
    model, x, _, mu, logvar = ch02.elbo_from_samples_cases()[0]
    z = gaussian.sample(mu, logvar, 200_000, torch.Generator().manual_seed(0))
    log_w = elbo.log_joint_fn(model, x)(z) - gaussian.log_normal(z, mu, logvar)
    _, stderr = montecarlo.mean_and_stderr(log_w)
    exact = elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar)
    assert torch.all((ch02.elbo_from_samples(model, x, z, mu, logvar) - exact).abs() < 4 * stderr)


@pytest.mark.parametrize("wrong, needle", [
    (lambda m, x, z, mu, lv: -ch02.elbo_from_samples(m, x, z, mu, lv), "sign"),
    (lambda m, x, z, mu, lv: (elbo.log_joint_fn(m, x)(z) - gaussian.log_normal(z, mu, lv)).mean(), "averaged"),
    (lambda m, x, z, mu, lv: (elbo.log_joint_fn(m, x)(z) - gaussian.log_normal(z, mu, lv)).mean(1), "shape"),
    (lambda m, x, z, mu, lv: elbo.log_joint_fn(m, x)(z).mean(0), "case"),
])
def test_the_monte_carlo_check_rejects_wrong_answers(wrong, needle):
    fb = check.function(wrong, ch02.elbo_from_samples, ch02.elbo_from_samples_cases(), name="e", lang="en")
    assert not fb.passed and needle in str(fb)


# ---------------------------------------------------------------- exercise 2: the ELBO derived by hand


def _elbo_by_quadrature(w, b, s, x, mu, sigma):
    """Oracle: E_q[log p(x, z) - log q(z)] integrated numerically over mu +- 12 sigma."""
    def log_normal(value, mean, std):
        return -0.5 * math.log(2 * math.pi * std**2) - (value - mean) ** 2 / (2 * std**2)

    def integrand(z):
        log_q = log_normal(z, mu, sigma)
        return math.exp(log_q) * (log_normal(x, w * z + b, s) + log_normal(z, 0.0, 1.0) - log_q)

    return integrate.quad(integrand, mu - 12 * sigma, mu + 12 * sigma, epsabs=1e-12, epsrel=1e-12)[0]


def test_reference_elbo_matches_quadrature_and_the_package():
    (values,) = ch02.elbo_1d_cases()
    reference = ch02.elbo_1d(*values)
    by_quadrature = [_elbo_by_quadrature(*row) for row in zip(*values)]
    package = [elbo.elbo_linear_gaussian_closed_form(LinearGaussian([[w]], [b], s), [[x]], [[mu]],
                                                     [[2 * math.log(sigma)]]).item()
               for w, b, s, x, mu, sigma in zip(*values)]
    assert np.allclose(reference, by_quadrature, rtol=1e-9, atol=1e-9)
    assert np.allclose(reference, package, rtol=1e-12, atol=1e-12)
    symbols = ch02.elbo_1d_symbols()
    assert np.allclose(sp.lambdify(symbols, ch02.elbo_1d_expression(), "numpy")(*values), reference, rtol=1e-12)


def _direct_derivation():
    """The student's route: reconstruction + E_q[log p(z)] + entropy of q."""
    w, b, s, x, mu, sigma = ch02.elbo_1d_symbols()
    reconstruction = -sp.log(2 * sp.pi * s**2) / 2 - ((x - w * mu - b) ** 2 + w**2 * sigma**2) / (2 * s**2)
    return reconstruction - sp.log(2 * sp.pi) / 2 - (mu**2 + sigma**2) / 2 + sp.log(2 * sp.pi * sp.E * sigma**2) / 2


def test_the_direct_derivation_equals_the_gap_identity_symbolically():
    assert sp.simplify(_direct_derivation() - ch02.elbo_1d_expression()) == 0


def test_the_derivation_check_accepts_the_answer_and_names_mistakes(capsys):
    assert ch02.check_elbo_expression(_direct_derivation, lang="en").passed
    sigma = ch02.elbo_1d_symbols()[-1]
    no_half = ch02.check_elbo_expression(lambda: _direct_derivation() - sp.Rational(1, 2), lang="en")
    assert not no_half.passed and "constant ≈ -0.5" in str(no_half)
    flipped = ch02.check_elbo_expression(lambda: -_direct_derivation(), lang="en")
    assert not flipped.passed and "sign" in str(flipped)
    no_entropy = ch02.check_elbo_expression(lambda: _direct_derivation() - sp.log(sigma), lang="en")
    assert not no_entropy.passed
    constant = ch02.check_elbo_expression(lambda: sp.Integer(-3), lang="en")
    assert not constant.passed


def test_the_derivation_check_waits_for_an_attempt(capsys):
    def todo():
        raise NotImplementedError

    fb = ch02.check_elbo_expression(todo, lang="es")
    assert not fb.passed and not fb.attempted
    assert "⏳" in capsys.readouterr().out and "todavía sin resolver" in str(fb)


# ---------------------------------------------------------------- exercise 3: averaging the weights before the log


def _measure(n=100_000, sizes=(1, 10, 100, 1000), seed=0):
    """The notebook's measurement, with fresh samples: L_S for q = N(0.2, 0.7^2) in the chapter's model."""
    model, x = LinearGaussian([[2.0]], [0.5], 1.0), torch.tensor([[2.5]], dtype=torch.float64)
    mu, logvar = torch.tensor([[0.2]], dtype=torch.float64), torch.tensor([[math.log(0.49)]], dtype=torch.float64)
    z = gaussian.sample(mu, logvar, n, torch.Generator().manual_seed(seed))
    log_w = (elbo.log_joint_fn(model, x)(z) - gaussian.log_normal(z, mu, logvar))[:, 0]
    means, ses = [], []
    for size in sizes:
        m, se = montecarlo.mean_and_stderr(torch.logsumexp(log_w.reshape(-1, size), 1) - math.log(size))
        means.append(m.item())
        ses.append(se.item())
    elbo_value = elbo.elbo_linear_gaussian_closed_form(model, x, mu, logvar).item()
    return list(sizes), means, ses, elbo_value, model.log_evidence(x).item()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_bound_measurably_rises_towards_the_evidence(seed):
    sizes, means, ses, elbo_value, log_px = _measure(seed=seed)
    assert ch02.bound_trend(sizes, means, ses, elbo_value, log_px) == "rises"
    assert abs(means[0] - elbo_value) < 4 * ses[0]
    assert all(m < log_px + 4 * se for m, se in zip(means, ses))
    assert log_px - means[1] < 0.1 and log_px - means[2] < 0.02  # the solution's claims


@pytest.mark.parametrize("means, expected", [
    ([-3.3, -3.301, -3.299], "stays"),
    ([-3.3, -2.0, -1.0], "overshoots"),
    ([-3.3, -3.5, -3.8], "falls"),
    ([-3.3, -2.5, -2.2], "rises"),
])
def test_bound_trend_reads_each_outcome(means, expected):
    assert ch02.bound_trend([1, 10, 100], means, [0.01] * 3, elbo_value=-3.3, log_px=-2.12) == expected


def test_bound_trend_rejects_bad_input():
    with pytest.raises(ValueError, match="increasing"):
        ch02.bound_trend([10, 1], [-3.0, -2.5], [0.1, 0.1], -3.0, -2.0)
    with pytest.raises(ValueError, match="one length"):
        ch02.bound_trend([1, 10], [-3.0], [0.1, 0.1], -3.0, -2.0)


def test_the_prediction_check(capsys):
    measured = _measure()
    todo = ch02.check_bound_prediction(None, *measured, lang="es")
    assert not todo.passed and not todo.attempted and "todavía sin resolver" in str(todo)
    assert ch02.check_bound_prediction("rises", *measured, lang="en").passed
    for wrong in ("stays", "overshoots", "falls"):
        fb = ch02.check_bound_prediction(wrong, *measured, lang="en")
        assert not fb.passed and fb.attempted and "'rises'" in str(fb)
    invalid = ch02.check_bound_prediction("up", *measured, lang="en")
    assert not invalid.passed and "not one of the options" in str(invalid)
    assert "✅" in capsys.readouterr().out
