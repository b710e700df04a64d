"""Tests for course_utils.estimators (chapter 04): unbiasedness against analytic gradients,
closed-form per-sample oracles, variance, shapes and input errors."""

import pytest
import torch
from conftest import assert_within_stderr

from course_utils.estimators import draw_eps, estimator_variance, reparam_grad, score_function_grad
from course_utils.montecarlo import mean_and_stderr

MU = torch.tensor([1.0, -0.5, 0.2], dtype=torch.float64)
LOGVAR = torch.tensor([-0.5, 0.3, 0.0], dtype=torch.float64)
A = 0.7


def _square(z):
    return z.pow(2).sum(-1)


def _sin(z):
    return torch.sin(z).sum(-1)


def _exp(z):
    return torch.exp(A * z).sum(-1)


def _exact(name):
    """Analytic d/d(mu, logvar) of E[f(z)], z ~ N(mu, diag exp(logvar)), for the three test functions."""
    var = LOGVAR.exp()
    if name == "square":  # E = mu^2 + sigma^2
        return 2 * MU, var
    if name == "sin":  # E = sin(mu) exp(-sigma^2 / 2)
        damp = torch.exp(-var / 2)
        return torch.cos(MU) * damp, -torch.sin(MU) * damp * var / 2
    expectation = torch.exp(A * MU + A**2 * var / 2)  # E = exp(a mu + a^2 sigma^2 / 2)
    return A * expectation, expectation * A**2 * var / 2


FUNCTIONS = {"square": _square, "sin": _sin, "exp": _exp}


def _assert_within_4_se(grads, exact):
    for name, g, e in zip(("d/dmu", "d/dlogvar"), grads, exact):
        mean, se = mean_and_stderr(g)
        assert_within_stderr(mean, e, se, what=f"mean gradient {name}")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_reparam_unbiased(name):
    g = torch.Generator().manual_seed(1)
    _assert_within_4_se(reparam_grad(FUNCTIONS[name], MU, LOGVAR, 100_000, g), _exact(name))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("baseline", [None, 1.5])
def test_score_function_unbiased(name, baseline):
    g = torch.Generator().manual_seed(2)
    grads = score_function_grad(FUNCTIONS[name], MU, LOGVAR, 200_000, g, baseline=baseline)
    _assert_within_4_se(grads, _exact(name))


def test_score_function_matches_closed_form():
    eps = draw_eps(50, 3, torch.Generator().manual_seed(3))
    std = torch.exp(0.5 * LOGVAR)
    f = _sin(MU + std * eps)[:, None]
    g_mu, g_logvar = score_function_grad(_sin, MU, LOGVAR, eps=eps, baseline=0.25)
    # d log q / d mu = eps / sigma,  d log q / d logvar = (eps^2 - 1) / 2
    torch.testing.assert_close(g_mu, (f - 0.25) * eps / std)
    torch.testing.assert_close(g_logvar, (f - 0.25) * (eps.pow(2) - 1) / 2)


def test_reparam_matches_closed_form():
    eps = draw_eps(50, 3, torch.Generator().manual_seed(4))
    std = torch.exp(0.5 * LOGVAR)
    z = MU + std * eps
    g_mu, g_logvar = reparam_grad(_square, MU, LOGVAR, eps=eps)
    torch.testing.assert_close(g_mu, 2 * z)  # f'(z) * dz/dmu
    torch.testing.assert_close(g_logvar, 2 * z * eps * std / 2)  # f'(z) * dz/dlogvar


def test_reparam_variance_smaller_for_square():
    g = torch.Generator().manual_seed(5)
    for L in (1, 8):
        reparam = estimator_variance(reparam_grad, _square, MU, LOGVAR, L, 20_000, g)
        score = estimator_variance(score_function_grad, _square, MU, LOGVAR, L, 20_000, g)
        for (v_r, se_r), (v_s, se_s) in zip(reparam, score):
            assert torch.all(v_r + 4 * se_r < v_s - 4 * se_s), (L, v_r, v_s)


def test_estimator_variance_is_per_sample_variance_over_L():
    g = torch.Generator().manual_seed(6)
    exact_mu = 4 * LOGVAR.exp()  # Var[2 z] = 4 sigma^2
    for L in (1, 16):
        (var, se), _ = estimator_variance(reparam_grad, _square, MU, LOGVAR, L, 4000, g)
        assert_within_stderr(var, exact_mu / L, se, what=f"variance of the {L}-sample gradient")


def test_shapes_and_dtype():
    g = torch.Generator().manual_seed(7)
    for est in (reparam_grad, score_function_grad):
        g_mu, g_logvar = est(_square, MU.float(), LOGVAR.float(), 10, g)
        assert g_mu.shape == g_logvar.shape == (10, 3)
        assert g_mu.dtype == torch.float32
        (v, se), (v2, se2) = estimator_variance(est, _square, MU, LOGVAR, 4, 5, g)
        assert v.shape == se.shape == v2.shape == se2.shape == (3,)


def test_inputs_left_untouched_and_no_grad_context():
    mu, logvar = MU.clone().requires_grad_(), LOGVAR.clone().requires_grad_()
    with torch.no_grad():
        g_mu, _ = reparam_grad(_square, mu, logvar, 5, torch.Generator().manual_seed(8))
    assert mu.grad is None and logvar.grad is None
    assert not g_mu.requires_grad


def test_fixed_eps_gives_same_draws_as_generator():
    eps = draw_eps(20, 3, torch.Generator().manual_seed(9))
    a = score_function_grad(_square, MU, LOGVAR, eps=eps)
    b = score_function_grad(_square, MU, LOGVAR, 20, torch.Generator().manual_seed(9))
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)


def test_non_finite_parameters_propagate_instead_of_raising():
    """_check_params checks metadata only: a NaN mu gives NaN gradient estimates, nothing raises."""
    g = torch.Generator().manual_seed(10)
    for est in (reparam_grad, score_function_grad):
        g_mu, g_logvar = est(_square, MU * float("nan"), LOGVAR, 4, g)
        assert torch.isnan(g_mu).all() and g_logvar.shape == (4, 3)


def test_errors():
    g = torch.Generator().manual_seed(11)
    with pytest.raises(ValueError, match=r"shapes must match: mu\(3,\), logvar\(2,\)"):
        reparam_grad(_square, MU, LOGVAR[:2], 4, g)
    with pytest.raises(TypeError, match="mu: expected a torch.Tensor"):
        reparam_grad(_square, [1.0], LOGVAR, 4, g)
    with pytest.raises(ValueError, match=r"mu: expected a 1-D float tensor \(d,\), got shape \(1, 3\)"):
        score_function_grad(_square, MU[None], LOGVAR[None], 4, g)
    with pytest.raises(ValueError, match=r"logvar: expected a 1-D float tensor .*torch.int64"):
        score_function_grad(_square, MU, torch.zeros(3, dtype=torch.long), 4, g)
    with pytest.raises(ValueError, match="exactly one of n .* or eps"):
        reparam_grad(_square, MU, LOGVAR)
    with pytest.raises(ValueError, match="exactly one of n .* or eps"):
        reparam_grad(_square, MU, LOGVAR, 4, eps=torch.zeros(4, 3))
    with pytest.raises(ValueError, match="eps: expected shape"):
        score_function_grad(_square, MU, LOGVAR, eps=torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"f\(z\): expected one value per row"):
        reparam_grad(lambda z: z.pow(2), MU, LOGVAR, 4, g)
    with pytest.raises(TypeError, match="f: expected a callable"):
        score_function_grad("f", MU, LOGVAR, 4, g)
    with pytest.raises(ValueError, match=r"f\(z\) is not differentiable"):
        reparam_grad(lambda z: (z > 0).to(z.dtype).sum(-1), MU, LOGVAR, 4, g)
    with pytest.raises(ValueError, match="baseline: expected a finite number"):
        score_function_grad(_square, MU, LOGVAR, 4, g, baseline=torch.ones(4))
    with pytest.raises(ValueError, match=r"\bn\b.*positive int, got 0"):
        draw_eps(0, 3)
    with pytest.raises(ValueError, match="repeats must be >= 2"):
        estimator_variance(reparam_grad, _square, MU, LOGVAR, 4, 1, g)
