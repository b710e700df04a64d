"""Episodes encoded by V and batched as sequences for M (chapter 08).

`encode_episodes` stores q(z|x) = N(mu, exp(logvar)) for every frame, padded to the longest episode with a
mask. `sequence_sampler` draws a fresh z ~ q(z|x) each time a sequence is used (as World Models does), and
packs (z_t, a_t, z_{t+1}, done_t, mask_t) into one tensor for `train.fit_stream`; `memory_loss` unpacks it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .. import objectives
from ..gaussian import reparameterize
from ..validate import positive_int
from .rollouts import Episode, to_images


@dataclass
class EncodedEpisodes:
    """mu, logvar (E, L+1, D) per frame; actions (E, L, A); done, mask (E, L); padded with zeros. Chapter 08."""

    mu: torch.Tensor
    logvar: torch.Tensor
    actions: torch.Tensor
    done: torch.Tensor
    mask: torch.Tensor

    @property
    def z_dim(self) -> int:
        """D, the size of z. Chapter 08."""
        return self.mu.shape[-1]

    @property
    def action_dim(self) -> int:
        """A, the size of an action. Chapter 08."""
        return self.actions.shape[-1]


@torch.no_grad()
def encode_episodes(vae, episodes: list[Episode], batch_size: int = 500) -> EncodedEpisodes:
    """Encode every frame with V (mu, logvar) and pad the episodes to the longest one. Chapter 08."""
    if not episodes:
        raise ValueError("episodes: expected at least one Episode, got an empty list")
    longest = max(e.steps for e in episodes)
    e_count, d, a_dim = len(episodes), vae.z_dim, episodes[0].actions.shape[1]
    mu, logvar = torch.zeros(e_count, longest + 1, d), torch.zeros(e_count, longest + 1, d)
    actions, done, mask = torch.zeros(e_count, longest, a_dim), torch.zeros(e_count, longest), torch.zeros(e_count, longest)
    device = next(vae.parameters()).device
    for i, e in enumerate(episodes):
        parts = [vae.encode(to_images(e.frames[j:j + batch_size]).to(device)) for j in range(0, len(e.frames), batch_size)]
        mu[i, :len(e.frames)] = torch.cat([m for m, _ in parts]).cpu()
        logvar[i, :len(e.frames)] = torch.cat([v for _, v in parts]).cpu()
        actions[i, :e.steps] = torch.as_tensor(e.actions)
        mask[i, :e.steps] = 1.0
        done[i, e.steps - 1] = float(e.terminated)  # the last action led to a hit (not to the time limit)
    return EncodedEpisodes(mu, logvar, actions, done, mask)


def sequence_sampler(data: EncodedEpisodes, batch_size: int = 64,
                     length: int | None = 32) -> Callable[[int, torch.Generator], torch.Tensor]:
    """sample(step, generator) -> packed (B, T, 2D + A + 2): [z_t, a_t, z_{t+1}, done_t, mask_t], z ~ q(z|x). Chapter 08.

    Each row is a window of at most `length` steps of a random episode, placed so that every step of the
    episode is in a window equally often (windows overlapping an end are cut, the rest masked), or the whole
    episode with length=None. M's state starts at zero at the window's first step, so the cost of a training
    step does not grow with the episodes' length. Sampling the ends more often than the middle would teach M
    to predict the episode's end too often.
    """
    positive_int("batch_size", batch_size)
    if length is not None:
        positive_int("length", length)
    steps = data.mask.sum(1).long()  # (E,) real steps per episode

    def sample(step: int, generator: torch.Generator) -> torch.Tensor:
        rows = torch.randint(len(data.mu), (batch_size,), generator=generator)  # (B,)
        if length is None:
            start, stop = torch.zeros_like(rows), steps[rows]  # whole episodes
        else:  # a window [s, s + length) with s uniform in [1 - length, T_e - 1], cut to the episode [0, T_e):
            s = (torch.rand(batch_size, generator=generator) * (steps[rows] + length - 1)).long() - (length - 1)
            start, stop = s.clamp(min=0), torch.minimum(s + length, steps[rows])  # every step equally often
        t = int((stop - start).max())
        frame = start[:, None] + torch.arange(t + 1)  # (B, t+1): frames x_s .. x_{s+t}
        last = data.actions.shape[1] - 1
        z = reparameterize(data.mu[rows[:, None], frame.clamp(max=last + 1)],
                           data.logvar[rows[:, None], frame.clamp(max=last + 1)], generator)  # (B, t+1, D), z ~ q(z|x)
        index = frame[:, :t].clamp(max=last)  # (B, t): the steps s .. s+t-1 (clamped ones are masked)
        actions, done = data.actions[rows[:, None], index], data.done[rows[:, None], index]
        mask = data.mask[rows[:, None], index] * (frame[:, :t] < stop[:, None])
        return torch.cat([z[:, :-1], actions, z[:, 1:], done.unsqueeze(-1), mask.unsqueeze(-1)], dim=-1)

    return sample


def memory_loss(z_dim: int, action_dim: int) -> Callable:
    """loss_fn(model, packed) for fit_stream: unpacks a sequence_sampler batch into objectives.mdn_rnn_loss. Chapter 08."""
    d, a = positive_int("z_dim", z_dim), positive_int("action_dim", action_dim)

    def loss_fn(model, packed: torch.Tensor) -> dict[str, torch.Tensor]:
        z, actions, z_next = packed[..., :d], packed[..., d:d + a], packed[..., d + a:2 * d + a]
        done, mask = packed[..., 2 * d + a], packed[..., 2 * d + a + 1]
        return objectives.mdn_rnn_loss(model, z, actions, z_next, done, mask)

    return loss_fn
