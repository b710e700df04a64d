"""Chapter 06's training pieces: fit_stream (fresh batches each step), the capacity objective of Burgess et al.,
dual ascent on beta, and the pretrain_dsprites entry point."""
from __future__ import annotations

import json
import math

import pytest
import torch

from course_utils import objectives
from course_utils.instructor import pretrain_dsprites
from course_utils.models import MLPVAE
from course_utils.train import fit_stream


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    return MLPVAE(image_shape=(1, 4, 4), hidden=8, z_dim=2)


def stream(step, generator):
    return torch.bernoulli(torch.full((16, 1, 4, 4), 0.3), generator=generator)


def test_fit_stream_logs_window_means_and_calls_on_log():
    calls = []
    history = fit_stream(tiny_vae(), stream, objectives.negative_elbo, steps=25, log_every=10,
                         on_log=lambda step, h: calls.append(step))
    assert history["step"] == [10, 20, 25] and calls == [10, 20, 25]
    assert set(history) == {"loss", "recon", "kl", "step", "seconds"} and len(history["loss"]) == 3
    assert history["loss"][-1] < history["loss"][0]


def test_fit_stream_is_reproducible_with_a_seed():
    a = fit_stream(tiny_vae(), stream, objectives.negative_elbo, steps=12, log_every=6, seed=3)
    b = fit_stream(tiny_vae(), stream, objectives.negative_elbo, steps=12, log_every=6, seed=3)
    assert a["loss"] == b["loss"]


def test_fit_stream_window_mean_is_the_mean_of_the_per_example_values():
    seen = []

    def loss_fn(model, x):
        terms = objectives.negative_elbo(model, x)
        seen.append(terms["kl"].detach().sum().item())
        return terms

    history = fit_stream(tiny_vae(), stream, loss_fn, steps=4, log_every=4)
    assert history["kl"][0] == pytest.approx(sum(seen) / (4 * 16), rel=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 0}, ValueError, "epochs must be a positive int"),
    ({"steps": 5, "lr": -1.0}, ValueError, "lr: expected a positive finite number"),
    ({"steps": 5, "log_every": 0}, ValueError, "log_every must be None or a positive int"),
])
def test_fit_stream_rejects_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit_stream(tiny_vae(), stream, objectives.negative_elbo, **kwargs)


def test_fit_stream_names_a_bad_sample():
    with pytest.raises(TypeError, match=r"sample: expected a callable"):
        fit_stream(tiny_vae(), torch.zeros(3, 1, 4, 4), objectives.negative_elbo, steps=2)
    with pytest.raises(TypeError, match=r"sample\(step, generator\): expected a tensor"):
        fit_stream(tiny_vae(), lambda step, g: [[0.0]], objectives.negative_elbo, steps=2)


def test_capacity_loss_mean_is_recon_plus_gamma_times_the_gap_of_the_mean_kl():
    model, x = tiny_vae(), stream(0, torch.Generator().manual_seed(0))
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    terms = objectives.capacity_loss(model, x, gamma=10.0, capacity=3.0, generator=g())
    plain = objectives.negative_elbo(model, x, generator=g())
    assert torch.allclose(terms["recon"], plain["recon"]) and torch.allclose(terms["kl"], plain["kl"])
    expected = plain["recon"].mean() + 10.0 * (plain["kl"].mean() - 3.0).abs()
    assert torch.isclose(terms["loss"].mean(), expected, rtol=1e-6)


def test_capacity_schedule_raises_c_linearly_in_training_only():
    schedule = objectives.CapacitySchedule(gamma=5.0, capacity_max=20.0, ramp_steps=4)
    model, x = tiny_vae(), stream(0, torch.Generator().manual_seed(0))
    seen = [schedule(model, x)["capacity"][0].item() for _ in range(6)]
    assert seen == [0.0, 5.0, 10.0, 15.0, 20.0, 20.0]
    model.eval()
    schedule(model, x)
    assert schedule.step == 6  # evaluation does not advance the schedule


def test_dual_ascent_raises_beta_when_violated_and_projects_at_zero():
    model, x = tiny_vae(), stream(0, torch.Generator().manual_seed(0))
    kl = objectives.negative_elbo(model, x)["kl"].mean().item()
    up = objectives.DualAscent(capacity=0.0, beta=1.0, lr_beta=0.5)
    up(model, x)
    assert up.beta > 1.0 and up.betas == [up.beta]
    down = objectives.DualAscent(capacity=kl + 100.0, beta=1.0, lr_beta=0.5)
    down(model, x)
    assert down.beta == 0.0  # 1 + 0.5 * (kl - (kl + 100)) < 0 is projected back to 0
    model.eval()
    before = down.beta
    down(model, x)
    assert down.beta == before  # evaluation leaves the multiplier alone


def test_dual_ascent_loss_is_the_lagrangian_with_the_multiplier_before_its_update():
    model, x = tiny_vae(), stream(0, torch.Generator().manual_seed(0))
    dual = objectives.DualAscent(capacity=2.0, beta=3.0, lr_beta=0.1)
    torch.manual_seed(5)
    terms = dual(model, x)
    assert torch.allclose(terms["loss"], terms["recon"] + 3.0 * (terms["kl"] - 2.0))
    assert torch.equal(terms["beta"], torch.full_like(terms["kl"], 3.0))
    assert dual.beta == pytest.approx(max(0.0, 3.0 + 0.1 * (terms["kl"].mean().item() - 2.0)))


def test_dual_ascent_rejects_negative_settings():
    with pytest.raises(ValueError, match="expected capacity >= 0, beta >= 0 and lr_beta > 0"):
        objectives.DualAscent(capacity=-1.0)


def test_pretrain_dsprites_parser_rejects_bad_values():
    parser = pretrain_dsprites._parser()
    for argv in (["beta", "--steps", "0"], ["dual", "--capacity", "-1"], ["nothing"], ["beta", "--lr", "nan"]):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)


def test_pretrain_dsprites_end_to_end_writes_metrics(tmp_path):
    out = tmp_path / "dual"
    extra = pretrain_dsprites.main(["dual", "--capacity", "5", "--steps", "4", "--eval-every", "2",
                                    "--batch-size", "8", "--channels", "2", "--z-dim", "3",
                                    "--bvae-train", "10", "--bvae-eval", "6", "--eval-images", "300", "--threads", "1",
                                    "--out", str(out)])
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["extra"]["command"].startswith("python -m course_utils.instructor.pretrain_dsprites dual")
    assert meta["extra"]["mig_steps"] == [2, 4] and len(meta["extra"]["mig_history"]) == 2
    assert 0 <= extra["mig"] <= 1 and 0 <= extra["beta_vae_metric"] <= 1
    assert len(extra["kl_per_dimension"]) == 3 and math.isfinite(extra["final_beta"])
