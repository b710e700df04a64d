"""Real-environment rollouts for chapter 08: random collection, and controllers acting through V and M.

`collect_random` plays a random policy and keeps every frame (uint8) and action. `evaluate_controllers`
runs P controllers x S seeded episodes in lockstep, so V encodes and M steps one batch per time step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import gymnasium
import numpy as np
import torch

from .. import envs
from ..models.controller import batched_actions
from ..validate import positive_int


@dataclass
class Episode:
    """One episode: frames (T+1, 64, 64, 3) uint8, actions (T, A) float32, terminated, rewards (T,). Chapter 08.

    terminated: ended by the game (a hit in Dodge; off the playfield or a lap done in CarRacing), not cut on time.
    """

    frames: np.ndarray
    actions: np.ndarray
    terminated: bool
    rewards: np.ndarray | None = None

    @property
    def steps(self) -> int:
        """T, the number of actions (= the return in Dodge). Chapter 08."""
        return len(self.actions)


def random_actions(rng: np.random.Generator, hold: float, action_dim: int = 1) -> Iterator[np.ndarray]:
    """Uniform actions in [-1, 1]^action_dim, each held for a geometric number of steps of mean `hold`. Chapter 08."""
    while True:
        a = rng.uniform(-1.0, 1.0, size=action_dim).astype(np.float32)
        for _ in range(int(rng.geometric(1.0 / hold))):
            yield a


def collect_random(episodes: int, seed: int = 0, hold: float = 1.0, env_id: str = envs.DODGE_ID,
                   **env_kwargs) -> list[Episode]:
    """Play `episodes` episodes with random actions (held `hold` steps on average); seeds seed, seed+1, ... Chapter 08.

    env_kwargs go to gymnasium.make (e.g. max_steps); the action's size is the environment's.
    """
    positive_int("episodes", episodes)
    if not (isinstance(hold, (int, float)) and not isinstance(hold, bool) and hold >= 1):
        raise ValueError(f"hold: expected a mean hold time >= 1 step, got {hold!r}")
    env = gymnasium.make(env_id, **env_kwargs).unwrapped
    out = []
    for e in range(episodes):
        obs, _ = env.reset(seed=seed + e)
        policy = random_actions(np.random.default_rng([seed, e]), hold, env.action_space.shape[0])
        frames, actions, rewards, terminated, truncated = [obs], [], [], False, False
        while not (terminated or truncated):
            a = next(policy)
            obs, reward, terminated, truncated, _ = env.step(a)
            frames.append(obs), actions.append(a), rewards.append(reward)
        out.append(Episode(np.stack(frames), np.stack(actions), bool(terminated), np.asarray(rewards, np.float32)))
    env.close()
    return out


def to_images(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 frames (N, H, W, 3) -> float images (N, 3, H, W) in [0, 1], V's input. Chapter 08."""
    frames = torch.as_tensor(frames)
    if frames.dtype != torch.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames: expected uint8 (N, H, W, 3), got {frames.dtype} {tuple(frames.shape)}")
    return frames.permute(0, 3, 1, 2).float() / 255.0


@dataclass
class Evaluation:
    """Returns (P, S) of P controllers on S seeds, and the frames of the first agent if recorded. Chapter 08."""

    returns: np.ndarray
    frames: np.ndarray | None = None


@torch.no_grad()
def evaluate_controllers(vae, mdnrnn, vectors, seeds, max_steps: int = 500, record: bool = False,
                         env_id: str = envs.DODGE_ID, **env_kwargs) -> Evaluation:
    """Each controller (vectors (P, n)) plays every seed in the real environment through V and M. Chapter 08.

    At each step: z_t = mu(x_t) from V, a_t = tanh(W_c [z_t h_t] + b_c) (M's action_dim numbers), then M
    updates h_t with (z_t, a_t). Episodes are cut after max_steps; env_kwargs go to gymnasium.make.
    """
    vectors = torch.as_tensor(np.asarray(vectors), dtype=torch.float32)
    if vectors.ndim == 1:
        vectors = vectors.unsqueeze(0)
    seeds = [int(s) for s in seeds]
    p, s = len(vectors), len(seeds)
    envs_ = [gymnasium.make(env_id, max_steps=max_steps, **env_kwargs).unwrapped for _ in range(p * s)]
    obs = np.stack([env.reset(seed=seeds[i % s])[0] for i, env in enumerate(envs_)])
    alive = np.ones(p * s, dtype=bool)
    returns = np.zeros(p * s)
    state = mdnrnn.initial_state(p * s)
    recorded = [obs[0].copy()] if record else None
    mu = torch.zeros(p * s, vae.z_dim)
    for _ in range(max_steps):
        live = torch.from_numpy(np.flatnonzero(alive))
        mu[live] = vae.encode(to_images(obs[alive]))[0]  # (alive, D): only the agents still playing are encoded
        features = torch.cat([mu, state[0][0]], dim=1).view(p, s, -1)  # [z_t, h_t]
        actions = batched_actions(vectors, features, mdnrnn.action_dim).reshape(p * s, -1)  # (P*S, A)
        state = mdnrnn.step(mu, actions, state)[-1]
        recording = record and alive[0]
        for i in np.flatnonzero(alive):
            obs[i], reward, terminated, truncated, _ = envs_[i].step(actions[i].numpy())
            returns[i] += reward
            alive[i] = not (terminated or truncated)
        if recording:
            recorded.append(obs[0].copy())
        if not alive.any():
            break
    for env in envs_:
        env.close()
    frames = np.stack(recorded) if record else None
    return Evaluation(returns.reshape(p, s), frames)
