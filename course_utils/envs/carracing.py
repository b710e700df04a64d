"""CarRacing-v3 made to look like Dodge for chapter 08's pipeline: 64 x 64 x 3 frames, actions in [-1, 1]^3.

gymnasium's CarRacing-v3 (Box2D) shows a car on a random track in 96 x 96 frames whose bottom 12 rows are a
dashboard bar (speed, ABS, steering, gyro), and takes (steer in [-1, 1], gas in [0, 1], brake in [0, 1]).
As in the World Models code, the frame is cropped above the bar (rows 0..83) and resized to 64 x 64 (here by
area averaging, in numpy), and C's action a in [-1, 1]^3 becomes steer = a_0, gas = (a_1 + 1) / 2,
brake = clip(a_2, 0, 1). The reward is CarRacing's: +1000/N per new track tile (N tiles), -0.1 per frame,
-100 when the car leaves the playfield (terminated). CarRacing64Env is a gymnasium.Env, not a Wrapper, with
its own `max_steps` like Dodge's, so `env.unwrapped` (what rollouts.py plays) is still 64 x 64 and cut on time.

Only gymnasium and numpy are imported here; Box2D (`pip install "gymnasium[box2d]"`) is imported when an
environment is created, so `crop_and_resize` and `car_controls` work without it.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces

SIZE = 64  # frames are SIZE x SIZE x 3, as Dodge's
CROP_ROWS = 84  # CarRacing's rows 0..83 show the track; rows 84..95 are the dashboard bar
MAX_STEPS = 1000  # CarRacing-v3's time limit


def area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix: output pixel i averages input pixels over [i, i+1) * n_in / n_out. Chapter 08."""
    if not (isinstance(n_in, int) and isinstance(n_out, int) and 1 <= n_out <= n_in):
        raise ValueError(f"n_in, n_out: expected ints with 1 <= n_out <= n_in, got {n_in!r}, {n_out!r}")
    edges = np.arange(n_out + 1) * (n_in / n_out)  # output pixel i covers [edges[i], edges[i+1]) of the input
    left, right = edges[:-1, None], edges[1:, None]
    pixels = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(right, pixels + 1) - np.maximum(left, pixels), 0.0, None)  # (n_out, n_in)
    return overlap / (n_in / n_out)  # each row sums to 1


def crop_and_resize(frame: np.ndarray, rows: int = CROP_ROWS, size: int = SIZE) -> np.ndarray:
    """uint8 frame (H, W, 3) -> rows 0..rows-1, area-averaged to (size, size, 3) uint8. Chapter 08."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame: expected a uint8 (H, W, 3) image, got {frame.dtype} {frame.shape}")
    if not (isinstance(rows, int) and size <= rows <= frame.shape[0] and size <= frame.shape[1]):
        raise ValueError(f"rows: expected an int in [{size}, {frame.shape[0]}] and a frame at least {size} wide, "
                         f"got rows={rows!r} for a frame of shape {frame.shape}")
    w_rows, w_cols = area_weights(rows, size), area_weights(frame.shape[1], size)
    out = np.tensordot(w_rows, frame[:rows].astype(np.float64), axes=1)  # rows averaged: (size, W, 3)
    out = np.tensordot(w_cols, out, axes=(1, 1)).transpose(1, 0, 2)  # then columns: (size, size, 3)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def car_controls(action) -> np.ndarray:
    """Action a in [-1, 1]^3 -> (steer, gas, brake) = (a_0, (a_1 + 1) / 2, clip(a_2, 0, 1)) float32. Chapter 08."""
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.size != 3 or not np.all(np.isfinite(a)):
        raise ValueError(f"action: expected three finite numbers in [-1, 1] (steer, gas, brake), got {action!r}")
    a = np.clip(a, -1.0, 1.0)
    return np.array([a[0], (a[1] + 1.0) / 2.0, max(a[2], 0.0)], dtype=np.float32)


class CarRacing64Env(gymnasium.Env):
    """CarRacing-v3 seen in 64 x 64 x 3 uint8 frames, acting in [-1, 1]^3, cut after max_steps. Chapter 08."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None, max_steps: int = MAX_STEPS):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: expected None or 'rgb_array', got {render_mode!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps: expected a positive int, got {max_steps!r}")
        from gymnasium.envs.box2d.car_racing import CarRacing  # needs Box2D: DependencyNotInstalled without it

        self.render_mode, self.max_steps = render_mode, max_steps
        self.car = CarRacing()
        self.observation_space = spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self._frame, self._t = np.zeros((SIZE, SIZE, 3), dtype=np.uint8), 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """A new random track (the same for the same seed); returns (frame, info). Chapter 08."""
        super().reset(seed=seed)
        obs, info = self.car.reset(seed=seed, options=options)
        self._frame, self._t = crop_and_resize(obs), 0
        return self._frame, info

    def step(self, action):
        """One CarRacing step with car_controls(action): (frame, reward, terminated, truncated, info). Chapter 08."""
        obs, reward, terminated, _, info = self.car.step(car_controls(action).astype(np.float64))
        self._frame, self._t = crop_and_resize(obs), self._t + 1
        return self._frame, float(reward), terminated, (not terminated) and self._t >= self.max_steps, info

    def render(self):
        """The current 64 x 64 frame (render_mode 'rgb_array'). Chapter 08."""
        return self._frame

    def close(self):
        """Free CarRacing's Box2D world and pygame surfaces. Chapter 08."""
        self.car.close()

