"""Write twin notebooks (es/en) from one list of cells; used by authors, checked by `parity`."""
from __future__ import annotations

import json
from pathlib import Path

from .. import config
from ..files import atomic_write_text
from .parity import LANGS, cell_hash, clean_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def colab_url(lang: str, name: str) -> str:
    """Colab link for notebooks/<lang>/<name> in the course repository."""
    repo = config.REPOSITORY.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/{config.BRANCH}/notebooks/{lang}/{name}"


def book_url(lang: str, name: str) -> str:
    """Address of notebooks/<lang>/<name> on the published book (links that survive a copy to Drive)."""
    return f"{config.BOOK_URL}notebooks/{lang}/{name.removesuffix('.ipynb')}.html"


def setup_cell() -> str:
    """Source of every notebook's first code cell: install in Colab, check the environment, set the figure style."""
    return (
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("course_utils") is None:\n'
        f'    url = "{config.REPOSITORY}"\n'
        f'    package = f"course-utils @ git+{{url}}@{config.BRANCH}"\n'
        "    subprocess.run(\n"
        '        [sys.executable, "-m", "pip", "install", "-q", package],\n'
        "        check=True,\n"
        "    )\n"
        "from course_utils.display.style import use_course_style\n"
        "from course_utils.environment import check_environment\n"
        "\n"
        "check_environment()\n"
        "use_course_style()"
    )


def header(name: str, title_es: str, title_en: str) -> tuple[str, str, str]:
    """('md', es, en) header cell: title, Colab badge and a link to the twin notebook."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    es = (
        f"# {title_es}\n\n"
        f"[![Abrir en Colab]({badge})]({colab_url('es', name)}) "
        f"· [Read this chapter in English]({book_url('en', name)})"
    )
    en = (
        f"# {title_en}\n\n"
        f"[![Open in Colab]({badge})]({colab_url('en', name)}) "
        f"· [Leer este capítulo en español]({book_url('es', name)})"
    )
    return ("md", es, en)


def _notebook(cells: list[dict], lang: str, chapter: str) -> dict:
    return {
        "cells": cells,
        "metadata": {
            "course": {"lang": lang, "chapter": chapter},
            # display_name differs by language so that the book's execution cache (keyed on code and
            # kernelspec) runs each twin on its own instead of reusing the other's outputs.
            "kernelspec": {"display_name": f"Python 3 ({lang})", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_twins(name: str, cells: list[tuple], root: Path = NOTEBOOKS) -> tuple[Path, Path]:
    """Write notebooks/es/<name> and notebooks/en/<name> from cells.

    Each cell is ('md', es_text, en_text) or ('code', source) or ('code', source, tags).
    Markdown pairs are stamped with the hashes of both texts (see parity.staleness).
    """
    if not name.endswith(".ipynb"):
        raise ValueError(f"name {name!r}: expected a file name ending in .ipynb")
    out = {lang: [] for lang in LANGS}
    for i, cell in enumerate(cells):
        cid = f"c{i:03d}"
        if cell[0] == "md":
            _, es, en = cell
            stamp = {"es": cell_hash(es), "en": cell_hash(en)}
            for lang, text in zip(LANGS, (es, en)):
                out[lang].append({"cell_type": "markdown", "id": cid, "metadata": {"i18n": stamp}, "source": text})
        elif cell[0] == "code":
            meta = {"tags": list(cell[2])} if len(cell) > 2 else {}
            for lang in LANGS:
                out[lang].append({"cell_type": "code", "id": cid, "metadata": dict(meta), "source": cell[1],
                                  "execution_count": None, "outputs": []})
        else:
            raise ValueError(f"cell {i}: kind {cell[0]!r}, expected 'md' or 'code'")
    paths = []
    for lang in LANGS:
        path = root / lang / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = clean_notebook(_notebook(out[lang], lang, name.removesuffix(".ipynb")))
        atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths[0], paths[1]
