"""Local Sphinx extension for the course book.

- Chapters cite the course bibliography: every arXiv id a chapter mentions (plain text or a link)
  gets a link to its entry on the bibliography page (built from book/references.bib, whose entries
  carry the ids `cite-<key>`). The notebooks keep plain references, readable in Colab too. An arXiv
  id missing from references.bib is a build warning (an error under -W).

- Notebooks link to other chapters by their address on the published book (`config.BOOK_URL`), so the
  links still work in Colab and in a copy on Drive, where a relative `../en/NN.ipynb` leads nowhere.
  In the built book those addresses become relative links again (the site works offline and from any
  host); an address that names no page of the book is a build warning (an error under -W).

An edit to any extension here rebuilds every page (Sphinx does not notice edited extensions by itself).

Two fixes so pages load with a clean console:

- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice, so every page declared
  `const THEBE_JS_URL` twice and the browser reported a SyntaxError. Repeated scripts are dropped.
- With no `default_mode`, the theme logs "Got invalid theme mode" on a first visit; it is set to
  "auto" (follow the reader's system setting) in the page context the theme's template reads.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

ARXIV_ID = re.compile(r"\b(\d{4}\.\d{4,5})\b")
ARXIV_MENTION = re.compile(r"arXiv[:\s]*(\d{4}\.\d{4,5})", re.IGNORECASE)
BIBLIOGRAPHY = "book/bibliography"
logger = logging.getLogger(__name__)


def _arxiv_keys(srcdir: str) -> dict[str, str]:
    """arXiv id -> bibtex key, read from book/references.bib."""
    text = Path(srcdir, "book", "references.bib").read_text(encoding="utf-8")
    keys: dict[str, str] = {}
    for entry in re.split(r"^@", text, flags=re.MULTILINE)[1:]:
        key = entry.split("{", 1)[1].split(",", 1)[0].strip()
        for arxiv in ARXIV_ID.findall(entry):
            keys.setdefault(arxiv, key)
    return keys


def _bib_link(app, docname: str, key: str) -> nodes.reference:
    uri = app.builder.get_relative_uri(docname, BIBLIOGRAPHY) + f"#cite-{key}"
    link = nodes.reference("", "", internal=True, refuri=uri, reftitle=key, classes=["course-bib"])
    link += nodes.Text("[bib]")
    return link


def link_arxiv_to_bibliography(app, doctree, docname) -> None:
    if not docname.startswith("notebooks/") or app.builder.format != "html":
        return
    keys = _arxiv_keys(app.srcdir)
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if isinstance(parent, (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw)):
            continue
        found = [(m.group(1), m) for m in ARXIV_MENTION.finditer(text.astext())]
        for arxiv, _ in found:
            if arxiv not in keys:
                logger.warning(f"arXiv:{arxiv} is cited in {docname} but missing from book/references.bib",
                               location=(docname, text.line if hasattr(text, "line") else None))
        links = [_bib_link(app, docname, keys[a]) for a, _ in found if a in keys]
        if not links:
            continue
        anchor = parent if isinstance(parent, nodes.reference) else text
        holder = anchor.parent
        index = holder.index(anchor) + 1
        for link in reversed(links):
            holder.insert(index, link)
            holder.insert(index, nodes.Text(" "))


def localize_book_links(app, doctree, docname) -> None:
    """Turn links to BOOK_URL/<page>.html into relative links to <page> in this build."""
    from course_utils.config import BOOK_URL

    if app.builder.format != "html":
        return
    for ref in list(doctree.findall(nodes.reference)):
        uri = ref.get("refuri", "")
        if not uri.startswith(BOOK_URL):
            continue
        path, _, fragment = uri[len(BOOK_URL):].partition("#")
        target = path.removesuffix(".html")
        if target not in app.env.found_docs:
            logger.warning(f"{docname} links to {uri}, which is not a page of this book", location=docname)
            continue
        ref["refuri"] = app.builder.get_relative_uri(docname, target) + (f"#{fragment}" if fragment else "")
        ref["internal"] = True


def _script_key(script) -> tuple:
    # The same inline script is registered once with filename None and once with "": same key.
    attrs = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", None) or "", tuple(sorted(attrs.items())))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def default_theme_mode(app, pagename, templatename, context, doctree) -> None:
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def add_static_files(app, config) -> None:
    """book/_static/course.css on every page; the compute tier that built the book as `{{ course_tier }}`."""
    from course_utils.config import tier

    static = str(Path(__file__).resolve().parent.parent / "_static")
    if static not in config.html_static_path:
        config.html_static_path.append(static)
    config.myst_substitutions = {**(config.myst_substitutions or {}), "course_tier": tier()}


def _extensions_digest() -> str:
    """A hash of book/_ext/*.py: a config value, so that editing an extension rebuilds every page."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def setup(app):
    # Sphinx rebuilds every page when an "env" config value changes, but it does not notice edited extensions.
    app.add_config_value("course_extensions_digest", _extensions_digest(), "env")
    app.connect("config-inited", add_static_files)
    app.add_css_file("course.css")
    app.connect("doctree-resolved", link_arxiv_to_bibliography)
    app.connect("doctree-resolved", localize_book_links)
    app.connect("html-page-context", default_theme_mode, priority=900)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
