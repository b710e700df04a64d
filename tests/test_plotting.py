import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course_utils import plotting


@pytest.mark.parametrize("images", [np.random.rand(5, 8, 8), torch.rand(5, 1, 8, 8), np.random.rand(5, 8, 8, 3)])
def test_image_grid_accepts_common_layouts(images):
    fig = plotting.image_grid(images, ncols=3)
    assert isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.images]) == 5


def test_image_grid_errors_name_the_expected_input():
    with pytest.raises(ValueError, match=r"expected \(N, H, W\)"):
        plotting.image_grid(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="ncols"):
        plotting.image_grid(np.zeros((2, 8, 8)), ncols=0)
    with pytest.raises(ValueError, match="expected 2 titles"):
        plotting.image_grid(np.zeros((2, 8, 8)), titles=["a"])


def test_loss_curves_draws_one_line_per_series():
    fig = plotting.loss_curves({"recon": [3, 2, 1], "KL": [0.1, 0.5, 0.7]}, logy=True, title="t")
    assert len(fig.axes[0].lines) == 2


def test_loss_curves_rejects_bad_history():
    with pytest.raises(ValueError, match="history is empty"):
        plotting.loss_curves({})
    with pytest.raises(ValueError, match="1-D"):
        plotting.loss_curves({"a": [[1, 2], [3, 4]]})
