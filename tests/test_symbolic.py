"""Tests of course_utils.symbolic (chapter 03): each check accepts the right formula and rejects perturbed ones."""
from __future__ import annotations

import pytest
import sympy as sp
import torch
from sympy.stats import Normal as NormalVariable, density
from torch.distributions import Independent, Normal, kl_divergence

from course_utils import symbolic

HALF = sp.Rational(1, 2)
Z_J, MU_J, SIGMA_J = symbolic.coordinate()


def kl_sigma_form(d: int, *, minus_one=-1, log_sign=-1, square=2, factor=HALF):
    """The lecture's closed form in (mu_j, sigma_j), with knobs that perturb it."""
    _, mu, sigma = symbolic.symbols(d)
    return factor * sp.Add(*(log_sign * sp.log(s**square) + minus_one + s**2 + m**2 for m, s in zip(mu, sigma)))


def kl_logvar_form(d: int, *, scale=1):
    _, mu, _ = symbolic.symbols(d)
    logvar = symbolic.logvar_symbols(d)
    return HALF * sp.Add(*(-lv - 1 + sp.exp(scale * lv) + m**2 for m, lv in zip(mu, logvar)))


def test_density_matches_sympy_stats_and_factorizes():
    z, mu, sigma = symbolic.symbols(2)
    one_d = symbolic.gaussian_density(z[:1], mu[:1], sigma[:1])
    assert symbolic.is_identity(one_d, density(NormalVariable("Z", mu[0], sigma[0]))(z[0]))
    product = one_d * symbolic.gaussian_density(z[1:], mu[1:], sigma[1:])
    assert symbolic.is_identity(symbolic.gaussian_density(z, mu, sigma), product)
    assert symbolic.expectation(sp.Integer(1), z, mu, sigma) == 1


def test_log_ratio_matches_lecture_and_rejects_a_flipped_sign():
    z, mu, sigma = symbolic.symbols(2)
    squares = HALF * sp.Add(*((zj - mj) ** 2 / sj**2 for zj, mj, sj in zip(z, mu, sigma)))
    prior = HALF * sp.Add(*(zj**2 for zj in z))
    logs = sp.Add(*(sp.log(sj) for sj in sigma))
    assert symbolic.verify_log_ratio(-logs - squares + prior, 2)
    assert not symbolic.verify_log_ratio(logs - squares + prior, 2)
    assert not symbolic.verify_log_ratio(-logs - squares - prior, 2)


@pytest.mark.parametrize("k, right", [(1, -sp.log(SIGMA_J)), (2, sp.Integer(1)), (3, SIGMA_J**2 + MU_J**2)])
def test_terms_match_the_lecture(k, right):
    assert symbolic.verify_term(k, right)


@pytest.mark.parametrize("k, wrong", [
    (1, sp.log(SIGMA_J)),                 # sign flipped
    (1, -sp.log(SIGMA_J**2)),             # sigma^2 instead of sigma
    (1, -sp.log(SIGMA_J) - 1),            # a spurious constant
    (2, sp.Integer(0)),                   # dropped
    (2, sp.Integer(-1)),                  # sign flipped
    (2, 1 / SIGMA_J),                     # sigma instead of sigma^2
    (3, SIGMA_J + MU_J**2),               # sigma instead of sigma^2
    (3, SIGMA_J**2 - MU_J**2),            # sign flipped
    (3, SIGMA_J**2),                      # mean^2 dropped
])
def test_terms_reject_perturbations(k, wrong):
    assert not symbolic.verify_term(k, wrong)


def test_term2_integrates_to_one_explicitly():
    q_j = symbolic.gaussian_density((Z_J,), (MU_J,), (SIGMA_J,))
    assert sp.simplify(sp.integrate((Z_J - MU_J) ** 2 / SIGMA_J**2 * q_j, (Z_J, -sp.oo, sp.oo))) == 1


@pytest.mark.parametrize("d", [1, 2])
def test_closed_form_in_sigma_and_logvar(d):
    assert symbolic.verify_kl_closed_form(kl_sigma_form(d), d)
    assert symbolic.verify_kl_closed_form(kl_logvar_form(d), d)
    assert symbolic.is_identity(symbolic.kl_from_terms(d), symbolic.kl_by_integration(d))


@pytest.mark.parametrize("perturbation", [
    {"minus_one": 0},          # the -1 dropped
    {"minus_one": +1},         # -1 with its sign flipped
    {"log_sign": +1},          # +log sigma^2
    {"square": 1},             # log sigma instead of log sigma^2
    {"factor": 1},             # the 1/2 dropped
])
def test_closed_form_rejects_perturbations(perturbation):
    assert not symbolic.verify_kl_closed_form(kl_sigma_form(2, **perturbation), 2)


def test_logvar_form_rejects_std_for_variance():
    assert not symbolic.verify_kl_closed_form(kl_logvar_form(2, scale=HALF), 2)


def test_closed_form_agrees_with_torch_numerically():
    _, mu, sigma = symbolic.symbols(3)
    kl = sp.lambdify((mu, sigma), symbolic.kl_by_integration(3))
    m, s = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64), torch.tensor([0.5, 1.7, 0.9], dtype=torch.float64)
    oracle = kl_divergence(Independent(Normal(m, s), 1), Independent(Normal(torch.zeros(3), torch.ones(3)), 1))
    assert kl(m.tolist(), s.tolist()) == pytest.approx(oracle.item(), rel=1e-12)


def test_two_gaussians():
    _, mu_q, sigma_q, mu_p, sigma_p = symbolic.pair_symbols()
    right = sp.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - HALF
    assert symbolic.verify_kl_two_gaussians(right)
    swapped = right.subs({sigma_q: sigma_p, sigma_p: sigma_q, mu_q: mu_p, mu_p: mu_q}, simultaneous=True)
    assert not symbolic.verify_kl_two_gaussians(swapped)
    assert not symbolic.verify_kl_two_gaussians(right.subs(sigma_p**2, sigma_p))
    standard = symbolic.kl_two_gaussians_by_integration().subs({mu_p: 0, sigma_p: 1})
    _, mu, sigma = symbolic.symbols(1)
    assert symbolic.is_identity(standard, symbolic.kl_by_integration(1).subs({mu[0]: mu_q, sigma[0]: sigma_q}))


def test_assert_identity_shows_both_sides():
    symbolic.assert_identity(symbolic.term(2), 1)
    with pytest.raises(AssertionError, match="simplifies to"):
        symbolic.assert_identity(symbolic.term(3), SIGMA_J**2, "Term 3")


@pytest.mark.parametrize("d, error, match", [
    (0, ValueError, ">= 1"), (-2, ValueError, ">= 1"), (1.5, TypeError, "expected an int"), (True, TypeError, "expected an int"),
])
def test_symbols_reject_bad_dimensions(d, error, match):
    with pytest.raises(error, match=match):
        symbolic.symbols(d)


def test_candidates_with_foreign_symbols_or_types_are_rejected():
    sigma_without_assumptions = sp.Symbol("sigma_j")
    with pytest.raises(ValueError, match="unknown symbols"):
        symbolic.verify_term(3, sigma_without_assumptions**2 + MU_J**2)
    with pytest.raises(TypeError, match="SymPy expression"):
        symbolic.verify_term(2, [1, 2])
    with pytest.raises(ValueError, match="term number"):
        symbolic.term_integrand(4)
    z, mu, sigma = symbolic.symbols(2)
    with pytest.raises(ValueError, match="one length"):
        symbolic.gaussian_density(z, mu[:1], sigma)
