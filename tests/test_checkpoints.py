"""course_utils.checkpoints: safetensors + JSON round trip, clear errors, and the shipped pretrained models."""
import json

import pytest
import torch

from course_utils import checkpoints
from course_utils.data import load_mnist
from course_utils.models import ConvVAE, MLPVAE
from course_utils.objectives import negative_elbo


def small(seed=0):
    torch.manual_seed(seed)
    return MLPVAE(hidden=16, z_dim=2)


def test_round_trip_restores_class_config_weights_and_eval_mode(tmp_path):
    model = ConvVAE(z_dim=3, channels=4)
    weights, description = checkpoints.save(model, tmp_path / "conv", extra={"test_loss": 1.5, "command": "x"})
    assert weights.name == "conv.safetensors" and description.name == "conv.json"
    meta = json.loads(description.read_text())
    assert meta["class"] == "ConvVAE" and meta["config"] == {"z_dim": 3, "channels": 4}
    assert meta["extra"] == {"test_loss": 1.5, "command": "x"} and meta["torch_version"] == torch.__version__
    loaded = checkpoints.load(tmp_path / "conv.safetensors")
    assert type(loaded) is ConvVAE and not loaded.training
    for (name, p), q in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(p, q), name
    assert checkpoints.load(tmp_path / "conv", model_cls=ConvVAE).config == model.config


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    model = small()
    w32, _ = checkpoints.save(model, tmp_path / "a")
    w16, _ = checkpoints.save(model, tmp_path / "b", dtype=torch.float16)
    assert w16.stat().st_size < 0.6 * w32.stat().st_size
    loaded = checkpoints.load(tmp_path / "b")
    for p, q in zip(model.parameters(), loaded.parameters()):
        assert q.dtype == torch.float32 and torch.allclose(p, q, rtol=1e-3, atol=1e-4)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.json is missing"):
        checkpoints.load(tmp_path / "nothing")
    checkpoints.save(small(), tmp_path / "m")
    (tmp_path / "m.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"m\.safetensors are missing"):
        checkpoints.load(tmp_path / "m")


def test_corrupt_or_truncated_weights_are_reported(tmp_path):
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


def test_class_and_config_mismatches(tmp_path):
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
    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        checkpoints.load(tmp_path / "m")


def test_missing_unexpected_and_misshaped_tensors_are_named(tmp_path):
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
    with pytest.raises(TypeError, match="has no `config` property"):
        checkpoints.save(torch.nn.Linear(2, 2), tmp_path / "l")

    class Local(MLPVAE):
        pass

    with pytest.raises(TypeError, match="not a class of course_utils.models"):
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
    assert "python -m course_utils.pretrain" in meta["extra"]["command"]


def test_pretrained_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"no pretrained checkpoint 'nope'; available: \[.*'mnist_mlp_vae_z2'"):
        checkpoints.pretrained("nope")


def test_pretrain_entry_point_trains_saves_and_records_the_command(tmp_path, capsys):
    from course_utils.pretrain import main

    argv = ["mnist_mlp_vae", "--z-dim", "2", "--hidden", "16", "--epochs", "1", "--iwae-k", "2",
            "--train-size", "256", "--out", str(tmp_path / "tiny")]
    extra = main(argv)
    meta = checkpoints.read_description(tmp_path / "tiny")
    assert meta["extra"]["command"] == "python -m course_utils.pretrain " + " ".join(argv)
    assert meta["config"] == {"x_dim": 784, "hidden": 16, "z_dim": 2} and meta["stored_dtype"] == "float16"
    assert set(extra) >= {"train_loss", "test_loss", "test_recon", "test_kl", "test_log_px_iwae_k2", "history"}
    assert extra["test_log_px_iwae_k2"] > -extra["test_loss"] - 5  # IWAE bound is near or above the ELBO
    assert meta["extra"]["data"] == "MNIST bundled: 256 train / 1000 test images"
    assert "wrote" in capsys.readouterr().out
