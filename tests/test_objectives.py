"""course_utils.objectives: -ELBO parts, the IWAE bound (k=1 matches the ELBO, grows with k), KL per dimension."""
import math

import pytest
import torch

from torch.distributions import Bernoulli, Normal

from conftest import assert_within_stderr

from course_utils import objectives
from course_utils.gaussian import kl_normal_std
from course_utils.gaussian import reparameterize as objectives_reparameterize
from course_utils.losses import bernoulli_nll
from course_utils.objectives import iwae_log_likelihood, kl_per_dimension, negative_elbo


@pytest.fixture
def model_and_x(tiny_mlp_vae):
    """A fresh model per test (test_kl_per_dimension_sums_to_the_mean_kl edits its weights) and 8 binary images."""
    model = tiny_mlp_vae(0, hidden=64, z_dim=4)  # seeds the global generator, then builds the model
    x = torch.bernoulli(torch.full((8, 1, 28, 28), 0.2))
    return model, x


def test_negative_elbo_is_recon_plus_beta_kl(model_and_x):
    model, x = model_and_x
    out = negative_elbo(model, x, beta=0.5, generator=torch.Generator().manual_seed(1))
    x_logits, mu, logvar = model(x, generator=torch.Generator().manual_seed(1))
    assert set(out) == {"loss", "recon", "kl"} and out["loss"].shape == (8,)
    assert torch.allclose(out["recon"], bernoulli_nll(x_logits, x))
    assert torch.allclose(out["kl"], kl_normal_std(mu, logvar))
    assert torch.allclose(out["loss"], out["recon"] + 0.5 * out["kl"])
    flat = negative_elbo(model, x.flatten(1), generator=torch.Generator().manual_seed(1))
    assert torch.allclose(flat["recon"], out["recon"])


def test_iwae_with_k1_has_the_expectation_of_the_elbo(model_and_x):
    model, x = model_and_x
    x_rep = x.repeat(200, 1, 1, 1)  # 200 independent draws per image, in one batch
    g = torch.Generator().manual_seed(2)
    iwae = iwae_log_likelihood(model, x_rep, k=1, generator=g)  # (1600,)
    with torch.no_grad():
        elbo = -negative_elbo(model, x_rep, generator=g)["loss"]  # (1600,)
    diff = iwae - elbo  # the same images on both sides, independent z
    se = float(diff.std()) / len(diff) ** 0.5
    assert_within_stderr(diff.mean(), 0.0, se, what="E[iwae k=1] - E[elbo]")


def test_iwae_grows_with_k(model_and_x):
    model, x = model_and_x
    x_rep = x.repeat(60, 1, 1, 1)  # (480, 1, 28, 28): 60 draws per image (20 left the 5 -> 25 gain near 4 se)
    g = torch.Generator().manual_seed(3)
    bounds = {k: iwae_log_likelihood(model, x_rep, k=k, generator=g) for k in (1, 5, 25)}
    for small, large in ((1, 5), (5, 25)):
        gain = bounds[large] - bounds[small]
        se = float(gain.std()) / len(gain) ** 0.5
        z = float(gain.mean()) / se
        assert z > 4, f"IWAE k={large} - k={small} = {float(gain.mean()):.3f} +- {se:.3f} (z = {z:.2f}), expected > 4 se"


def test_iwae_matches_a_torch_distributions_oracle_across_chunks(model_and_x, monkeypatch):
    model, x = model_and_x
    drawn = []

    def recording(mu, logvar, generator=None):
        z = objectives_reparameterize(mu, logvar, generator)
        drawn.append((mu, logvar, z))
        return z

    monkeypatch.setattr(objectives, "reparameterize", recording)
    estimate = iwae_log_likelihood(model, x, k=12, generator=torch.Generator().manual_seed(4), chunk_size=40)
    assert estimate.shape == (8,) and not estimate.requires_grad and len(drawn) == 3  # chunks of 5, 5, 2 samples
    with torch.no_grad():
        log_w = []
        for mu, logvar, z in drawn:
            x_rep = x.flatten(1).repeat(len(z) // 8, 1)
            log_px_z = Bernoulli(logits=model.decode(z).flatten(1)).log_prob(x_rep).sum(1)
            log_pz = Normal(0.0, 1.0).log_prob(z).sum(1)
            log_qz = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1)
            log_w.append((log_px_z + log_pz - log_qz).view(-1, 8))
        oracle = torch.logsumexp(torch.cat(log_w), dim=0) - math.log(12)
    assert torch.allclose(estimate, oracle, atol=1e-3)
    with pytest.raises(ValueError, match="k: expected a positive int"):
        iwae_log_likelihood(model, x, k=0)


def test_kl_per_dimension_sums_to_the_mean_kl(model_and_x):
    model, x = model_and_x
    per_dim = kl_per_dimension(model, x)
    mu, logvar = model.encode(x)
    assert per_dim.shape == (4,) and (per_dim >= 0).all()
    assert torch.allclose(per_dim.sum(), kl_normal_std(mu, logvar).mean())
    with torch.no_grad():
        model.encoder_mu.weight[0].zero_()
        model.encoder_mu.bias[0] = 0.0
        model.encoder_logvar.weight[0].zero_()
        model.encoder_logvar.bias[0] = 0.0
    collapsed = kl_per_dimension(model, x)
    assert float(collapsed[0]) == 0.0 and (collapsed[1:] > 0).all()


def test_fixtures_are_fresh_for_each_test(model_and_x):
    """The previous test zeroed encoder weights of its model; this test's model is untouched."""
    model, _ = model_and_x
    assert model.encoder_mu.weight[0].abs().sum() > 0 and model.encoder_logvar.bias[0] != 0


def test_negative_elbo_and_iwae_work_for_a_colour_conv_vae(tiny_conv_vae):
    model = tiny_conv_vae(image_shape=(3, 64, 64), z_dim=2, channels=2)
    x = torch.bernoulli(torch.full((2, 3, 64, 64), 0.3), generator=torch.Generator().manual_seed(1))
    out = negative_elbo(model, x, generator=torch.Generator().manual_seed(2))
    assert out["loss"].shape == (2,) and torch.isfinite(out["loss"]).all()
    iwae = iwae_log_likelihood(model, x, k=3, generator=torch.Generator().manual_seed(3))
    assert iwae.shape == (2,) and torch.isfinite(iwae).all()
    assert kl_per_dimension(model, x).shape == (2,)


@pytest.mark.parametrize("beta", [-0.5, float("nan"), float("inf"), True, "4"])
def test_negative_elbo_refuses_a_bad_beta(beta, tiny_mlp_vae):
    with pytest.raises(ValueError, match=r"beta: expected a finite number >= 0 \(the weight of the KL\), got"):
        objectives.negative_elbo(tiny_mlp_vae(), torch.rand(2, 1, 28, 28), beta=beta)
