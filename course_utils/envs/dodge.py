"""Dodge: a small pixel environment in the spirit of World Models' DoomTakeCover. Chapter 08.

Fireballs fall from the top of a 64 x 64 RGB screen at random speeds (by default one at a time: a new one
appears, with probability `spawn_prob` per step, once the last has left); the agent, a block on the floor, moves
left or right to dodge them. Like Doom's monsters, the fireballs are aimed: each appears above where the agent
is, give or take a normal error of `aim` pixels (`aim=None` drops them uniformly anywhere, the first version of
the game, where hugging a wall was the best policy). The reward is +1 per step survived (the return is the episode's length); the episode ends
(terminated) when a fireball touches the agent, or is cut (truncated) after `max_steps` steps.
Rendering is numpy only, so one core runs thousands of steps per second. Seeded through gymnasium's
`reset(seed=...)`: the same seed and actions give the same frames.
"""
from __future__ import annotations

import math

import gymnasium
import numpy as np
from gymnasium import spaces

SIZE = 64  # the screen is SIZE x SIZE pixels
AGENT_WIDTH, AGENT_HEIGHT, AGENT_TOP = 10, 5, 57  # the agent's block occupies rows 57..61
AGENT_SPEED = 3.0  # pixels per step at |action| = 1
RADIUS = 4.0  # fireball radius in pixels
FALL_SPEED = (1.5, 3.0)  # pixels per step, drawn per fireball
AIM = 8.0  # default sd (pixels) of a fireball's x around the agent's x when it appears
AGENT_COLOR = np.array([0, 220, 255], dtype=np.uint8)
FIREBALL_COLOR = np.array([255, 120, 0], dtype=np.uint8)
FLOOR_COLOR = np.array([70, 70, 70], dtype=np.uint8)

_ROWS = np.arange(SIZE, dtype=np.float32)[:, None] + 0.5  # pixel centres
_COLS = np.arange(SIZE, dtype=np.float32)[None, :] + 0.5


class DodgeEnv(gymnasium.Env):
    """64 x 64 x 3 uint8 frames; action in [-1, 1] (left .. right); +1 per step survived. Chapter 08."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, render_mode: str | None = None, max_steps: int = 500, spawn_prob: float = 0.3,
                 max_fireballs: int = 1, aim: float | None = AIM):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: expected None or 'rgb_array', got {render_mode!r}")
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps: expected a positive int, got {max_steps!r}")
        if isinstance(spawn_prob, bool) or not isinstance(spawn_prob, (int, float)) or not 0 <= spawn_prob <= 1:
            raise ValueError(f"spawn_prob: expected a probability in [0, 1], got {spawn_prob!r}")
        if isinstance(max_fireballs, bool) or not isinstance(max_fireballs, int) or max_fireballs < 1:
            raise ValueError(f"max_fireballs: expected a positive int, got {max_fireballs!r}")
        if aim is not None and (isinstance(aim, bool) or not isinstance(aim, (int, float)) or not aim >= 0
                                or not math.isfinite(aim)):
            raise ValueError(f"aim: expected None or a finite sd >= 0 in pixels, got {aim!r}")
        self.aim = None if aim is None else float(aim)
        self.render_mode, self.max_steps, self.spawn_prob = render_mode, max_steps, float(spawn_prob)
        self.max_fireballs = max_fireballs
        self.observation_space = spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self._x, self._t = SIZE / 2, 0
        self._balls = np.zeros((0, 3), dtype=np.float32)  # rows (x, y, fall speed)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Agent in the middle, no fireballs; returns (frame, info). Chapter 08."""
        super().reset(seed=seed)
        self._x, self._t = SIZE / 2, 0
        self._balls = np.zeros((0, 3), dtype=np.float32)
        return self._frame(), {}

    def step(self, action):
        """Move by action * AGENT_SPEED, let the fireballs fall, maybe spawn one (aimed): (frame, 1.0, hit, cut, {}). Chapter 08."""
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.size != 1 or not math.isfinite(a[0]):
            raise ValueError(f"action: expected one finite number in [-1, 1], got {action!r}")
        half = AGENT_WIDTH / 2
        self._x = float(np.clip(self._x + np.clip(a[0], -1.0, 1.0) * AGENT_SPEED, half, SIZE - half))
        balls = self._balls
        balls[:, 1] += balls[:, 2]
        balls = balls[balls[:, 1] - RADIUS < SIZE]
        if self.np_random.random() < self.spawn_prob and len(balls) < self.max_fireballs:
            if self.aim is None:
                x = self.np_random.uniform(RADIUS, SIZE - RADIUS)
            else:  # aimed at the agent, give or take N(0, aim^2), kept on the screen
                x = float(np.clip(self._x + self.np_random.normal(0.0, self.aim), RADIUS, SIZE - RADIUS))
            new = np.array([[x, -RADIUS, self.np_random.uniform(*FALL_SPEED)]], dtype=np.float32)
            balls = np.concatenate([balls, new])
        self._balls, self._t = balls, self._t + 1
        hit = self._hit()
        return self._frame(), 1.0, hit, (not hit) and self._t >= self.max_steps, {}

    def _hit(self) -> bool:
        """Does any fireball (a disc) overlap the agent's block? Distance from each centre to the block."""
        if len(self._balls) == 0:
            return False
        half = AGENT_WIDTH / 2
        dx = np.maximum(np.abs(self._balls[:, 0] - self._x) - half, 0.0)
        dy = np.maximum(np.maximum(AGENT_TOP - self._balls[:, 1], self._balls[:, 1] - (AGENT_TOP + AGENT_HEIGHT)), 0.0)
        return bool(np.any(dx * dx + dy * dy < RADIUS * RADIUS))

    def _frame(self) -> np.ndarray:
        frame = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        frame[AGENT_TOP + AGENT_HEIGHT + 1:] = FLOOR_COLOR
        left = int(round(self._x - AGENT_WIDTH / 2))
        frame[AGENT_TOP:AGENT_TOP + AGENT_HEIGHT, left:left + AGENT_WIDTH] = AGENT_COLOR
        for x, y, _ in self._balls:
            top, bottom = max(int(y - RADIUS), 0), min(int(y + RADIUS) + 1, SIZE)
            lo, hi = max(int(x - RADIUS), 0), min(int(x + RADIUS) + 1, SIZE)
            if top >= bottom:
                continue
            disc = (_ROWS[top:bottom] - y) ** 2 + (_COLS[:, lo:hi] - x) ** 2 <= RADIUS * RADIUS
            frame[top:bottom, lo:hi][disc] = FIREBALL_COLOR
        return frame

    def render(self):
        """The current frame (render_mode 'rgb_array'). Chapter 08."""
        return self._frame()
