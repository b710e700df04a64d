"""Author–year citations in the book (local Sphinx extension).

- The bibliography page labels each entry as the chapters cite it: "Kingma & Welling 2013",
  "Higgins et al. 2017" (a pybtex label style), instead of pybtex's alpha labels ("[KW13]").
- In the chapters, a citation written the usual way — "Kingma and Welling (2013)", "Kingma y Welling
  (2013)", "(Burgess et al., 2018)", "C. M. Bishop (1994)" in a reference list — becomes a link to its
  entry on the bibliography page, when book/references.bib has exactly one entry with that first
  author and year. The notebooks keep plain text, readable in Colab.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

BIBLIOGRAPHY = "book/bibliography"
SURNAME = r"(?:(?:van den|van der|van|von|de|da|del) )?[A-Z][\w'’-]+"
NAME = rf"(?:[A-Z]\.(?: ?[A-Z]\.)* )?{SURNAME}"  # "Kingma", "D. P. Kingma", "A. van den Oord"
AUTHORS = rf"(?P<first>{NAME})(?:, {NAME})*(?:,? (?P<etal>et al\.)|,? (?:and|y|&) {NAME})?"
CITATION = re.compile(rf"{AUTHORS} \((?P<year>\d{{4}})[a-z]?\)")  # Kingma and Welling (2013)
PARENTHETICAL = re.compile(rf"(?<=\(){AUTHORS},? (?P<year>\d{{4}})[a-z]?(?=[);])")  # (Kingma and Welling, 2013)
INITIALS = re.compile(r"^(?:[A-Z]\.\s?)+")


def _surname(person) -> str:
    return " ".join(person.prelast_names + person.last_names).replace("{", "").replace("}", "")


def _authors(entry) -> tuple[list[str], bool]:
    """Surnames of the authors (editors if none), and whether the list ends in "and others"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    others = bool(names) and names[-1].lower() == "others"
    return (names[:-1] if others else names), others


def author_year(entry) -> str:
    """'Kingma & Welling 2013', 'Higgins et al. 2017', 'Bishop 1994'."""
    people, others = _authors(entry)
    year = entry.fields.get("year", "")
    if not people:
        return f"{entry.key} {year}".strip()
    if len(people) == 1 and not others:
        names = people[0]
    elif len(people) == 2 and not others:
        names = f"{people[0]} & {people[1]}"
    else:
        names = f"{people[0]} et al."
    return f"{names} {year}".strip()


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        seen: dict[str, int] = {}
        for entry in sorted_entries:
            label = author_year(entry)
            seen[label] = seen.get(label, 0) + 1
            yield label if seen[label] == 1 else f"{label}{chr(ord('a') + seen[label] - 1)}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def _index(srcdir: str) -> dict[tuple[str, str], list[str]]:
    """(first author's surname, year) -> bibtex keys, from book/references.bib."""
    from pybtex.database import parse_file

    data = parse_file(str(Path(srcdir, "book", "references.bib")))
    index: dict[tuple[str, str], list[str]] = {}
    for key, entry in data.entries.items():
        people, _ = _authors(entry)
        if people:
            index.setdefault((people[0], entry.fields.get("year", "")), []).append(key)
    return index


def _lookup(index, first: str, year: str) -> str | None:
    keys = index.get((INITIALS.sub("", first).strip(), year), [])
    return keys[0] if len(keys) == 1 else None


def link_citations(app, doctree, docname) -> None:
    if not docname.startswith("notebooks/") or app.builder.format != "html":
        return
    index = _index(app.srcdir)
    uri = app.builder.get_relative_uri(docname, BIBLIOGRAPHY)
    skip = (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw, nodes.reference, nodes.title)
    for text in list(doctree.findall(nodes.Text)):
        if isinstance(text.parent, skip):
            continue
        value, pieces, last = text.astext(), [], 0
        matches = sorted([*CITATION.finditer(value), *PARENTHETICAL.finditer(value)], key=lambda m: m.start())
        for match in matches:
            if match.start() < last:
                continue
            key = _lookup(index, match["first"], match["year"])
            if key is None:
                continue
            pieces.append(nodes.Text(value[last:match.start()]))
            link = nodes.reference("", "", internal=True, refuri=f"{uri}#cite-{key}", classes=["course-cite"])
            link += nodes.Text(match.group(0))
            pieces.append(link)
            last = match.end()
        if pieces:
            pieces.append(nodes.Text(value[last:]))
            text.parent.replace(text, pieces)


def configure(app, config) -> None:
    config.bibtex_default_style = "course_author_year"


def setup(app):
    register_plugin("pybtex.style.formatting", "course_author_year", AuthorYearStyle)
    app.connect("config-inited", configure)
    app.connect("doctree-resolved", link_citations)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
