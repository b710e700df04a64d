"""Chapter 00's reference answers (course_utils.exercises.ch00) against independent oracles, and its checks
rejecting wrong answers: the sign, a missing term, a missing absolute value, an option that is not one."""
import math

import pytest
import sympy as sp
import torch
from sympy import stats

from conftest import assert_within_stderr

from course_utils import check
from course_utils.exercises import ch00


# exercise 2: Var[x_t] when x_0 is a random data point


def test_marginal_variance_matches_sympy_stats():
    abar = sp.symbols("abar", positive=True)
    mean, v = sp.symbols("m", real=True), sp.symbols("v", positive=True)
    x0 = stats.Normal("x0", mean, sp.sqrt(v))
    eps = stats.Normal("eps", 0, 1)
    oracle = stats.variance(sp.sqrt(abar) * x0 + sp.sqrt(1 - abar) * eps)
    assert sp.simplify(ch00.diffusion_marginal_variance(abar, v) - oracle) == 0
    assert sp.simplify(ch00.diffusion_marginal_variance(abar, 1) - 1) == 0  # variance preserving


def test_marginal_variance_matches_sampling_with_non_gaussian_data():
    g = torch.Generator().manual_seed(0)
    n = 400_000
    x0 = 3 * torch.rand(n, generator=g, dtype=torch.float64)  # uniform on [0, 3]: variance 0.75
    for abar in (0.9, 0.5, 0.01):
        x_t = abar**0.5 * x0 + (1 - abar) ** 0.5 * torch.randn(n, generator=g, dtype=torch.float64)
        expected = ch00.diffusion_marginal_variance(abar, 0.75)
        # standard error of a sample variance: sqrt((mu_4 - sigma^4) / n)
        stderr = (((x_t - x_t.mean()) ** 4).mean() - x_t.var() ** 2).sqrt() / n**0.5
        assert_within_stderr(x_t.var(), expected, stderr, what=f"Var[x_t], abar = {abar}")


def test_marginal_variance_broadcasts_tensors():
    abar = torch.tensor([0.9, 0.5, 0.1], dtype=torch.float64)
    got = ch00.diffusion_marginal_variance(abar, torch.tensor([[0.25], [2.0]], dtype=torch.float64))
    assert got.shape == (2, 3)
    assert torch.allclose(got[1], abar * 2.0 + 1 - abar)


@pytest.mark.parametrize("wrong", [
    lambda abar, v: abar * v,  # the noise's variance is missing
    lambda abar, v: abar**0.5 * v + (1 - abar) ** 0.5,  # scales not squared
    lambda abar, v: -(abar * v + 1 - abar),  # sign
])
def test_the_variance_check_rejects_wrong_answers(wrong):
    abar = torch.tensor([0.99, 0.9, 0.5, 0.1, 1e-4], dtype=torch.float64)
    cases = [(abar, v) for v in (0.25, 2.0, 1.0)]
    assert not check.function(wrong, ch00.diffusion_marginal_variance, cases, name="Var[x_t]", lang="en")
    assert check.function(lambda a, v: a * v - a + 1, ch00.diffusion_marginal_variance, cases, name="Var[x_t]",
                          lang="en")


# exercise 3: the affine flow


def _flow_cases():
    g = torch.Generator().manual_seed(3)
    return [(torch.randn(7, len(a), generator=g, dtype=torch.float64), torch.tensor(a, dtype=torch.float64),
             torch.randn(len(a), generator=g, dtype=torch.float64))
            for a in ([0.5, 2.0], [-1.5, 0.3, 1.0], [4.0], [-0.2, -3.0])]


def test_affine_flow_matches_torch_distributions():
    for x, a, b in _flow_cases():
        # x = a z + b with z ~ N(0, 1) per coordinate is N(b, a^2)
        oracle = torch.distributions.Independent(torch.distributions.Normal(b, a.abs()), 1).log_prob(x)
        got = ch00.affine_flow_log_prob(x, a, b)
        assert got.shape == (len(x),)
        assert torch.allclose(got, oracle, rtol=0, atol=1e-12)


def test_affine_flow_density_integrates_to_one():
    a, b = torch.tensor([-0.7], dtype=torch.float64), torch.tensor([0.4], dtype=torch.float64)
    grid = torch.linspace(-8, 8, 20001, dtype=torch.float64)[:, None]
    density = ch00.affine_flow_log_prob(grid, a, b).exp()
    assert math.isclose(torch.trapezoid(density, grid[:, 0]).item(), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize("wrong, message", [
    (lambda x, a, b: ch00.affine_flow_log_prob(x, a, b) + 2 * a.abs().log().sum(), "constant"),  # + log|a|
    (lambda x, a, b: ch00.affine_flow_log_prob(x, a, b) + a.abs().log().sum() - a.log().sum(), "NaN"),  # no abs
    (lambda x, a, b: -0.5 * (((x - b) / a) ** 2).sum(-1) - a.abs().log().sum(), "constant"),  # no log 2 pi
])
def test_the_flow_check_rejects_wrong_answers(wrong, message, capsys):
    assert not check.function(wrong, ch00.affine_flow_log_prob, _flow_cases(), name="flow", lang="en")
    assert message in capsys.readouterr().out


# exercise 1: predict, then run


def test_decoder_noise_outcome():
    assert ch00.decoder_noise_outcome(0.06, 0.12) == "farther"
    assert ch00.decoder_noise_outcome(0.12, 0.06) == "closer"
    assert ch00.decoder_noise_outcome(0.06, 0.065) == "same"
    with pytest.raises(ValueError):
        ch00.decoder_noise_outcome(0.0, 0.1)


@pytest.mark.parametrize("lang, todo, correct, why", [
    ("es", "todavía sin resolver", "correcto", "Por qué"),
    ("en", "not attempted yet", "correct", "Why"),
])
def test_check_decoder_noise(lang, todo, correct, why, capsys):
    unsolved = ch00.check_decoder_noise(None, 0.06, 0.12, lang=lang)
    assert not unsolved and not unsolved.attempted
    assert "⏳" in capsys.readouterr().out and todo in str(unsolved)
    right = ch00.check_decoder_noise(" Farther", 0.06, 0.12, lang=lang)
    assert right and f"✅ prediction: {correct}" in str(right) and "×2.00" in str(right)
    wrong = ch00.check_decoder_noise("closer", 0.06, 0.12, lang=lang)
    assert not wrong and wrong.attempted and why in str(wrong)
    assert not ch00.check_decoder_noise("farther", 0.06, 0.061, lang=lang)  # the measurement decides
    assert ch00.check_decoder_noise("same", 0.06, 0.061, lang=lang)
    for bad in ("further", 2, True):
        assert not ch00.check_decoder_noise(bad, 0.06, 0.12, lang=lang)
