"""Tests for course_utils.data.toy_2d: shapes, dtype, determinism, geometry and input checks."""
import math

import pytest
import torch

from course_utils.data import toy_2d

GENERATORS = list(toy_2d.DATASETS.items())


@pytest.mark.parametrize("name,make", GENERATORS)
@pytest.mark.parametrize("n", [1, 7, 500])
def test_shape_and_dtype(name, make, n):
    x = make(n)
    assert x.shape == (n, 2)
    assert x.dtype == torch.float32
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("name,make", GENERATORS)
def test_same_seed_same_points_other_seed_other_points(name, make):
    assert torch.equal(make(300, seed=3), make(300, seed=3))
    assert not torch.allclose(make(300, seed=3), make(300, seed=4))


@pytest.mark.parametrize("name,make", GENERATORS)
def test_does_not_touch_the_global_generator(name, make):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    make(100, seed=1)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name,make", GENERATORS)
def test_centred_with_unit_spread(name, make):
    x = make(4000, seed=0)
    assert x.mean(0).abs().max() < 0.35
    assert 0.3 < x.std(0).min() and x.std(0).max() < 1.5


def test_two_moons_without_noise_lie_on_two_unit_circles():
    x = toy_2d.two_moons(1000, noise=0.0).double() + torch.tensor([0.5, 0.25], dtype=torch.float64)
    outer = (x.norm(dim=1) - 1).abs() < 1e-6
    inner = ((x - torch.tensor([1.0, 0.5], dtype=torch.float64)).norm(dim=1) - 1).abs() < 1e-6
    assert torch.all(outer | inner)
    assert outer.sum() == 500 and inner.sum() == 500
    assert torch.all(x[outer, 1] >= -1e-6) and torch.all(x[inner, 1] <= 0.5 + 1e-6)


def test_rings_without_noise_have_the_given_radii():
    x = toy_2d.rings(999, noise=0.0, radii=(0.5, 1.0, 2.0))
    r = x.norm(dim=1)
    for radius in (0.5, 1.0, 2.0):
        assert ((r - radius).abs() < 1e-5).sum() == 333


def test_spiral_without_noise_radius_grows_with_angle():
    x = toy_2d.spiral(2000, noise=0.0, turns=1.0).double()
    r = x.norm(dim=1)
    assert r.max() <= 1.5 + 1e-6
    angle = 2 * math.pi * r / 1.5  # one turn while the radius goes from 0 to 1.5
    assert torch.allclose(x, r[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1), atol=1e-5)


def test_gaussian_mixture_without_noise_sits_on_the_means():
    x = toy_2d.gaussian_mixture(800, k=4, radius=2.0, std=0.0)
    means = torch.tensor([[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [0.0, -2.0]])
    distances = torch.cdist(x, means)  # (800, 4)
    assert distances.min(dim=1).values.max() < 1e-5
    counts = torch.bincount(distances.argmin(dim=1), minlength=4)
    assert torch.all(counts > 150)


def test_noise_scales_the_spread_around_the_clean_curve():
    clean = toy_2d.rings(2000, noise=0.0, radii=(1.0,)).norm(dim=1)
    noisy = toy_2d.rings(2000, noise=0.1, radii=(1.0,)).norm(dim=1)
    assert (clean - 1).abs().max() < 1e-5
    assert 0.07 < (noisy - 1).std() < 0.13


@pytest.mark.parametrize("name,make", GENERATORS)
@pytest.mark.parametrize("n", [0, -3, 2.5, True, "10"])
def test_bad_n_raises_a_clear_error(name, make, n):
    with pytest.raises(ValueError, match=r"\bn\b.*positive int"):
        make(n)


@pytest.mark.parametrize("name,make", [(k, v) for k, v in GENERATORS if k != "gaussian_mixture"])
@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf"), "0.1"])
def test_bad_noise_raises_a_clear_error(name, make, noise):
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make(10, noise=noise)


@pytest.mark.parametrize("std", [-1.0, float("nan")])
def test_gaussian_mixture_bad_std(std):
    with pytest.raises(ValueError, match="std must be a finite number >= 0"):
        toy_2d.gaussian_mixture(10, std=std)


@pytest.mark.parametrize("kwargs,message", [
    ({"k": 0}, r"\bk\b.*positive int"),
    ({"radius": -1.0}, "radius must be a number >= 0"),
])
def test_gaussian_mixture_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toy_2d.gaussian_mixture(10, **kwargs)


@pytest.mark.parametrize("seed", [-1, 1.5, None])
def test_bad_seed_raises(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        toy_2d.two_moons(10, seed=seed)


@pytest.mark.parametrize("radii", [(), (1.0, -1.0), (0.0,)])
def test_rings_bad_radii(radii):
    with pytest.raises(ValueError, match="radii must be a non-empty sequence of positive numbers"):
        toy_2d.rings(10, radii=radii)


@pytest.mark.parametrize("turns", [0, -1.0])
def test_spiral_bad_turns(turns):
    with pytest.raises(ValueError, match="turns must be a positive number"):
        toy_2d.spiral(10, turns=turns)


@pytest.mark.parametrize("D,d", [(8, 2), (2, 2), (5, 1)])
def test_lift_matrix_has_orthonormal_columns(D, d):
    Q = toy_2d.lift_matrix(D, d, seed=2)
    assert Q.shape == (D, d) and Q.dtype == torch.float32
    assert torch.allclose(Q.T @ Q, torch.eye(d), atol=1e-6)
    assert torch.equal(Q, toy_2d.lift_matrix(D, d, seed=2))


def test_lift_then_project_recovers_the_points():
    x = toy_2d.two_moons(100)
    Q = toy_2d.lift_matrix(8)
    assert torch.allclose((x @ Q.T) @ Q, x, atol=1e-6)


@pytest.mark.parametrize("D,d,message", [
    (0, 2, r"\bD\b.*positive int"),
    (8, 0, r"\bd\b.*positive int"),
    (2, 3, "d=3 must be <= D=2"),
])
def test_lift_matrix_bad_dimensions(D, d, message):
    with pytest.raises(ValueError, match=message):
        toy_2d.lift_matrix(D, d)


def test_grid_2d_order_matches_contour_convention():
    points, xs, ys = toy_2d.grid_2d(xlim=(0, 1), ylim=(10, 12), num=3)
    assert points.shape == (9, 2) and points.dtype == torch.float64
    assert torch.equal(xs, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64))
    assert torch.equal(ys, torch.tensor([10.0, 11.0, 12.0], dtype=torch.float64))
    values = (points[:, 0] + 100 * points[:, 1]).reshape(len(ys), len(xs))  # indexed [y, x]
    assert values[2, 1] == 0.5 + 100 * 12.0


def test_grid_2d_integrates_a_gaussian_to_one():
    points, xs, ys = toy_2d.grid_2d(xlim=(-6, 6), ylim=(-6, 6), num=241)
    density = torch.exp(-0.5 * (points**2).sum(dim=1)) / (2 * math.pi)
    cell = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert abs(density.sum().item() * cell.item() - 1) < 1e-6


@pytest.mark.parametrize("kwargs,message", [
    ({"num": 1}, "num must be an int >= 2"),
    ({"xlim": (1, 0)}, "xlim must be"),
    ({"ylim": (0, float("inf"))}, "ylim must be"),
])
def test_grid_2d_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toy_2d.grid_2d(**kwargs)


def test_gaussian_mixture_std_is_the_component_spread():
    x = toy_2d.gaussian_mixture(4000, k=1, radius=0.0, std=0.3)
    assert torch.allclose(x.std(dim=0), torch.full((2,), 0.3), atol=0.02)
