"""Build the bilingual Jupyter Book (warnings are errors) and check every chapter page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from course_utils.instructor import authoring

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks" / "es").glob("*.ipynb"))
TOC = (ROOT / "_toc.yml").read_text(encoding="utf-8")


def test_every_notebook_is_in_the_toc():
    for lang in ("es", "en"):
        for stem in CHAPTERS:
            assert f"notebooks/{lang}/{stem}" in TOC, f"{lang}/{stem} missing from _toc.yml"


def test_landing_page_links_both_languages(book):
    page = (book / "book" / "intro.html").read_text(encoding="utf-8")
    assert "es/index.html" in page and "en/index.html" in page
    assert (book / "index.html").exists()


@pytest.mark.parametrize("stem", CHAPTERS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_chapter_page(book, lang, stem):
    page = (book / "notebooks" / lang / f"{stem}.html").read_text(encoding="utf-8")
    other = "en" if lang == "es" else "es"
    assert f'href="../{other}/{stem}.html' in page, "link to the twin page"
    assert authoring.colab_url(lang, f"{stem}.ipynb") in page, "Colab launch button for this language"
    assert "cell_output" in page, "executed outputs are on the page"
    assert 'class="math' in page, "math is marked up for rendering"
    assert not re.search(r"Traceback \(most recent call last\)", page), "no tracebacks on the page"


@pytest.mark.parametrize("stem", CHAPTERS)
def test_each_twin_is_executed_in_its_own_language(book, stem):
    es = (book / "notebooks" / "es" / f"{stem}.html").read_text(encoding="utf-8")
    en = (book / "notebooks" / "en" / f"{stem}.html").read_text(encoding="utf-8")
    assert "Entorno del curso" in es and "Course environment" not in es
    assert "Course environment" in en and "Entorno del curso" not in en


@pytest.mark.parametrize("stem", CHAPTERS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_chapter_cites_the_course_bibliography(book, lang, stem):
    page = (book / "notebooks" / lang / f"{stem}.html").read_text(encoding="utf-8")
    bibliography = (book / "book" / "bibliography.html").read_text(encoding="utf-8")
    keys = re.findall(r'href="\.\./\.\./book/bibliography\.html#cite-([\w-]+)"', page)
    assert keys, "each chapter links its arXiv references to the bibliography"
    for key in set(keys):
        assert f'id="cite-{key}"' in bibliography, f"bibliography entry cite-{key} is missing"


def test_every_figure_the_notebooks_show_is_readable_in_the_book(book):
    """Text of every figure (and slider frame, and animation) is at least MIN_POINTS at the size the book shows it.

    The notebooks executed in this run report each figure they show (tests/conftest.py, course_utils.display.style);
    the `book` fixture makes this test run after them. Kernels started by unit tests are not chapters: skipped.
    """
    import json

    from course_utils.display.style import MIN_POINTS
    from conftest import FIGURE_REPORT

    text = FIGURE_REPORT.read_text(encoding="utf-8") if FIGURE_REPORT.exists() else ""
    if not text.strip():
        pytest.skip("no notebook was executed in this run, so no figure was measured")
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    rows = [r for r in rows if r["notebook"].startswith("notebooks/")]
    if not rows:
        pytest.skip("no chapter was executed in this run, so no figure was measured")
    small = [r for r in rows if r["min_points"] < MIN_POINTS]
    notebooks = sorted({r["notebook"] for r in rows})
    print(f"\n{len(rows)} figures measured in {len(notebooks)} notebooks; smallest text "
          f"{min(r['min_points'] for r in rows):.1f} pt")
    listing = "\n".join(f"{r['notebook']} {r['where']}: {r['min_points']} pt ({r['width_in']} in at {r['dpi']} dpi) "
                        f"{r['texts']}" for r in small)
    assert not small, f"{len(small)} figures have text under {MIN_POINTS} pt at their size in the book:\n{listing}"


@pytest.mark.parametrize("stem", CHAPTERS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_figure_is_shown_twice(book, lang, stem):
    """A cell ending in a call that returns a Figure shows it twice (its value, then the open figure)."""
    page = (book / "notebooks" / lang / f"{stem}.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]+src="[./]*_images/([0-9a-f]{64})\.png"', page)
    repeated = sorted({h[:12] for h in images if images.count(h) > 1})
    assert not repeated, f"the same figure appears more than once on the page: {repeated}"


@pytest.mark.parametrize("stem", CHAPTERS)
@pytest.mark.parametrize("lang", ["es", "en"])
def test_no_noise_in_the_outputs(book, lang, stem):
    """No memory addresses, no frozen progress bars, no slider reprs in the static page."""
    page = (book / "notebooks" / lang / f"{stem}.html").read_text(encoding="utf-8")
    text = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert not re.search(r"object at 0x[0-9a-f]+", text), "a repr with a memory address"
    assert not re.search(r"\d+%\|[█▏▎▍▌▋▊▉ ]*\|", text), "a tqdm progress bar"
    assert "StaticSlider(" not in text, "a slider's text repr instead of (or beside) the slider"
