"""course_utils.display.plotting: image grids, loss curves, PNG encoding and the LiveLossPlot on_epoch hook."""
import io

import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from course_utils.display import plotting


def read_png(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("images", [np.random.rand(5, 8, 8), torch.rand(5, 1, 8, 8), np.random.rand(5, 8, 8, 3)])
def test_image_grid_accepts_common_layouts(images):
    fig = plotting.image_grid(images, ncols=3)
    assert isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.images]) == 5


def test_image_grid_errors_name_the_expected_input():
    with pytest.raises(ValueError, match=r"images: expected \(N, H, W\)"):
        plotting.image_grid(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="ncols must be >= 1, got 0"):
        plotting.image_grid(np.zeros((2, 8, 8)), ncols=0)
    with pytest.raises(ValueError, match="titles: expected 2 titles, got 1"):
        plotting.image_grid(np.zeros((2, 8, 8)), titles=["a"])
    with pytest.raises(ValueError, match="images is empty"):
        plotting.image_grid(np.zeros((0, 8, 8)))


def test_loss_curves_draws_one_line_per_series():
    fig = plotting.loss_curves({"recon": [3, 2, 1], "KL": [0.1, 0.5, 0.7]}, logy=True, title="t")
    assert len(fig.axes[0].lines) == 2


def test_loss_curves_draws_test_series_dashed_in_the_colour_of_their_key():
    fig = plotting.loss_curves({"loss": [3, 2], "kl": [1, 1.2], "test_loss": [3.5, 2.5], "test_only": [1, 2]})
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert set(lines) == {"loss", "kl", "test_loss", "test_only"}
    assert lines["loss"].get_linestyle() == "-" and lines["test_loss"].get_linestyle() == "--"
    assert to_hex(lines["test_loss"].get_color()) == to_hex(lines["loss"].get_color())
    assert to_hex(lines["kl"].get_color()) != to_hex(lines["loss"].get_color())
    # a test_ series without its training key is an ordinary series: solid, its own colour
    assert lines["test_only"].get_linestyle() == "-"
    assert to_hex(lines["test_only"].get_color()) not in {to_hex(lines[k].get_color()) for k in ("loss", "kl")}


def test_loss_curves_rejects_bad_history():
    with pytest.raises(ValueError, match="history: expected a mapping name -> list of values, got an empty one"):
        plotting.loss_curves({})
    with pytest.raises(ValueError, match=r"history\['a'\]: expected a 1-D sequence"):
        plotting.loss_curves({"a": [[1, 2], [3, 4]]})


def test_figure_png_of_the_curves_is_a_png_and_closes_the_figure():
    import matplotlib.pyplot as plt

    fig = plotting.loss_curves({"loss": [3.0, 2.0], "test_loss": [3.5, 2.5], "kl": [1.0, 1.2]})
    png = plotting.figure_png(fig, dpi=50)
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert plt.get_fignums() == []
    assert read_png(plotting.figure_png(plotting.loss_curves({"a": [1, 2]}), colors=None)).ndim == 3
    with pytest.raises(TypeError, match="expected a matplotlib Figure, got ndarray"):
        plotting.figure_png(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"colors must be an int in \[2, 256\] or None, got 1"):
        plotting.figure_png(plotting.loss_curves({"a": [1, 2]}), colors=1)


def test_array_png_round_trip_and_scale():
    image = np.linspace(0, 1, 12).reshape(3, 4)
    pixels = read_png(plotting.array_png(image, scale=3))
    assert pixels.shape == (9, 12)
    assert np.array_equal(pixels[::3, ::3], np.round(image * 255).astype(np.uint8))
    assert np.array_equal(pixels, np.round(image * 255).astype(np.uint8).repeat(3, 0).repeat(3, 1))  # sharp pixels
    assert read_png(plotting.array_png(np.zeros((2, 2, 3)), scale=1)).shape == (2, 2, 3)
    assert read_png(plotting.array_png(np.zeros((2, 2, 4)))).shape == (2, 2, 4)
    uint8 = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(read_png(plotting.array_png(uint8)), uint8)  # uint8 is kept as is
    assert np.array_equal(read_png(plotting.array_png(np.array([[-1.0, 2.0]]))), [[0, 255]])  # floats are clipped


@pytest.mark.parametrize("scale", [0, -1, 1.5, True])
def test_array_png_rejects_bad_scale(scale):
    with pytest.raises(ValueError, match=r"scale: expected an int >= 1, got"):
        plotting.array_png(np.zeros((2, 2)), scale=scale)


@pytest.mark.parametrize("shape", [(2,), (2, 2, 2), (2, 2, 3, 1)])
def test_array_png_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match=r"image: expected shape \(H, W\) or \(H, W, 3\|4\)"):
        plotting.array_png(np.zeros(shape))


# ---------------------------------------------------------------- LiveLossPlot
def test_live_loss_plot_is_inert_outside_a_notebook():
    import matplotlib.pyplot as plt

    live = plotting.LiveLossPlot()
    assert live.active is False and live.handle is None
    assert live(1, {"loss": [1.0], "seconds": [0.1]}) is None
    assert live.handle is None and plt.get_fignums() == []


class FakeHandle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, image):
        self.shown.append(("update", image))


@pytest.fixture
def notebook(monkeypatch):
    """Pretend to run in a Jupyter kernel: get_ipython() returns a ZMQ-like shell; display() is recorded."""
    import IPython
    import IPython.display

    class ZMQInteractiveShell:
        pass

    shown = []

    def display(image, display_id=False):
        assert display_id is True
        shown.append(("display", image))
        return FakeHandle(shown)

    monkeypatch.setattr(IPython, "get_ipython", lambda: ZMQInteractiveShell())
    monkeypatch.setattr(IPython.display, "display", display)
    return shown


def test_live_loss_plot_in_a_notebook_shows_one_image_and_updates_it(notebook):
    import matplotlib.pyplot as plt

    live = plotting.LiveLossPlot(keys=["loss", "test_loss"], dpi=40)
    assert live.active
    live(1, {"loss": [3.0], "test_loss": [3.5], "kl": [1.0], "seconds": [0.1]})
    live(2, {"loss": [3.0, 2.0], "test_loss": [3.5, 2.5], "kl": [1.0, 1.1], "seconds": [0.1, 0.1]})
    assert [kind for kind, _ in notebook] == ["display", "update"]
    first, second = (image.data for _, image in notebook)
    assert first.startswith(b"\x89PNG") and second.startswith(b"\x89PNG") and first != second
    assert plt.get_fignums() == [], "each figure is closed once encoded"


def test_live_loss_plot_is_inert_in_a_terminal_ipython(monkeypatch):
    import IPython

    class TerminalInteractiveShell:
        pass

    monkeypatch.setattr(IPython, "get_ipython", lambda: TerminalInteractiveShell())
    assert plotting.LiveLossPlot().active is False
