"""Tests of course_utils.display.widgets: pure helpers, and the live slider on ipywidgets 8.x and 7.7.x.

The 7.7.x test installs ipywidgets 7.7.5 from the package index: it is marked `network` (deselect with -m 'not network')."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from course_utils.display import plotting, widgets

IPYWIDGETS_7 = ("ipywidgets==7.7.5", "widgetsnbextension==3.6.10", "jupyterlab_widgets==1.1.11",
                "ipython_genutils==0.2.0")
NETWORK_ERRORS = ("NewConnectionError", "Failed to establish a new connection", "Network is unreachable",
                  "Temporary failure in name resolution", "ConnectTimeout", "ProxyError", "Max retries exceeded")


class TinyDecoder(torch.nn.Module):
    """A fixed linear decoder z (N, 3) -> logits (N, 1, 28, 28), so each latent dim moves the image."""

    z_dim = 3

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 784)
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.linear.weight.copy_(3 * torch.randn(784, 3, generator=g))
            self.linear.bias.zero_()

    def decode(self, z):
        return self.linear(z).view(-1, 1, 28, 28)


def png_to_array(png: bytes) -> np.ndarray:
    """Read PNG bytes back to a uint8 array (widgets.png_to_array was removed; PIL reads them)."""
    return np.asarray(Image.open(io.BytesIO(png)))


def expected_pixels(model, z, scale):
    probs = torch.sigmoid(model.decode(torch.as_tensor(z, dtype=torch.float32)[None]))[0, 0].detach().numpy()
    return np.round(probs * 255).astype(np.uint8).repeat(scale, 0).repeat(scale, 1)


def live_widget_check(expected_major: int) -> str:
    """Build the widget, move a slider, check the Image's PNG bytes; returns ipywidgets.__version__."""
    import ipywidgets

    assert ipywidgets.__version__.startswith(f"{expected_major}."), ipywidgets.__version__
    model = TinyDecoder()
    z0 = torch.tensor([0.5, -0.5, 0.0])
    box = widgets.latent_traversal(model, z0=z0, dims=[2, 0], scale=2)
    assert isinstance(box, ipywidgets.VBox)
    assert [s.description for s in box.sliders] == ["z[2]", "z[0]"]
    before = box.image.value
    assert np.array_equal(png_to_array(before), expected_pixels(model, z0, 2))
    box.sliders[0].value = 2.0
    after = box.image.value
    assert after != before
    expected = torch.tensor([0.5, -0.5, 2.0])
    assert torch.equal(box.z(), expected)
    assert np.array_equal(png_to_array(after), expected_pixels(model, expected, 2))
    assert "z[2] = +2.00" in box.children[1].value
    code_editor_check()
    return ipywidgets.__version__


def tiny_vqvae():
    """An untrained VQVAE (7 x 7 grid, K = 8) whose codes are far apart, so each code decodes differently."""
    from course_utils.models import VQVAE

    torch.manual_seed(0)
    model = VQVAE(channels=4, code_dim=2, codebook_size=8).eval()
    with torch.no_grad():
        model.quantizer.codebook.copy_(5 * torch.randn(8, 2, generator=torch.Generator().manual_seed(1)))
    return model


def code_editor_check() -> None:
    """Chapter 07's live editor: choosing a code re-decodes the grid; moving the position shows its code."""
    model = tiny_vqvae()
    start = torch.zeros(7, 7, dtype=torch.long)
    start[0, 0] = 2
    box = widgets.code_editor(model, start, scale=1)
    assert (box.row.value, box.col.value, box.code.value) == (3, 3, 0)
    assert box.image.value == widgets.code_grid_png(model, start, 1)
    box.code.value = 5
    edited = start.clone()
    edited[3, 3] = 5
    assert torch.equal(box.grid(), edited) and torch.equal(start[3, 3], torch.tensor(0))  # the input is not modified
    assert box.image.value == widgets.code_grid_png(model, edited, 1) != widgets.code_grid_png(model, start, 1)
    assert box.children[1].value == "position (3, 3): code 5 (was 0)"
    box.row.value, box.col.value = 0, 0  # moving shows the code there and changes nothing
    assert box.code.value == 2 and torch.equal(box.grid(), edited)
    assert box.children[1].value == "position (0, 0): code 2 (was 2)"


def test_live_widget_ipywidgets_8():
    assert live_widget_check(8).startswith("8.")


def _cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "course_utils" / "ipywidgets-7.7.5"


def _install_ipywidgets_7(target: Path) -> None:
    if (target / "ipywidgets" / "_version.py").exists():
        return
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input",
           "--retries", "1", "--timeout", "20", "--no-deps", "--target", str(tmp), *IPYWIDGETS_7]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        reason = f"pip could not install {IPYWIDGETS_7}:\n{result.stderr[-1500:]}"
        if any(e in result.stderr for e in NETWORK_ERRORS) and not os.environ.get("CI"):
            pytest.skip(f"package registry unreachable, ipywidgets 7 not tested. {reason}")
        pytest.fail(reason)
    try:
        tmp.rename(target)
    except OSError:  # another test run installed it meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "ipywidgets" / "_version.py").exists():
            raise


@pytest.mark.network
def test_live_widget_ipywidgets_7():
    target = _cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    _install_ipywidgets_7(target)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_widgets; "
            "print('VERSION', test_widgets.live_widget_check(7))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")])))
    result = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERSION 7.7.5" in result.stdout, result.stdout


@pytest.mark.parametrize("indices, error, match", [
    (torch.zeros(7, 7), TypeError, "indices: expected a long tensor"),
    (torch.zeros(2, 7, 7, dtype=torch.long), ValueError, r"indices: expected shape \(h, w\) or \(1, h, w\), got \(2, 7, 7\)"),
    (torch.full((7, 7), 8, dtype=torch.long), ValueError, r"indices: expected values in \[0, 8\), got \[8, 8\]"),
])
def test_code_editor_rejects_bad_grids(indices, error, match):
    with pytest.raises(error, match=match):
        widgets.check_code_grid(tiny_vqvae(), indices)


def test_code_editor_rejects_a_model_without_codes():
    with pytest.raises(TypeError, match="model: expected a VQ-VAE with lookup"):
        widgets.check_code_grid(TinyDecoder(), torch.zeros(7, 7, dtype=torch.long))


def test_decode_image_is_sigmoid_of_logits():
    model = TinyDecoder()
    z = torch.tensor([1.0, -2.0, 0.3])
    image = widgets.decode_image(model, z)
    assert image.shape == (28, 28)
    assert np.allclose(image, torch.sigmoid(model.decode(z[None]))[0, 0].detach().numpy())
    assert np.allclose(widgets.decode_image(model, z, logits=False), model.decode(z[None])[0, 0].clamp(0, 1).detach())


def test_decode_to_png_is_array_png_of_the_decoded_image():
    """to_png is gone: decode_to_png encodes with display.plotting.array_png(image, scale=...)."""
    model = TinyDecoder()
    z = torch.tensor([0.2, -1.0, 0.5])
    assert widgets.decode_to_png(model, z, scale=3) == plotting.array_png(widgets.decode_image(model, z), scale=3)
    assert png_to_array(widgets.decode_to_png(model, z, scale=3)).shape == (84, 84)
    assert not hasattr(widgets, "to_png") and not hasattr(widgets, "png_to_array")


def test_decode_image_of_a_colour_decoder_is_height_width_channels():
    class Colour(torch.nn.Module):
        z_dim = 2

        def decode(self, z):
            return torch.zeros(len(z), 3, 4, 5)

    image = widgets.decode_image(Colour(), torch.zeros(2))
    assert image.shape == (4, 5, 3) and np.allclose(image, 0.5)
    assert png_to_array(widgets.decode_to_png(Colour(), torch.zeros(2), scale=2)).shape == (8, 10, 3)


def test_decode_to_png_changes_with_z():
    model = TinyDecoder()
    a = widgets.decode_to_png(model, [0.0, 0.0, 0.0], scale=1)
    b = widgets.decode_to_png(model, [0.0, 1.0, 0.0], scale=1)
    assert a != b
    assert np.array_equal(png_to_array(b), expected_pixels(model, [0.0, 1.0, 0.0], 1))


def test_z0_clipped_to_slider_range():
    box = widgets.latent_traversal(TinyDecoder(), z0=[5.0, 0.0, -9.0], dims=[0, 2], lo=-3, hi=3)
    assert [s.value for s in box.sliders] == [3.0, -3.0]
    assert torch.equal(box.z(), torch.tensor([3.0, 0.0, -3.0]))


def test_default_dims():
    assert widgets.check_dims(None, 3) == [0, 1, 2]
    assert widgets.check_dims(None, 20) == list(range(widgets.MAX_DEFAULT_DIMS))
    assert widgets.check_dims(np.array([4, 1]), 5) == [4, 1]


class NoZDim(torch.nn.Module):
    def decode(self, z):
        return z


@pytest.mark.parametrize("model, match", [(object(), r"model: expected an object with a decode\(z\) method"),
                                          (NoZDim(), "model.z_dim: expected a positive int, got None")])
def test_bad_model(model, match):
    with pytest.raises(TypeError, match=match):
        widgets.latent_traversal(model)


@pytest.mark.parametrize("dims, match", [([3], r"dims: \[3\] out of range"), ([-1], r"dims: \[-1\] out of range"),
                                         ([0, 0], "dims: expected a non-empty list of distinct"),
                                         ([], "dims: expected a non-empty list"), ([0.5], r"dims: \[0.5\] out of range")])
def test_bad_dims(dims, match):
    with pytest.raises(ValueError, match=match):
        widgets.latent_traversal(TinyDecoder(), dims=dims)


@pytest.mark.parametrize("z0, match", [(torch.zeros(4), r"z0: expected shape \(3,\) or \(1, 3\), got \(4,\)"),
                                       (torch.zeros(2, 3), r"z0: expected shape .*got \(2, 3\)"),
                                       ([0.0, float("nan"), 0.0], "z0: holds NaN")])
def test_bad_z0(z0, match):
    with pytest.raises(ValueError, match=match):
        widgets.latent_traversal(TinyDecoder(), z0=z0)


def test_bad_range_and_scale():
    with pytest.raises(ValueError, match="expected lo < hi and step > 0, got lo=1, hi=-1"):
        widgets.latent_traversal(TinyDecoder(), lo=1, hi=-1)
    with pytest.raises(ValueError, match="scale: expected an int >= 1, got 0"):
        widgets.decode_to_png(TinyDecoder(), torch.zeros(3), scale=0)
    with pytest.raises(ValueError, match="scale: expected an int >= 1, got 0"):
        widgets.latent_traversal(TinyDecoder(), scale=0)
