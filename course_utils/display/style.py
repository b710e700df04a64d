"""The course's figure style: text readable at the size the book shows a figure. Every chapter.

`use_course_style()` (each chapter's first cell) sets matplotlib's font sizes and, in a notebook, sends
figures as high-resolution (retina) PNG and reports each figure it shows (below). `display_points(fig)`
measures the smallest text of a figure at the size the book shows it: a figure wider than the book's
column (`COLUMN_PX`, the text column at a 1280 px window) is scaled down, and its text with it.

With `COURSE_FIGURE_REPORT=<file>` in the environment (the test suite sets it), every figure a
notebook shows, and every frame of a static slider, appends one JSON line to that file;
`tests/test_book.py` fails if any has text under `MIN_POINTS`.
"""
from __future__ import annotations

import json
import os

import matplotlib
from matplotlib.figure import Figure
from matplotlib.text import Text

COLUMN_PX = 688  # width of the book's text column, in CSS px, at a 1280 px window
MIN_POINTS = 9.0  # smallest text size allowed at display size, in points
CSS_DPI = 96  # CSS px per inch
REPORT_VARIABLE = "COURSE_FIGURE_REPORT"
SOURCE_VARIABLE = "COURSE_FIGURE_SOURCE"  # the notebook being run, set by the test suite
RC = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (6.4, 3.6),
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "figure.titlesize": 12,
    "axes.grid": False,
    "image.cmap": "viridis",
}


def display_points(fig: Figure, shown_px: float | None = None) -> float:
    """Smallest visible text of `fig`, in points, when the figure is shown `shown_px` CSS px wide (default:
    its natural width at `fig.dpi`, at most the book's column). inf for a figure without text. Every chapter."""
    if not isinstance(fig, Figure):
        raise TypeError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    width_in = fig.get_figwidth()
    shown = min(width_in * fig.dpi, COLUMN_PX) if shown_px is None else float(shown_px)
    if shown <= 0:
        raise ValueError(f"shown_px: expected a positive width, got {shown_px}")
    scale = shown / (width_in * CSS_DPI)  # 1 pt of text -> `scale` pt on the screen
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * scale if sizes else float("inf")


def report_figure(fig: Figure, where: str, shown_px: float | None = None) -> None:
    """Append `fig`'s smallest display size to $COURSE_FIGURE_REPORT (if set). Every chapter."""
    path = os.environ.get(REPORT_VARIABLE)
    if not path or _shell() is None:  # only figures a notebook kernel shows
        return
    titles = [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()][:3]
    row = {"where": where, "min_points": round(display_points(fig, shown_px), 2),
           "width_in": round(fig.get_figwidth(), 2), "dpi": fig.dpi, "texts": titles,
           "notebook": os.environ.get(SOURCE_VARIABLE, os.getcwd())}
    with open(path, "a", encoding="utf-8") as f:  # one short line per figure: appends do not interleave
        f.write(json.dumps(row) + "\n")


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def use_course_style() -> None:
    """Apply the course's figure style (fonts, sizes, retina PNG in notebooks). Every chapter's first cell."""
    import matplotlib.pyplot as plt  # activates the notebook backend first, so its defaults do not undo ours

    plt.rcParams.update(RC)
    shell = _shell()
    if shell is None or not hasattr(shell, "events"):
        return
    if "inline" in matplotlib.get_backend():
        try:
            from matplotlib_inline.backend_inline import set_matplotlib_formats
        except ImportError:  # very old IPython: the same function lived there
            from IPython.display import set_matplotlib_formats
        set_matplotlib_formats("retina")
    _report_displayed_figures(shell)


def _report_displayed_figures(shell) -> None:
    """Wrap the notebook's PNG formatter for figures, so every figure shown is reported (see the module)."""
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        inner = formatter.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(inner, "course_report", False):
        return

    def png_with_report(fig, _inner=inner):
        data = _inner(fig)  # measured after drawing: automatic tick labels exist only then
        report_figure(fig, where=f"cell {getattr(shell, 'execution_count', None)}")
        return data

    png_with_report.course_report = True
    formatter.for_type(Figure, png_with_report)
