"""Dreams (chapter 08): rollouts imagined by M, with no environment, for many controllers at once.

Each dreamer starts from a real first z, then repeats: a_t = C([z_t, h_t]); M reads (z_t, a_t) and gives a
mixture over z_{t+1} and p(done_t); z_{t+1} is sampled at temperature tau and the episode ends with
probability p(done_t). The return counts +1 per step, as Dodge does. All dreamers of all controllers are
one batch, so a dream step is a few matrix products whatever the population.
"""
from __future__ import annotations


import torch

from ..models.controller import batched_actions
from ..models.mdn import sample_mixture
from ..validate import positive_int


def _check(vectors: torch.Tensor, z0: torch.Tensor, mdnrnn) -> None:
    if vectors.ndim != 2:
        raise ValueError(f"vectors: expected (P, n) controller parameters, got shape {tuple(vectors.shape)}")
    if z0.ndim != 2 or z0.shape[1] != mdnrnn.z_dim or len(z0) == 0:
        raise ValueError(f"z0: expected a pool of first latents (N, {mdnrnn.z_dim}), got shape {tuple(z0.shape)}")


@torch.no_grad()
def dream_returns(mdnrnn, vectors, z0: torch.Tensor, *, rollouts: int = 8, max_steps: int = 500,
                  tau: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Returns (P, rollouts) of P controllers, each dreaming `rollouts` episodes from first latents z0. Chapter 08."""
    vectors = torch.as_tensor(vectors, dtype=torch.float32)
    _check(vectors, z0, mdnrnn)
    p, r = len(vectors), positive_int("rollouts", rollouts)
    positive_int("max_steps", max_steps)
    z = z0[torch.randint(len(z0), (p * r,), generator=generator)]  # (P*R, D) first latents
    state = mdnrnn.initial_state(p * r)
    alive = torch.ones(p * r, dtype=torch.bool)
    returns = torch.zeros(p * r)
    for _ in range(max_steps):
        features = torch.cat([z, state[0][0]], dim=1).view(p, r, -1)  # [z_t, h_t]
        a = batched_actions(vectors, features, mdnrnn.action_dim).reshape(p * r, -1)  # (P*R, A)
        log_pi, mu, log_sigma, done_logit, state = mdnrnn.step(z, a, state)
        returns += alive.float()  # +1 for this step, while alive
        ended = torch.rand(p * r, generator=generator) < torch.sigmoid(done_logit)  # done_t ~ Bernoulli
        alive &= ~ended
        if not alive.any():
            break
        z = sample_mixture(log_pi, mu, log_sigma, tau, generator)  # z_{t+1} ~ M at temperature tau
    return returns.view(p, r)


@torch.no_grad()
def dream_episode(mdnrnn, vector, z0: torch.Tensor, *, steps: int = 100, tau: float = 1.0,
                  generator: torch.Generator | None = None, stop_at_done: bool = True):
    """One dreamed episode from z0 (D,): latents (T+1, D), actions (T, A), p(done) (T,). Chapter 08."""
    vector = torch.as_tensor(vector, dtype=torch.float32).reshape(1, -1)
    z = torch.as_tensor(z0, dtype=torch.float32).reshape(1, -1)
    _check(vector, z, mdnrnn)
    state, zs, actions, p_done = mdnrnn.initial_state(1), [z[0]], [], []
    for _ in range(positive_int("steps", steps)):
        a = batched_actions(vector, torch.cat([z, state[0][0]], dim=1).view(1, 1, -1), mdnrnn.action_dim).reshape(1, -1)
        log_pi, mu, log_sigma, done_logit, state = mdnrnn.step(z, a, state)
        actions.append(a[0]), p_done.append(torch.sigmoid(done_logit[0]))
        z = sample_mixture(log_pi, mu, log_sigma, tau, generator)
        zs.append(z[0])
        if stop_at_done and torch.rand((), generator=generator) < p_done[-1]:
            break
    return torch.stack(zs), torch.stack(actions), torch.stack(p_done)


def mean_and_std(returns) -> tuple[float, float]:
    """Mean and (population) standard deviation of a set of returns, as the paper reports them. Chapter 08."""
    values = torch.as_tensor(returns, dtype=torch.float64).flatten()
    return float(values.mean()), float(values.std(unbiased=False)) if len(values) > 1 else 0.0
