"""Tests for course_utils.data.dsprites: the official factor grid and index order, the renders, sampling, input checks.

The oracles are the official definition (deepmind/dsprites-dataset): factors (shape 3, scale 6,
orientation 40, posX 32, posY 32), every combination once in C order (posY fastest), values
shape 1..3, scale linspace(0.5, 1, 6), orientation linspace(0, 2 pi, 40), positions linspace(0, 1, 32).
"""
import math

import numpy as np
import pytest
import torch

from course_utils.data import dsprites as D

OFFICIAL_SIZES = (3, 6, 40, 32, 32)
LAST = [2, 5, 39, 31, 31]


def _classes(shape=0, scale=0, orientation=0, pos_x=16, pos_y=16) -> torch.Tensor:
    return torch.tensor([[shape, scale, orientation, pos_x, pos_y]])


def _one(**kwargs) -> torch.Tensor:
    """The (64, 64) image of one factor combination."""
    return D.render(_classes(**kwargs))[0, 0]


def _centroid(image: torch.Tensor) -> tuple[float, float]:
    """(column, row) of the pixel centres of a (64, 64) binary image."""
    rows, cols = image.nonzero(as_tuple=True)
    return float(cols.double().mean()) + 0.5, float(rows.double().mean()) + 0.5


def _expected_centre(k: int) -> float:
    return D.FIRST_CENTRE + (D.LAST_CENTRE - D.FIRST_CENTRE) * k / 31


# ---------------------------------------------------------------------------------------------- the grid


def test_sizes_and_number_of_images_are_the_official_ones():
    assert D.SIZES == OFFICIAL_SIZES
    assert D.FACTORS == ("shape", "scale", "orientation", "pos_x", "pos_y")
    assert D.SHAPES == ("square", "ellipse", "heart")
    assert math.prod(D.SIZES) == D.N_IMAGES == 737280
    assert (D.SIDE, D.HALF_SIZE) == (64, 9.0)


def test_bases_are_the_cumulative_products_of_the_sizes_from_the_right():
    bases, running = [], 1
    for size in reversed(D.SIZES):
        bases.insert(0, running)
        running *= size
    assert tuple(D.BASES) == tuple(bases)
    assert running == D.N_IMAGES


def test_factor_values_are_the_official_grids():
    values = D.factor_values()
    assert list(values) == list(D.FACTORS)
    expected = {"shape": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64),
                "scale": torch.linspace(0.5, 1.0, 6, dtype=torch.float64),
                "orientation": torch.linspace(0.0, 2 * math.pi, 40, dtype=torch.float64),
                "pos_x": torch.linspace(0.0, 1.0, 32, dtype=torch.float64),
                "pos_y": torch.linspace(0.0, 1.0, 32, dtype=torch.float64)}
    for name, size in zip(D.FACTORS, D.SIZES):
        assert values[name].dtype == torch.float64
        assert values[name].shape == (size,)
        assert torch.allclose(values[name], expected[name], rtol=0, atol=1e-12), name
    assert values["orientation"][-1] == pytest.approx(2 * math.pi)
    assert values["orientation"][1] == pytest.approx(2 * math.pi / 39)


def test_factor_values_are_fresh_tensors():
    values = D.factor_values()
    values["scale"][0] = 100.0
    assert D.factor_values()["scale"][0] == 0.5


# --------------------------------------------------------------------------------------- the index order


@pytest.mark.parametrize("index,classes", [
    (0, [0, 0, 0, 0, 0]),
    (1, [0, 0, 0, 0, 1]),        # posY fastest
    (32, [0, 0, 0, 1, 0]),
    (1024, [0, 0, 1, 0, 0]),
    (40960, [0, 1, 0, 0, 0]),
    (245760, [1, 0, 0, 0, 0]),
    (737279, LAST),
])
def test_known_indices(index, classes):
    assert D.classes_of(torch.tensor([index])).tolist() == [classes]
    assert D.index_of(torch.tensor([classes])).tolist() == [index]


def test_full_range_is_the_c_order_product_of_the_factor_ranges():
    """Every combination once, in itertools.product order: np.unravel_index is the oracle."""
    index = torch.arange(D.N_IMAGES)
    classes = D.classes_of(index)
    assert classes.shape == (D.N_IMAGES, 5) and classes.dtype == torch.long
    oracle = np.stack(np.unravel_index(np.arange(D.N_IMAGES), OFFICIAL_SIZES), axis=1)
    assert np.array_equal(classes.numpy(), oracle)
    for start in range(0, D.N_IMAGES, 100_000):
        part = index[start:start + 100_000]
        assert torch.equal(D.index_of(D.classes_of(part)), part)


def test_round_trip_on_random_classes_and_indices():
    g = torch.Generator().manual_seed(0)
    classes = D.sample_classes(5000, g)
    assert torch.equal(D.classes_of(D.index_of(classes)), classes)
    index = torch.randint(D.N_IMAGES, (5000,), generator=g)
    assert torch.equal(D.index_of(D.classes_of(index)), index)


def test_index_of_is_the_weighted_sum_of_classes():
    g = torch.Generator().manual_seed(1)
    classes = D.sample_classes(300, g)
    expected = [sum(int(c) * b for c, b in zip(row, (245760, 40960, 1024, 32, 1))) for row in classes.tolist()]
    assert D.index_of(classes).tolist() == expected


def test_empty_inputs():
    assert D.index_of(torch.zeros(0, 5, dtype=torch.long)).shape == (0,)
    assert D.classes_of(torch.zeros(0, dtype=torch.long)).shape == (0, 5)


# ------------------------------------------------------------------------------------------- rendering


def test_render_shape_dtype_and_binary_values():
    g = torch.Generator().manual_seed(2)
    classes = D.sample_classes(40, g)
    x = D.render(classes)
    assert x.shape == (40, 1, 64, 64) and x.dtype == torch.float32
    assert set(x.unique().tolist()) <= {0.0, 1.0}
    assert set(x.unique().tolist()) == {0.0, 1.0}
    assert (x.flatten(1).sum(1) > 0).all()  # every image shows something


def test_render_is_deterministic_and_images_agree_with_render():
    g = torch.Generator().manual_seed(3)
    index = torch.randint(D.N_IMAGES, (30,), generator=g)
    classes = D.classes_of(index)
    assert torch.equal(D.render(classes), D.render(classes.clone()))
    assert torch.equal(D.images(index), D.render(classes))
    # rendering one at a time gives the same as rendering in a batch
    assert torch.equal(torch.cat([D.render(c[None]) for c in classes]), D.render(classes))


def test_different_factors_give_different_images():
    base = _one(shape=0, scale=3, orientation=5, pos_x=10, pos_y=20)
    for change in ({"shape": 1}, {"scale": 4}, {"orientation": 6}, {"pos_x": 11}, {"pos_y": 21}):
        kwargs = {"shape": 0, "scale": 3, "orientation": 5, "pos_x": 10, "pos_y": 20, **change}
        assert not torch.equal(_one(**kwargs), base), change


_DUPLICATE_CLASSES = [(s, sc, px, py) for s in range(3) for sc in range(6)
                      for px, py in [(0, 0), (0, 31), (31, 0), (31, 31), (15, 16), (7, 23), (16, 16)]]


def _first_and_last_orientation(rows):
    first = torch.tensor([[s, sc, 0, px, py] for s, sc, px, py in rows])
    last = first.clone()
    last[:, 2] = 39
    return D.render(first), D.render(last)


def test_first_and_last_orientation_are_the_same_picture_ellipse_and_heart():
    a, b = _first_and_last_orientation([r for r in _DUPLICATE_CLASSES if r[0] != 0])
    assert torch.equal(a, b)


def test_first_and_last_orientation_are_the_same_picture_for_every_shape():
    a, b = _first_and_last_orientation(_DUPLICATE_CLASSES)
    differing = (a != b).flatten(1).any(1)
    assert not differing.any(), [r for r, d in zip(_DUPLICATE_CLASSES, differing.tolist()) if d]


def test_square_area_at_scale_one_is_its_side_squared_when_unrotated():
    side = 2 * D.HALF_SIZE
    for px, py in [(0, 0), (16, 16), (31, 31), (5, 27)]:
        assert _one(shape=0, scale=5, orientation=0, pos_x=px, pos_y=py).sum() == side ** 2 == 324


def test_areas_are_about_invariant_under_rotation():
    """Inside the frame, turning a shape changes its pixel count by a few pixels at most."""
    for shape, tolerance in [(0, 8), (1, 6), (2, 10)]:
        classes = torch.tensor([[shape, 5, o, 16, 16] for o in range(40)])
        areas = D.render(classes).flatten(1).sum(1)
        reference = areas[0]
        assert (areas - reference).abs().max() <= tolerance, (shape, areas.tolist())
    square = D.render(torch.tensor([[0, 5, o, 16, 16] for o in range(40)])).flatten(1).sum(1)
    assert (square - 324).abs().max() <= 8


def test_ellipse_area_is_pi_a_b():
    expected = math.pi * 9 * 4.5
    classes = torch.tensor([[1, 5, o, 16, 16] for o in range(0, 40, 3)])
    areas = D.render(classes).flatten(1).sum(1)
    assert ((areas - expected).abs() / expected).max() < 0.05, areas.tolist()


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_area_grows_with_scale_like_its_square(shape):
    classes = torch.tensor([[shape, s, 0, 16, 16] for s in range(6)])
    areas = D.render(classes).flatten(1).sum(1).double()
    assert (areas.diff() > 0).all(), areas.tolist()
    scale = D.factor_values()["scale"]
    predicted = areas[-1] * scale ** 2  # area is proportional to scale^2, up to pixelation
    assert ((areas - predicted).abs() / predicted).max() < 0.12, (areas.tolist(), predicted.tolist())


def test_ellipse_is_wide_at_orientation_zero_with_axes_18_by_9():
    image = _one(shape=1, scale=5, orientation=0, pos_x=16, pos_y=16)
    rows, cols = image.nonzero(as_tuple=True)
    width, height = int(cols.max() - cols.min()) + 1, int(rows.max() - rows.min()) + 1
    assert 17 <= width <= 19 and 8 <= height <= 10, (width, height)


def test_orientation_turns_counterclockwise_on_screen():
    """At about 46 degrees the ellipse's long axis goes from lower left to upper right: rows fall as columns grow."""
    image = _one(shape=1, scale=5, orientation=5, pos_x=16, pos_y=16)
    rows, cols = (t.double() for t in image.nonzero(as_tuple=True))
    assert ((rows - rows.mean()) * (cols - cols.mean())).mean() < -3
    # at about 92 degrees it stands up
    image = _one(shape=1, scale=5, orientation=10, pos_x=16, pos_y=16)
    rows, cols = image.nonzero(as_tuple=True)
    assert int(rows.max() - rows.min()) > int(cols.max() - cols.min()) + 5


# ------------------------------------------------------------------------------------------- centring


def test_centroid_follows_the_position_classes():
    i, j = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    classes = torch.stack([torch.zeros_like(i), torch.zeros_like(i), torch.zeros_like(i), i, j], -1).reshape(-1, 5)
    x = D.render(classes)[:, 0].double()
    mass = x.sum((1, 2))
    pixel = torch.arange(64, dtype=torch.float64)
    col = (x.sum(1) * pixel).sum(1) / mass + 0.5
    row = (x.sum(2) * pixel).sum(1) / mass + 0.5
    expected_col = D.FIRST_CENTRE + (D.LAST_CENTRE - D.FIRST_CENTRE) * classes[:, 3].double() / 31
    expected_row = D.FIRST_CENTRE + (D.LAST_CENTRE - D.FIRST_CENTRE) * classes[:, 4].double() / 31
    assert (col - expected_col).abs().max() < 0.5
    assert (row - expected_row).abs().max() < 0.5
    assert (D.FIRST_CENTRE, D.LAST_CENTRE) == (12.0, 52.0)


def test_pos_x_moves_right_and_pos_y_moves_down():
    cols = [_centroid(_one(shape=0, scale=0, pos_x=k, pos_y=10))[0] for k in range(32)]
    rows = [_centroid(_one(shape=0, scale=0, pos_x=10, pos_y=k))[1] for k in range(32)]
    assert all(b > a for a, b in zip(cols, cols[1:])), cols
    assert all(b > a for a, b in zip(rows, rows[1:])), rows
    # posX leaves the row alone, posY leaves the column alone
    for k in (0, 9, 20, 31):
        assert _centroid(_one(shape=0, scale=0, pos_x=k, pos_y=10))[1] == pytest.approx(_expected_centre(10), abs=0.5)
        assert _centroid(_one(shape=0, scale=0, pos_x=10, pos_y=k))[0] == pytest.approx(_expected_centre(10), abs=0.5)


@pytest.mark.parametrize("position", [0, 31])
@pytest.mark.parametrize("scale", [0, 3, 5])
def test_shapes_are_symmetric_about_their_centre(position, scale):
    """At posX = posY in {0, 31} the centre (12 or 52) lies between two pixel columns, so mirror images are exact."""
    centre = int(_expected_centre(position))
    window = slice(centre - 12, centre + 12)
    for shape, up_down in [(0, True), (1, True), (2, False)]:
        image = _one(shape=shape, scale=scale, orientation=0, pos_x=position, pos_y=position)
        crop = image[window, window]
        assert crop.sum() == image.sum()  # nothing outside the window
        assert torch.equal(crop, crop.flip(1)), f"{D.SHAPES[shape]} is not symmetric left-right"
        assert torch.equal(crop, crop.flip(0)) == up_down, D.SHAPES[shape]


def test_turning_the_square_and_ellipse_keeps_their_centre():
    for shape in (0, 1):
        for o in (0, 10, 20, 30):  # about 0, 92, 185, 277 degrees
            image = _one(shape=shape, scale=5, orientation=o, pos_x=16, pos_y=16)
            col, row = _centroid(image)
            assert col == pytest.approx(_expected_centre(16), abs=0.5)
            assert row == pytest.approx(_expected_centre(16), abs=0.5)


# ------------------------------------------------------------------------------------------- chunks


def test_chunks_yield_indices_in_order_with_their_images():
    g = torch.Generator().manual_seed(4)
    index = torch.randint(D.N_IMAGES, (20,), generator=g)
    parts = list(D.chunks(index, size=8))
    assert [len(p) for p, _ in parts] == [8, 8, 4]
    assert torch.equal(torch.cat([p for p, _ in parts]), index)
    for part, x in parts:
        assert x.shape == (len(part), 1, 64, 64)
        assert torch.equal(x, D.images(part))


def test_chunks_cover_everything_once_and_respect_the_size():
    index = torch.arange(1000, 1037)
    parts = list(D.chunks(index, size=5))
    assert all(len(p) <= 5 for p, _ in parts)
    seen = torch.cat([p for p, _ in parts])
    assert torch.equal(seen, index) and len(seen.unique()) == len(index)
    assert [len(p) for p, _ in D.chunks(index, size=100)] == [37]
    assert list(D.chunks(torch.zeros(0, dtype=torch.long), size=4)) == []


# ------------------------------------------------------------------------------------------- sampling


def test_sample_classes_in_range_reproducible_and_covering_every_class():
    n = 20000
    g = torch.Generator().manual_seed(5)
    classes = D.sample_classes(n, g)
    assert classes.shape == (n, 5) and classes.dtype == torch.long
    assert torch.equal(D.sample_classes(n, torch.Generator().manual_seed(5)), classes)
    assert not torch.equal(D.sample_classes(n, torch.Generator().manual_seed(6)), classes)
    for k, size in enumerate(D.SIZES):
        column = classes[:, k]
        assert column.min() == 0 and column.max() == size - 1
        counts = torch.bincount(column, minlength=size).double()
        p = 1 / size
        sigma = math.sqrt(n * p * (1 - p))
        assert ((counts - n * p).abs() < 5 * sigma).all(), (D.FACTORS[k], counts.tolist())


def test_sample_classes_factors_are_independent():
    classes = D.sample_classes(20000, torch.Generator().manual_seed(7)).double()
    corr = torch.corrcoef(classes.T)
    assert (corr - torch.eye(5, dtype=torch.float64)).abs().max() < 0.05


def test_sample_classes_does_not_touch_the_global_generator():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    D.sample_classes(100, torch.Generator().manual_seed(1))
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------------------------------- pairs


def test_pair_sampler_returns_two_image_batches():
    sampler = D.PairSampler()
    assert sampler.n_factors == 5
    x1, x2 = sampler(2, 6, torch.Generator().manual_seed(0))
    assert x1.shape == x2.shape == (6, 1, 64, 64)
    assert x1.dtype == torch.float32 and set(torch.cat([x1, x2]).unique().tolist()) <= {0.0, 1.0}
    y1, y2 = sampler(2, 6, torch.Generator().manual_seed(0))
    assert torch.equal(x1, y1) and torch.equal(x2, y2)


@pytest.mark.parametrize("k", range(5))
def test_pair_sampler_shares_factor_k_only(k, monkeypatch):
    monkeypatch.setattr(D, "render", lambda classes: classes.clone())  # read the classes back
    batch = 200
    c1, c2 = D.PairSampler()(k, batch, torch.Generator().manual_seed(k))
    assert c1.shape == c2.shape == (batch, 5)
    assert torch.equal(c1[:, k], c2[:, k])
    for other in range(5):
        if other != k:
            assert (c1[:, other] != c2[:, other]).any(), D.FACTORS[other]
    # the first batch is a plain uniform draw: the same as sample_classes with that generator
    g = torch.Generator().manual_seed(k)
    first = D.sample_classes(batch, g)
    second = D.sample_classes(batch, g)
    second[:, k] = first[:, k]
    assert torch.equal(c1, first) and torch.equal(c2, second)


def test_pair_sampler_shared_position_shows_in_the_images():
    """Real renders: pairs sharing posX have nearly the same centroid column; pairs sharing posY do not."""
    def columns(x):
        x = x[:, 0].double()
        return (x.sum(1) * torch.arange(64, dtype=torch.float64)).sum(1) / x.sum((1, 2))

    x1, x2 = D.PairSampler()(3, 64, torch.Generator().manual_seed(8))
    assert not torch.equal(x1, x2)
    assert (columns(x1) - columns(x2)).abs().max() < 3  # only the heart's off-centre centroid turns
    y1, y2 = D.PairSampler()(4, 64, torch.Generator().manual_seed(8))
    assert (columns(y1) - columns(y2)).abs().mean() > 5


# ------------------------------------------------------------------------------------------- bad input


def test_index_of_rejects_bad_classes():
    with pytest.raises(TypeError, match="classes: expected a long tensor"):
        D.index_of(torch.zeros(2, 5))
    with pytest.raises(TypeError, match="classes: expected a long tensor"):
        D.index_of([[0, 0, 0, 0, 0]])
    with pytest.raises(ValueError, match=r"classes: expected shape \(N, 5\)"):
        D.index_of(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"classes: expected shape \(N, 5\)"):
        D.index_of(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"out of range for factors \['orientation'\]"):
        D.index_of(torch.tensor([[0, 0, 40, 0, 0]]))
    with pytest.raises(ValueError, match=r"out of range for factors \['shape', 'pos_y'\]"):
        D.index_of(torch.tensor([[3, 0, 0, 0, 0], [0, 0, 0, 0, -1]]))


def test_render_rejects_bad_classes():
    with pytest.raises(TypeError, match="classes"):
        D.render(torch.zeros(1, 5))
    with pytest.raises(ValueError, match=r"out of range for factors \['scale'\]"):
        D.render(torch.tensor([[0, 6, 0, 0, 0]]))


def test_classes_of_rejects_bad_indices():
    with pytest.raises(ValueError, match=r"index: expected values in \[0, 737280\)"):
        D.classes_of(torch.tensor([-1, 3]))
    with pytest.raises(ValueError, match=r"index: expected values in \[0, 737280\)"):
        D.classes_of(torch.tensor([D.N_IMAGES]))
    with pytest.raises(ValueError, match=r"index: expected shape \(N,\)"):
        D.classes_of(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="index: expected a long tensor"):
        D.classes_of(torch.tensor([1.0]))
    with pytest.raises(ValueError, match=r"index: expected values"):
        D.images(torch.tensor([D.N_IMAGES + 5]))


@pytest.mark.parametrize("n", [0, -3, 2.0, True, "5"])
def test_sample_classes_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n: expected a positive int"):
        D.sample_classes(n)


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_chunks_rejects_bad_size(size):
    with pytest.raises(ValueError, match="size: expected a positive int"):
        next(D.chunks(torch.arange(5), size=size))


def test_chunks_rejects_a_float_index():
    with pytest.raises(TypeError, match="index: expected a long tensor"):
        next(D.chunks(torch.arange(5.0), size=2))


@pytest.mark.parametrize("k", [5, -1, "a", 1.0, None])
def test_pair_sampler_rejects_bad_k(k):
    with pytest.raises(ValueError, match=r"k: expected a factor index in \[0, 5\)"):
        D.PairSampler()(k, 4)


def test_pair_sampler_rejects_a_bool_k():
    with pytest.raises(ValueError, match="k: expected a factor index"):
        D.PairSampler()(True, 4)
