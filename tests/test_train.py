"""course_utils.train: fit (history, seeding, batching, on_epoch, dtypes, non-finite stop, arguments) and evaluate."""
import sys

import pytest
import torch

from course_utils.objectives import negative_elbo
from course_utils.train import evaluate, fit


@pytest.fixture
def mnist(bundled_mnist):
    """Fresh tensors per test: 512 training images with labels, 200 test images."""
    x, y, x_test = bundled_mnist
    return x[:512].clone(), y[:512].clone(), x_test[:200].clone()


@pytest.fixture
def small_model(tiny_mlp_vae):
    """small_model(seed=0) -> a fresh MLPVAE(hidden=32, z_dim=2), seeded."""
    return lambda seed=0: tiny_mlp_vae(seed, hidden=32)


def test_fit_records_per_epoch_means_of_every_key(mnist, small_model):
    x, y, x_test = mnist
    history = fit(small_model(), (x, y), negative_elbo, epochs=3, batch_size=64, lr=3e-3,
                  test_data=x_test, device="cpu", progress=False)
    assert set(history) == {"loss", "recon", "kl", "test_loss", "test_recon", "test_kl", "seconds"}
    assert all(len(v) == 3 for v in history.values())
    assert history["loss"][-1] < history["loss"][0] and history["test_loss"][-1] < history["test_loss"][0]
    for e in range(3):
        assert history["loss"][e] == pytest.approx(history["recon"][e] + history["kl"][e], rel=1e-5)
    assert all(s > 0 for s in history["seconds"])


def test_fit_is_reproducible_and_accepts_a_bare_tensor(mnist, small_model):
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


def test_non_finite_loss_stops_with_the_epoch_step_and_keys(mnist, small_model):
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


def test_non_finite_parameters_are_named(mnist, small_model):
    model = small_model()
    with torch.no_grad():
        model.encoder_hidden.weight[0, 0] = float("nan")
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 0.*non-finite parameters: \['encoder_hidden.weight'\]"):
        fit(model, mnist[0][:64], negative_elbo, epochs=1, device="cpu", progress=False)


def test_loss_fn_contract_errors(mnist, small_model):
    x = mnist[0][:64]
    with pytest.raises(TypeError, match="with a 'loss' key"):
        fit(small_model(), x, lambda m, x: {"recon": negative_elbo(m, x)["recon"]}, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"loss_fn\(\)\['loss'\]: expected a per-example tensor of shape \(64,\)"):
        fit(small_model(), x, lambda m, x: {"loss": negative_elbo(m, x)["loss"].mean()}, epochs=1, progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, r"epochs\b.*positive int"),
    ({"epochs": 1, "batch_size": 0}, r"batch_size\b.*positive int"),
    ({"epochs": 1, "lr": -1.0}, r"lr: expected a positive finite number, got -1.0"),
    ({"epochs": 1, "lr": True}, r"lr: expected a positive finite number, got True"),
    ({"epochs": 1, "log_every": 0}, "log_every must be None or a positive int"),
])
def test_fit_argument_errors(mnist, small_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(small_model(), mnist[0][:8], negative_elbo, progress=False, **kwargs)


def test_data_errors(small_model):
    with pytest.raises(TypeError, match=r"data: expected a tensor x \(N, ...\) or a tuple \(x, y\)"):
        fit(small_model(), [[0.0] * 784], negative_elbo, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"test_data: expected x of shape \(N, ...\) with N >= 1"):
        fit(small_model(), torch.rand(4, 784), negative_elbo, epochs=1, test_data=torch.rand(0, 784), progress=False)


def test_log_every_prints_and_live_plot_is_harmless_outside_notebooks(mnist, small_model, capsys):
    from course_utils.display.plotting import LiveLossPlot

    live = LiveLossPlot()
    fit(small_model(), mnist[0][:128], negative_elbo, epochs=2, batch_size=64, device="cpu",
        progress=False, on_epoch=live, log_every=1)
    out = capsys.readouterr()
    assert out.out.count("epoch ") == 2 and "epoch 2: loss" in out.out
    assert out.err == ""  # progress=False: no bar
    assert not live.active and live.handle is None


def test_on_epoch_is_called_once_per_epoch_with_the_growing_history(mnist, small_model):
    calls = []

    def record(epoch, history):
        calls.append((epoch, {k: list(v) for k, v in history.items()}))  # a snapshot: fit keeps appending

    final = fit(small_model(), mnist[0][:128], negative_elbo, epochs=3, batch_size=64, device="cpu",
                test_data=mnist[2][:50], progress=False, on_epoch=record)
    assert [epoch for epoch, _ in calls] == [1, 2, 3]
    for epoch, history in calls:
        assert set(history) == set(final) and all(len(v) == epoch for v in history.values())
        assert all(v == final[k][:epoch] for k, v in history.items())


def test_on_epoch_exception_stops_training_and_the_model_goes_home(mnist, small_model):
    model = small_model()

    def stop(epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    note = "2 finished epoch" if sys.version_info >= (3, 11) else "^$"  # exception notes exist from 3.11 on
    with pytest.raises(KeyboardInterrupt, match=note) as caught:
        fit(model, mnist[0][:64], negative_elbo, epochs=5, device="cpu", progress=False, on_epoch=stop)
    assert next(model.parameters()).device.type == "cpu"
    assert len(caught.value.history["loss"]) == 2, "the epochs finished before Ctrl-C are kept"


@pytest.mark.parametrize("on_epoch", [True, "plot", 3])
def test_on_epoch_must_be_callable(mnist, small_model, on_epoch):
    with pytest.raises(TypeError, match=rf"on_epoch: expected a callable \(epoch, history\) or None, got {type(on_epoch).__name__}"):
        fit(small_model(), mnist[0][:8], negative_elbo, epochs=1, progress=False, on_epoch=on_epoch)


def test_live_plot_argument_is_gone(mnist, small_model):
    with pytest.raises(TypeError, match="live_plot"):
        fit(small_model(), mnist[0][:8], negative_elbo, epochs=1, progress=False, live_plot=True)


def test_fit_and_evaluate_cast_float64_data_to_the_models_dtype(mnist, small_model):
    x = mnist[0][:128]
    a, b = small_model(), small_model()
    h32 = fit(a, x, negative_elbo, epochs=2, batch_size=64, device="cpu", progress=False)
    h64 = fit(b, x.double(), negative_elbo, epochs=2, batch_size=64, device="cpu", progress=False)
    assert h32["loss"] == pytest.approx(h64["loss"], rel=1e-6)  # float64 -> float32 is exact for these images
    assert next(b.parameters()).dtype == torch.float32
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    e32 = evaluate(a, mnist[2], lambda m, xb: negative_elbo(m, xb, generator=g()))
    e64 = evaluate(a, mnist[2].double(), lambda m, xb: negative_elbo(m, xb, generator=g()))
    assert e32 == pytest.approx(e64, rel=1e-6)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.bool])
def test_fit_and_evaluate_reject_integer_images(mnist, small_model, dtype):
    x = (mnist[0][:16] > 0.5).to(dtype)
    expected = rf"data: expected floating-point images, or a long tensor of code indices \(chapter 07\), got dtype {dtype}"
    with pytest.raises(TypeError, match=expected):
        fit(small_model(), x, negative_elbo, epochs=1, progress=False)
    with pytest.raises(TypeError, match="test_" + expected):
        fit(small_model(), mnist[0][:16], negative_elbo, epochs=1, progress=False, test_data=x)
    with pytest.raises(TypeError, match=expected):
        evaluate(small_model(), x, negative_elbo)


def test_long_images_reach_the_model_which_names_the_problem(mnist, small_model):
    """Long tensors are code indices (chapter 07); a VAE given them still says what is wrong."""
    x = (mnist[0][:16] > 0.5).long()
    with pytest.raises(TypeError, match=r"x: expected a floating-point tensor, got dtype torch.int64"):
        fit(small_model(), x, negative_elbo, epochs=1, progress=False)


def test_fit_trains_on_long_code_indices_without_casting_them():
    seen = []

    class Table(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.logits = torch.nn.Parameter(torch.zeros(4))

        def forward(self, i):
            seen.append(i.dtype)
            return torch.nn.functional.cross_entropy(self.logits.expand(len(i), 4), i[:, 0], reduction="none")

    indices = torch.tensor([[0], [1], [1], [1]] * 8)
    model = Table()
    fit(model, indices, lambda m, i: {"loss": m(i)}, epochs=30, batch_size=8, lr=0.1, progress=False)
    assert set(seen) == {torch.long}
    assert torch.softmax(model.logits, 0).argmax() == 1


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


def test_evaluate_loss_of_the_data_it_was_given_matches_negative_elbo(mnist, small_model):
    model = small_model().eval()
    x = mnist[2][:50]
    means = evaluate(model, x, lambda m, xb: negative_elbo(m, xb, generator=torch.Generator().manual_seed(0)),
                     batch_size=50)
    with torch.no_grad():
        direct = negative_elbo(model, x, generator=torch.Generator().manual_seed(0))
    assert means == pytest.approx({k: float(v.double().mean()) for k, v in direct.items()}, rel=1e-6)


# Clear errors at fit's boundary (issue 14)

def test_nan_in_the_data_is_named_before_training(mnist, small_model):
    x = mnist[0][:64].clone()
    x[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match=r"data: 1 of 64 examples hold NaN or infinite values \(first rows \[3\]\)"):
        fit(small_model(), x, negative_elbo, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"test_data: 1 of 64 examples hold NaN"):
        fit(small_model(), mnist[0][:64], negative_elbo, epochs=1, progress=False, test_data=x)


def test_a_loss_of_the_wrong_length_is_refused(mnist, small_model):
    def first_half(model, x):
        return {"loss": negative_elbo(model, x)["loss"][: len(x) // 2]}

    with pytest.raises(ValueError, match=r"expected a per-example tensor of shape \(32,\).*got \(16,\)"):
        fit(small_model(), mnist[0][:32], first_half, epochs=1, batch_size=32, progress=False)


def test_a_detached_loss_says_so(mnist, small_model):
    def detached(model, x):
        return {"loss": negative_elbo(model, x)["loss"].detach()}

    with pytest.raises(ValueError, match=r"has no autograd graph .*torch.no_grad\(\) or .detach\(\)"):
        fit(small_model(), mnist[0][:32], detached, epochs=1, progress=False)


def test_an_overflowing_mean_is_named_as_such(mnist, small_model):
    def huge(model, x):
        loss = negative_elbo(model, x)["loss"]
        return {"loss": loss * 0 + 3e38}  # finite per example (float32), the mean overflows

    with pytest.raises(FloatingPointError, match="every per-example value is finite, but their mean overflowed"):
        fit(small_model(), mnist[0][:32], huge, epochs=1, progress=False)


def test_a_failed_fit_keeps_the_finished_epochs(mnist, small_model):
    calls = {"n": 0}

    def breaks_in_epoch_3(model, x):
        calls["n"] += 1
        out = negative_elbo(model, x)
        if calls["n"] > 2:
            out["loss"] = out["loss"] * float("nan")
        return out

    with pytest.raises(FloatingPointError, match="epoch 3") as caught:
        fit(small_model(), mnist[0][:32], breaks_in_epoch_3, epochs=5, batch_size=32, progress=False)
    assert len(caught.value.history["loss"]) == 2
