"""The book's local Sphinx extensions (book/_ext), unit by unit; the built pages are checked in test_book/test_browser."""
import sys
from pathlib import Path

import pytest
from pybtex.database import parse_string

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "book" / "_ext"))
import course_citations  # noqa: E402
import course_lang  # noqa: E402


@pytest.mark.parametrize("docname, lang, twin", [
    ("notebooks/es/03_kl_divergence", "es", "notebooks/en/03_kl_divergence"),
    ("notebooks/en/08_world_models", "en", "notebooks/es/08_world_models"),
    ("book/es/index", "es", "book/en/index"),
    ("book/intro", None, None),
    ("book/notation", None, None),
])
def test_page_language_and_twin(docname, lang, twin):
    assert course_lang.page_language(docname) == lang
    assert course_lang.twin_docname(docname) == twin


def test_spanish_catalogs_translate_the_theme_labels():
    catalog = course_lang._spanish_catalogs()
    assert catalog.gettext("Search") != "Search"
    assert catalog.gettext("next page") != "next page"


BIB = """
@article{a, author = {Kingma, Diederik P. and Welling, Max}, title = {A}, year = {2013}}
@article{b, author = {Burgess, Christopher P. and Higgins, Irina and Pal, Arka}, title = {B}, year = {2018}}
@article{c, author = {Bishop, Christopher M.}, title = {C}, year = {2006}}
@article{d, author = {van den Oord, Aaron and Vinyals, Oriol and Kavukcuoglu, Koray}, title = {D}, year = {2017}}
@article{e, author = {Agarwal, Niket and others}, title = {E}, year = {2025}}
"""


@pytest.mark.parametrize("key, label", [("a", "Kingma & Welling 2013"), ("b", "Burgess et al. 2018"),
                                        ("c", "Bishop 2006"), ("d", "van den Oord et al. 2017"),
                                        ("e", "Agarwal et al. 2025")])
def test_bibliography_labels_are_author_year(key, label):
    assert course_citations.author_year(parse_string(BIB, "bibtex").entries[key]) == label


@pytest.mark.parametrize("text, first, year", [
    ("as Kingma and Welling (2013) showed", "Kingma", "2013"),
    ("como Kingma y Welling (2013) mostraron", "Kingma", "2013"),
    ("Burgess et al. (2018) raise C", "Burgess", "2018"),
    ("- D. P. Kingma and M. Welling (2013). *Auto-Encoding*", "D. P. Kingma", "2013"),
    ("- A. van den Oord, O. Vinyals and K. Kavukcuoglu (2017).", "A. van den Oord", "2017"),
])
def test_in_text_citations_are_found(text, first, year):
    match = course_citations.CITATION.search(text)
    assert match and match["first"] == first and match["year"] == year


def test_a_citation_links_only_to_a_unique_entry():
    index = {("Kingma", "2013"): ["a"], ("Hafner", "2019"): ["x", "y"]}
    assert course_citations._lookup(index, "D. P. Kingma", "2013") == "a"
    assert course_citations._lookup(index, "Hafner", "2019") is None, "ambiguous: no link rather than a wrong one"
    assert course_citations._lookup(index, "Kingma", "2014") is None


@pytest.mark.parametrize("text, cited", [
    ("World Models (Ha y Schmidhuber, 2018), un agente", "Ha y Schmidhuber, 2018"),
    ("MNIST (LeCun et al., 1998) has", "LeCun et al., 1998"),
    ("the trick (Kingma and Welling, 2013; Rezende et al., 2014)", "Kingma and Welling, 2013"),
])
def test_parenthetical_citations_are_found(text, cited):
    assert course_citations.PARENTHETICAL.search(text).group(0) == cited
