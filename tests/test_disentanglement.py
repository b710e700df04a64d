"""Tests for course_utils.disentanglement: what MIG and the beta-VAE metric MEAN, pinned by oracles.

Public implementations of MIG disagree by orders of magnitude, so these tests fix the definition
used in chapter 06: 20 equal-width bins per latent dimension, plug-in mutual information in nats,
gap between the two most informative dimensions over the factor's plug-in entropy, mean over the
factors that vary.
"""
import math

import numpy as np
import pytest
import torch

from course_utils import disentanglement as M
from course_utils.data import dsprites as D


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _oracle_mi(a: np.ndarray, b: np.ndarray) -> float:
    """Plug-in mutual information of two discrete 1-D arrays, in nats, from the contingency table."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    counts = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(counts, (ia, ib), 1)
    joint = counts / counts.sum()
    pa, pb = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float((joint[nz] * np.log(joint[nz] / (pa @ pb)[nz])).sum())


def _oracle_entropy(a: np.ndarray) -> float:
    p = np.unique(a, return_counts=True)[1] / len(a)
    return float(-(p * np.log(p)).sum())


@pytest.fixture
def dsprites_factors():
    """10,000 dSprites factor combinations, drawn with a seeded generator: (10000, 5) long."""
    return D.sample_classes(10000, torch.Generator().manual_seed(0))


# -------------------------------------------------------------------------------------------- discretize


def test_discretize_uses_20_bins_with_min_in_the_first_and_max_in_the_last():
    assert M.BINS == 20
    z = _rng(0).normal(size=(1000, 3)) * np.array([1.0, 10.0, 0.01]) + np.array([0.0, -5.0, 3.0])
    d = M.discretize(z)
    assert d.shape == (1000, 3) and d.dtype.kind == "i"
    assert d.min() >= 0 and d.max() <= 19
    for j in range(3):
        assert d[np.argmin(z[:, j]), j] == 0
        assert d[np.argmax(z[:, j]), j] == 19


def test_discretize_bins_have_equal_width_over_each_column_range():
    z = _rng(1).uniform(-2, 7, size=(2000, 2))
    lo, hi = z.min(0), z.max(0)
    oracle = np.minimum(np.floor((z - lo) / (hi - lo) * 20), 19).astype(int)
    assert np.array_equal(M.discretize(z), oracle)
    # uniform data fills every bin, about equally
    for j in range(2):
        counts = np.bincount(M.discretize(z)[:, j], minlength=20)
        assert counts.min() > 60 and counts.max() < 150


def test_discretize_treats_each_column_independently():
    z = _rng(2).normal(size=(500, 3))
    d = M.discretize(z)
    for j in range(3):
        assert np.array_equal(M.discretize(z[:, [j]])[:, 0], d[:, j])
    stretched = z.copy()
    stretched[:, 1] = 1000 * stretched[:, 1] + 50  # an affine map of one column changes nothing
    assert np.array_equal(M.discretize(stretched), d)


def test_discretize_keeps_the_order_under_a_monotone_transform():
    z = _rng(3).normal(size=(800, 2))
    transformed = np.stack([np.exp(z[:, 0]), z[:, 1] ** 3], axis=1)
    d = M.discretize(transformed)
    for j in range(2):
        order = np.argsort(z[:, j])
        assert (np.diff(d[order, j]) >= 0).all()
        assert d[order[0], j] == 0 and d[order[-1], j] == 19


def test_discretize_accepts_tensors_and_other_bin_counts():
    z = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    d = M.discretize(z, bins=5)
    assert isinstance(d, np.ndarray) and set(np.unique(d)) == {0, 1, 2, 3, 4}
    assert np.array_equal(M.discretize(z), M.discretize(z.numpy()))


# ------------------------------------------------------------------------------------ mutual information


def test_mutual_information_matches_the_contingency_table_oracle():
    rng = _rng(4)
    codes = rng.integers(0, 4, size=(200, 3))
    factors = rng.integers(0, 5, size=(200, 2))
    factors[:, 1] = (codes[:, 0] + rng.integers(0, 2, size=200)) % 5  # a dependent factor, MI well above 0
    m = M.mutual_information(codes, factors)
    assert m.shape == (3, 2)
    oracle = np.array([[_oracle_mi(codes[:, j], factors[:, k]) for k in range(2)] for j in range(3)])
    assert np.allclose(m, oracle, rtol=0, atol=1e-12)
    assert m[0, 1] > 0.5 and m[1, 1] < 0.2


def test_mutual_information_with_itself_is_the_plug_in_entropy():
    v = _rng(5).integers(0, 7, size=(500, 3))
    m = M.mutual_information(v, v)
    for k in range(3):
        assert m[k, k] == pytest.approx(_oracle_entropy(v[:, k]), abs=1e-12)
    assert np.allclose(m, m.T, atol=1e-12)


def test_mutual_information_ignores_the_labels_and_is_symmetric():
    rng = _rng(6)
    a, b = rng.integers(0, 3, size=(300, 2)), rng.integers(0, 4, size=(300, 3))
    m = M.mutual_information(a, b)
    assert np.allclose(M.mutual_information(7 * a + 3, b), m, atol=1e-12)
    assert np.allclose(M.mutual_information(b, a), m.T, atol=1e-12)


def test_mutual_information_of_a_copy_of_a_uniform_factor_is_log_k():
    v = np.repeat(np.arange(8), 50)[:, None]
    assert M.mutual_information(v, v)[0, 0] == pytest.approx(math.log(8), abs=1e-12)


def test_mutual_information_rejects_mismatched_rows():
    with pytest.raises(ValueError, match=r"factors: expected a 2-D array \(10, \.\.\.\)"):
        M.mutual_information(np.zeros((10, 2), int), np.zeros((9, 2), int))


# -------------------------------------------------------------------------------------------------- MIG


def test_mig_of_the_factors_themselves_is_high(dsprites_factors):
    c = dsprites_factors
    noise = 1e-3 * torch.randn(c.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    r = M.mig(c.double() + noise, c)
    assert set(r) == {"score", "per_factor", "mutual_information", "entropy"}
    assert r["per_factor"].shape == (5,) and r["mutual_information"].shape == (5, 5) and r["entropy"].shape == (5,)
    assert r["score"] >= 0.85
    assert r["score"] == pytest.approx(float(np.mean(r["per_factor"])), abs=1e-12)
    # shape (3 values) and scale (6 values) survive 20 bins untouched
    assert r["per_factor"][0] > 0.99 and r["per_factor"][1] > 0.99
    # orientation: 40 values into 20 bins, two per bin: I = H - log 2
    assert r["per_factor"][2] == pytest.approx(1 - math.log(2) / r["entropy"][2], abs=0.02)
    assert (r["per_factor"] <= 1 + 1e-9).all() and (r["per_factor"] >= 0).all()


def test_mig_entropy_is_the_plug_in_entropy_of_each_factor(dsprites_factors):
    c = dsprites_factors
    r = M.mig(c.double(), c)
    oracle = np.array([_oracle_entropy(c[:, k].numpy()) for k in range(5)])
    assert np.allclose(r["entropy"], oracle, atol=1e-12)
    assert np.allclose(r["entropy"], np.log(D.SIZES), atol=0.01)


def test_mig_is_the_normalized_gap_between_the_top_two_dimensions(dsprites_factors):
    c = dsprites_factors
    z = c.double() + 0.3 * torch.randn(c.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    r = M.mig(z, c)
    m = M.mutual_information(M.discretize(z), c)
    assert np.allclose(r["mutual_information"], m, atol=1e-12)
    top = np.sort(m, axis=0)
    assert np.allclose(r["per_factor"], (top[-1] - top[-2]) / r["entropy"], atol=1e-12)


def test_mig_of_a_rotated_code_is_low(dsprites_factors):
    c = dsprites_factors
    z = c.double()
    z = (z - z.mean(0)) / z.std(0)
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    assert M.mig(z @ q, c)["score"] < 0.2


def test_mig_of_pure_noise_is_about_zero(dsprites_factors):
    z = torch.randn(10000, 10, generator=torch.Generator().manual_seed(4))
    assert M.mig(z, dsprites_factors)["score"] < 0.02


def test_duplicating_a_dimension_halves_mig(dsprites_factors):
    f = dsprites_factors[:, 3:5]  # posX, posY
    z = f.double()
    alone = M.mig(z, f)
    assert alone["score"] > 0.8
    assert alone["per_factor"][0] == pytest.approx(alone["per_factor"][1], abs=0.02)
    doubled = M.mig(torch.cat([z, z[:, :1]], dim=1), f)
    assert doubled["per_factor"][0] == pytest.approx(0.0, abs=1e-12)  # two dimensions know posX equally
    assert doubled["per_factor"][1] == pytest.approx(alone["per_factor"][1], abs=1e-12)
    assert doubled["score"] / alone["score"] == pytest.approx(0.5, abs=0.02)


def test_a_constant_factor_is_left_out_of_mig(dsprites_factors):
    c = dsprites_factors.clone()
    z = c.double() + 1e-3 * torch.randn(c.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    c[:, 0] = 2  # shape never changes
    r = M.mig(z, c)
    assert math.isnan(r["per_factor"][0]) and r["entropy"][0] == 0
    assert np.isfinite(r["per_factor"][1:]).all()
    assert r["score"] == pytest.approx(float(np.mean(r["per_factor"][1:])), abs=1e-12)
    without = M.mig(z, c[:, 1:])
    assert r["score"] == pytest.approx(without["score"], abs=1e-12)


def test_mig_rejects_bad_input(dsprites_factors):
    c = dsprites_factors[:100]
    z = c.double()
    with pytest.raises(ValueError, match="z: MIG needs at least 2 latent dimensions"):
        M.mig(z[:, :1], c)
    with pytest.raises(ValueError, match=r"factors: expected a 2-D array \(100, \.\.\.\)"):
        M.mig(z, c[:99])
    bad = z.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="z: holds NaN or infinite values"):
        M.mig(bad, c)
    with pytest.raises(ValueError, match="z: expected a 2-D array"):
        M.mig(z[:, 0], c)
    with pytest.raises(ValueError, match="every factor takes a single value"):
        M.mig(z, torch.zeros(100, 2, dtype=torch.long))


# ------------------------------------------------------------------------------------- beta-VAE metric


class ToyPairs:
    """Factor codes as 'images': x (B, 3), column k shared between x1 and x2, the others uniform on 0..9."""

    n_factors = 3

    def __call__(self, k, batch_size, generator=None):
        x1 = torch.randint(10, (batch_size, 3), generator=generator).float()
        x2 = torch.randint(10, (batch_size, 3), generator=generator).float()
        x2[:, k] = x1[:, k]
        return x1, x2


def test_beta_vae_features_are_zero_exactly_on_the_shared_factor():
    x, ks = M.beta_vae_features(lambda v: v, ToyPairs(), 60, batch_size=64,
                                generator=torch.Generator().manual_seed(0))
    assert x.shape == (60, 3) and ks.shape == (60,)
    assert set(ks.tolist()) == {0, 1, 2}
    assert (x[np.arange(60), ks] == 0).all()
    others = np.ones_like(x, dtype=bool)
    others[np.arange(60), ks] = False
    # a batch mean of |x1 - x2|: for two independent uniforms on 0..9, E|x1 - x2| = (10^2 - 1) / 30 = 3.3
    assert ((x[others] > 1.5) & (x[others] < 5.5)).all()
    assert x[others].mean() == pytest.approx(3.3, abs=0.2)


def test_beta_vae_score_of_the_factors_themselves_is_high():
    r = M.beta_vae_score(lambda v: v, ToyPairs(), n_train=500, n_eval=300, seed=0)
    assert set(r) == {"train_accuracy", "eval_accuracy"}
    assert r["eval_accuracy"] >= 0.95 and r["train_accuracy"] >= 0.95


def test_beta_vae_score_of_noise_is_chance():
    g = torch.Generator().manual_seed(1)
    r = M.beta_vae_score(lambda v: torch.randn(v.shape[0], 4, generator=g), ToyPairs(), n_train=500, n_eval=300)
    assert abs(r["eval_accuracy"] - 1 / 3) < 0.1


def test_beta_vae_score_is_reproducible_with_its_seed():
    a = M.beta_vae_score(lambda v: v[:, :2], ToyPairs(), n_train=200, n_eval=100, batch_size=8, seed=3)
    b = M.beta_vae_score(lambda v: v[:, :2], ToyPairs(), n_train=200, n_eval=100, batch_size=8, seed=3)
    assert a == b
    # two of three factors visible: the third is told apart by elimination, still better than chance
    assert a["eval_accuracy"] > 0.8


def test_beta_vae_features_accept_the_dsprites_pair_sampler():
    def represent(x):  # area and centroid: a hand-made 3-D code
        x = x[:, 0].double()
        mass = x.sum((1, 2))
        pixel = torch.arange(64, dtype=torch.float64)
        return torch.stack([mass, (x.sum(1) * pixel).sum(1) / mass, (x.sum(2) * pixel).sum(1) / mass], dim=1)

    x, ks = M.beta_vae_features(represent, D.PairSampler(), 4, batch_size=8,
                                generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 3) and np.isfinite(x).all()
    assert ((ks >= 0) & (ks < 5)).all()


@pytest.mark.parametrize("sampler", [lambda k, b, g=None: (None, None), type("One", (), {"n_factors": 1})(),
                                     type("Str", (), {"n_factors": "3"})()])
def test_beta_vae_features_rejects_a_sampler_without_n_factors(sampler):
    with pytest.raises(TypeError, match="sample_pair: expected a callable with an int attribute n_factors"):
        M.beta_vae_features(lambda v: v, sampler, 10)
