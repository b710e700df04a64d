"""course_utils.quadrature: grid and Monte Carlo evidences against the exact linear-Gaussian answers (chapter 01)."""
import math

import pytest
import torch
from conftest import assert_within_stderr
from scipy import integrate

from course_utils import quadrature
from course_utils.latent_models import LinearGaussian


def test_midpoint_nodes_and_grid_points_cover_the_box_in_order():
    nodes, h = quadrature.midpoint_nodes(4, -2.0, 2.0)
    assert h == 1.0 and torch.equal(nodes, torch.tensor([-1.5, -0.5, 0.5, 1.5], dtype=torch.float64))
    points = quadrature.grid_points(4, 3, -2.0, 2.0, 0, 64)
    assert points.shape == (64, 3)
    assert len({tuple(p.tolist()) for p in points}) == 64
    assert torch.equal(points[1], torch.tensor([-1.5, -1.5, -0.5], dtype=torch.float64))
    assert torch.equal(quadrature.grid_points(4, 3, -2.0, 2.0, 10, 20), points[10:20])


def test_log_integral_survives_underflow():
    values = torch.tensor([-1e5, -1e5 + math.log(3.0)], dtype=torch.float64)
    assert math.isclose(quadrature.log_integral(values, 0.5), -1e5 + math.log(4.0) + math.log(0.5), rel_tol=1e-15)
    assert math.isclose(quadrature.log_integral(values, 0.5, d=3), -1e5 + math.log(4.0) + 3 * math.log(0.5), rel_tol=1e-15)


@pytest.mark.parametrize("W, x", [([[1.5]], [[1.2]]), ([[1.0, 0.3], [-0.4, 0.8]], [[0.5, -1.0]])])
def test_grid_evidence_matches_linear_gaussian(W, x):
    W = torch.tensor(W, dtype=torch.float64)
    model = LinearGaussian(W, torch.zeros(W.shape[0], dtype=torch.float64), 0.6)
    x = torch.tensor(x, dtype=torch.float64)
    d = W.shape[1]
    log_px, evaluations = quadrature.log_evidence_grid(lambda z: model.log_joint(x, z), d=d, k=120, chunk=1000)
    assert evaluations == 120**d
    assert math.isclose(log_px, model.log_evidence(x).item(), rel_tol=1e-8)


def test_grid_evidence_does_not_depend_on_chunk_size():
    model = LinearGaussian([[1.0, 0.5]], [0.0], 0.4)
    f = lambda z: model.log_joint(torch.tensor([[0.3]]), z)  # noqa: E731
    a, _ = quadrature.log_evidence_grid(f, d=2, k=50, chunk=7)
    b, _ = quadrature.log_evidence_grid(f, d=2, k=50, chunk=10_000)
    assert math.isclose(a, b, rel_tol=1e-13)


def test_prior_monte_carlo_within_four_standard_errors():
    model = LinearGaussian([[1.0]], [0.0], 0.5)
    x = torch.tensor([[0.7]], dtype=torch.float64)
    log_px, rel_se = quadrature.log_evidence_prior_mc(lambda z: model.log_likelihood(x, z), d=1, n_samples=200_000,
                                                      generator=torch.Generator().manual_seed(0))
    assert_within_stderr(math.exp(log_px - model.log_evidence(x).item()), 1.0, rel_se, what="p_hat(x) / p(x)")
    rho2 = quadrature.prior_mc_relative_variance(model, x).item()
    assert math.isclose(rel_se, math.sqrt(rho2 / 200_000), rel_tol=0.1)


def test_prior_mc_relative_variance_by_quadrature_and_factorization():
    model = LinearGaussian([[1.5]], [-0.5], 0.7)
    x = 1.2
    lik = lambda z: math.exp(model.log_likelihood(torch.tensor([[x]], dtype=torch.float64), torch.tensor([[z]], dtype=torch.float64)).item())  # noqa: E731
    prior = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    p = integrate.quad(lambda z: lik(z) * prior(z), -math.inf, math.inf, epsabs=0, epsrel=1e-11)[0]
    second = integrate.quad(lambda z: lik(z) ** 2 * prior(z), -math.inf, math.inf, epsabs=0, epsrel=1e-11)[0]
    rho2 = quadrature.prior_mc_relative_variance(model, torch.tensor([[x]], dtype=torch.float64)).item()
    assert math.isclose(rho2, second / p**2 - 1, rel_tol=1e-8)
    one = quadrature.prior_mc_relative_variance(LinearGaussian([[1.0]], [0.0], 0.3), torch.ones(1, 1)).item()
    four = quadrature.prior_mc_relative_variance(LinearGaussian(torch.eye(4), torch.zeros(4), 0.3), torch.ones(1, 4)).item()
    assert math.isclose(1 + four, (1 + one) ** 4, rel_tol=1e-10)


def test_time_grid_evidence_rows():
    def make_log_joint(d):
        model = LinearGaussian(torch.ones(1, d, dtype=torch.float64), [0.0], 0.5)
        return lambda z: model.log_joint(torch.zeros(1, 1, dtype=torch.float64), z)

    rows = quadrature.time_grid_evidence(make_log_joint, ds=[1, 2, 3], k=5, repeats=1)
    assert [r["d"] for r in rows] == [1, 2, 3]
    assert [r["evaluations"] for r in rows] == [5, 25, 125]
    assert all(r["seconds"] > 0 and math.isfinite(r["log_evidence"]) for r in rows)


def test_grid_years():
    assert math.isclose(quadrature.grid_years(10, 3, quadrature.SECONDS_PER_YEAR / 1000), 1.0)
    assert math.isclose(quadrature.grid_years(30, 20, 1e-9), 30.0**20 * 1e-9 / (365.25 * 86400), rel_tol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: quadrature.midpoint_nodes(0), r"\bk\b.*positive int, got 0"),
    (lambda: quadrature.midpoint_nodes(5, 1.0, -1.0), r"expected finite lo < hi, got lo=1.0, hi=-1.0"),
    (lambda: quadrature.grid_points(3, 2, -1.0, 1.0, 0, 10), r"expected 0 <= start <= stop <= k\*\*d = 9, got 0, 10"),
    (lambda: quadrature.log_integral(torch.tensor([]), 0.1), r"expected a non-empty \(M,\) tensor and h > 0, got \(0,\)"),
    (lambda: quadrature.log_integral(torch.tensor([0.0]), 0.0), r"h > 0, .*h=0.0"),
    (lambda: quadrature.log_evidence_grid(lambda z: z.sum(1), d=0, k=3), r"\bd\b.*positive int, got 0"),
    (lambda: quadrature.log_evidence_prior_mc(lambda z: z.sum(1), d=1, n_samples=1), r"n_samples must be an int >= 2, got 1"),
    (lambda: quadrature.time_grid_evidence(lambda d: None, ds=[1], k=3, repeats=0), r"repeats\b.*positive int, got 0"),
    (lambda: quadrature.grid_years(10, 2, 0.0), r"seconds_per_evaluation must be positive, got 0.0"),
])
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_relative_variance_needs_a_linear_gaussian():
    with pytest.raises(TypeError, match="model: expected a LinearGaussian, got object"):
        quadrature.prior_mc_relative_variance(object(), torch.zeros(1, 1))


def test_a_grid_too_large_to_finish_is_refused_before_it_starts():
    calls = []
    with pytest.raises(ValueError, match=r"k\*\*d = 100\*\*20 = 1e\+40 grid points is more than max_points"):
        quadrature.log_evidence_grid(lambda z: calls.append(1) or z.sum(-1), d=20, k=100)
    assert not calls


@pytest.mark.parametrize("bad", [lambda z: z.sum(), lambda z: z, lambda z: 0.0])
def test_a_log_joint_that_does_not_return_one_value_per_point_is_named(bad):
    with pytest.raises(ValueError, match=r"log_joint\(z\): expected one log-density per point, shape \(\d+,\), got"):
        quadrature.log_evidence_grid(bad, d=1, k=10)
    with pytest.raises(ValueError, match=r"log_likelihood\(z\): expected one log-density per point, shape \(50,\)"):
        quadrature.log_evidence_prior_mc(bad, d=1, n_samples=50)
