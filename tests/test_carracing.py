"""CarRacing-v3 in chapter 08: the 64 x 64 wrapper's numpy parts (no Box2D needed), then, with Box2D, the
environment itself, the rollout functions on it, and a smoke run of instructor/pretrain_carracing."""
import json
import subprocess
import sys

import gymnasium
import numpy as np
import pytest
import torch

from course_utils import checkpoints
from course_utils.envs import CARRACING_ID
from course_utils.envs.carracing import CROP_ROWS, SIZE, area_weights, car_controls, crop_and_resize
from course_utils.models import MDNRNN, ConvVAE, LinearController

pytestmark = pytest.mark.usefixtures("one_thread")


def random_frame(seed: int = 0, shape=(96, 96, 3)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --- numpy parts, without Box2D -------------------------------------------------------------------

def test_area_weights_rows_are_averages_over_equal_spans():
    w = area_weights(84, 64)
    assert w.shape == (64, 84) and np.allclose(w.sum(1), 1.0) and (w >= 0).all()
    assert np.allclose(w.sum(0), 64 / 84)  # every input row counts equally in the output
    assert np.array_equal(area_weights(4, 2), [[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5]])


def test_crop_and_resize_is_the_mean_over_each_pixels_area():
    """Oracle: repeat every pixel so that each output pixel covers a whole block, then average the blocks."""
    frame = random_frame(1)
    fine = np.repeat(np.repeat(frame[:CROP_ROWS].astype(np.float64), 16, 0), 2, 1)  # (1344, 192): 1344 = 64 * 21
    oracle = fine.reshape(SIZE, 21, SIZE, 3, 3).mean(axis=(1, 3))
    out = crop_and_resize(frame)
    assert out.shape == (SIZE, SIZE, 3) and out.dtype == np.uint8
    assert np.array_equal(out, np.rint(oracle).astype(np.uint8))


def test_crop_and_resize_keeps_constants_and_drops_the_dashboard():
    frame = np.full((96, 96, 3), 77, dtype=np.uint8)
    assert (crop_and_resize(frame) == 77).all()
    frame[CROP_ROWS:] = 255  # the dashboard bar, below row 83, never reaches the output
    assert (crop_and_resize(frame) == 77).all()
    frame[CROP_ROWS - 1] = 255  # the last track row does
    assert crop_and_resize(frame)[-1].min() > 77


@pytest.mark.parametrize("bad", [np.zeros((96, 96, 3), np.float32), np.zeros((96, 96), np.uint8),
                                 np.zeros((96, 96, 4), np.uint8), np.zeros((50, 96, 3), np.uint8)],
                         ids=["float", "grey", "rgba", "too-small"])
def test_crop_and_resize_rejects_what_is_not_a_frame(bad):
    with pytest.raises(ValueError, match="frame|rows"):
        crop_and_resize(bad)


def test_area_weights_rejects_upsampling():
    with pytest.raises(ValueError, match="n_out"):
        area_weights(32, 64)


@pytest.mark.parametrize("action, controls", [((-1, -1, -1), (-1, 0, 0)), ((0, 0, 0), (0, 0.5, 0)),
                                              ((1, 1, 1), (1, 1, 1)), ((0.5, -0.5, 0.25), (0.5, 0.25, 0.25)),
                                              ((3, 3, 3), (1, 1, 1)), ((-3, -3, -3), (-1, 0, 0))])
def test_car_controls_maps_like_the_world_models_code(action, controls):
    out = car_controls(np.array(action, dtype=np.float32))
    assert out.dtype == np.float32 and np.allclose(out, controls)


@pytest.mark.parametrize("bad", [[0.0, 1.0], [0.0, np.nan, 0.0], [[0.0, 0.0, 0.0, 0.0]]])
def test_car_controls_rejects_bad_actions(bad):
    with pytest.raises(ValueError, match="action"):
        car_controls(bad)


def test_importing_the_package_needs_no_box2d():
    code = "import sys, course_utils.envs, course_utils.world.rollouts; print(sys.modules.get('Box2D') is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True" and CARRACING_ID in gymnasium.registry


# --- with Box2D ------------------------------------------------------------------------------------

def play(seed: int, action, steps: int):
    """The oracle for a constant action: the environment played directly."""
    env = gymnasium.make(CARRACING_ID, max_steps=steps).unwrapped
    frames, total = [env.reset(seed=seed)[0]], 0.0
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(np.asarray(action, dtype=np.float32))
        frames.append(obs)
        total += reward
        if terminated or truncated:
            break
    return np.stack(frames), total, truncated


def test_the_environment_passes_gymnasiums_checker_and_is_seeded():
    pytest.importorskip("Box2D")
    from gymnasium.utils.env_checker import check_env

    env = gymnasium.make(CARRACING_ID)
    check_env(env.unwrapped)
    assert env.observation_space.shape == (SIZE, SIZE, 3) and env.action_space.shape == (3,)
    one, r1, cut = play(3, [0.2, 0.6, -1.0], 25)
    two, r2, _ = play(3, [0.2, 0.6, -1.0], 25)
    other, _, _ = play(4, [0.2, 0.6, -1.0], 25)
    assert np.array_equal(one, two) and r1 == r2 and not np.array_equal(one, other)
    assert len(one) == 26 and cut  # cut (truncated) after max_steps


def test_collect_random_and_evaluate_controllers_play_three_actions():
    pytest.importorskip("Box2D")
    from course_utils.world.rollouts import collect_random, evaluate_controllers

    episodes = collect_random(2, seed=5, hold=4.0, env_id=CARRACING_ID, max_steps=20)
    assert [e.steps for e in episodes] == [20, 20] and episodes[0].actions.shape == (20, 3)
    assert episodes[0].frames.shape == (21, SIZE, SIZE, 3) and episodes[0].rewards.shape == (20,)
    torch.manual_seed(0)
    vae, mdnrnn = ConvVAE((3, 64, 64), z_dim=4, channels=4).eval(), MDNRNN(4, 3, hidden=8).eval()
    n = LinearController(4 + 8, 3).n_parameters()
    vectors = np.zeros((2, n), dtype=np.float32)
    vectors[0, -3:] = [0.3, 0.8, -2.0]  # W = 0, b fixed: a = tanh(b) at every step, whatever V and M say
    vectors[1] = np.random.default_rng(0).normal(0, 0.3, n)
    result = evaluate_controllers(vae, mdnrnn, vectors, [7], max_steps=20, record=True, env_id=CARRACING_ID)
    frames, total, _ = play(7, torch.tanh(torch.from_numpy(vectors[0, -3:])).numpy(), 20)
    assert result.returns.shape == (2, 1) and result.returns[0, 0] == pytest.approx(total)
    assert np.array_equal(result.frames, frames)


def test_pretrain_carracing_smoke_run_writes_checkpoints_that_load(tmp_path):
    pytest.importorskip("Box2D")
    from course_utils.instructor import pretrain_carracing
    from course_utils.world.rollouts import evaluate_controllers

    prefix = tmp_path / "car"
    argv = ["--prefix", str(prefix), "--episodes", "2", "--collect-steps", "30", "--vae-steps", "2", "--mdn-steps",
            "2", "--popsize", "3", "--generations", "2", "--train-steps", "10", "--eval-episodes", "2",
            "--eval-steps", "20", "--z0", "2", "--channels", "4", "--z-dim", "4", "--hidden", "8", "--threads", "1"]
    summary = pretrain_carracing.main(argv)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"car_{n}.{ext}" for n in ("vae", "mdnrnn", "controller") for ext in ("safetensors", "json"))
    vae, mdnrnn, controller = (checkpoints.load(f"{prefix}_{n}") for n in ("vae", "mdnrnn", "controller"))
    assert isinstance(vae, ConvVAE) and isinstance(mdnrnn, MDNRNN) and mdnrnn.action_dim == 3
    assert isinstance(controller, LinearController) and (controller.in_features, controller.action_dim) == (12, 3)
    meta = json.loads((tmp_path / "car_controller.json").read_text())["extra"]
    assert meta["budget"]["generations"] == 2 and len(meta["history"]["best"]) == 2
    assert set(meta["times"]) >= {"collect", "V", "encode", "M", "C", "score C", "score random"}
    assert np.array(meta["z0"]).shape == (2, 4) and set(meta["scores"]) == {"controller", "straight", "random"}
    assert meta["eval_seeds"] == summary["eval_seeds"] and len(meta["per_seed"]["controller"]) == 2
    # the loaded pieces reproduce the reported scores, played exactly as the run scored them
    both = np.stack([controller.vector().numpy(), np.zeros(controller.n_parameters(), np.float32)])
    again = evaluate_controllers(vae, mdnrnn, both, meta["eval_seeds"], max_steps=20, env_id=CARRACING_ID)
    assert np.allclose(again.returns[0], meta["per_seed"]["controller"], atol=0.051)
    assert np.allclose(again.returns[1], meta["per_seed"]["straight"], atol=0.051)
