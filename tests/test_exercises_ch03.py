"""Chapter 03's exercises (course_utils.exercises.ch03): the reference answers against independent oracles
(torch.distributions, SymPy's integrated KL, a refit of the mixture), and wrong answers rejected by the checks."""
import numpy as np
import pytest
import sympy as sp
import torch
from scipy import integrate, optimize
from scipy.special import logsumexp
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from course_utils import check, symbolic
from course_utils.exercises import ch03

# ---------------------------------------------------------------- exercise 1: the per-example KL


def test_reference_kl_matches_torch_distributions_and_passes_the_check():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    assert torch.allclose(ch03.kl_per_example(mu, logvar), kl_divergence(q, prior), rtol=1e-12, atol=1e-12)
    assert check.kl(ch03.kl_per_example, lang="en").passed


@pytest.mark.parametrize("wrong, needle", [
    (lambda mu, lv: -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp()), "summed over the batch"),
    (lambda mu, lv: -ch03.kl_per_example(mu, lv), "sign"),
    (lambda mu, lv: 2 * ch03.kl_per_example(mu, lv), "1/2"),
])
def test_the_kl_check_rejects_wrong_answers(wrong, needle):
    fb = check.kl(wrong, lang="en")
    assert not fb.passed and needle in str(fb)


# ---------------------------------------------------------------- exercise 2: a correlated q


def test_reference_correlated_kl_matches_torch_multivariate_normal():
    (values,) = ch03.kl_correlated_cases()
    prior = MultivariateNormal(torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64))
    oracle = []
    for m1, m2, s1, s2, r in zip(*values):
        cov = torch.tensor([[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]], dtype=torch.float64)
        oracle.append(kl_divergence(MultivariateNormal(torch.tensor([m1, m2], dtype=torch.float64), cov), prior).item())
    assert np.allclose(ch03.kl_correlated(*values), oracle, rtol=1e-12, atol=1e-12)
    symbols = ch03.correlated_symbols()
    lambdified = sp.lambdify(symbols, ch03.kl_correlated_expression(), "numpy")(*values)
    assert np.allclose(lambdified, oracle, rtol=1e-12, atol=1e-12)


def test_reference_correlated_kl_at_rho_zero_is_the_integrated_diagonal_kl():
    rho = ch03.correlated_symbols()[-1]
    assert symbolic.is_identity(ch03.kl_correlated_expression().subs(rho, 0), symbolic.kl_by_integration(2))


def test_reference_correlated_kl_by_a_2d_integral():
    m1, m2, s1, s2, r = 0.3, -0.5, 1.2, 0.5, 0.6
    cov = np.array([[s1 * s1, r * s1 * s2], [r * s1 * s2, s2 * s2]])
    inv, log_det = np.linalg.inv(cov), np.log(np.linalg.det(cov))

    def integrand(z2, z1):
        d = np.array([z1 - m1, z2 - m2])
        log_q = -np.log(2 * np.pi) - 0.5 * log_det - 0.5 * d @ inv @ d
        log_p = -np.log(2 * np.pi) - 0.5 * (z1 * z1 + z2 * z2)
        return np.exp(log_q) * (log_q - log_p)

    value = integrate.dblquad(integrand, m1 - 10 * s1, m1 + 10 * s1, m2 - 10 * s2, m2 + 10 * s2,
                              epsabs=1e-10, epsrel=1e-10)[0]
    assert abs(value - float(ch03.kl_correlated(m1, m2, s1, s2, r))) < 1e-8


def test_the_derivation_check_accepts_the_answer_and_names_mistakes(capsys):
    mu_1, mu_2, sigma_1, sigma_2, rho = ch03.correlated_symbols()
    right = ch03.kl_correlated_expression
    assert ch03.check_kl_expression(right, lang="en").passed
    diagonal = (sigma_1**2 + sigma_2**2 + mu_1**2 + mu_2**2) / 2 - 1 - sp.log(sigma_1 * sigma_2)
    assert not ch03.check_kl_expression(lambda: diagonal, lang="en").passed
    double = ch03.check_kl_expression(lambda: 2 * right(), lang="en")
    assert not double.passed and "factor ≈ 2" in str(double)
    flipped = ch03.check_kl_expression(lambda: -right(), lang="en")
    assert not flipped.passed and "sign" in str(flipped)
    plus_one = ch03.check_kl_expression(lambda: right() + 1, lang="en")
    assert not plus_one.passed and "constant ≈ 1" in str(plus_one)
    rho_sign = ch03.check_kl_expression(lambda: right() + sp.log(1 - rho**2), lang="en")
    assert not rho_sign.passed


def test_the_derivation_check_waits_for_an_attempt():
    def todo():
        raise NotImplementedError

    fb = ch03.check_kl_expression(todo, lang="es")
    assert not fb.passed and not fb.attempted and "todavía sin resolver" in str(fb)


# ---------------------------------------------------------------- exercise 3: when does KL(q || p) seek a mode?


def _fit(half_distance: float):
    """The notebook's measurement for a mixture 0.4 N(-h, 0.6^2) + 0.6 N(h, 0.6^2), on a grid of its own."""
    z = np.linspace(-12, 12, 6001)

    def log_normal(value, mean, std):
        return -0.5 * np.log(2 * np.pi) - np.log(std) - 0.5 * ((value - mean) / std) ** 2

    log_p = logsumexp(np.log([[0.4], [0.6]]) + log_normal(z[None, :], np.array([[-half_distance], [half_distance]]),
                                                           0.6), axis=0)

    def kl(log_a, log_b):
        return integrate.trapezoid(np.exp(log_a) * (log_a - log_b), z)

    def reverse(params):
        return kl(log_normal(z, params[0], np.exp(params[1])), log_p)

    def forward(params):
        return kl(log_p, log_normal(z, params[0], np.exp(params[1])))

    fit_f = optimize.minimize(forward, [0.0, 0.0], method="BFGS").x
    fit_r = min((optimize.minimize(reverse, [m0, 0.0], method="BFGS").x for m0 in (-1.0, 1.0)), key=reverse)
    return np.exp(fit_r[1]), np.exp(fit_f[1]), reverse(fit_r), reverse([half_distance, np.log(0.6)])


@pytest.mark.parametrize("half_distance, expected", [(1.2, "both_modes"), (2.0, "one_mode")])
def test_mode_behaviour_measured_from_a_refit(half_distance, expected):
    s_reverse, s_forward, _, _ = _fit(half_distance)
    assert ch03.mode_behaviour(s_reverse, s_forward) == expected


def test_the_solution_numbers_of_exercise_3():
    s_reverse, s_forward, kl_fit, kl_mode = _fit(1.2)
    assert 0.9 < s_reverse / s_forward < 0.94
    assert abs(kl_fit - 0.23) < 0.01 and abs(kl_mode - 0.46) < 0.01 and kl_mode < np.log(1 / 0.6)


def test_the_prediction_check(capsys):
    measured = dict(zip(("s_reverse", "s_forward", "kl_fit", "kl_mode"), _fit(1.2)), valley=0.33)
    todo = ch03.check_mode_prediction(None, **measured, lang="es")
    assert not todo.passed and not todo.attempted and "todavía sin resolver" in str(todo)
    assert ch03.check_mode_prediction("both_modes", **measured, lang="en").passed
    wrong = ch03.check_mode_prediction("one_mode", **measured, lang="en")
    assert not wrong.passed and wrong.attempted and "'both_modes'" in str(wrong) and "33%" in str(wrong)
    invalid = ch03.check_mode_prediction("one", **measured, lang="en")
    assert not invalid.passed and "not one of the options" in str(invalid)
    with pytest.raises(ValueError):
        ch03.mode_behaviour(-1.0, 1.0)
