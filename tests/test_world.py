"""World Models' loop of chapter 08: controller C, rollouts, sequences for M, dreams, CMA-ES, pretrain_world."""
import json
import math

import numpy as np
import pytest
import torch
import torch._dynamo  # noqa: F401  (the first torch.optim optimizer imports it, ~3 s: charge collection, not a test)

from conftest import assert_within_stderr
from course_utils import checkpoints, objectives
from course_utils.envs import DodgeEnv
from course_utils.models import MDNRNN, ConvVAE, LinearController
from course_utils.models.controller import batched_actions, split_vector
from course_utils.world.dream import dream_episode, dream_returns, mean_and_std
from course_utils.world.evolve import evolve
from course_utils.world.rollouts import Episode, collect_random, evaluate_controllers, random_actions, to_images
from course_utils.world.sequences import EncodedEpisodes, encode_episodes, memory_loss, sequence_sampler

Z, HIDDEN = 3, 8
N_PARAMS = Z + HIDDEN + 1  # one action


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: extra threads only add overhead


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make_vae(seed: int = 0) -> ConvVAE:
    torch.manual_seed(seed)
    return ConvVAE((3, 64, 64), z_dim=Z, channels=4).eval()


def make_rnn(seed: int = 0, done_bias: float | None = None) -> MDNRNN:
    """A small M; with done_bias, the done logit is that constant (weights 0), whatever the state."""
    torch.manual_seed(seed)
    model = MDNRNN(z_dim=Z, action_dim=1, hidden=HIDDEN, n_mixtures=3).eval()
    if done_bias is not None:
        with torch.no_grad():
            model.done.weight.zero_(), model.done.bias.fill_(done_bias)
    return model


def constant_action_vector(action_logit: float) -> np.ndarray:
    """A controller that ignores [z, h]: W = 0, b = action_logit, so a = tanh(action_logit) always."""
    vector = np.zeros(N_PARAMS, dtype=np.float32)
    vector[-1] = action_logit
    return vector


def play_constant(seed: int, action: float, max_steps: int):
    """The oracle for a feature-blind controller: Dodge played directly with one constant action."""
    env = DodgeEnv(max_steps=max_steps)
    frames = [env.reset(seed=seed)[0]]
    while True:
        obs, _, terminated, truncated, _ = env.step(np.array([action], dtype=np.float32))
        frames.append(obs)
        if terminated or truncated:
            return len(frames) - 1, np.stack(frames)


# --- controller ---------------------------------------------------------------------------------

def test_split_vector_reads_w_row_by_row_then_b():
    f, a = 3, 2
    vectors = torch.arange(2 * (f + 1) * a, dtype=torch.float32).view(2, -1)
    w, b = split_vector(vectors, f, a)
    assert w.shape == (2, a, f) and b.shape == (2, a)
    for p in range(2):
        offset = p * (f + 1) * a
        for i in range(a):
            assert w[p, i].tolist() == [offset + i * f + j for j in range(f)]
            assert b[p, i].item() == offset + f * a + i


def test_linear_controller_is_tanh_of_an_affine_map_of_its_vector():
    g = gen(0)
    controller = LinearController(in_features=4, action_dim=2)
    assert controller.n_parameters() == 10
    vector = torch.randn(10, generator=g)
    features = torch.randn(6, 4, generator=g)
    out = controller.set_vector(vector.numpy())(features)
    w, b = vector[:8].view(2, 4), vector[8:]
    expected = torch.tensor([[math.tanh(sum(w[i, j].item() * features[n, j].item() for j in range(4)) + b[i].item())
                              for i in range(2)] for n in range(6)])
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    assert (out.abs() <= 1).all()


def test_set_vector_then_forward_equals_batched_actions():
    g = gen(1)
    vector = torch.randn(N_PARAMS, generator=g)
    features = torch.randn(5, Z + HIDDEN, generator=g)
    controller = LinearController(Z + HIDDEN).set_vector(vector)
    with torch.no_grad():
        torch.testing.assert_close(controller(features), batched_actions(vector[None], features[None])[0])


def test_batched_actions_of_p_controllers_equals_p_separate_calls():
    g = gen(2)
    vectors = torch.randn(4, 2 * 6, generator=g)  # P = 4 controllers, F = 5, A = 2
    features = torch.randn(4, 7, 5, generator=g)  # R = 7 agents each
    together = batched_actions(vectors, features, action_dim=2)
    assert together.shape == (4, 7, 2)
    for p in range(4):
        torch.testing.assert_close(together[p:p + 1], batched_actions(vectors[p:p + 1], features[p:p + 1], 2))
        with torch.no_grad():
            alone = LinearController(5, 2).set_vector(vectors[p])(features[p])
        torch.testing.assert_close(together[p], alone)


def test_wrong_vector_sizes_raise_value_error():
    controller = LinearController(4, 1)
    with pytest.raises(ValueError, match="vectors"):
        controller.set_vector(np.zeros(4))
    with pytest.raises(ValueError, match="vectors"):
        controller.set_vector(np.zeros(6))
    with pytest.raises(ValueError, match="vectors"):
        batched_actions(torch.zeros(2, 7), torch.zeros(2, 3, 5))  # F = 5 needs (5 + 1) * 1 = 6
    with pytest.raises(ValueError, match="vectors"):
        split_vector(torch.zeros(6), 5, 1)
    with pytest.raises(ValueError, match="features"):
        batched_actions(torch.zeros(2, 6), torch.zeros(3, 3, 5))  # 3 feature sets for 2 controllers
    with pytest.raises(ValueError, match="features"):
        controller(torch.zeros(3, 5))


# --- rollouts -----------------------------------------------------------------------------------

def test_collect_random_is_deterministic_per_seed_and_differs_across_seeds():
    one, two = collect_random(3, seed=4, max_steps=40), collect_random(3, seed=4, max_steps=40)
    for a, b in zip(one, two):
        assert np.array_equal(a.frames, b.frames) and np.array_equal(a.actions, b.actions)
        assert a.terminated == b.terminated
    other = collect_random(3, seed=5, max_steps=40)
    assert not any(np.array_equal(a.actions, b.actions) for a, b in zip(one, other))


def test_collect_random_episodes_are_whole_consistent_episodes():
    episodes = collect_random(4, seed=0, max_steps=40, hold=2.0)
    assert len(episodes) == 4 and all(isinstance(e, Episode) for e in episodes)
    assert {e.terminated for e in episodes} == {True, False}  # both endings occur with these seeds
    for i, e in enumerate(episodes):
        assert e.frames.dtype == np.uint8 and e.frames.shape == (e.steps + 1, 64, 64, 3)
        assert e.actions.dtype == np.float32 and e.actions.shape == (e.steps, 1)
        assert (np.abs(e.actions) <= 1).all()
        assert e.terminated or e.steps == 40
        assert e.steps <= 40
        # replaying the recorded actions from the episode's seed gives the recorded frames and ending
        env = DodgeEnv(max_steps=40)
        obs, _ = env.reset(seed=i)
        assert np.array_equal(obs, e.frames[0])
        for t, a in enumerate(e.actions):
            obs, _, terminated, truncated, _ = env.step(a)
            assert np.array_equal(obs, e.frames[t + 1])
            assert (terminated or truncated) == (t == e.steps - 1)
        assert terminated == e.terminated


def test_collect_random_rejects_bad_arguments():
    with pytest.raises(ValueError, match="hold"):
        collect_random(1, hold=0.5)
    with pytest.raises(ValueError, match="hold"):
        collect_random(1, hold=True)
    with pytest.raises(ValueError, match="episodes"):
        collect_random(0)


@pytest.mark.parametrize("hold", [1.0, 4.0])
def test_random_actions_are_uniform_and_held_for_geometric_spans(hold):
    stream = random_actions(np.random.default_rng(0), hold)
    actions = np.array([next(stream) for _ in range(20_000)])
    assert actions.shape == (20_000, 1) and actions.dtype == np.float32
    assert (np.abs(actions) <= 1).all()
    values = actions[:, 0]
    changes = np.flatnonzero(values[1:] != values[:-1]) + 1
    spans = np.diff(np.concatenate([[0], changes]))  # complete spans (the last, cut one, is dropped)
    p = 1.0 / hold
    assert spans.min() >= 1
    assert_within_stderr(spans.mean(), hold, math.sqrt((1 - p) / p ** 2 / len(spans)) or 1e-12, what="mean span")
    if hold > 1:  # geometric: P(span = 1) = p
        assert_within_stderr((spans == 1).mean(), p, math.sqrt(p * (1 - p) / len(spans)), what="P(span = 1)")
    distinct = values[np.concatenate([[0], changes])]
    assert_within_stderr(distinct.mean(), 0.0, math.sqrt(1 / 3 / len(distinct)), what="mean action")
    assert_within_stderr((distinct < 0.5).mean(), 0.75, math.sqrt(0.75 * 0.25 / len(distinct)), what="P(a < 0.5)")


def test_to_images_is_channels_first_in_zero_one():
    frames = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    frames[0, 0, 0] = (0, 255, 128)
    images = to_images(frames)
    assert images.shape == (2, 3, 5, 7) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    torch.testing.assert_close(images[0, :, 0, 0], torch.tensor([0.0, 1.0, 128 / 255]))
    torch.testing.assert_close(images * 255, torch.from_numpy(frames).permute(0, 3, 1, 2).float())
    torch.testing.assert_close(to_images(torch.from_numpy(frames)), images)


@pytest.mark.parametrize("frames", [np.zeros((2, 8, 8, 3), dtype=np.float32), np.zeros((8, 8, 3), dtype=np.uint8),
                                    np.zeros((2, 3, 8, 8), dtype=np.uint8)])
def test_to_images_rejects_non_uint8_or_misshaped_frames(frames):
    with pytest.raises(ValueError, match="frames"):
        to_images(frames)


# --- evaluate_controllers -----------------------------------------------------------------------

@pytest.mark.parametrize("logit, action", [(0.0, 0.0), (30.0, 1.0), (-30.0, -1.0)])
def test_a_feature_blind_controller_scores_what_its_constant_action_scores(logit, action):
    vae, mdnrnn = make_vae(), make_rnn()
    seeds = [3, 8]
    result = evaluate_controllers(vae, mdnrnn, constant_action_vector(logit), seeds, max_steps=80, record=True)
    assert result.returns.shape == (1, 2)
    expected = [play_constant(s, action, 80) for s in seeds]
    assert result.returns[0].tolist() == [float(n) for n, _ in expected]
    frames = expected[0][1]  # the recording is the first agent's episode, from its reset frame
    assert result.frames.shape == frames.shape and np.array_equal(result.frames, frames)


def test_the_recording_starts_with_the_reset_frame():
    result = evaluate_controllers(make_vae(), make_rnn(), constant_action_vector(0.0), [3], max_steps=80, record=True)
    first, _ = DodgeEnv(max_steps=80).reset(seed=3)
    assert result.returns[0, 0] > 1  # the episode moved on after its first frame
    assert np.array_equal(result.frames[0], first)


def test_evaluate_controllers_batched_equals_each_controller_and_seed_alone():
    vae, mdnrnn = make_vae(1), make_rnn(1)
    vectors = 2 * torch.randn(3, N_PARAMS, generator=gen(3))
    vectors[2] = torch.as_tensor(constant_action_vector(30.0))
    seeds = [0, 5]
    together = evaluate_controllers(vae, mdnrnn, vectors.numpy(), seeds, max_steps=60, record=True)
    assert together.returns.shape == (3, 2)
    for p in range(3):
        for j, s in enumerate(seeds):
            alone = evaluate_controllers(vae, mdnrnn, vectors[p].numpy(), [s], max_steps=60,
                                         record=(p, j) == (0, 0))
            assert alone.returns.shape == (1, 1)
            assert alone.returns[0, 0] == together.returns[p, j], (p, s)
            if (p, j) == (0, 0):
                assert np.array_equal(alone.frames, together.frames)
    assert len(together.frames) == together.returns[0, 0] + 1
    assert len(np.unique(together.returns)) > 1  # the controllers and seeds do not all score alike
    assert together.returns.max() <= 60


def reference_episode(vae, mdnrnn, vector: torch.Tensor, seed: int, max_steps: int) -> np.ndarray:
    """One agent, written out: z_t = mu(x_t), a_t = tanh(w . [z_t, h_t] + b), M reads (z_t, a_t), Dodge steps a_t.

    Returns the episode's frames (T + 1, 64, 64, 3); its return is T.
    """
    env = DodgeEnv(max_steps=max_steps)
    obs, _ = env.reset(seed=seed)
    frames, h, state = [obs], torch.zeros(HIDDEN), None
    with torch.no_grad():
        while True:
            z = vae.encode(torch.from_numpy(obs).permute(2, 0, 1)[None].float() / 255)[0][0]
            a = torch.tanh(torch.dot(vector[:-1], torch.cat([z, h])) + vector[-1])
            *_, state = mdnrnn.step(z[None], a.view(1, 1), state)
            h = state[0][0, 0]
            obs, _, terminated, truncated, _ = env.step(a.view(1).numpy())
            frames.append(obs)
            if terminated or truncated:
                return np.stack(frames)


def sensitive_vae(seed: int) -> ConvVAE:
    """A ConvVAE whose mu varies across Dodge frames by ~1 around 0 (an untrained one barely moves)."""
    vae = make_vae(seed)
    frames = np.concatenate([e.frames for e in collect_random(2, seed=50, max_steps=30)])
    with torch.no_grad():
        vae.encoder_mu.weight.mul_(1000.0)
        vae.encoder_mu.bias.sub_(vae.encode(to_images(frames))[0].mean(0))
    return vae


def test_evaluate_controllers_equals_a_written_out_single_agent_loop():
    vae, mdnrnn = sensitive_vae(2), make_rnn(2)
    vectors = torch.randn(2, N_PARAMS, generator=gen(4))
    vectors[0, Z:-1] = 0.0  # reads z only
    vectors[1, Z:-1] *= 5.0  # leans on h
    seeds = [1, 2]
    for p in range(2):
        result = evaluate_controllers(vae, mdnrnn, vectors[p].numpy(), seeds, max_steps=60, record=True)
        expected = [reference_episode(vae, mdnrnn, vectors[p], s, 60) for s in seeds]
        assert result.returns[0].tolist() == [len(f) - 1 for f in expected], p
        # the first agent's frames show where it moved at each step
        assert result.frames.shape == expected[0].shape and np.array_equal(result.frames, expected[0]), p


def test_evaluate_controllers_records_nothing_unless_asked():
    result = evaluate_controllers(make_vae(), make_rnn(), constant_action_vector(0.0)[None], [1], max_steps=20)
    assert result.frames is None and result.returns.shape == (1, 1)


# --- sequences ----------------------------------------------------------------------------------

def test_encode_episodes_pads_with_a_mask_and_marks_done_only_where_a_hit_ended_it():
    vae = make_vae(2)
    episodes = collect_random(4, seed=0, max_steps=40)
    steps = [e.steps for e in episodes]
    assert len(set(steps)) > 1 and {e.terminated for e in episodes} == {True, False}
    data = encode_episodes(vae, episodes, batch_size=16)
    longest = max(steps)
    assert data.mu.shape == data.logvar.shape == (4, longest + 1, Z)
    assert data.actions.shape == (4, longest, 1) and data.done.shape == data.mask.shape == (4, longest)
    assert data.z_dim == Z and data.action_dim == 1
    for i, e in enumerate(episodes):
        with torch.no_grad():
            mu, logvar = vae.encode(to_images(e.frames))
        torch.testing.assert_close(data.mu[i, :e.steps + 1], mu, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(data.logvar[i, :e.steps + 1], logvar, rtol=1e-4, atol=1e-5)
        assert not data.mu[i, e.steps + 1:].any() and not data.logvar[i, e.steps + 1:].any()
        assert torch.equal(data.actions[i, :e.steps], torch.from_numpy(e.actions))
        assert not data.actions[i, e.steps:].any()
        assert data.mask[i].tolist() == [1.0] * e.steps + [0.0] * (longest - e.steps)
        expected_done = [0.0] * longest
        if e.terminated:
            expected_done[e.steps - 1] = 1.0
        assert data.done[i].tolist() == expected_done


def test_encode_episodes_rejects_an_empty_list():
    with pytest.raises(ValueError, match="episodes"):
        encode_episodes(make_vae(), [])


def tagged_episodes(lengths=(5, 2, 7, 3), logvar: float = -60.0) -> EncodedEpisodes:
    """Hand-made encoded episodes whose latents tell episode and step: mu[e, t] = 100 (e + 1) + t + (0, .1, .2)."""
    e_count, longest = len(lengths), max(lengths)
    mu = torch.zeros(e_count, longest + 1, Z)
    actions, done, mask = torch.zeros(e_count, longest, 1), torch.zeros(e_count, longest), torch.zeros(e_count, longest)
    for e, n in enumerate(lengths):
        mu[e, :n + 1] = 100 * (e + 1) + torch.arange(n + 1.0)[:, None] + torch.tensor([0.0, 0.1, 0.2])
        actions[e, :n, 0] = -(e + 1) - torch.arange(n) / 10
        mask[e, :n] = 1.0
        done[e, n - 1] = float(e % 2 == 0)
    return EncodedEpisodes(mu, torch.full_like(mu, logvar), actions, done, mask)


def identify(packed: torch.Tensor) -> list[int]:
    """Which episode each row came from, read off the tag of its first latent."""
    return [int(round(float(row[0, 0]) / 100)) - 1 for row in packed]


def test_sequence_sampler_packs_z_a_z_next_done_mask_and_trims_to_the_longest_chosen():
    lengths = (5, 2, 7, 3)
    data = tagged_episodes(lengths)
    sample = sequence_sampler(data, length=None, batch_size=3)
    g = gen(0)
    seen_lengths = set()
    for step in range(30):
        packed = sample(step, g)
        rows = identify(packed)
        t = max(lengths[r] for r in rows)
        seen_lengths.add(t)
        assert packed.shape == (3, t, 2 * Z + 1 + 2)
        for b, r in enumerate(rows):
            torch.testing.assert_close(packed[b, :, :Z], data.mu[r, :t], rtol=0, atol=1e-5)           # z_t
            torch.testing.assert_close(packed[b, :, Z], data.actions[r, :t, 0], rtol=0, atol=0)       # a_t
            torch.testing.assert_close(packed[b, :, Z + 1:2 * Z + 1], data.mu[r, 1:t + 1], rtol=0, atol=1e-5)  # z_{t+1}
            torch.testing.assert_close(packed[b, :, -2], data.done[r, :t], rtol=0, atol=0)            # done_t
            torch.testing.assert_close(packed[b, :, -1], data.mask[r, :t], rtol=0, atol=0)            # mask_t
    assert len(seen_lengths) > 1


def test_sequence_sampler_with_one_row_trims_to_that_episode():
    lengths = (5, 2, 7, 3)
    sample = sequence_sampler(tagged_episodes(lengths), length=None, batch_size=1)
    g = gen(1)
    for step in range(20):
        packed = sample(step, g)
        assert packed.shape[1] == lengths[identify(packed)[0]]
        assert (packed[0, :, -1] == 1).all()  # no padding left


def test_sequence_sampler_draws_fresh_z_from_q():
    data = tagged_episodes((6, 6, 6, 6), logvar=math.log(0.25))  # sigma = 0.5
    sample = sequence_sampler(data, length=None, batch_size=64)
    packed = sample(0, gen(2))
    rows = identify(packed)  # tags are 100 apart: noise of std 0.5 cannot hide them
    noise = torch.stack([packed[b, :, :Z] - data.mu[r, :6] for b, r in enumerate(rows)])
    assert_within_stderr(noise.mean(), 0.0, 0.5 / math.sqrt(noise.numel()), what="mean of z - mu")
    assert_within_stderr(noise.std(), 0.5, 0.5 / math.sqrt(2 * noise.numel()), what="std of z - mu")
    again = sample(0, gen(3))
    assert not torch.equal(packed, again)
    assert torch.equal(sample(0, gen(2)), packed)  # reproducible with the same generator


def test_sequence_sampler_windows_are_aligned_and_cover_every_step_equally():
    lengths = (5, 2, 7, 3)
    data = tagged_episodes(lengths)
    sample = sequence_sampler(data, batch_size=4000, length=3)
    packed = sample(0, gen(5))
    assert packed.shape[1] <= 3
    coverage = torch.zeros(len(lengths), max(lengths))
    for row in packed:
        real = row[:, -1].bool()
        assert real[0] and (real[:int(real.sum())]).all()  # the real steps come first, padding after
        tags = row[real, 0].round()
        e, steps = int(tags[0] // 100) - 1, (tags % 100).long()
        assert torch.equal(steps, torch.arange(int(steps[0]), int(steps[0]) + len(steps)))  # consecutive steps
        assert int(steps[-1]) < lengths[e]  # never past the episode's end
        torch.testing.assert_close(row[real, Z + 1].round(), tags + 1)  # z_{t+1} is the next frame's latent
        torch.testing.assert_close(row[real, -2], data.done[e, steps])  # done_t where the episode ends
        coverage[e, steps] += 1
    for e, n in enumerate(lengths):  # per step of an episode, windows containing it: all equal (up to noise)
        share = coverage[e, :n] / coverage[e, :n].mean()
        assert (share - 1).abs().max() < 0.2, (e, share)


def test_memory_loss_on_a_packed_batch_equals_mdn_rnn_loss_on_the_episodes():
    data = tagged_episodes((5, 2, 7, 3))
    data.mu /= 100  # tags stay apart but M sees moderate inputs
    model = make_rnn(3)
    packed = sequence_sampler(data, length=None, batch_size=4)(0, gen(4))
    rows = [int(round(float(row[0, 0]))) - 1 for row in packed]
    t = packed.shape[1]
    got = memory_loss(Z, 1)(model, packed)
    want = objectives.mdn_rnn_loss(model, data.mu[rows, :t], data.actions[rows, :t], data.mu[rows, 1:t + 1],
                                   data.done[rows, :t], data.mask[rows, :t])
    for key in ("loss", "z_nll", "done_bce"):
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-5)


def test_memory_loss_rejects_bad_sizes():
    with pytest.raises(ValueError, match="z_dim"):
        memory_loss(0, 1)
    with pytest.raises(ValueError, match="batch_size"):
        sequence_sampler(tagged_episodes(), batch_size=0)


# --- dreams -------------------------------------------------------------------------------------

def z0_pool(n: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, Z, generator=gen(seed))


def test_dream_returns_shape_and_determinism():
    model = make_rnn(4)
    vectors = torch.randn(5, N_PARAMS, generator=gen(5))
    returns = dream_returns(model, vectors, z0_pool(), rollouts=3, max_steps=30, generator=gen(6))
    assert returns.shape == (5, 3)
    assert ((returns >= 1) & (returns <= 30)).all() and torch.equal(returns, returns.round())
    assert torch.equal(returns, dream_returns(model, vectors.numpy(), z0_pool(), rollouts=3, max_steps=30,
                                              generator=gen(6)))
    with_bias = make_rnn(4, done_bias=-2.0)
    one = dream_returns(with_bias, vectors, z0_pool(), rollouts=3, max_steps=30, generator=gen(6))
    two = dream_returns(with_bias, vectors, z0_pool(), rollouts=3, max_steps=30, generator=gen(7))
    assert not torch.equal(one, two)


@pytest.mark.parametrize("bias, expected", [(50.0, 1.0), (-50.0, 25.0)])
def test_dream_returns_with_a_forced_done_probability(bias, expected):
    model = make_rnn(5, done_bias=bias)
    vectors = torch.randn(4, N_PARAMS, generator=gen(8))
    returns = dream_returns(model, vectors, z0_pool(), rollouts=6, max_steps=25, generator=gen(9))
    assert torch.equal(returns, torch.full((4, 6), expected))


def test_dream_returns_follow_a_truncated_geometric_law_for_a_constant_done_probability():
    """p(done) = sigmoid(b) each step: the return is min(Geometric(p), max_steps), mean (1 - (1 - p)^m) / p."""
    p, m = 0.1, 30
    model = make_rnn(6, done_bias=math.log(p / (1 - p)))
    returns = dream_returns(model, torch.zeros(20, N_PARAMS), z0_pool(), rollouts=200, max_steps=m,
                            generator=gen(10)).flatten().double()
    k = torch.arange(1, m + 1, dtype=torch.float64)
    law = p * (1 - p) ** (k - 1)
    law[-1] = (1 - p) ** (m - 1)  # reaching step m ends the dream either way
    mean = float((k * law).sum())
    assert mean == pytest.approx((1 - (1 - p) ** m) / p)
    std = math.sqrt(float((k ** 2 * law).sum()) - mean ** 2)
    assert_within_stderr(returns.mean(), mean, std / math.sqrt(len(returns)), what="mean dream return")
    assert_within_stderr((returns == 1).double().mean(), p, math.sqrt(p * (1 - p) / len(returns)), what="P(return 1)")


def test_dream_returns_rejects_bad_arguments():
    model = make_rnn()
    with pytest.raises(ValueError, match="z0"):
        dream_returns(model, torch.zeros(2, N_PARAMS), torch.zeros(4, Z + 1))
    with pytest.raises(ValueError, match="z0"):
        dream_returns(model, torch.zeros(2, N_PARAMS), torch.zeros(0, Z))
    with pytest.raises(ValueError, match="vectors"):
        dream_returns(model, torch.zeros(N_PARAMS), z0_pool())
    with pytest.raises(ValueError, match="vectors"):
        dream_returns(model, torch.zeros(2, N_PARAMS + 1), z0_pool(), max_steps=3)
    with pytest.raises(ValueError, match="rollouts"):
        dream_returns(model, torch.zeros(2, N_PARAMS), z0_pool(), rollouts=0)


def test_dream_episode_starts_at_z0_and_acts_with_the_controller():
    model = make_rnn(7, done_bias=-50.0)
    vector = torch.randn(N_PARAMS, generator=gen(11))
    z0 = z0_pool(1)[0]
    zs, actions, p_done = dream_episode(model, vector, z0, steps=12, generator=gen(12))
    assert zs.shape == (13, Z) and actions.shape == (12, 1) and p_done.shape == (12,)
    assert torch.equal(zs[0], z0)
    w, b = vector[:Z + HIDDEN], vector[-1]
    assert actions[0, 0].item() == pytest.approx(math.tanh(float(w[:Z] @ z0 + b)), abs=1e-6)  # h_0 = 0
    # replaying the dreamed latents through M gives the same states, hence the same actions
    state = model.initial_state(1)
    for t in range(12):
        a = torch.tanh(torch.cat([zs[t], state[0][0, 0]]) @ w + b)
        assert actions[t, 0].item() == pytest.approx(a.item(), abs=1e-5)
        with torch.no_grad():
            state = model.step(zs[t][None], actions[t][None], state)[-1]
    torch.testing.assert_close(p_done, torch.full((12,), torch.sigmoid(torch.tensor(-50.0)).item()))


def test_dream_episode_stops_at_done_unless_told_not_to():
    model = make_rnn(8, done_bias=50.0)
    zs, actions, p_done = dream_episode(model, torch.zeros(N_PARAMS), z0_pool(1)[0], steps=10, generator=gen(13))
    assert zs.shape == (2, Z) and actions.shape == (1, 1)
    zs, actions, _ = dream_episode(model, torch.zeros(N_PARAMS), z0_pool(1)[0], steps=10, generator=gen(13),
                                   stop_at_done=False)
    assert zs.shape == (11, Z) and actions.shape == (10, 1)


def test_mean_and_std_is_the_population_mean_and_standard_deviation():
    assert mean_and_std([1, 2, 3, 4]) == pytest.approx((2.5, math.sqrt(1.25)))
    values = np.random.default_rng(0).normal(size=(3, 7))
    assert mean_and_std(torch.from_numpy(values)) == pytest.approx((values.mean(), values.std(ddof=0)))
    assert mean_and_std([5.0]) == (5.0, 0.0)
    mean, std = mean_and_std(np.array([2.0, 2.0]))
    assert (mean, std) == (2.0, 0.0) and isinstance(mean, float) and isinstance(std, float)


# --- evolve -------------------------------------------------------------------------------------

TARGET = np.array([0.3, -0.2, 0.5])


def concave(x: np.ndarray) -> np.ndarray:
    return -((x - TARGET) ** 2).sum(1)


def test_evolve_maximises_a_concave_score_and_reports_each_generation():
    calls = []

    def on_generation(g, history):
        calls.append((g, len(history["best"]), history["best"][-1]))

    shapes = []

    def score(x):
        shapes.append(x.shape)
        return concave(x)

    best, history = evolve(score, 3, popsize=8, generations=30, sigma0=0.2, seed=1, on_generation=on_generation)
    assert best.shape == (3,)
    assert np.linalg.norm(best - TARGET) < 0.05, best
    assert set(history) == {"best", "mean", "seconds"} and all(len(v) == 30 for v in history.values())
    assert history["best"][-1] > history["best"][0] + 0.05
    assert max(history["best"][-5:]) > -1e-3
    assert all(b >= m for b, m in zip(history["best"], history["mean"]))
    assert [c[:2] for c in calls] == [(g, g) for g in range(1, 31)]
    assert shapes == [(8, 3)] * 30


def test_evolve_is_reproducible_with_a_seed():
    one, _ = evolve(concave, 3, popsize=8, generations=5, seed=2)
    two, _ = evolve(concave, 3, popsize=8, generations=5, seed=2)
    three, _ = evolve(concave, 3, popsize=8, generations=5, seed=3)
    assert np.array_equal(one, two) and not np.array_equal(one, three)


@pytest.mark.parametrize("bad", [lambda x: concave(x)[:-1], lambda x: concave(x)[:, None],
                                 lambda x: np.full(len(x), np.nan)])
def test_evolve_rejects_a_score_function_of_the_wrong_shape_or_non_finite(bad):
    with pytest.raises(ValueError, match="score_population"):
        evolve(bad, 3, popsize=8, generations=2)


def test_evolve_rejects_bad_sizes():
    with pytest.raises(ValueError, match="popsize"):
        evolve(concave, 3, popsize=0)
    with pytest.raises(ValueError, match="n_parameters"):
        evolve(concave, 0)


# --- pretrain_world -----------------------------------------------------------------------------

def test_pretrain_world_smoke_run_writes_checkpoints_that_load(tmp_path):
    from course_utils.instructor import pretrain_world

    prefix = tmp_path / "dodge"
    argv = ["--prefix", str(prefix), "--episodes", "8", "--vae-steps", "2", "--mdn-steps", "3", "--taus", "1.0", "1.15",
            "--generations", "2", "--popsize", "4", "--rollouts", "2", "--dream-steps", "20", "--eval-episodes", "3",
            "--channels", "4", "--z-dim", "4", "--hidden", "8", "--threads", "1"]
    summary = pretrain_world.main(argv)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"dodge_{n}.{ext}" for n in ("vae", "mdnrnn", "controller_tau1", "controller_tau1.15")
                           for ext in ("safetensors", "json"))
    assert isinstance(checkpoints.load(tmp_path / "dodge_controller_tau1.15"), LinearController)
    vae, mdnrnn, controller = (checkpoints.load(prefix.parent / f"dodge_{n}")
                               for n in ("vae", "mdnrnn", "controller_tau1"))
    assert isinstance(vae, ConvVAE) and vae.z_dim == 4 and vae.channels == 4
    assert isinstance(mdnrnn, MDNRNN) and (mdnrnn.z_dim, mdnrnn.hidden) == (4, 8)
    assert isinstance(controller, LinearController) and controller.in_features == 4 + 8
    meta = json.loads((tmp_path / "dodge_controller_tau1.json").read_text())
    assert meta["extra"]["tau"] == 1.0 and len(meta["extra"]["history"]["best"]) == 2
    results = summary["results"]
    assert set(results) == {"random_iid", "tau=1.0", "tau=1.15"}
    assert set(results["tau=1.0"]) == {"dream", "real"}
    real_mean, _ = results["tau=1.0"]["real"]
    assert 1 <= real_mean <= 500 and 1 <= results["tau=1.0"]["dream"][0] <= 20
    # the loaded pieces reproduce the reported real score: the saved controller plays through the saved V and M
    vector = torch.cat([controller.linear.weight.detach().flatten(), controller.linear.bias.detach()]).numpy()
    evaluation = evaluate_controllers(vae, mdnrnn, vector, range(100_000, 100_003), max_steps=500)
    assert mean_and_std(evaluation.returns) == pytest.approx(results["tau=1.0"]["real"])


def test_pretrain_world_reuses_a_trained_v_and_m_and_leaves_their_files_alone(tmp_path):
    from course_utils.instructor import pretrain_world

    first, second = tmp_path / "a" / "dodge", tmp_path / "b" / "dodge"
    first.parent.mkdir(), second.parent.mkdir()
    small = ["--episodes", "4", "--vae-steps", "2", "--mdn-steps", "2", "--generations", "2", "--popsize", "4",
             "--rollouts", "2", "--dream-steps", "10", "--eval-episodes", "2", "--channels", "4", "--z-dim", "4",
             "--hidden", "8", "--threads", "1"]
    pretrain_world.main(["--prefix", str(first), "--taus", "1.0", *small])
    before = {p.name: p.read_bytes() for p in first.parent.iterdir()}
    summary = pretrain_world.main(["--prefix", str(second), "--taus", "0.5", "--vae", f"{first}_vae",
                                   "--mdnrnn", f"{first}_mdnrnn", *small])
    assert sorted(p.name for p in second.parent.iterdir()) == ["dodge_controller_tau0.5.json",
                                                               "dodge_controller_tau0.5.safetensors"]
    assert {p.name: p.read_bytes() for p in first.parent.iterdir()} == before  # the reused files are untouched
    assert "V" not in summary["times"] and "M" not in summary["times"]  # nothing was trained again
    meta = json.loads((second.parent / "dodge_controller_tau0.5.json").read_text())
    assert f"--mdnrnn {first}_mdnrnn" in meta["extra"]["command"]
