"""Tests of course_utils.losses (reconstruction terms): torch.distributions oracles, shapes, metadata errors,
and values that are deliberately not checked. The KL and reparameterization tests live in test_gaussian.py."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.distributions import Bernoulli, Independent, Normal

from course_utils import gaussian, losses

F64 = torch.float64


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


# ---------------------------------------------------------------- oracles
@pytest.mark.parametrize("binary", [True, False])
def test_bernoulli_nll_matches_torch(binary):
    x_logits = randn(3, 1, 4, 4, seed=5)
    x = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(6), dtype=F64)
    x = x.round() if binary else x
    expected = -Independent(Bernoulli(logits=x_logits, validate_args=False), 3).log_prob(x)
    torch.testing.assert_close(losses.bernoulli_nll(x_logits, x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("logvar", [0.0, -1.3, "tensor"])
def test_gaussian_nll_matches_torch(logvar):
    x_hat, x = randn(2, 3, 4, 4, seed=7), randn(2, 3, 4, 4, seed=8)
    logvar = randn(1, 3, 1, 1, seed=9) if logvar == "tensor" else logvar
    std = torch.exp(0.5 * torch.as_tensor(logvar, dtype=F64)).expand_as(x_hat)
    expected = -Independent(Normal(x_hat, std), 3).log_prob(x)
    torch.testing.assert_close(losses.gaussian_nll(x_hat, x, logvar), expected, rtol=1e-12, atol=1e-12)


def test_gaussian_nll_is_minus_log_normal_of_the_flattened_images():
    x_hat, x, logvar = randn(2, 3, 4, seed=1), randn(2, 3, 4, seed=2), randn(2, 3, 4, seed=3)
    torch.testing.assert_close(losses.gaussian_nll(x_hat, x, logvar),
                               -gaussian.log_normal(x.flatten(1), x_hat.flatten(1), logvar.flatten(1)), rtol=0, atol=0)


def test_every_loss_returns_one_value_per_example():
    a, b = randn(5, 2, 3, seed=10), randn(5, 2, 3, seed=11)
    outputs = [losses.gaussian_nll(a, b), losses.bernoulli_nll(a, torch.sigmoid(b))]
    assert [tuple(o.shape) for o in outputs] == [(5,)] * 2
    assert losses.bernoulli_nll(a.float(), torch.sigmoid(b).float()).dtype == torch.float32
    assert losses.gaussian_nll(a.float(), b.float()).dtype == torch.float32


def test_bernoulli_nll_gradient_is_sigmoid_minus_x():
    x_logits = randn(4, 6, seed=12).requires_grad_()
    x = torch.rand(4, 6, generator=torch.Generator().manual_seed(13), dtype=F64)
    losses.bernoulli_nll(x_logits, x).sum().backward()
    torch.testing.assert_close(x_logits.grad, torch.sigmoid(x_logits.detach()) - x, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- values are not checked (by design)
def test_values_are_not_checked_nan_and_inf_propagate():
    """Only metadata is checked: NaN or inf in gives NaN or inf out, and nothing raises."""
    zeros = torch.zeros(2, 3)
    assert torch.isnan(losses.bernoulli_nll(torch.full((2, 3), float("nan")), zeros)).all()
    assert torch.isnan(losses.gaussian_nll(zeros, torch.full((2, 3), float("nan")))).all()
    assert torch.isinf(losses.gaussian_nll(zeros, zeros, float("inf"))).all()


def test_bernoulli_nll_does_not_check_the_range_of_x():
    """x outside [0, 1] is not rejected any more; the formula is applied as written."""
    x_logits, x = randn(2, 3, seed=14), torch.full((2, 3), 1.5, dtype=F64)
    manual = -(x * torch.nn.functional.logsigmoid(x_logits) + (1 - x) * torch.nn.functional.logsigmoid(-x_logits))
    torch.testing.assert_close(losses.bernoulli_nll(x_logits, x), manual.sum(1), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- input errors (metadata only)
@pytest.mark.parametrize("call, error, match", [
    (lambda: losses.bernoulli_nll(np.zeros((2, 3)), torch.zeros(2, 3)), TypeError, r"x_logits: expected a torch.Tensor"),
    (lambda: losses.bernoulli_nll(torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.uint8)), TypeError,
     r"x: expected a floating-point tensor, got dtype torch.uint8"),
    (lambda: losses.gaussian_nll(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3)), TypeError,
     r"x_hat: expected a floating-point tensor"),
    (lambda: losses.gaussian_nll(torch.zeros(2, 3), [[0.0] * 3] * 2), TypeError, r"x: expected a torch.Tensor, got list"),
    (lambda: losses.bernoulli_nll(torch.zeros(2, 3), torch.zeros(2, 4)), ValueError,
     r"x_logits\(2, 3\) and x\(2, 4\): expected equal shapes"),
    (lambda: losses.bernoulli_nll(torch.zeros(3), torch.zeros(3)), ValueError, r"x_logits\(3,\) .*batch axis first"),
    (lambda: losses.gaussian_nll(torch.zeros(3), torch.zeros(3)), ValueError, r"x_hat\(3,\) .*batch axis first"),
    (lambda: losses.gaussian_nll(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(4)), ValueError,
     r"logvar: shape \(4,\) does not broadcast to \(2, 3\)"),
])
def test_input_errors_say_what_was_expected(call, error, match):
    with pytest.raises(error, match=match):
        call()
