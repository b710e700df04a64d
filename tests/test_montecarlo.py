"""course_utils.montecarlo: sample means and variances with their standard errors; and the shared
`assert_within_stderr` helper of tests/conftest.py that the Monte Carlo tests use."""
from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_within_stderr

from course_utils.montecarlo import mean_and_stderr, variance_and_stderr

F64 = torch.float64


def test_mean_and_stderr_small_example():
    values = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    mean, stderr = mean_and_stderr(values)
    torch.testing.assert_close(mean, torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(stderr, torch.tensor([math.sqrt(2.0) / math.sqrt(2.0), math.sqrt(8.0) / math.sqrt(2.0)]))


def test_mean_and_stderr_is_std_ddof1_over_sqrt_s_and_keeps_trailing_axes():
    x = torch.randn(50, 3, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    mean, se = mean_and_stderr(x)
    assert mean.shape == se.shape == (3, 2)
    torch.testing.assert_close(mean, x.mean(0), rtol=0, atol=0)
    torch.testing.assert_close(se, x.std(0, correction=1) / math.sqrt(50), rtol=1e-14, atol=0)


def test_stats_helpers_on_a_standard_normal():
    x = torch.tensor([[1.0], [3.0]], dtype=F64)
    mean, se = mean_and_stderr(x)
    assert mean.item() == 2.0 and math.isclose(se.item(), math.sqrt(2) / math.sqrt(2))
    samples = torch.randn(200_000, generator=torch.Generator().manual_seed(10), dtype=F64)
    var, se = variance_and_stderr(samples)
    assert_within_stderr(var, 1.0, se, what="variance of N(0, 1) draws")
    assert math.isclose(se.item(), math.sqrt(2 / 200_000), rel_tol=0.05)  # Gaussian: m4 = 3 sigma^4


def test_variance_and_stderr_formula():
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0], [10.0, 1.0]], dtype=F64)
    var, se = variance_and_stderr(x)
    centred = x - x.mean(0)
    m4 = centred.pow(4).mean(0)
    torch.testing.assert_close(var, x.var(0), rtol=0, atol=0)
    torch.testing.assert_close(se, ((m4 - x.var(0) ** 2).clamp_min(0) / 4).sqrt(), rtol=0, atol=0)
    assert se[1] == 0 and var[1] == 0  # a constant column has zero variance, known exactly


def test_uniform_moments_within_stderr():
    x = torch.rand(100_000, generator=torch.Generator().manual_seed(1), dtype=F64)
    mean, se = mean_and_stderr(x)
    assert_within_stderr(mean, 0.5, se, what="mean of U(0, 1)")
    var, se_var = variance_and_stderr(x)
    assert_within_stderr(var, 1 / 12, se_var, what="variance of U(0, 1)")


def test_stderr_covers_the_truth_at_the_nominal_rate():
    """Over 2,000 repeats of a 30-sample mean, |mean - 0| < 2 stderr about 95% of the time (t(29): 94.5%)."""
    x = torch.randn(30, 2000, generator=torch.Generator().manual_seed(2), dtype=F64)
    mean, se = mean_and_stderr(x)
    coverage = float(((mean.abs() < 2 * se).double()).mean())
    assert 0.93 < coverage < 0.96, coverage


@pytest.mark.parametrize("fn", [mean_and_stderr, variance_and_stderr])
def test_errors_name_samples(fn):
    with pytest.raises(TypeError, match=r"samples: expected a torch.Tensor \(S, ...\), got list"):
        fn([1.0, 2.0])
    with pytest.raises(ValueError, match=r"samples: expected at least 2 samples along axis 0, got shape \(1, 3\)"):
        fn(torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"samples: expected at least 2 samples along axis 0, got shape \(\)"):
        fn(torch.tensor(1.0))


# ---------------------------------------------------------------- the helper itself
def test_assert_within_stderr_passes_inside_and_reports_z_scores_outside():
    assert_within_stderr(torch.tensor([1.0, 2.0]), torch.tensor([1.1, 1.9]), torch.tensor([0.05, 0.05]))
    assert_within_stderr(1.0, 1.0, 0.0)  # zero stderr demands equality
    assert_within_stderr(0.5, 0.0, 0.2, k=3)
    with pytest.raises(AssertionError, match=r"not within 4 standard errors.*largest \|z\| = 5.00"):
        assert_within_stderr(torch.tensor([1.0, 1.5]), torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.1]))
    with pytest.raises(AssertionError, match=r"my mean is not within 2 standard errors"):
        assert_within_stderr(0.5, 0.0, 0.2, k=2, what="my mean")
    with pytest.raises(AssertionError, match=r"stderr must be finite and >= 0"):
        assert_within_stderr(1.0, 1.0, float("nan"))
    with pytest.raises(AssertionError, match=r"largest \|z\| = nan"):
        assert_within_stderr(float("nan"), 0.0, 1.0)
