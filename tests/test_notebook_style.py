"""Notebook code as the book shows it: every code line fits the book's column (no sideways scrolling at 1280 px)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*/*.ipynb"))
# The book's code column holds 77 characters at a 1280 px window (measured in Chromium); `ruff format
# --line-length 76` formats the cells, and strings and comments are wrapped by hand.
CODE_COLUMNS = 76


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_code_lines_fit_the_book_column(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    long = []
    for k, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        long += [f"cell {k}, {len(line)} chars: {line.strip()[:60]}" for line in source.split("\n")
                 if len(line) > CODE_COLUMNS]
    assert not long, f"{len(long)} code lines longer than {CODE_COLUMNS} characters:\n" + "\n".join(long)
