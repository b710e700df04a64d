"""Chapter 01's reference answers (course_utils.exercises.ch01) against independent oracles, and its checks
rejecting wrong answers: a missing n, the sign, an exp that underflows, a prediction that is not a number."""
import math

import pytest
import sympy as sp
import torch

from course_utils import check, quadrature
from course_utils.exercises import ch01
from course_utils.latent_models import LinearGaussian, NonlinearGaussian, ring_decoder


# exercise 1: the posterior after n observations


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_posterior_n_observations_matches_linear_gaussian(n):
    g = torch.Generator().manual_seed(n)
    w, b, s = 1.3, -0.4, 0.6
    x = w * 0.8 + b + s * torch.randn(1, n, generator=g, dtype=torch.float64)  # n observations of z = 0.8
    # the package's exact posterior with D = n coordinates sharing one z: W is a column of n w's
    mean, cov = LinearGaussian([[w]] * n, [b] * n, s).posterior(x)
    got_mean, got_var = ch01.posterior_n_observations(x.mean().item(), n, w, b, s)
    assert math.isclose(got_mean, mean.item(), rel_tol=1e-12)
    assert math.isclose(got_var, cov.item(), rel_tol=1e-12)


def test_posterior_n_observations_matches_completing_the_square_in_sympy():
    z, w, b = sp.symbols("z w b", real=True)
    s = sp.symbols("s", positive=True)
    xs = sp.symbols("x1:4", real=True)  # n = 3
    exponent = sp.expand(-z**2 / 2 - sum((xk - w * z - b) ** 2 for xk in xs) / (2 * s**2))
    a2, a1, _ = sp.Poly(exponent, z).all_coeffs()  # exponent = a2 z^2 + a1 z + const
    oracle_var, oracle_mean = -1 / (2 * a2), -a1 / (2 * a2)
    mean, var = ch01.posterior_n_observations(sum(xs) / 3, 3, w, b, s)
    assert sp.simplify(mean - oracle_mean) == 0
    assert sp.simplify(var - oracle_var) == 0


@pytest.mark.parametrize("wrong", [
    lambda x_bar, n, w, b, s: (w * (x_bar - b) / (w**2 + s**2), s**2 / (w**2 + s**2)),  # n = 1 always
    lambda x_bar, n, w, b, s: (n * w * (x_bar - b) / (s**2 + n * w**2), s**2 / (s**2 + w**2)),  # variance
    lambda x_bar, n, w, b, s: tuple(-v for v in ch01.posterior_n_observations(x_bar, n, w, b, s)),  # sign
])
def test_the_posterior_check_rejects_wrong_answers(wrong):
    g = torch.Generator().manual_seed(1)
    cases = [(3 * torch.randn(5, generator=g), torch.tensor([1.0, 2.0, 5.0, 20.0, 1000.0]),
              2 * torch.randn(5, generator=g), torch.randn(5, generator=g), 0.1 + torch.rand(5, generator=g))
             for _ in range(3)]
    assert not check.function(wrong, ch01.posterior_n_observations, cases, name="posterior", lang="en")
    assert check.function(ch01.posterior_n_observations, ch01.posterior_n_observations, cases, name="posterior",
                          lang="en")


# exercise 2: log-sum-exp on a grid


def test_log_evidence_on_grid_matches_logsumexp_and_the_exact_evidence():
    model = LinearGaussian([[1.5]], [-0.5], 0.7)
    x = torch.tensor([[1.2]])
    z, h = quadrature.midpoint_nodes(4000)
    values = model.log_joint(x, z[:, None])  # (k,)
    got = ch01.log_evidence_on_grid(values, h)
    assert math.isclose(float(got), float(torch.logsumexp(values, 0)) + math.log(h), rel_tol=1e-14)
    assert math.isclose(float(got), model.log_evidence(x).item(), rel_tol=1e-9)  # the integral itself


def test_log_evidence_on_grid_survives_underflow():
    values = torch.tensor([-1e5, -1e5 - 1.0, -1e5 - 2.0], dtype=torch.float64)
    got = float(ch01.log_evidence_on_grid(values, 0.5))
    assert math.isfinite(got)
    assert math.isclose(got, -1e5 + math.log(1 + math.exp(-1) + math.exp(-2)) + math.log(0.5), rel_tol=1e-14)


def test_the_grid_check_rejects_the_naive_exp(capsys):
    z, h = quadrature.midpoint_nodes(300)
    cases = [(LinearGaussian([[1.0]], [0.0], 0.05).log_joint(torch.tensor([[30.0]]), z[:, None]), h)]
    assert cases[0][0].max() < -1000  # every exp underflows to 0
    naive = lambda a, h: torch.log((h * torch.exp(a)).sum())  # noqa: E731
    assert not check.function(naive, ch01.log_evidence_on_grid, cases, name="grid", lang="en")
    assert "NaN" in capsys.readouterr().out


# exercise 3: predict, then run


def test_the_ring_posterior_at_the_centre_is_the_prior():
    ring = NonlinearGaussian(ring_decoder(omega=2.0, radius=1.0), d=1, D=2, sigma=0.3)
    z, h = quadrature.midpoint_nodes(400)
    log_joint = lambda zs: ring.log_joint(torch.zeros(1, 2), zs)  # noqa: E731
    log_px, _ = quadrature.log_evidence_grid(log_joint, d=1, k=400)
    posterior = torch.exp(log_joint(z[:, None]) - log_px)
    variance = (h * z**2 * posterior).sum().item()
    assert math.isclose(variance, 1.0, abs_tol=1e-6)
    assert ch01.check_ring_centre(1.0, variance, lang="en")


@pytest.mark.parametrize("lang, todo, correct", [("es", "todavía sin resolver", "correcto"),
                                                 ("en", "not attempted yet", "correct")])
def test_check_ring_centre(lang, todo, correct, capsys):
    unsolved = ch01.check_ring_centre(None, 1.0, lang=lang)
    assert not unsolved and not unsolved.attempted
    assert "⏳" in capsys.readouterr().out and todo in str(unsolved)
    assert f"✅ prediction: {correct}" in str(ch01.check_ring_centre(1, 1.0, lang=lang))
    assert ch01.check_ring_centre(torch.tensor(0.9), 1.0, lang=lang)
    wider, narrower = ch01.check_ring_centre(2.4, 1.0, lang=lang), ch01.check_ring_centre(0.1, 1.0, lang=lang)
    assert not wider and not narrower and str(wider) != str(narrower)
    assert "x = (0, −1)" in str(wider) and "2.4" in str(wider)
    for bad in ("one", True, float("nan"), [1.0]):
        assert not ch01.check_ring_centre(bad, 1.0, lang=lang)
