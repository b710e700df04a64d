"""Chapter 04's exercises: the reference answers against independent oracles, and the checks reject wrong answers."""
from __future__ import annotations

import math

import pytest
import scipy.integrate
import scipy.stats
import sympy as sp
import torch

from course_utils import check
from course_utils.estimators import draw_eps, reparam_grad, score_function_grad
from course_utils.exercises import ch04


def test_reference_reparameterize_passes_the_check_and_a_wrong_scale_does_not():
    torch.manual_seed(0)
    assert check.reparameterize(ch04.reparameterize, lang="en").passed
    torch.manual_seed(0)
    wrong = check.reparameterize(lambda mu, logvar: mu + logvar.exp() * torch.randn_like(mu), lang="en")
    assert not wrong.passed and "exp(logvar / 2)" in str(wrong)


@pytest.mark.parametrize("mu, logvar", ch04.EXP_MOMENT_CASES)
def test_exp_moment_matches_quadrature_sympy_and_torch(mu, logvar):
    mean, d_mu, d_logvar = ch04.exp_moment(mu, logvar)
    sigma = math.exp(logvar / 2)
    by_quad = scipy.integrate.quad(lambda z: math.exp(z + scipy.stats.norm.logpdf(z, mu, sigma)), -math.inf, math.inf,
                                   epsabs=0, epsrel=1e-12)[0]
    assert math.isclose(mean, by_quad, rel_tol=1e-8)
    # SymPy: integrate e^(mu + sigma eps) against the standard normal density, then differentiate in (mu, logvar)
    m, lv, eps = sp.Symbol("mu", real=True), sp.Symbol("logvar", real=True), sp.Symbol("eps", real=True)
    s = sp.Symbol("s", positive=True)
    expectation = sp.exp(m) * sp.integrate(sp.exp(s * eps - eps**2 / 2) / sp.sqrt(2 * sp.pi), (eps, -sp.oo, sp.oo))
    expectation = expectation.subs(s, sp.exp(lv / 2))
    point = {m: mu, lv: logvar}
    for got, expr in zip((mean, d_mu, d_logvar), (expectation, sp.diff(expectation, m), sp.diff(expectation, lv))):
        assert math.isclose(got, float(expr.subs(point)), rel_tol=1e-10)
    # torch: the mean of a log-normal, differentiated by autograd
    mu_t = torch.tensor(mu, dtype=torch.float64, requires_grad=True)
    logvar_t = torch.tensor(logvar, dtype=torch.float64, requires_grad=True)
    lognormal_mean = torch.distributions.LogNormal(mu_t, torch.exp(logvar_t / 2)).mean
    grads = torch.autograd.grad(lognormal_mean, (mu_t, logvar_t))
    assert math.isclose(mean, lognormal_mean.item(), rel_tol=1e-12)
    assert math.isclose(d_mu, grads[0].item(), rel_tol=1e-12) and math.isclose(d_logvar, grads[1].item(), rel_tol=1e-12)


@pytest.mark.parametrize("wrong", [
    lambda mu, lv: (math.exp(mu + math.exp(lv)),) * 2 + (math.exp(lv) * math.exp(mu + math.exp(lv)),),  # no 1/2
    lambda mu, lv: (math.exp(mu + math.exp(lv) / 2),) * 2 + (math.exp(mu + math.exp(lv) / 2) / 2,),  # chain rule
    lambda mu, lv: tuple(-v for v in ch04.exp_moment(mu, lv)),  # sign
    lambda mu, lv: ch04.exp_moment(mu, lv)[:2],  # the derivative in logvar missing
])
def test_exp_moment_check_rejects_wrong_answers(wrong):
    assert not check.function(wrong, ch04.exp_moment, ch04.EXP_MOMENT_CASES, name="exp_moment", lang="en").passed


def _shift_ratios(n=5000):
    """The notebook's measurement: per-sample variance of each estimator for z^2 + 100 over the one for z^2."""
    mu, logvar = torch.tensor([1.0], dtype=torch.float64), torch.tensor([-0.5], dtype=torch.float64)
    eps = draw_eps(n, 1, torch.Generator().manual_seed(0))

    def square(z):
        return z.pow(2).sum(-1)

    ratios = {}
    for name, estimator in (("reparam", reparam_grad), ("score", score_function_grad)):
        plain = estimator(square, mu, logvar, eps=eps)
        shifted = estimator(lambda z: square(z) + 100.0, mu, logvar, eps=eps)
        ratios[name] = torch.stack([s.var(0).sum() / p.var(0).sum() for p, s in zip(plain, shifted)])
    return ratios


def test_constant_shift_measurement_and_feedback(capsys):
    ratios = _shift_ratios()
    assert (ratios["reparam"] == 1).all() and (ratios["score"] > 100).all()
    # the exact variance added to the score estimate of d/dmu is 100^2 / sigma^2 (E[eps^2] = 1)
    assert ch04.constant_shift_feedback("score", ratios, lang="en").passed
    for wrong in ("reparam", "both", "neither"):
        feedback = ch04.constant_shift_feedback(wrong, ratios, lang="en")
        assert not feedback.passed and feedback.attempted and "derivative 0" in str(feedback)
    unsolved = ch04.constant_shift_feedback(None, ratios, lang="es")
    assert not unsolved.passed and not unsolved.attempted and "todavía sin resolver" in str(unsolved)
    assert "is not one of the options" in str(ch04.constant_shift_feedback("faster", ratios, lang="en"))
    assert ch04.constant_shift_feedback(" Score", ratios, lang="en").passed, "case and spaces do not matter"
    assert "correct" in capsys.readouterr().out
