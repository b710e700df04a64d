"""course_utils.train: fit (history, seeding, batching, non-finite stop, arguments) and evaluate."""
import pytest
import torch

from course_utils.data import load_mnist
from course_utils.models import MLPVAE
from course_utils.objectives import negative_elbo
from course_utils.train import _curves_png, evaluate, fit


@pytest.fixture(scope="module")
def mnist():
    x, y = load_mnist("train", source="bundled")
    x_test, _ = load_mnist("test", source="bundled")
    return x[:512], y[:512], x_test[:200]


def small_model(seed=0):
    torch.manual_seed(seed)
    return MLPVAE(hidden=32, z_dim=2)


def test_fit_records_per_epoch_means_of_every_key(mnist):
    x, y, x_test = mnist
    history = fit(small_model(), (x, y), negative_elbo, epochs=3, batch_size=64, lr=3e-3,
                  test_data=x_test, device="cpu", progress=False)
    assert set(history) == {"loss", "recon", "kl", "test_loss", "test_recon", "test_kl", "seconds"}
    assert all(len(v) == 3 for v in history.values())
    assert history["loss"][-1] < history["loss"][0] and history["test_loss"][-1] < history["test_loss"][0]
    for e in range(3):
        assert history["loss"][e] == pytest.approx(history["recon"][e] + history["kl"][e], rel=1e-5)
    assert all(s > 0 for s in history["seconds"])


def test_fit_is_reproducible_and_accepts_a_bare_tensor(mnist):
    x, y, _ = mnist
    model_a, model_b = small_model(), small_model()
    a = fit(model_a, (x, y), negative_elbo, epochs=2, batch_size=100, seed=5, device="cpu", progress=False)
    b = fit(model_b, x, negative_elbo, epochs=2, batch_size=100, seed=5, device="cpu", progress=False)
    c = fit(small_model(), x, negative_elbo, epochs=2, batch_size=100, seed=6, device="cpu", progress=False)
    assert a["loss"] == b["loss"] and a["loss"] != c["loss"]
    assert all(torch.equal(p, q) for p, q in zip(model_a.parameters(), model_b.parameters()))
    assert model_a.training and next(model_a.parameters()).device.type == "cpu"


def test_each_example_is_seen_once_per_epoch_with_a_short_last_batch():
    seen = []

    def recording_loss(model, x):
        seen.append(x[:, 0].clone())
        return {"loss": (model(x) - x[:, :1]).pow(2).sum(1)}

    x = torch.arange(10.0).unsqueeze(1)  # (10, 1)
    torch.manual_seed(0)
    fit(torch.nn.Linear(1, 1), x, recording_loss, epochs=2, batch_size=4, device="cpu", progress=False)
    assert [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]
    first, second = torch.cat(seen[:3]), torch.cat(seen[3:])
    assert sorted(first.tolist()) == list(range(10)) == sorted(second.tolist())
    assert first.tolist() != second.tolist()  # reshuffled each epoch


def test_non_finite_loss_stops_with_the_epoch_step_and_keys(mnist):
    x = mnist[0][:256]
    calls = []

    def exploding(model, x):
        out = negative_elbo(model, x)
        calls.append(1)
        if len(calls) == 7:  # epoch 2 (4 steps per epoch), step 2
            out["kl"] = out["kl"] * float("inf")
            out["loss"] = out["recon"] + out["kl"]
        return out

    with pytest.raises(FloatingPointError, match=r"epoch 2, step 2: keys \['loss', 'kl'\] hold NaN or inf"):
        fit(small_model(), x, exploding, epochs=3, batch_size=64, device="cpu", progress=False)


def test_non_finite_parameters_are_named(mnist):
    model = small_model()
    with torch.no_grad():
        model.encoder_hidden.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 0.*non-finite parameters: \['encoder_hidden.weight'\]"):
        fit(model, mnist[0][:64], negative_elbo, epochs=1, device="cpu", progress=False)


def test_loss_fn_contract_errors(mnist):
    x = mnist[0][:64]
    with pytest.raises(TypeError, match="with a 'loss' key"):
        fit(small_model(), x, lambda m, x: {"recon": negative_elbo(m, x)["recon"]}, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"loss_fn\(\)\['loss'\]: expected a per-example tensor of shape \(N,\)"):
        fit(small_model(), x, lambda m, x: {"loss": negative_elbo(m, x)["loss"].mean()}, epochs=1, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"epochs": 1, "batch_size": 0}, "batch_size must be a positive int"),
    ({"epochs": 1, "lr": -1.0}, "lr must be a positive number"),
    ({"epochs": 1, "log_every": 0}, "log_every must be None or a positive int"),
])
def test_fit_argument_errors(mnist, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(small_model(), mnist[0][:8], negative_elbo, progress=False, **kwargs)


def test_data_errors():
    with pytest.raises(TypeError, match=r"data: expected a tensor x \(N, ...\) or a tuple \(x, y\)"):
        fit(small_model(), [[0.0] * 784], negative_elbo, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"test_data: expected x of shape \(N, ...\) with N >= 1"):
        fit(small_model(), torch.rand(4, 784), negative_elbo, epochs=1, test_data=torch.rand(0, 784), progress=False)


def test_log_every_prints_and_live_plot_is_harmless_outside_notebooks(mnist, capsys):
    fit(small_model(), mnist[0][:128], negative_elbo, epochs=2, batch_size=64, device="cpu",
        progress=False, live_plot=True, log_every=1)
    out = capsys.readouterr()
    assert out.out.count("epoch ") == 2 and "epoch 2: loss" in out.out
    assert out.err == ""  # progress=False: no bar


def test_evaluate_is_the_mean_over_examples_whatever_the_batch_size():
    model = torch.nn.Linear(3, 1)
    x = torch.randn(10, 3)

    def squared(m, x):
        return {"loss": m(x).squeeze(1).pow(2), "double": 2 * m(x).squeeze(1).pow(2)}

    with torch.no_grad():
        expected = float(model(x).pow(2).mean())
    for batch_size in (1, 3, 10, 1000):
        means = evaluate(model, (x, None), squared, batch_size=batch_size)
        assert means["loss"] == pytest.approx(expected, rel=1e-6) and means["double"] == pytest.approx(2 * expected, rel=1e-6)
    model.train()
    evaluate(model, x, squared)
    assert model.training
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        evaluate(model, x, squared, batch_size=0)


def test_live_plot_image_is_a_png_of_the_curves():
    png = _curves_png({"loss": [3.0, 2.0], "test_loss": [3.5, 2.5], "kl": [1.0, 1.2], "seconds": [0.1, 0.1]})
    assert png.startswith(b"\x89PNG") and len(png) > 1000
