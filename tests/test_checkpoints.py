"""course_utils.checkpoints: safetensors + JSON round trip, clear errors, and the shipped pretrained models."""
import json

import numpy as np
import pytest
import torch

from course_utils import checkpoints
from course_utils.data import load_mnist
from course_utils.models import ConvVAE, MLPVAE
from course_utils.objectives import negative_elbo


@pytest.fixture
def small(tiny_mlp_vae):
    """small(seed=0) -> a fresh MLPVAE(hidden=16, z_dim=2)."""
    return tiny_mlp_vae


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_round_trip_restores_class_config_weights_and_eval_mode(tmp_path, tiny_conv_vae):
    model = tiny_conv_vae()  # ConvVAE(z_dim=3, channels=4)
    weights, description = checkpoints.save(model, tmp_path / "conv", extra={"test_loss": 1.5, "command": "x"})
    assert weights.name == "conv.safetensors" and description.name == "conv.json"
    meta = json.loads(description.read_text())
    assert meta["class"] == "ConvVAE" and meta["config"] == {"image_shape": [1, 28, 28], "z_dim": 3, "channels": 4}
    assert meta["extra"] == {"test_loss": 1.5, "command": "x"} and meta["torch_version"] == torch.__version__
    loaded = checkpoints.load(tmp_path / "conv.safetensors")
    assert type(loaded) is ConvVAE and not loaded.training
    for (name, p), q in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(p, q), name
    assert checkpoints.load(tmp_path / "conv", model_cls=ConvVAE).config == model.config


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path, small):
    model = small()
    w32, _ = checkpoints.save(model, tmp_path / "a")
    w16, _ = checkpoints.save(model, tmp_path / "b", dtype=torch.float16)
    assert w16.stat().st_size < 0.6 * w32.stat().st_size
    loaded = checkpoints.load(tmp_path / "b")
    for p, q in zip(model.parameters(), loaded.parameters()):
        assert q.dtype == torch.float32 and torch.allclose(p, q, rtol=1e-3, atol=1e-4)


def test_missing_files_are_named(tmp_path, small):
    with pytest.raises(FileNotFoundError, match=r"nothing\.json is missing"):
        checkpoints.load(tmp_path / "nothing")
    checkpoints.save(small(), tmp_path / "m")
    (tmp_path / "m.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"m\.safetensors are missing"):
        checkpoints.load(tmp_path / "m")


def test_corrupt_or_truncated_weights_are_reported(tmp_path, small):
    weights, description = checkpoints.save(small(), tmp_path / "m")
    raw = weights.read_bytes()
    weights.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="sha256 differs.*corrupt, truncated"):
        checkpoints.load(tmp_path / "m")
    meta = json.loads(description.read_text())
    meta.pop("sha256")
    description.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="not a readable safetensors file, corrupt or truncated"):
        checkpoints.load(tmp_path / "m")


def test_class_and_config_mismatches(tmp_path, small):
    checkpoints.save(small(), tmp_path / "m")
    with pytest.raises(ValueError, match="holds a MLPVAE, but model_cls=ConvVAE was given"):
        checkpoints.load(tmp_path / "m", model_cls=ConvVAE)
    meta = json.loads((tmp_path / "m.json").read_text())
    (tmp_path / "m.json").write_text(json.dumps({**meta, "class": "GAN"}))
    with pytest.raises(ValueError, match=r"class 'GAN' is not in course_utils.models"):
        checkpoints.load(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({**meta, "config": {"z_dim": 2, "width": 3}}))
    with pytest.raises(ValueError, match=r"config \{'z_dim': 2, 'width': 3\} does not fit MLPVAE"):
        checkpoints.load(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({**meta, "config": {"x_dim": 784, "hidden": 16, "z_dim": 2}}))
    with pytest.raises(ValueError, match=r"config \{'x_dim': 784, .*\} does not fit MLPVAE"):  # the 0.1 config
        checkpoints.load(tmp_path / "m")
    (tmp_path / "m.json").write_text(json.dumps({**meta, "config": {**meta["config"], "image_shape": [1, 28]}}))
    with pytest.raises(ValueError, match=r"does not fit MLPVAE: image_shape: expected \(C, H, W\)"):
        checkpoints.load(tmp_path / "m")
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        checkpoints.load(tmp_path / "m")


def test_missing_unexpected_and_misshaped_tensors_are_named(tmp_path, small):
    from safetensors.torch import save_file

    checkpoints.save(small(), tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    tensors = {k: v.clone() for k, v in small().state_dict().items()}
    tensors.pop("encoder_mu.bias")
    tensors["extra.weight"] = torch.zeros(1)
    tensors["decoder_hidden.weight"] = torch.zeros(16, 3)
    save_file(tensors, tmp_path / "m.safetensors")
    (tmp_path / "m.json").write_text(json.dumps({**meta, "sha256": None}))
    with pytest.raises(ValueError, match=r"missing tensors \['encoder_mu.bias'\], unexpected tensors \['extra.weight'\], "
                                         r"mis-shaped tensors \[decoder_hidden.weight: file \(16, 3\), model \(16, 2\)\]"):
        checkpoints.load(tmp_path / "m")


def test_save_refuses_models_it_could_not_rebuild(tmp_path):
    with pytest.raises(TypeError, match="Linear has no `config` property"):
        checkpoints.save(torch.nn.Linear(2, 2), tmp_path / "l")

    class Local(MLPVAE):
        pass

    with pytest.raises(TypeError, match="Local is not a class of course_utils.models"):
        checkpoints.save(Local(), tmp_path / "l")


@pytest.mark.parametrize("name, z_dim", [("mnist_mlp_vae_z2", 2), ("mnist_mlp_vae_z20", 20)])
def test_pretrained_models_load_and_reach_their_recorded_test_loss(name, z_dim):
    model = checkpoints.pretrained(name)
    meta = checkpoints.read_description(checkpoints.PRETRAINED / name)
    assert isinstance(model, MLPVAE) and model.z_dim == z_dim and not model.training
    x, _ = load_mnist("test", source="bundled")
    with torch.no_grad():
        loss = negative_elbo(model, x, generator=torch.Generator().manual_seed(0))["loss"].mean()
    assert float(loss) == pytest.approx(meta["extra"]["test_loss"], abs=0.01)
    assert "python -m course_utils.instructor.pretrain" in meta["extra"]["command"]


def test_pretrained_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"no pretrained checkpoint 'nope'; available: \[.*'mnist_mlp_vae_z2'"):
        checkpoints.pretrained("nope")


def test_pretrain_entry_point_trains_saves_and_records_the_command(tmp_path, capsys):
    from course_utils.instructor.pretrain import main

    argv = ["mnist_mlp_vae", "--z-dim", "2", "--hidden", "16", "--epochs", "1", "--iwae-k", "2",
            "--train-size", "256", "--out", str(tmp_path / "tiny")]
    extra = main(argv)
    meta = checkpoints.read_description(tmp_path / "tiny")
    assert meta["extra"]["command"] == "python -m course_utils.instructor.pretrain " + " ".join(argv)
    assert meta["config"] == {"image_shape": [1, 28, 28], "hidden": 16, "z_dim": 2} and meta["stored_dtype"] == "float16"
    assert set(extra) >= {"train_loss", "test_loss", "test_recon", "test_kl", "test_log_px_iwae_k2", "history"}
    assert extra["test_log_px_iwae_k2"] > -extra["test_loss"] - 5  # IWAE bound is near or above the ELBO
    assert meta["extra"]["data"] == "MNIST bundled: 256 train / 1000 test images"
    assert "cores" in meta["extra"]["hardware"] and "torch " in meta["extra"]["hardware"]  # what trained it
    assert meta["extra"]["train_seconds"] >= 0
    assert "wrote" in capsys.readouterr().out


def test_round_trip_of_a_colour_64x64_conv_vae(tmp_path, tiny_conv_vae):
    model = tiny_conv_vae(image_shape=(3, 64, 64), z_dim=2, channels=2)
    checkpoints.save(model, tmp_path / "colour")
    loaded = checkpoints.load(tmp_path / "colour")
    assert loaded.config == {"image_shape": [3, 64, 64], "z_dim": 2, "channels": 2} and same_weights(model, loaded)


@pytest.mark.parametrize("bad_extra, what", [({"x": np.float32(1)}, "float32"), ({"x": torch.tensor(1.0)}, "Tensor"),
                                             ({"nested": {"a": [1, np.int64(2)]}}, "int64"), ({"s": {1, 2}}, "set")])
def test_unencodable_extra_raises_and_leaves_the_old_checkpoint_loadable(tmp_path, small, bad_extra, what):
    old, new = small(0), small(1)
    weights, description = checkpoints.save(old, tmp_path / "m", extra={"epoch": 1})
    before = (weights.read_bytes(), description.read_text())
    with pytest.raises(TypeError, match=rf"extra: every value must be JSON-encodable.*{what}"):
        checkpoints.save(new, tmp_path / "m", extra=bad_extra)
    assert (weights.read_bytes(), description.read_text()) == before, "nothing was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"], "no temporary file is left"
    loaded = checkpoints.load(tmp_path / "m")
    assert same_weights(old, loaded) and checkpoints.read_description(tmp_path / "m")["extra"] == {"epoch": 1}


def test_saving_over_a_checkpoint_replaces_both_files(tmp_path, small):
    checkpoints.save(small(0), tmp_path / "m", extra={"v": 1})
    checkpoints.save(small(1), tmp_path / "m", extra={"v": 2})
    assert same_weights(small(1), checkpoints.load(tmp_path / "m"))
    assert checkpoints.read_description(tmp_path / "m")["extra"] == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_load_rejects_non_finite_weights(tmp_path, small, value):
    model = small()
    with torch.no_grad():
        model.encoder_mu.weight[0, 0] = value
    checkpoints.save(model, tmp_path / "diverged")
    with pytest.raises(ValueError, match=r"diverged.safetensors: tensors \['encoder_mu.weight'\] hold NaN or infinite"):
        checkpoints.load(tmp_path / "diverged")


def test_json_keeps_number_lists_on_one_line(tmp_path, small):
    _, description = checkpoints.save(small(), tmp_path / "m", extra={"history": {"loss": [3.5, 2.25, 2.0]}})
    assert '"loss": [3.5, 2.25, 2.0]' in description.read_text()
    assert checkpoints.read_description(tmp_path / "m")["extra"]["history"]["loss"] == [3.5, 2.25, 2.0]


def test_unencodable_extra_creates_no_folder(tmp_path, small):
    with pytest.raises(TypeError, match="extra: every value must be JSON-encodable"):
        checkpoints.save(small(), tmp_path / "new" / "m", extra={"x": np.float32(1)})
    assert not (tmp_path / "new").exists()


# Nothing lost, bad input refused (issue 14)

@pytest.mark.parametrize("dtype", [torch.int8, torch.bool, "float16"])
def test_a_non_float_storage_dtype_is_refused_before_writing(tmp_path, small, dtype):
    with pytest.raises(ValueError, match=r"dtype: expected a floating-point torch.dtype .* got"):
        checkpoints.save(small(), tmp_path / "m", dtype=dtype)
    assert not list(tmp_path.iterdir())


def test_an_unknown_format_version_is_named(tmp_path, small):
    _, description = checkpoints.save(small(), tmp_path / "m")
    meta = json.loads(description.read_text())
    description.write_text(json.dumps(meta | {"format": "course_utils.checkpoint/9"}))
    with pytest.raises(ValueError, match=r"format 'course_utils.checkpoint/9' is not one this course_utils reads"):
        checkpoints.load(tmp_path / "m")


def test_a_huge_config_is_compared_on_the_meta_device_without_allocating(tmp_path, small, monkeypatch):
    _, description = checkpoints.save(small(), tmp_path / "m")
    meta = json.loads(description.read_text())
    meta["config"]["hidden"] = 10**9  # about 3 TB of float32 weights if it were built for real
    description.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"mis-shaped tensors"):
        checkpoints.load(tmp_path / "m")


def _crash_at(monkeypatch, step: str):
    """Make save() die at `step`: 'weights' (before the weights are replaced) or 'commit' (after)."""
    real_atomic_write, real_replace = checkpoints.atomic_write, checkpoints.os.replace

    def atomic_write(target, write):
        if step == "weights":
            raise OSError("disk full (simulated)")
        return real_atomic_write(target, write)

    def replace(src, dst):
        if step == "commit" and str(src).endswith(".pending"):
            raise OSError("power cut (simulated)")
        return real_replace(src, dst)

    monkeypatch.setattr(checkpoints, "atomic_write", atomic_write)
    monkeypatch.setattr(checkpoints.os, "replace", replace)


@pytest.mark.parametrize("step", ["weights", "commit"])
def test_a_save_that_dies_half_way_leaves_a_loadable_checkpoint(tmp_path, small, monkeypatch, step):
    old, new = small(seed=0), small(seed=1)
    checkpoints.save(old, tmp_path / "m")
    with monkeypatch.context() as m:
        _crash_at(m, step)
        with pytest.raises(OSError, match="simulated"):
            checkpoints.save(new, tmp_path / "m")
    loaded = checkpoints.load(tmp_path / "m")
    assert same_weights(loaded, new if step == "commit" else old)  # rolled forward, or the old pair kept
    assert not (tmp_path / "m.json.pending").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]


@pytest.mark.parametrize("argv, message", [
    (["mnist_mlp_vae", "--train-size", "0"], r"--train-size: expected a positive int, got 0"),
    (["mnist_mlp_vae", "--iwae-k", "0"], r"--iwae-k: expected a positive int, got 0"),
    (["mnist_mlp_vae", "--beta", "-1"], r"--beta: expected a finite number >= 0, got -1"),
    (["mnist_mlp_vae", "--beta", "nan"], r"--beta: expected a finite number >= 0, got nan"),
    (["mnist_mlp_vae", "--lr", "0"], r"--lr: expected a positive finite number, got 0"),
])
def test_pretrain_refuses_bad_hyperparameters_before_training(argv, message, capsys, tmp_path):
    from course_utils.instructor.pretrain import main

    with pytest.raises(SystemExit) as caught:
        main([*argv, "--out", str(tmp_path / "m")])
    assert caught.value.code == 2
    import re
    assert re.search(message, capsys.readouterr().err)
    assert not list(tmp_path.iterdir()), "nothing written"
