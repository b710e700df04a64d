"""display.animation (chapter 08): rollouts side by side as a self-contained HTML animation."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.display.animation import side_by_side


def frames(t: int, value: int) -> np.ndarray:
    out = np.zeros((t, 8, 8, 3), dtype=np.uint8)
    out[:, :, :, 0] = value
    return out


def test_html_plays_every_frame_of_the_longest_panel():
    html = side_by_side([frames(5, 10), frames(3, 200)], ["a", "b"], interval=50)
    assert "<script" in html and "anim" in html.lower()
    assert html.count("data:image/png;base64") == 5  # one image per time step: the short panel holds its last frame


@pytest.mark.parametrize("panels, titles, match", [
    ([np.zeros((4, 8, 8))], ["x"], "panels\\[0\\]"),  # no colour axis
    ([np.zeros((0, 8, 8, 3), dtype=np.uint8)], ["x"], "panels\\[0\\]"),  # no frames
    ([frames(2, 1), frames(2, 1)], ["only one"], "titles"),
])
def test_bad_panels_or_titles_raise_value_error_naming_them(panels, titles, match):
    with pytest.raises(ValueError, match=match):
        side_by_side(panels, titles)
