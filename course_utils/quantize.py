r"""Vector quantization for the VQ-VAE: nearest code, straight-through gradient, codebook keepers. Chapter 07.

A codebook holds K vectors e_k of size D (`codebook[k]`). Each encoder output z_e (one D-vector
per grid position) is replaced by its nearest code, z_q = e_k with k = argmin_j ||z_e - e_j||^2.
The argmin has no gradient, so the decoder's gradient is copied from z_q to z_e (straight-through).

Keepers of the codebook (options of the one `VectorQuantizer`, each a small function here):
- `ema_update`: codes follow an exponential moving average of the vectors assigned to them
  (decay 0.99, Laplace-smoothed counts) instead of the codebook loss's gradient;
- `restart_dead_codes`: codes unused for `restart_after` training steps are re-seeded from
  encoder outputs of the current batch;
- `kmeans`: Lloyd's k-means (k-means++ start), to start the codebook where the encoder outputs are.
Diagnostics: `code_counts`, `perplexity`. Only torch is imported here.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .validate import float_tensor, positive_int


def _vectors(name: str, z: torch.Tensor, d: int | None = None) -> torch.Tensor:
    float_tensor(name, z)
    if z.ndim != 2 or z.shape[0] == 0 or (d is not None and z.shape[1] != d):
        want = f"(M, {d})" if d is not None else "(M, D)"
        raise ValueError(f"{name}: expected vectors of shape {want} with M >= 1, got {tuple(z.shape)}")
    return z


def _codebook(codebook: torch.Tensor) -> torch.Tensor:
    float_tensor("codebook", codebook)
    if codebook.ndim != 2 or codebook.shape[0] == 0 or codebook.shape[1] == 0:
        raise ValueError(f"codebook: expected shape (K, D) with K, D >= 1, got {tuple(codebook.shape)}")
    return codebook


def nearest_code(z: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest code for each vector: z (M, D), codebook (K, D) -> (M,) long. Chapter 07."""
    _codebook(codebook)
    _vectors("z", z, codebook.shape[1])
    # ||z - e_k||^2 = ||z||^2 - 2 z . e_k + ||e_k||^2   (the first term is the same for every k)
    distances = (codebook.pow(2).sum(1)[None, :] - 2 * z @ codebook.T)  # (M, K), up to ||z||^2
    return distances.argmin(1)


def straight_through(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """Value of z_q, gradient of the identity to z_e: z_e + sg[z_q - z_e]. Chapter 07."""
    return z_e + (z_q - z_e).detach()


def code_counts(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """How many times each code was chosen: indices (any shape, long) -> (K,) long. Chapter 07."""
    positive_int("codebook_size", codebook_size)
    if not isinstance(indices, torch.Tensor) or indices.dtype != torch.long:
        raise TypeError(f"indices: expected a long tensor of code indices, got "
                        f"{indices.dtype if isinstance(indices, torch.Tensor) else type(indices).__name__}")
    if indices.numel() and (indices.min() < 0 or indices.max() >= codebook_size):
        raise ValueError(f"indices: expected values in [0, {codebook_size}), got [{int(indices.min())}, {int(indices.max())}]")
    return torch.bincount(indices.flatten(), minlength=codebook_size)


def perplexity(counts: torch.Tensor) -> float:
    """exp(H(p)) of the code frequencies p = counts / sum: 1 (one code) ... K (uniform use). Chapter 07."""
    p = counts.double() / counts.sum().clamp_min(1)
    # H(p) = -sum_k p_k log p_k   (0 log 0 = 0)
    entropy = -(p * p.clamp_min(1e-300).log()).sum()
    return math.exp(float(entropy))


@torch.no_grad()
def ema_update(codebook: torch.Tensor, cluster_size: torch.Tensor, embed_sum: torch.Tensor,
               z: torch.Tensor, indices: torch.Tensor, decay: float, eps: float = 1e-5) -> None:
    """Move each used code to the moving average of its assigned vectors, in place. Chapter 07.

    N_k <- decay N_k + (1 - decay) n_k;  m_k <- decay m_k + (1 - decay) sum_{i: k_i = k} z_i;
    e_k <- m_k / N~_k with N~_k = (N_k + eps) / (sum_j N_j + K eps) * sum_j N_j (Laplace smoothing).
    Codes with N_k = 0 keep their vector. z (M, D), indices (M,).
    """
    k = codebook.shape[0]
    one_hot = torch.nn.functional.one_hot(indices, k).to(z.dtype)  # (M, K)
    cluster_size.mul_(decay).add_(one_hot.sum(0), alpha=1 - decay)  # N_k
    embed_sum.mul_(decay).add_(one_hot.T @ z, alpha=1 - decay)  # m_k
    total = cluster_size.sum()
    smoothed = (cluster_size + eps) / (total + k * eps) * total  # N~_k
    used = cluster_size > 0
    codebook.copy_(torch.where(used[:, None], embed_sum / smoothed.clamp_min(1e-12)[:, None], codebook))


@torch.no_grad()
def restart_dead_codes(codebook: torch.Tensor, dead: torch.Tensor, z: torch.Tensor,
                       generator: torch.Generator | None = None) -> int:
    """Re-seed the codes where `dead` is True with distinct random rows of z (M, D), in place. Chapter 07.

    Returns how many codes were re-seeded (at most M). A re-seeded code sits exactly on one vector
    of this batch, so it is that vector's nearest code: every restarted code is used at once.
    """
    dead_codes = dead.nonzero().flatten()
    n = min(len(dead_codes), len(z))
    if n == 0:
        return 0
    unique_z = torch.unique(z, dim=0)  # distinct seeds: two codes on one vector would leave one unused
    n = min(n, len(unique_z))
    rows = torch.randperm(len(unique_z), generator=generator, device="cpu")[:n].to(z.device)
    codebook[dead_codes[:n]] = unique_z[rows]
    return n


def _kmeans_plus_plus(z: torch.Tensor, k: int, generator: torch.Generator | None) -> torch.Tensor:
    """k starting centroids by greedy k-means++: each new one is the best of 2 + log k candidates drawn
    with probability proportional to the squared distance to the centroids already chosen."""
    trials = 2 + int(math.log(k))
    first = torch.randint(len(z), (1,), generator=generator, device="cpu").to(z.device)
    centroids = z[first]  # (1, D)
    d2 = torch.cdist(z, centroids).pow(2).amin(1)  # (M,) squared distance to the nearest centroid
    for _ in range(k - 1):
        weights = d2 if d2.sum() > 0 else torch.ones_like(d2)
        picks = torch.multinomial(weights.double().cpu(), trials, replacement=True, generator=generator).to(z.device)
        candidate_d2 = torch.minimum(d2[None, :], torch.cdist(z[picks], z).pow(2))  # (trials, M)
        best = candidate_d2.sum(1).argmin()  # the candidate that lowers sum_i d2_i the most
        centroids, d2 = torch.cat([centroids, z[picks[best]][None]]), candidate_d2[best]
    return centroids.clone()


@torch.no_grad()
def kmeans(z: torch.Tensor, k: int, iters: int = 10, generator: torch.Generator | None = None) -> torch.Tensor:
    """Lloyd's k-means on z (M, D), greedy k-means++ start; the centroids (k, D). Chapter 07.

    A cluster that empties is moved onto the vector farthest from its centroid, so no code is left unused.
    """
    positive_int("k", k), positive_int("iters", iters)
    _vectors("z", z)
    if len(z) < k:
        raise ValueError(f"k: need at least k vectors to start k-means, got k={k} and {len(z)} vectors")
    centroids = _kmeans_plus_plus(z, k, generator)
    for _ in range(iters):
        assigned = nearest_code(z, centroids)  # (M,)
        counts = torch.bincount(assigned, minlength=k).to(z.dtype)  # (k,)
        sums = torch.zeros_like(centroids).index_add_(0, assigned, z)  # (k, D)
        centroids = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centroids)
        for empty in (counts == 0).nonzero().flatten().tolist():
            error = (z - centroids[nearest_code(z, centroids)]).pow(2).sum(1)  # (M,)
            centroids[empty] = z[error.argmax()]
    return centroids


class VectorQuantizer(nn.Module):
    """z_e (N, D, H, W) -> z_q (N, D, H, W) from a codebook (K, D), and the indices (N, H, W). Chapter 07.

    ema_decay=None: the codebook is a parameter, learned by the codebook loss's gradient.
    ema_decay=0.99: the codebook is a buffer, moved by `ema_update` in training mode.
    restart_after=T: in training mode, codes unused for T consecutive steps are re-seeded.
    """

    def __init__(self, codebook_size: int, code_dim: int, *, ema_decay: float | None = None,
                 restart_after: int | None = None, eps: float = 1e-5):
        super().__init__()
        positive_int("codebook_size", codebook_size), positive_int("code_dim", code_dim)
        if ema_decay is not None and (isinstance(ema_decay, bool) or not 0 <= ema_decay < 1):
            raise ValueError(f"ema_decay: expected None or a number in [0, 1), got {ema_decay!r}")
        if restart_after is not None:
            positive_int("restart_after", restart_after)
        self.codebook_size, self.code_dim = codebook_size, code_dim
        self.ema_decay, self.restart_after, self.eps = ema_decay, restart_after, eps
        start = torch.empty(codebook_size, code_dim).uniform_(-1 / codebook_size, 1 / codebook_size)
        if ema_decay is None:
            self.codebook = nn.Parameter(start)  # (K, D), e_k = codebook[k]
        else:
            self.register_buffer("codebook", start)
            self.register_buffer("cluster_size", torch.ones(codebook_size))  # N_k
            self.register_buffer("embed_sum", start.clone())  # m_k
        self.register_buffer("unused_steps", torch.zeros(codebook_size, dtype=torch.long))

    def forward(self, z_e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z_e (N, D, H, W) -> z_q = codebook[indices] (N, D, H, W) (no straight-through here), indices (N, H, W)."""
        float_tensor("z_e", z_e)
        if z_e.ndim != 4 or z_e.shape[1] != self.code_dim:
            raise ValueError(f"z_e: expected shape (N, {self.code_dim}, H, W), got {tuple(z_e.shape)}")
        n, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # (N*H*W, D)
        indices = nearest_code(flat.detach(), self.codebook.detach())  # (N*H*W,)
        z_q = self.codebook[indices].view(n, h, w, d).permute(0, 3, 1, 2)  # (N, D, H, W)
        if self.training:
            self._keep(flat.detach(), indices)
        return z_q, indices.view(n, h, w)

    def _keep(self, flat: torch.Tensor, indices: torch.Tensor) -> None:
        """After a training step's assignment: the EMA update, then the restart of dead codes."""
        used = code_counts(indices, self.codebook_size) > 0
        self.unused_steps.add_(1).masked_fill_(used, 0)
        if self.ema_decay is not None:
            ema_update(self.codebook, self.cluster_size, self.embed_sum, flat, indices, self.ema_decay, self.eps)
        if self.restart_after is not None:
            dead = self.unused_steps >= self.restart_after
            restarted = restart_dead_codes(self.codebook.data, dead, flat)
            if restarted:
                seeded = dead.nonzero().flatten()[:restarted]
                self.unused_steps[seeded] = 0
                if self.ema_decay is not None:  # the averages restart from the new vector
                    self.cluster_size[seeded] = 1.0
                    self.embed_sum[seeded] = self.codebook[seeded]

    @torch.no_grad()
    def initialize_from(self, z: torch.Tensor, iters: int = 10, generator: torch.Generator | None = None) -> None:
        """k-means initialization: the codebook becomes the K centroids of vectors z (M, D). Chapter 07."""
        _vectors("z", z, self.code_dim)
        self.codebook.data.copy_(kmeans(z.to(self.codebook.dtype), self.codebook_size, iters, generator))
        if self.ema_decay is not None:
            self.cluster_size.fill_(1.0)
            self.embed_sum.copy_(self.codebook)
        self.unused_steps.zero_()
