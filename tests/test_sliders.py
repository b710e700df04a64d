"""Tests for course_utils.display.sliders: frames, determinism, the embedded JSON table, ids and errors."""
import base64
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from course_utils.display import plotting, sliders  # noqa: E402


def render(a, b=1.0):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [a, b])
    ax.set_ylim(-3, 3)
    return fig


PARAMS = {"a": [-1.0, 0.0, 1.0], "b": [1.0, 2.0]}


def tables(slider):
    soup = BeautifulSoup(slider.html, "html.parser")
    return soup, [json.loads(s.string) for s in soup.select("script.cu-slider-data")]


def test_frame_count_and_structure():
    s = sliders.frame_slider(render, PARAMS, labels={"a": "alpha"})
    assert s.n_frames == 6
    soup, (data,) = tables(s)
    assert data["shape"] == [3, 2]
    assert len(soup.select("input.cu-slider")) == 2 and len(soup.select("img.cu-slider-img")) == 1
    assert data["values"] == [["-1", "0", "1"], ["1", "2"]]
    assert soup.select("label")[0].string == "alpha"
    assert s.nbytes == len(s.html.encode()) and s._repr_html_() == s.html
    assert not re.search(r"<script[^>]+src=", s.html), "no external JavaScript"
    assert plt.get_fignums() == [], "every rendered figure is closed"


def test_every_frame_distinct_and_png():
    s = sliders.frame_slider(render, PARAMS)
    _, (data,) = tables(s)
    assert len(data["order"]) == 6 and len(set(data["order"])) == 6 == len(data["frames"])
    for frame in data["frames"]:
        assert base64.b64decode(frame)[:8] == b"\x89PNG\r\n\x1a\n"


def test_frames_follow_c_order_and_deduplicate():
    s = sliders.frame_slider(lambda a, b: render(a * b, 0.0), {"a": [0.0, 1.0], "b": [0.0, 2.0]})
    _, (data,) = tables(s)
    assert data["order"][0] == data["order"][1] == data["order"][2] != data["order"][3]
    assert len(data["frames"]) == 2


def test_initial_frame_shown_without_javascript():
    s = sliders.frame_slider(render, PARAMS, initial={"a": 1.0, "b": 2.0})
    soup, (data,) = tables(s)
    src = soup.select_one("img.cu-slider-img")["src"]
    assert src == "data:image/png;base64," + data["frames"][data["order"][5]]
    assert [i["value"] for i in soup.select("input.cu-slider")] == ["2", "1"]


def test_deterministic_html():
    assert sliders.frame_slider(render, PARAMS).html == sliders.frame_slider(render, PARAMS).html


def test_ids_unique_across_sliders():
    one = sliders.frame_slider(render, PARAMS)
    two = sliders.frame_slider(render, {"a": [2.0, 3.0]})
    ids = [re.findall(r'\sid="([^"]+)"', s.html) for s in (one, two)]
    assert len(set(ids[0])) == len(ids[0]) and not set(ids[0]) & set(ids[1])
    assert one.slider_id in one.html and one.slider_id != two.slider_id


def test_traversal_rows():
    rows = [[np.full((4, 4), v) for v in (0.0, 0.5, 1.0)] for _ in range(3)]
    s = sliders.traversal_slider(rows, values=[[-2, 0, 2]] * 3)
    soup, datas = tables(s)
    assert s.n_frames == 9 and len(datas) == 3
    assert len(soup.select("div.cu-slider-group")) == 3 and len(soup.select("img.cu-slider-img")) == 3
    assert all(d["shape"] == [3] and len(d["frames"]) == 3 for d in datas)
    assert [lab.string for lab in soup.select("label")] == ["z1", "z2", "z3"]


def test_traversal_accepts_figures_bytes_and_tensors():
    import torch

    png = plotting.array_png(np.zeros((3, 3)))
    s = sliders.traversal_slider([[render(0.0), png, torch.ones(3, 3)]], labels=["z1"])
    _, (data,) = tables(s)
    assert len(data["frames"]) == 3 and base64.b64decode(data["frames"][data["order"][1]]) == png
    assert plt.get_fignums() == []


def test_errors():
    with pytest.raises(ValueError, match="params is empty"):
        sliders.frame_slider(render, {})
    with pytest.raises(TypeError, match=r"params\['a'\]: expected a list of values, got float"):
        sliders.frame_slider(render, {"a": 1.0})
    with pytest.raises(ValueError, match=r"params\['a'\]: expected at least one value, got an empty list"):
        sliders.frame_slider(render, {"a": []})
    with pytest.raises(ValueError, match=r"400 frames \(20 x 20\) exceed max_frames=150"):
        sliders.frame_slider(render, {"a": list(range(20)), "b": list(range(20))})
    with pytest.raises(TypeError, match=r"render\(\{'a': 1\}\) returned Axes, expected a matplotlib Figure"):
        sliders.frame_slider(lambda a: plt.subplots()[1], {"a": [1, 2]})
    assert plt.get_fignums() == []
    with pytest.raises(TypeError, match="render must be a callable returning a matplotlib Figure, got NoneType"):
        sliders.frame_slider(None, PARAMS)
    with pytest.raises(ValueError, match=r"initial\['a'\] = 5.0 is not one of params\['a'\]"):
        sliders.frame_slider(render, PARAMS, initial={"a": 5.0})
    with pytest.raises(ValueError, match="rows is empty"):
        sliders.traversal_slider([])
    with pytest.raises(ValueError, match=r"labels: expected 1 entries \(one per row\), got 2"):
        sliders.traversal_slider([[np.zeros((2, 2))]], labels=["a", "b"])
    with pytest.raises(ValueError, match="image: expected shape"):
        sliders.traversal_slider([[np.zeros((2, 2, 2))]])
    with pytest.raises(ValueError, match=r"parameter name '2a': expected a Python identifier"):
        sliders.frame_slider(render, {"2a": [1.0]})
    with pytest.raises(ValueError, match=r"initial names \['c'\] are not parameters"):
        sliders.frame_slider(render, PARAMS, initial={"c": 1.0})
    with pytest.raises(TypeError, match="fmt: expected a format string"):
        sliders.frame_slider(render, PARAMS, fmt=3)


def test_a_slider_image_carries_the_given_alt_text():
    from course_utils.display.sliders import traversal_slider

    frames = [[np.zeros((4, 4)), np.ones((4, 4))]]
    assert 'alt="a digit, one latent moved"' in traversal_slider(frames, alt="a digit, one latent moved").html
    assert 'alt="z"' in traversal_slider(frames, labels=["z"]).html
