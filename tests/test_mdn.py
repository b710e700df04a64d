"""Mixture density networks of chapter 08: mdn_nll, MixtureHead, MDN, sample_mixture, MDNRNN, their objectives."""
import math

import pytest
import torch
import torch._dynamo  # noqa: F401  (the first torch.optim optimizer imports it, ~3 s: charge collection, not a test)
from torch.distributions import Categorical, MixtureSameFamily, Normal

from conftest import assert_within_stderr
from course_utils import objectives
from course_utils.losses import mdn_nll
from course_utils.models import MDN, MDNRNN
from course_utils.models.mdn import MixtureHead, sample_mixture

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: extra threads only add overhead


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_mixture(shape, seed: int = 0, dtype=F64):
    """log_pi (normalized), mu, log_sigma of shape (..., D, K), and y (..., D) near the means."""
    g = gen(seed)
    log_pi = torch.log_softmax(2 * torch.randn(shape, generator=g, dtype=dtype), dim=-1)
    mu = 3 * torch.randn(shape, generator=g, dtype=dtype)
    log_sigma = torch.empty(shape, dtype=dtype).uniform_(-2.0, 1.0, generator=g)
    y = 3 * torch.randn(shape[:-1], generator=g, dtype=dtype)
    return log_pi, mu, log_sigma, y


def oracle_nll(log_pi, mu, log_sigma, y):
    """-log p(y) summed over D, by torch.distributions."""
    mixture = MixtureSameFamily(Categorical(logits=log_pi), Normal(mu, log_sigma.exp()))
    return -mixture.log_prob(y).sum(-1)


def mixture_moments(log_pi, mu, log_sigma, tau=1.0):
    """Mean and variance of the tempered mixture: pi ~ pi^(1/tau), sigma ~ sigma sqrt(tau)."""
    pi = torch.softmax(log_pi / tau, dim=-1)
    var_k = tau * (2 * log_sigma).exp()
    mean = (pi * mu).sum(-1)
    return mean, (pi * (var_k + mu ** 2)).sum(-1) - mean ** 2


# --- mdn_nll ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 1, 1), (5, 3, 1), (4, 1, 4), (7, 3, 5), (3, 4, 2, 3), (2, 3, 4, 2, 5)])
def test_mdn_nll_matches_the_torch_distributions_mixture(shape):
    log_pi, mu, log_sigma, y = random_mixture(shape, seed=len(shape) * 10 + shape[-1])
    out = mdn_nll(log_pi, mu, log_sigma, y)
    assert out.shape == shape[:-2]
    torch.testing.assert_close(out, oracle_nll(log_pi, mu, log_sigma, y), rtol=1e-10, atol=1e-10)


def test_mdn_nll_normalizes_nothing_itself_unnormalized_log_pi_shifts_the_nll():
    """mdn_nll reads log_pi as log-probabilities: adding c to every log_pi_k subtracts D * c."""
    log_pi, mu, log_sigma, y = random_mixture((4, 3, 2), seed=3)
    torch.testing.assert_close(mdn_nll(log_pi + 0.7, mu, log_sigma, y), mdn_nll(log_pi, mu, log_sigma, y) - 3 * 0.7)


def test_mdn_nll_of_one_component_is_the_gaussian_nll():
    g = gen(4)
    mu, log_sigma, y = torch.randn(5, 3, 1, generator=g, dtype=F64), torch.randn(5, 3, 1, generator=g, dtype=F64), \
        torch.randn(5, 3, generator=g, dtype=F64)
    sigma = log_sigma[..., 0].exp()
    expected = (0.5 * math.log(2 * math.pi) + sigma.log() + 0.5 * ((y - mu[..., 0]) / sigma) ** 2).sum(-1)
    torch.testing.assert_close(mdn_nll(torch.zeros_like(mu), mu, log_sigma, y), expected)


def test_mdn_nll_is_finite_far_out_in_the_tails_in_float32():
    """Log-sum-exp: a y 1000 sigmas from every mean underflows every density, but not the log."""
    log_pi = torch.log_softmax(torch.zeros(2, 1, 3), -1)
    mu, log_sigma = torch.tensor([[[-1.0, 0.0, 1.0]]]).repeat(2, 1, 1), torch.full((2, 1, 3), math.log(0.01))
    out = mdn_nll(log_pi, mu, log_sigma, torch.tensor([[12.0], [-12.0]]))
    assert torch.isfinite(out).all()
    expected = oracle_nll(log_pi.double(), mu.double(), log_sigma.double(), torch.tensor([[12.0], [-12.0]], dtype=F64))
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=0)


@pytest.mark.parametrize("shapes", [
    ((4, 3, 2), (4, 3, 2), (4, 3, 2), (4, 2)),     # y's D differs
    ((4, 3, 2), (4, 3, 3), (4, 3, 2), (4, 3)),     # mu's K differs
    ((4, 3, 2), (4, 3, 2), (4, 3, 1), (4, 3)),     # log_sigma's K differs
    ((3, 2), (3, 2), (3, 2), (3,)),                # y needs (N, D): at least two axes
])
def test_mdn_nll_rejects_mismatched_shapes(shapes):
    tensors = [torch.zeros(s) for s in shapes]
    with pytest.raises(ValueError, match="log_pi.*mu.*log_sigma.*y"):
        mdn_nll(*tensors)


def test_mdn_nll_rejects_integer_tensors():
    log_pi, mu, log_sigma, y = random_mixture((2, 3, 2))
    with pytest.raises(TypeError, match="y"):
        mdn_nll(log_pi, mu, log_sigma, y.long())


# --- MixtureHead, MDN ---------------------------------------------------------------------------

def test_mixture_head_shapes_and_log_pi_normalized_over_components():
    torch.manual_seed(0)
    head = MixtureHead(6, 3, n_mixtures=4)
    log_pi, mu, log_sigma = head(torch.randn(2, 5, 6))
    assert log_pi.shape == mu.shape == log_sigma.shape == (2, 5, 3, 4)
    torch.testing.assert_close(log_pi.exp().sum(-1), torch.ones(2, 5, 3))
    assert (log_pi <= 0).all()


@pytest.mark.parametrize("scale", [1.0, 1e3, 1e6, -1e6])
def test_mixture_head_log_sigma_stays_within_its_bounds_for_huge_inputs(scale):
    torch.manual_seed(1)
    head = MixtureHead(4, 2, n_mixtures=3, sigma_min=0.05, sigma_max=2.0)
    log_pi, mu, log_sigma = head(scale * torch.randn(64, 4))
    eps = 1e-5
    assert (log_sigma >= math.log(0.05) - eps).all() and (log_sigma <= math.log(2.0) + eps).all()
    assert torch.isfinite(log_pi).all() and torch.isfinite(mu).all()
    torch.testing.assert_close(log_pi.exp().sum(-1), torch.ones(64, 2))
    if abs(scale) >= 1e6:  # the sigmoid saturates: both bounds are reached
        assert log_sigma.min().item() == pytest.approx(math.log(0.05), abs=1e-5)
        assert log_sigma.max().item() == pytest.approx(math.log(2.0), abs=1e-5)


def test_mixture_head_default_sigma_bounds_are_0_01_and_10():
    head = MixtureHead(2, 1, n_mixtures=2)
    with torch.no_grad():
        head.linear.weight.zero_(), head.linear.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, -100.0, 100.0]))
    _, _, log_sigma = head(torch.zeros(1, 2))
    torch.testing.assert_close(log_sigma[0, 0], torch.tensor([math.log(0.01), math.log(10.0)]))


@pytest.mark.parametrize("kwargs", [{"sigma_min": 0.0}, {"sigma_min": 1.0, "sigma_max": 0.5},
                                    {"sigma_max": math.inf}, {"sigma_min": 0.1, "sigma_max": 0.1}])
def test_mixture_head_rejects_bad_sigma_bounds(kwargs):
    with pytest.raises(ValueError, match="sigma_min"):
        MixtureHead(2, 1, **kwargs)


@pytest.mark.parametrize("kwargs, name", [({"n_mixtures": 0}, "n_mixtures"), ({"out_dim": 0}, "out_dim"),
                                          ({"in_features": 2.0}, "in_features")])
def test_mixture_head_rejects_bad_sizes(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MixtureHead(**{"in_features": 2, "out_dim": 1, **kwargs})


@pytest.mark.parametrize("y", [1e4, -1e4, 1e6])
def test_mdn_regression_loss_and_gradient_are_finite_for_extreme_targets(y):
    torch.manual_seed(2)
    model = MDN(in_dim=1, out_dim=2, hidden=8, n_mixtures=3)
    xy = torch.cat([torch.randn(16, 1), torch.full((16, 2), y)], dim=1)
    loss = objectives.mdn_regression_nll(model, xy)["loss"]
    assert loss.shape == (16,) and torch.isfinite(loss).all()
    assert (loss > 0).all()  # sigma <= 10 makes such a y very unlikely
    loss.mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_mdn_regression_nll_is_mdn_nll_of_the_model_output_with_x_first():
    torch.manual_seed(3)
    model = MDN(in_dim=2, out_dim=3, hidden=8, n_mixtures=2)
    x, y = torch.randn(5, 2), torch.randn(5, 3)
    out = objectives.mdn_regression_nll(model, torch.cat([x, y], dim=1))["loss"]
    torch.testing.assert_close(out, mdn_nll(*model(x), y))
    log_pi, mu, log_sigma = (t.double() for t in model(x))
    torch.testing.assert_close(out.double(), oracle_nll(log_pi, mu, log_sigma, y.double()), rtol=1e-5, atol=1e-5)


def test_mdn_regression_nll_rejects_pairs_of_the_wrong_width():
    model = MDN(in_dim=1, out_dim=2, hidden=4)
    with pytest.raises(ValueError, match="xy"):
        objectives.mdn_regression_nll(model, torch.zeros(5, 2))
    with pytest.raises(ValueError, match="x"):
        model(torch.zeros(5, 2))


def bimodal(n: int, g: torch.Generator) -> torch.Tensor:
    """y = +x or -x (a fair coin) plus noise 0.05, x ~ U(-1, 1): pairs (n, 2)."""
    x = 2 * torch.rand(n, 1, generator=g) - 1
    sign = torch.randint(0, 2, (n, 1), generator=g).float() * 2 - 1
    return torch.cat([x, sign * x + 0.05 * torch.randn(n, 1, generator=g)], dim=1)


def train_mdn(n_mixtures: int, steps: int = 200) -> float:
    torch.manual_seed(0)
    model = MDN(in_dim=1, out_dim=1, hidden=32, n_mixtures=n_mixtures)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    g = gen(1)
    for _ in range(steps):
        loss = objectives.mdn_regression_nll(model, bimodal(256, g))["loss"].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return objectives.mdn_regression_nll(model, bimodal(4000, gen(2)))["loss"].mean().item()


def test_mdn_fits_a_bimodal_problem_better_than_a_single_gaussian():
    """y = +-x: one Gaussian can only say 'mean 0, spread |x|'; two components find both branches."""
    single, mixture = train_mdn(1), train_mdn(5)
    # the best single Gaussian has sigma^2 = x^2 + 0.05^2: E[NLL] = 1/2 log(2 pi e) + E[1/2 log(x^2 + 0.0025)] ~ 0.46
    assert single > 0.35
    assert mixture < single - 0.5, (mixture, single)


# --- sample_mixture -----------------------------------------------------------------------------

MIX_LOG_PI = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]], dtype=F64).log()
MIX_MU = torch.tensor([[-2.0, 0.5, 3.0], [1.0, -1.0, 4.0]], dtype=F64)
MIX_LOG_SIGMA = torch.tensor([[0.5, 1.0, 0.3], [0.2, 0.7, 1.5]], dtype=F64).log()


def draws(n: int, tau: float, seed: int = 0) -> torch.Tensor:
    params = (t.expand(n, 2, 3) for t in (MIX_LOG_PI, MIX_MU, MIX_LOG_SIGMA))
    return sample_mixture(*params, tau=tau, generator=gen(seed))


@pytest.mark.parametrize("tau", [1.0, 0.5, 1.5])
def test_sample_mixture_matches_the_tempered_mixture_mean_and_variance(tau):
    n = 100_000
    z = draws(n, tau)
    assert z.shape == (n, 2) and z.dtype == F64
    mean, var = mixture_moments(MIX_LOG_PI, MIX_MU, MIX_LOG_SIGMA, tau)
    sample_var = z.var(0)
    assert_within_stderr(z.mean(0), mean, (sample_var / n).sqrt(), what="mean")
    m4 = ((z - z.mean(0)) ** 4).mean(0)
    assert_within_stderr(sample_var, var, ((m4 - sample_var ** 2) / n).sqrt(), what="variance")


@pytest.mark.parametrize("tau", [1.0, 0.5])
def test_sample_mixture_matches_the_tempered_mixture_cdf(tau):
    n = 100_000
    z = draws(n, tau, seed=1)
    pi = torch.softmax(MIX_LOG_PI / tau, -1)
    sigma = MIX_LOG_SIGMA.exp() * math.sqrt(tau)
    for t in (-2.0, -0.5, 0.7, 2.5, 3.5):
        cdf = (pi * Normal(MIX_MU, sigma).cdf(torch.tensor(t, dtype=F64))).sum(-1)  # (2,)
        frequency = (z <= t).double().mean(0)
        assert_within_stderr(frequency, cdf, (cdf * (1 - cdf) / n).sqrt().clamp(min=1e-4), what=f"P(z <= {t})")


def test_sample_mixture_at_small_tau_concentrates_on_the_most_probable_mean():
    z = draws(5000, 1e-4, seed=2)
    best = MIX_MU.gather(1, MIX_LOG_PI.argmax(1, keepdim=True)).squeeze(1)  # (0.5, 1.0)
    sigma_best = MIX_LOG_SIGMA.exp().gather(1, MIX_LOG_PI.argmax(1, keepdim=True)).squeeze(1)
    assert ((z - best).abs() < 6 * sigma_best * math.sqrt(1e-4)).all()
    assert_within_stderr(z.std(0), sigma_best * math.sqrt(1e-4), sigma_best * math.sqrt(1e-4) * 0.05, what="std")


def test_sample_mixture_is_reproducible_with_a_seeded_generator():
    assert torch.equal(draws(100, 1.0, seed=5), draws(100, 1.0, seed=5))
    assert not torch.equal(draws(100, 1.0, seed=5), draws(100, 1.0, seed=6))


def test_sample_mixture_keeps_the_leading_shape():
    log_pi, mu, log_sigma, _ = random_mixture((3, 4, 2, 5), seed=7)
    assert sample_mixture(log_pi, mu, log_sigma, generator=gen(0)).shape == (3, 4, 2)


@pytest.mark.parametrize("tau", [0.0, -1.0, float("nan"), float("inf"), True, "1"])
def test_sample_mixture_rejects_bad_temperatures(tau):
    with pytest.raises(ValueError, match="tau"):
        draws(4, tau)


def test_sample_mixture_rejects_mismatched_shapes():
    log_pi, mu, log_sigma, _ = random_mixture((3, 2, 4))
    with pytest.raises(ValueError, match="log_pi, mu, log_sigma"):
        sample_mixture(log_pi, mu[..., :3], log_sigma)
    with pytest.raises(ValueError, match="log_pi, mu, log_sigma"):
        sample_mixture(log_pi[0, 0], mu[0, 0], log_sigma[0, 0])  # (K,) only: no D axis


# --- MDNRNN -------------------------------------------------------------------------------------

def make_rnn(seed: int = 0, **kwargs) -> MDNRNN:
    torch.manual_seed(seed)
    return MDNRNN(**{"z_dim": 3, "action_dim": 2, "hidden": 8, "n_mixtures": 4, **kwargs})


def sequences(n: int = 2, t: int = 6, d: int = 3, a: int = 2, seed: int = 0):
    g = gen(seed)
    return torch.randn(n, t, d, generator=g), torch.rand(n, t, a, generator=g) * 2 - 1


def test_mdnrnn_forward_shapes():
    model = make_rnn()
    z, a = sequences()
    log_pi, mu, log_sigma, done_logit, (h, c) = model(z, a)
    assert log_pi.shape == mu.shape == log_sigma.shape == (2, 6, 3, 4)
    assert done_logit.shape == (2, 6)
    assert h.shape == c.shape == (1, 2, 8)
    torch.testing.assert_close(log_pi.exp().sum(-1), torch.ones(2, 6, 3))
    out = model.step(z[:, 0], a[:, 0])
    assert [tuple(t.shape) for t in out[:4]] == [(2, 3, 4)] * 3 + [(2,)]


def test_mdnrnn_forward_equals_stepping_with_the_carried_state():
    model = make_rnn(1)
    z, a = sequences(n=3, t=7, seed=1)
    log_pi, mu, log_sigma, done_logit, (h, c) = model(z, a)
    state = None
    for t in range(7):
        step = model.step(z[:, t], a[:, t], state)
        state = step[-1]
        for got, want in zip(step[:4], (log_pi[:, t], mu[:, t], log_sigma[:, t], done_logit[:, t])):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state[0], h, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state[1], c, rtol=1e-5, atol=1e-6)


def test_mdnrnn_state_carries_the_past_and_initial_state_is_zeros():
    model = make_rnn(2)
    z, a = sequences(n=2, t=8, seed=2)
    whole = model(z, a)
    first = model(z[:, :5], a[:, :5])
    rest = model(z[:, 5:], a[:, 5:], first[-1])
    torch.testing.assert_close(rest[1], whole[1][:, 5:], rtol=1e-5, atol=1e-6)
    fresh = model(z[:, 5:], a[:, 5:])  # without the carried state the prediction differs
    assert not torch.allclose(fresh[1], whole[1][:, 5:], atol=1e-4)
    h0, c0 = model.initial_state(2)
    assert h0.shape == c0.shape == (1, 2, 8) and not h0.any() and not c0.any()
    torch.testing.assert_close(model(z, a, (h0, c0))[1], whole[1], rtol=0, atol=0)


def test_mdnrnn_rows_of_a_batch_are_independent():
    model = make_rnn(3)
    z, a = sequences(n=4, t=5, seed=3)
    together = model(z, a)
    alone = model(z[2:3], a[2:3])
    for got, want in zip(alone[:4], together[:4]):
        torch.testing.assert_close(got, want[2:3], rtol=1e-5, atol=1e-6)


def test_mdnrnn_prediction_at_t_depends_only_on_the_past():
    model = make_rnn(4)
    z, a = sequences(n=1, t=6, seed=4)
    z2, a2 = z.clone(), a.clone()
    z2[:, 4:] += 5.0
    a2[:, 4:] = -a2[:, 4:]
    one, two = model(z, a), model(z2, a2)
    torch.testing.assert_close(one[1][:, :4], two[1][:, :4], rtol=0, atol=0)
    assert not torch.allclose(one[1][:, 4], two[1][:, 4])


@pytest.mark.parametrize("z_shape, a_shape, name", [
    ((2, 6), (2, 6, 2), "z"),          # no time axis
    ((2, 6, 4), (2, 6, 2), "z"),       # wrong z_dim
    ((0, 6, 3), (0, 6, 2), "z"),       # empty batch
    ((2, 6, 3), (2, 6, 1), "a"),       # wrong action_dim
    ((2, 6, 3), (2, 5, 2), "a"),       # wrong T
    ((2, 6, 3), (3, 6, 2), "a"),       # wrong N
])
def test_mdnrnn_rejects_wrong_shapes_naming_the_argument(z_shape, a_shape, name):
    model = make_rnn()
    with pytest.raises(ValueError, match=rf"^{name}:"):
        model(torch.zeros(z_shape), torch.zeros(a_shape))


def test_mdnrnn_step_rejects_a_missing_batch_axis_and_integer_inputs():
    model = make_rnn()
    with pytest.raises(ValueError, match=r"^z:"):
        model.step(torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match=r"^a:"):
        model.step(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="a"):
        model.step(torch.zeros(2, 3), torch.zeros(2, 2, dtype=torch.long))


# --- objectives.mdn_rnn_loss --------------------------------------------------------------------

class FixedOutputs(torch.nn.Module):
    """A stand-in M whose outputs are given tensors, so the loss can be checked by hand."""

    def __init__(self, log_pi, mu, log_sigma, done_logit):
        super().__init__()
        self.outputs = (log_pi, mu, log_sigma, done_logit)

    def forward(self, z, a):
        return (*self.outputs, None)


def test_mdn_rnn_loss_equals_a_hand_computation():
    # N = 2 sequences, T = 3 steps, D = 1, K = 2; the first sequence has 2 real steps
    pi = [[[0.3, 0.7]], [[0.5, 0.5]], [[0.9, 0.1]]]
    log_pi = torch.tensor([pi, pi], dtype=F64).log()  # (2, 3, 1, 2)
    mu = torch.tensor([[[[0.0, 1.0]], [[-1.0, 2.0]], [[0.5, 0.5]]]] * 2, dtype=F64)
    sigma = [[[[1.0, 0.5]], [[2.0, 1.0]], [[0.3, 3.0]]]] * 2
    log_sigma = torch.tensor(sigma, dtype=F64).log()
    done_logit = torch.tensor([[0.2, -1.0, 3.0], [1.5, 0.0, -2.0]], dtype=F64)
    z_next = torch.tensor([[[0.4], [1.0], [9.0]], [[-0.2], [2.5], [0.1]]], dtype=F64)
    done = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=F64)
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], dtype=F64)

    def normal(y, m, s):
        return math.exp(-0.5 * ((y - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))

    def bce(logit, target):
        p = 1 / (1 + math.exp(-logit))
        return -(target * math.log(p) + (1 - target) * math.log(1 - p))

    expected = {"z_nll": [], "done_bce": []}
    for n in range(2):
        steps = [t for t in range(3) if mask[n, t] == 1]
        nll = [-math.log(sum(pi[t][0][k] * normal(float(z_next[n, t, 0]), float(mu[n, t, 0, k]), sigma[n][t][0][k])
                             for k in range(2))) for t in steps]
        expected["z_nll"].append(sum(nll) / 3)  # divided by T = 3 for every sequence
        expected["done_bce"].append(sum(bce(float(done_logit[n, t]), float(done[n, t])) for t in steps) / 3)
    model = FixedOutputs(log_pi, mu, log_sigma, done_logit)
    out = objectives.mdn_rnn_loss(model, torch.zeros(2, 3, 1, dtype=F64), torch.zeros(2, 3, 1, dtype=F64),
                                  z_next, done, mask)
    for key in ("z_nll", "done_bce"):
        torch.testing.assert_close(out[key], torch.tensor(expected[key], dtype=F64), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out["loss"], out["z_nll"] + out["done_bce"], rtol=1e-12, atol=1e-12)


def padded_batch(seed: int = 0):
    z, a = sequences(n=3, t=6, seed=seed)
    g = gen(seed + 100)
    z_next = torch.randn(3, 6, 3, generator=g)
    done = torch.zeros(3, 6)
    mask = torch.tensor([[1.0] * 6, [1.0] * 4 + [0.0] * 2, [1.0] * 2 + [0.0] * 4])
    done[0, 5], done[1, 3] = 1.0, 1.0
    return z, a, z_next, done, mask


def test_mdn_rnn_loss_ignores_padded_steps():
    model = make_rnn(5)
    z, a, z_next, done, mask = padded_batch()
    base = objectives.mdn_rnn_loss(model, z, a, z_next, done, mask)
    pad = mask == 0
    g = gen(7)
    z2, a2, z_next2, done2 = z.clone(), a.clone(), z_next.clone(), done.clone()
    z_next2[pad] = 50 * torch.randn(int(pad.sum()), 3, generator=g)
    done2[pad] = torch.rand(int(pad.sum()), generator=g).round()
    z2[pad], a2[pad] = torch.randn(int(pad.sum()), 3, generator=g), torch.rand(int(pad.sum()), 2, generator=g)
    changed = objectives.mdn_rnn_loss(model, z2, a2, z_next2, done2, mask)
    for key in ("loss", "z_nll", "done_bce"):
        assert changed[key].shape == (3,)
        torch.testing.assert_close(changed[key], base[key], rtol=1e-6, atol=1e-6)
    # ... while a change on a real step does change that sequence's loss (and only that one)
    z_next2[2, 1] += 3.0
    moved = objectives.mdn_rnn_loss(model, z2, a2, z_next2, done2, mask)
    assert not torch.isclose(moved["loss"][2], base["loss"][2])
    torch.testing.assert_close(moved["loss"][:2], base["loss"][:2], rtol=1e-6, atol=1e-6)


def test_mdn_rnn_loss_weights_every_real_step_equally():
    """Each sequence is summed over its real steps and divided by the same T, so the batch mean is the mean per step."""
    model = make_rnn(6)
    z, a, z_next, done, _ = padded_batch(1)
    full = objectives.mdn_rnn_loss(model, z, a, z_next, done, torch.ones(3, 6))
    log_pi, mu, log_sigma, done_logit, _ = model(z, a)
    per_step = mdn_nll(log_pi, mu, log_sigma, z_next)  # (3, 6)
    torch.testing.assert_close(full["z_nll"], per_step.mean(1))
    mask = torch.zeros(3, 6)
    mask[0, :2], mask[1, :5], mask[2, :1] = 1.0, 1.0, 1.0
    cut = objectives.mdn_rnn_loss(model, z, a, z_next, done, mask)
    torch.testing.assert_close(cut["z_nll"], (per_step * mask).sum(1) / 6)
    # the batch mean (what fit_stream minimizes) is the mean over the 8 real steps, times 8 / (3 * 6)
    torch.testing.assert_close(cut["z_nll"].mean(), per_step[mask.bool()].mean() * 8 / 18)


def test_mdn_rnn_loss_of_an_all_padding_sequence_is_zero_not_nan():
    model = make_rnn(7)
    z, a, z_next, done, mask = padded_batch(2)
    mask[1] = 0.0
    out = objectives.mdn_rnn_loss(model, z, a, z_next, done, mask)
    assert torch.isfinite(out["loss"]).all() and out["loss"][1] == 0.0


def test_mdn_rnn_loss_ignores_non_finite_padding():
    model = make_rnn(8)
    z, a, z_next, done, mask = padded_batch(3)
    base = objectives.mdn_rnn_loss(model, z, a, z_next, done, mask)
    z_next[1, 5], done[2, 5] = 1e30, float("nan")  # both at padded steps
    out = objectives.mdn_rnn_loss(model, z, a, z_next, done, mask)
    torch.testing.assert_close(out["loss"], base["loss"])
