r"""Disentanglement metrics on data with known factors (dSprites): MIG and the beta-VAE metric. Chapter 06.

Both follow the settings of disentanglement_lib (Locatello et al. 2019) and score the mean
representation mu(x) of an encoder:

- MIG (Chen et al. 2018): discretize each latent dimension into 20 equal-width bins, compute the
  mutual information I(z_j; v_k) between each dimension j and each factor k, and average over the
  factors the gap between the two most informative dimensions, normalized by the factor's entropy:
      MIG = 1/K sum_k (I(z_{j1}; v_k) - I(z_{j2}; v_k)) / H(v_k).
  A code that copies the factors scores about 1, pure noise about 0. Implementations disagree by
  orders of magnitude, so compare only numbers computed by this one.
- beta-VAE metric (Higgins et al. 2017): draw pairs of images sharing the value of one factor k,
  average |mu(x1) - mu(x2)| over a batch of 64 pairs, and train a linear classifier (logistic
  regression) to tell k from that average; the score is its accuracy on held-out batches.

Mutual information and the classifier come from scikit-learn, as in disentanglement_lib.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

BINS = 20


def _matrix(name: str, a, rows: int | None = None) -> np.ndarray:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if a.ndim != 2 or a.shape[0] < 2 or (rows is not None and a.shape[0] != rows):
        want = f"({rows}, ...)" if rows is not None else "(N, d) with N >= 2"
        raise ValueError(f"{name}: expected a 2-D array {want}, got shape {a.shape}")
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        raise ValueError(f"{name}: holds NaN or infinite values")
    return a


def discretize(z, bins: int = BINS) -> np.ndarray:
    """Each column of z (N, d) into `bins` equal-width bins over its own range: (N, d) int. Chapter 06."""
    z = _matrix("z", z).astype(np.float64)
    out = np.zeros(z.shape, dtype=np.int64)
    for j in range(z.shape[1]):
        edges = np.histogram_bin_edges(z[:, j], bins=bins)
        out[:, j] = np.digitize(z[:, j], edges[1:-1])  # 0 .. bins-1
    return out


def mutual_information(codes, factors) -> np.ndarray:
    """I(code_j; factor_k) in nats for discrete columns: codes (N, d), factors (N, K) -> (d, K). Chapter 06."""
    from sklearn.metrics import mutual_info_score

    codes = _matrix("codes", codes)
    factors = _matrix("factors", factors, rows=codes.shape[0])
    return np.array([[mutual_info_score(factors[:, k], codes[:, j]) for k in range(factors.shape[1])]
                     for j in range(codes.shape[1])])


def mig(z, factors, bins: int = BINS) -> dict:
    """Mutual information gap of a representation z (N, d) for factor classes (N, K). Chapter 06.

    Returns {'score', 'per_factor' (K,), 'mutual_information' (d, K), 'entropy' (K,)}; factors with a
    single value (entropy 0) are left out of the mean and get NaN in per_factor.
    """
    z = _matrix("z", z)
    factors = _matrix("factors", factors, rows=z.shape[0])
    if z.shape[1] < 2:
        raise ValueError(f"z: MIG needs at least 2 latent dimensions (a gap between the top two), got {z.shape[1]}")
    m = mutual_information(discretize(z, bins), factors)  # (d, K)
    entropy = np.diag(mutual_information(factors, factors))  # H(v_k) = I(v_k; v_k)
    top = np.sort(m, axis=0)[::-1]  # (d, K), largest first
    per_factor = np.full(factors.shape[1], np.nan)
    varies = entropy > 0
    per_factor[varies] = (top[0, varies] - top[1, varies]) / entropy[varies]
    if not varies.any():
        raise ValueError("factors: every factor takes a single value; MIG is undefined")
    return {"score": float(np.nanmean(per_factor)), "per_factor": per_factor, "mutual_information": m,
            "entropy": entropy}


def beta_vae_features(represent: Callable[[torch.Tensor], torch.Tensor], sample_pair: Callable, n_points: int,
                      batch_size: int = 64, generator: torch.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """n_points features mean_b |r(x1_b) - r(x2_b)| (d,) and the index k of the factor the pairs share. Chapter 06.

    sample_pair(k, batch_size, generator) -> (x1, x2): batches whose factor k is equal pair by pair.
    represent(x) -> (B, d): the representation scored (the encoder's mean).
    """
    n_factors = getattr(sample_pair, "n_factors", None)
    if not isinstance(n_factors, int) or n_factors < 2:
        raise TypeError("sample_pair: expected a callable with an int attribute n_factors >= 2 "
                        "(see course_utils.data.dsprites.pair_sampler)")
    ks = torch.randint(n_factors, (n_points,), generator=generator)
    features = []
    with torch.no_grad():
        for k in ks.tolist():
            x1, x2 = sample_pair(k, batch_size, generator)
            features.append((represent(x1) - represent(x2)).abs().mean(0).double().cpu().numpy())
    return np.stack(features), ks.numpy()


def beta_vae_score(represent: Callable, sample_pair: Callable, n_train: int = 10000, n_eval: int = 5000,
                   batch_size: int = 64, seed: int = 0) -> dict:
    """Accuracy of a logistic regression that predicts the shared factor from beta_vae_features. Chapter 06."""
    from sklearn.linear_model import LogisticRegression

    g = torch.Generator().manual_seed(seed)
    x_train, y_train = beta_vae_features(represent, sample_pair, n_train, batch_size, g)
    x_eval, y_eval = beta_vae_features(represent, sample_pair, n_eval, batch_size, g)
    classifier = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    return {"train_accuracy": float(classifier.score(x_train, y_train)),
            "eval_accuracy": float(classifier.score(x_eval, y_eval))}
