"""Chapter 05's exercises: the reference answers against independent oracles, and the checks reject wrong answers."""
from __future__ import annotations

import pytest
import sympy as sp
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from course_utils import check, objectives, train
from course_utils.exercises import ch05
from course_utils.models import MLPVAE


def test_negative_elbo_matches_torch_distributions():
    for x_logits, x, mu, logvar in ch05.negative_elbo_cases():
        recon = -Bernoulli(logits=x_logits).log_prob(x).flatten(1).sum(1)  # (N,)
        kl = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(1)  # (N,)
        assert torch.allclose(ch05.negative_elbo(x_logits, x, mu, logvar), recon + kl, rtol=1e-12)


@pytest.mark.parametrize("wrong, needle", [
    (lambda *a: ch05.negative_elbo(*a).mean(), "averaged over the batch"),
    (lambda *a: ch05.negative_elbo(*a).sum(), "summed over the batch"),
    (lambda *a: -ch05.negative_elbo(*a), "sign is flipped"),
])
def test_negative_elbo_check_names_the_mistake(wrong, needle):
    feedback = check.function(wrong, ch05.negative_elbo, ch05.negative_elbo_cases(), name="f", lang="en")
    assert not feedback.passed and needle in str(feedback)


def test_logit_gradient_matches_sympy_and_autograd():
    ell, x = sp.symbols("ell x", real=True)
    derivative = sp.diff(sp.log(1 + sp.exp(ell)) - x * ell, ell)
    assert sp.simplify(derivative - (1 / (1 + sp.exp(-ell)) - x)) == 0
    for x_logits, bits in ch05.logit_gradient_cases():
        logits = x_logits.clone().requires_grad_()
        nll = -Bernoulli(logits=logits).log_prob(bits).sum()
        (by_autograd,) = torch.autograd.grad(nll, logits)
        ours = ch05.bernoulli_logit_gradient(x_logits, bits)
        assert torch.allclose(ours, by_autograd, atol=1e-12) and ours.abs().max() <= 1
        for value, bit, g in zip(x_logits.flatten()[:20], bits.flatten()[:20], ours.flatten()[:20]):
            assert float(g) == pytest.approx(float(derivative.subs({ell: float(value), x: float(bit)})), abs=1e-12)


def test_logit_gradient_check_rejects_the_sign_and_the_probability_gradient():
    cases = ch05.logit_gradient_cases()
    flipped = check.function(lambda l, x: x - torch.sigmoid(l), ch05.bernoulli_logit_gradient, cases, name="g",
                             lang="en")
    assert not flipped.passed and "sign is flipped" in str(flipped)

    def by_probability(l, x):
        p = torch.sigmoid(l)
        return -x / p + (1 - x) / (1 - p)

    assert not check.function(by_probability, ch05.bernoulli_logit_gradient, cases, name="g", lang="en").passed


def _small_data(bundled_mnist, n_train=1500, n_test=300):
    x, _, x_test = bundled_mnist
    g = torch.Generator().manual_seed(0)
    return torch.bernoulli(x[:n_train], generator=g), torch.bernoulli(x_test[:n_test], generator=g)


def _fit(model, x, loss_fn, epochs=2):
    train.fit(model, x, loss_fn, epochs=epochs, batch_size=64, seed=0, progress=False)
    return model.eval()


def test_pixel_mean_loss_is_the_sum_over_784_and_collapses_the_kl(bundled_mnist, one_thread):
    x_train, x_test = _small_data(bundled_mnist)
    torch.manual_seed(0)
    probe = MLPVAE(z_dim=4)
    g = torch.Generator().manual_seed(1)
    bugged = ch05.pixel_mean_negative_elbo(probe, x_test[:5])
    torch.manual_seed(0)
    reference = objectives.negative_elbo(probe, x_test[:5], generator=g)
    assert bugged["loss"].shape == (5,) and torch.allclose(bugged["kl"], reference["kl"])

    torch.manual_seed(0)
    kl_mean = train.evaluate(_fit(MLPVAE(z_dim=20), x_train, ch05.pixel_mean_negative_elbo), x_test,
                             objectives.negative_elbo)["kl"]
    torch.manual_seed(0)
    kl_sum = train.evaluate(_fit(MLPVAE(z_dim=20), x_train, objectives.negative_elbo), x_test,
                            objectives.negative_elbo)["kl"]
    assert kl_mean < 0.1 < 2 < kl_sum
    assert ch05.pixel_mean_feedback("smaller", kl_mean, kl_sum, lang="en").passed
    for wrong in ("larger", "about the same"):
        feedback = ch05.pixel_mean_feedback(wrong, kl_mean, kl_sum, lang="en")
        assert not feedback.passed and "β = 784" in str(feedback)
    assert not ch05.pixel_mean_feedback(None, kl_mean, kl_sum, lang="en").attempted
    # the measurement decides, not a stored answer: equal KLs read as "about the same"
    assert ch05.pixel_mean_feedback("about the same", 5.0, 5.5, lang="en").passed


def test_experiment_checks_the_claimed_direction(bundled_mnist, one_thread):
    x_train, x_test = _small_data(bundled_mnist)
    torch.manual_seed(0)
    untrained = MLPVAE(z_dim=20).eval()  # any trained model beats it: the measured direction is "lower"
    budget = {"epochs": 2, "batch_size": 64}
    right = ch05.experiment(MLPVAE, "lower", x_train, x_test, untrained, lang="en", **budget)
    assert right.passed and isinstance(right.model, MLPVAE) and not right.model.training
    wrong = ch05.experiment(MLPVAE, "higher", x_train, x_test, untrained, lang="en", **budget)
    assert not wrong.passed and wrong.attempted and "4 standard errors" in str(wrong)
    # the same model against itself: no clear difference, so neither claim is backed
    same = ch05.experiment(lambda: MLPVAE(z_dim=20), "lower", x_train, x_test, right.model, lang="en", **budget)
    assert not same.passed and "no clear difference" in str(same)


def test_experiment_reports_unsolved_invalid_and_broken_attempts(bundled_mnist, capsys):
    x_train, x_test = _small_data(bundled_mnist, n_train=64, n_test=32)
    reference = MLPVAE(z_dim=2).eval()
    budget = {"epochs": 1, "batch_size": 32}

    def todo():
        raise NotImplementedError

    for build, claim in ((todo, "lower"), (MLPVAE, None)):
        feedback = ch05.experiment(build, claim, x_train, x_test, reference, lang="es", **budget)
        assert not feedback.passed and not feedback.attempted
    assert "todavía sin resolver" in capsys.readouterr().out
    invalid = ch05.experiment(MLPVAE, "less", x_train, x_test, reference, lang="en", **budget)
    assert not invalid.passed and "is not one of the options" in str(invalid)
    broken = ch05.experiment(lambda: torch.nn.Linear(2, 2), "lower", x_train, x_test, reference, lang="en", **budget)
    assert not broken.passed and "training your model raised" in str(broken)
