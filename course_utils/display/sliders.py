"""Static sliders: precomputed PNG frames swapped by a few lines of inline JavaScript (chapters 02, 05).

No kernel, no ipywidgets, no external JavaScript: the same output works in JupyterLab (trusted
output), in Colab (outputs run in an iframe) and on a static Jupyter Book page. Every frame is
rendered once, in Python, to a small PNG embedded as base64; moving a slider only swaps an image.

- `frame_slider(render, params)`: 1 or 2 sliders (any number, as long as the grid stays small);
  every combination of values is one frame of `render(**values)`.
- `traversal_slider(rows)`: N independent 1-D sliders, each swapping its own image from its own
  row of frames (latent traversals of a decoder: only one coordinate moves at a time).

HTML structure (class names are stable; tests and the book's browser test rely on them):

    div.cu-slider-root  id="cu-slider-<hash>"  data-cu-id="<hash>"   one per output
      div.cu-slider-group                       one per image (frame_slider: 1; traversal: one per row)
        div.cu-slider-row                       one per slider
          label  input.cu-slider[type=range]  output.cu-slider-value
        img.cu-slider-img
        script.cu-slider-data[type=application/json]  {"shape", "values", "frames", "order"}
      script                                    the swapper

<hash> is the start of a sha256 of the content, so the HTML is deterministic (clean diffs) and two
different sliders never share ids. The swapper initialises every root carrying its hash that is not
yet marked data-cu-ready, so the same slider shown twice on one page also works.
"""
from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .plotting import array_png, figure_png

MAX_FRAMES = 150  #: frames per slider output; beyond this, raise (pass max_frames= to change)
MAX_BYTES = 3_000_000  #: warn when one output's HTML is larger than this

_SCRIPT = """<script>(function(){
var roots=document.querySelectorAll('div.cu-slider-root[data-cu-id="%s"]');
Array.prototype.forEach.call(roots,function(root){
if(root.getAttribute('data-cu-ready'))return;root.setAttribute('data-cu-ready','1');
Array.prototype.forEach.call(root.querySelectorAll('div.cu-slider-group'),function(g){
var d=JSON.parse(g.querySelector('script.cu-slider-data').textContent);
var ins=g.querySelectorAll('input.cu-slider'),outs=g.querySelectorAll('output.cu-slider-value');
var img=g.querySelector('img.cu-slider-img');
function update(){var k=0;for(var i=0;i<ins.length;i++){var v=parseInt(ins[i].value,10);
k=k*d.shape[i]+v;outs[i].textContent=d.values[i][v];}
img.src='data:image/png;base64,'+d.frames[d.order[k]];}
Array.prototype.forEach.call(ins,function(el){el.addEventListener('input',update);});update();});});
})();</script>"""


@dataclass(frozen=True)
class StaticSlider:
    """A rendered slider: `html` (shown by Jupyter through _repr_html_), its size and frame count.

    Chapters 02 and 05.
    """

    html: str
    slider_id: str
    n_frames: int

    @property
    def nbytes(self) -> int:
        """Size of the HTML in bytes (what the notebook output and the book page carry)."""
        return len(self.html.encode("utf-8"))

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"StaticSlider(id={self.slider_id!r}, frames={self.n_frames}, {self.nbytes / 1000:.0f} kB)"


def _check_values(name: str, values) -> list:
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = values.tolist()
    if isinstance(values, range):
        values = list(values)
    if not isinstance(values, (list, tuple)):
        raise TypeError(f"params[{name!r}]: expected a list of values, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"params[{name!r}]: expected at least one value, got an empty list")
    return list(values)


def _formatter(fmt: str | Callable[[Any], str]) -> Callable[[Any], str]:
    if callable(fmt):
        return lambda v: str(fmt(v))
    if isinstance(fmt, str):
        return fmt.format
    raise TypeError(f"fmt: expected a format string like '{{:.3g}}' or a callable, got {type(fmt).__name__}")


def _group(shape: list[int], values: list[list[str]], pngs: list[bytes], labels: list[str],
           initial: list[int], width: int | None, gid: str, alt: str | None = None) -> str:
    """One image with its sliders; frames are deduplicated and stored once."""
    unique: dict[bytes, int] = {}
    order = [unique.setdefault(p, len(unique)) for p in pngs]
    frames = [base64.b64encode(p).decode("ascii") for p in unique]
    data = json.dumps({"shape": shape, "values": values, "frames": frames, "order": order},
                      separators=(",", ":")).replace("<", "\\u003c")
    rows = []
    for i, (label, n, k) in enumerate(zip(labels, shape, initial)):
        sid = f"{gid}-s{i}"
        rows.append(
            f'<div class="cu-slider-row" style="display:flex;align-items:center;gap:0.6em;margin:2px 0">'
            f'<label for="{sid}" style="min-width:4em;font-family:monospace">{html.escape(label)}</label>'
            f'<input type="range" class="cu-slider" id="{sid}" min="0" max="{n - 1}" step="1" value="{k}" '
            f'aria-label="{html.escape(label)}" style="flex:1;max-width:20em">'
            f'<output class="cu-slider-value" for="{sid}" style="font-family:monospace">'
            f"{html.escape(values[i][k])}</output></div>")
    flat = int(np.ravel_multi_index(tuple(initial), tuple(shape)))
    style = f"width:{width}px;image-rendering:pixelated" if width else "max-width:100%"
    src = "data:image/png;base64," + frames[order[flat]]
    return (f'<div class="cu-slider-group" id="{gid}" style="margin:4px 8px">' + "".join(rows)
            + f'<img class="cu-slider-img" alt="{html.escape(alt or ", ".join(labels))}" src="{src}" style="{style}">'
            + f'<script type="application/json" class="cu-slider-data">{data}</script></div>')


def _assemble(groups: list[dict], width: int | None, alt: str | None = None) -> StaticSlider:
    """Hash the content, build the root div and the swapper script."""
    digest = hashlib.sha256(json.dumps([[g["shape"], g["values"], g["labels"], g["initial"]] for g in groups]).encode())
    for g in groups:
        for png in g["pngs"]:
            digest.update(png)
    hid = digest.hexdigest()[:12]
    root = f"cu-slider-{hid}"
    parts = [_group(g["shape"], g["values"], g["pngs"], g["labels"], g["initial"], width, f"{root}-g{i}", alt)
             for i, g in enumerate(groups)]
    layout = "display:flex;flex-wrap:wrap" if len(groups) > 1 else "display:block"
    body = (f'<div class="cu-slider-root" id="{root}" data-cu-id="{hid}" style="{layout}">'
            + "".join(parts) + "</div>" + _SCRIPT % hid)
    slider = StaticSlider(body, root, sum(len(g["pngs"]) for g in groups))
    if slider.nbytes > MAX_BYTES:
        warnings.warn(f"slider output is {slider.nbytes / 1e6:.1f} MB (> {MAX_BYTES / 1e6:.0f} MB): use fewer "
                      "values, smaller figures, a lower dpi or fewer colors", stacklevel=3)
    return slider


def _initial_index(name: str, values: list, initial: Mapping[str, Any] | None) -> int:
    if initial is None or name not in initial:
        return len(values) // 2
    target = initial[name]
    matches = [i for i, v in enumerate(values) if v == target]
    if not matches:
        raise ValueError(f"initial[{name!r}] = {target!r} is not one of params[{name!r}]")
    return matches[0]


def _check_params(render, params, initial, max_frames: int) -> tuple[list[str], list[list]]:
    """Validate frame_slider's inputs; return the parameter names and their lists of values."""
    if not callable(render):
        raise TypeError(f"render must be a callable returning a matplotlib Figure, got {type(render).__name__}")
    if not isinstance(params, Mapping) or len(params) == 0:
        raise ValueError("params is empty: expected a mapping name -> list of values, e.g. {'m': [0, 0.5, 1]}")
    names = list(params)
    for name in names:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"parameter name {name!r}: expected a Python identifier (it is passed as a keyword)")
    grid = [_check_values(n, params[n]) for n in names]
    n_frames = int(np.prod([len(v) for v in grid]))
    if n_frames > max_frames:
        raise ValueError(f"{n_frames} frames ({' x '.join(str(len(v)) for v in grid)}) exceed max_frames="
                         f"{max_frames}: use fewer values per parameter, or raise max_frames knowingly")
    unknown = set(initial or {}) - set(names)
    if unknown:
        raise ValueError(f"initial names {sorted(unknown)} are not parameters; expected some of {names}")
    return names, grid


def _render_png(render, values: dict, dpi: int, colors: int | None, width: int | None = None) -> bytes:
    fig = render(**values)
    if not isinstance(fig, Figure):
        if isinstance(getattr(fig, "figure", None), Figure):
            plt.close(fig.figure)
        raise TypeError(f"render({values}) returned {type(fig).__name__}, expected a matplotlib Figure")
    return figure_png(fig, dpi=dpi, colors=colors, shown_px=width)


def frame_slider(render: Callable[..., Figure], params: Mapping[str, Sequence], *,
                 labels: Mapping[str, str] | None = None, fmt: str | Callable[[Any], str] = "{:.3g}",
                 width: int | None = None, dpi: int = 100, colors: int | None = 128,
                 initial: Mapping[str, Any] | None = None, max_frames: int = MAX_FRAMES,
                 alt: str | None = None) -> StaticSlider:
    """One image driven by one slider per parameter; renders every combination of values once. Chapters 02 and 05.

    params: ordered mapping name -> list of values; render(**values) must return a Figure (closed here).
    alt: what the image shows, for screen readers (default: the slider labels).
    """
    names, grid = _check_params(render, params, initial, max_frames)
    show, labels = _formatter(fmt), dict(labels or {})
    pngs = [_render_png(render, dict(zip(names, combo)), dpi, colors, width) for combo in itertools.product(*grid)]
    group = {"shape": [len(v) for v in grid], "values": [[show(v) for v in vals] for vals in grid],
             "labels": [str(labels.get(n, n)) for n in names], "pngs": pngs,
             "initial": [_initial_index(n, v, initial) for n, v in zip(names, grid)]}
    return _assemble([group], width, alt)


def _frame_png(frame, dpi: int, colors: int | None, width: int | None = None) -> bytes:
    if isinstance(frame, Figure):
        return figure_png(frame, dpi=dpi, colors=colors, shown_px=width)
    if isinstance(frame, (bytes, bytearray)):
        if not bytes(frame[:8]) == b"\x89PNG\r\n\x1a\n":
            raise ValueError("a frame given as bytes must be a PNG file")
        return bytes(frame)
    if hasattr(frame, "detach"):
        frame = frame.detach().cpu().numpy()
    return array_png(frame, colors=None)


def _check_rows(rows, labels, values, initial, max_frames: int) -> tuple[list, list, list, list]:
    """Validate traversal_slider's inputs; fill in default labels, values and initial indices."""
    if not isinstance(rows, (list, tuple)) or len(rows) == 0:
        raise ValueError("rows is empty: expected a list with one list of frames per slider")
    rows = [_check_values(f"rows[{j}]", r) for j, r in enumerate(rows)]
    n_frames = sum(len(r) for r in rows)
    if n_frames > max_frames:
        raise ValueError(f"{n_frames} frames in {len(rows)} rows exceed max_frames={max_frames}: "
                         "use fewer frames per row, or raise max_frames knowingly")
    labels = list(labels) if labels is not None else [f"z{j + 1}" for j in range(len(rows))]
    values = [list(v) for v in values] if values is not None else [list(range(len(r))) for r in rows]
    initial = list(initial) if initial is not None else [len(r) // 2 for r in rows]
    for name, seq in (("labels", labels), ("values", values), ("initial", initial)):
        if len(seq) != len(rows):
            raise ValueError(f"{name}: expected {len(rows)} entries (one per row), got {len(seq)}")
    for j, row in enumerate(rows):
        if len(values[j]) != len(row):
            raise ValueError(f"values[{j}]: expected {len(row)} values (one per frame), got {len(values[j])}")
        if not 0 <= initial[j] < len(row):
            raise ValueError(f"initial[{j}] = {initial[j]}: expected an index in [0, {len(row) - 1}]")
    return rows, labels, values, initial


def traversal_slider(rows: Sequence[Sequence], *, labels: Sequence[str] | None = None,
                     values: Sequence[Sequence] | None = None, fmt: str | Callable[[Any], str] = "{:.3g}",
                     width: int | None = 112, dpi: int = 100, colors: int | None = 128,
                     initial: Sequence[int] | None = None, max_frames: int = MAX_FRAMES,
                     alt: str | None = None) -> StaticSlider:
    """N independent 1-D sliders; slider j swaps its own image among rows[j] (chapter 05 traversals).

    alt: what the images show, for screen readers (default: each slider's label).

    Frames are Figures, PNG bytes, or image arrays (H, W) / (H, W, 3|4) (numpy or torch, [0, 1] or uint8).
    """
    rows, labels, values, initial = _check_rows(rows, labels, values, initial, max_frames)
    show = _formatter(fmt)
    groups = [{"shape": [len(row)], "values": [[show(v) for v in values[j]]], "labels": [str(labels[j])],
               "pngs": [_frame_png(f, dpi, colors, width) for f in row], "initial": [int(initial[j])]}
              for j, row in enumerate(rows)]
    return _assemble(groups, width, alt)
