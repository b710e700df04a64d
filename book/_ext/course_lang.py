"""One language per page in the bilingual book (local Sphinx extension).

The book has one Sphinx build for both languages (one `_config.yml`, one `_toc.yml`): Sphinx's
`language` is English, and the Spanish part would otherwise be served as `<html lang="en">` with
English theme labels, and Prev/Next would cross from the last Spanish chapter into the English part.
For every page of a language part (`notebooks/es/*`, `book/es/*` and their English twins) this
extension:

- declares the page's language (`<html lang="es">`) and renders the theme's labels ("Contents",
  "Next", "Search", the header buttons' tooltips, ...) from the Spanish message catalogs shipped
  with Sphinx, the PyData theme and the Book theme;
- translates MyST-NB's "Show code cell source" prompts and sphinx-togglebutton's hints;
- keeps Prev/Next inside the language (across the boundary they lead to the landing page, or nowhere);
- puts an ES/EN switch in every page's header (`lang-switch.html`) that lands on the twin page.

Pages outside both parts (the landing page, glossary, bibliography) are bilingual and keep `lang="en"`.
"""
from __future__ import annotations

import gettext
import posixpath
from pathlib import Path

from docutils import nodes

ROOT_DOC = "book/intro"
PREFIXES = {"es": ("notebooks/es/", "book/es/"), "en": ("notebooks/en/", "book/en/")}
LABELS = {"es": "Español", "en": "English"}
# MyST-NB prompts (after "{type}" is filled in) and sphinx-togglebutton hints.
PROMPTS_ES = {
    "Show code cell source": "Mostrar el código",
    "Hide code cell source": "Ocultar el código",
    "Show code cell output": "Mostrar la salida",
    "Hide code cell output": "Ocultar la salida",
    "Show code cell outputs": "Mostrar las salidas",
    "Hide code cell outputs": "Ocultar las salidas",
    "Show code cell content": "Mostrar la celda",
    "Hide code cell content": "Ocultar la celda",
}
HINTS_ES = {"Click to show": "Pulsa para mostrar", "Click to hide": "Pulsa para ocultar"}
TOC_TITLE_ES = "Contenido"
# Labels that Sphinx, the themes or MyST-NB write with the build's (English) translator or none at all: replaced
# in the rendered Spanish pages.
RENDERED_ES = {
    'title="Link to this heading"': 'title="Enlace a este encabezado"',
    "Toggle hidden content": "Mostrar u ocultar el contenido",
    'title="Toggle primary sidebar"': 'title="Mostrar u ocultar el menú"',
    'title="Toggle secondary sidebar"': 'title="Mostrar u ocultar el índice de la página"',
    'title="Launch on Colab"': 'title="Abrir en Colab"',
    'aria-label="Launch interactive content"': 'aria-label="Abrir el contenido interactivo"',
    'aria-label="Download this page"': 'aria-label="Descargar esta página"',
    'aria-label="Main"': 'aria-label="Principal"',
    'aria-label="Page"': 'aria-label="Página"',
    'alt="Colab logo"': 'alt="Logotipo de Colab"',
}


def page_language(docname: str) -> str | None:
    """'es' or 'en' for a page of one language part, None for the bilingual pages."""
    for lang, prefixes in PREFIXES.items():
        if docname.startswith(prefixes):
            return lang
    return None


def twin_docname(docname: str) -> str | None:
    lang = page_language(docname)
    if lang is None:
        return None
    other = "en" if lang == "es" else "es"
    return docname.replace(f"/{lang}/", f"/{other}/", 1)


def _spanish_catalogs() -> gettext.NullTranslations:
    """Sphinx's, the PyData theme's and the Book theme's Spanish catalogs, chained."""
    import pydata_sphinx_theme
    import sphinx
    import sphinx_book_theme

    sources = [
        (Path(sphinx_book_theme.__file__).parent / "theme" / "sphinx_book_theme" / "static" / "locales", "booktheme"),
        (Path(pydata_sphinx_theme.__file__).parent / "locale", "sphinx"),
        (Path(sphinx.__file__).parent / "locale", "sphinx"),
    ]
    chain: gettext.NullTranslations = gettext.NullTranslations()
    first = None
    for localedir, domain in sources:
        try:
            catalog = gettext.translation(domain, localedir=str(localedir), languages=["es"])
        except OSError:
            continue
        if first is None:
            first = catalog
        else:
            first.add_fallback(catalog)
    return first or chain


def translate_prompts(app, doctree, docname) -> None:
    if page_language(docname) != "es":
        return
    for node in doctree.findall(lambda n: isinstance(n, nodes.Element) and "prompt_show" in n.attributes):
        for key in ("prompt_show", "prompt_hide"):
            node[key] = PROMPTS_ES.get(node[key], node[key])


def _target(pagename: str, link: str) -> str:
    path = link.split("#", 1)[0]
    return posixpath.normpath(posixpath.join(posixpath.dirname(pagename), path)).removesuffix(".html")


def _localize_context(app, pagename: str, context: dict) -> None:
    catalog = app.course_es_catalog
    context["language"] = "es"
    context["_"] = context["gettext"] = catalog.gettext
    context["ngettext"] = catalog.ngettext
    context["translate"] = catalog.gettext
    context["theme_toc_title"] = TOC_TITLE_ES
    context["theme_search_bar_text"] = catalog.gettext("Search") + "..."
    scripts = []
    for script in context.get("script_files", []):
        body = (getattr(script, "attributes", None) or {}).get("body", "")
        for english, spanish in HINTS_ES.items():
            if f"'{english}'" in body:
                script = type(script)(script.filename, **{**script.attributes, "body": body.replace(english, spanish)})
        scripts.append(script)
    context["script_files"] = scripts


def per_language_page(app, pagename, templatename, context, doctree) -> None:
    lang = page_language(pagename)
    if lang is None:
        return
    if lang == "es":
        _localize_context(app, pagename, context)
    for key in ("prev", "next"):
        step = context.get(key)
        if not step or not step.get("link"):
            continue
        target = _target(pagename, step["link"])
        if page_language(target) not in (None, lang):
            if key == "prev":
                context[key] = {"link": app.builder.get_relative_uri(pagename, ROOT_DOC),
                                "title": app.env.titles[ROOT_DOC].astext()}
            else:
                context[key] = None


def set_twin(app, pagename, templatename, context, doctree) -> None:
    """`course_twin` for lang-switch.html; early, as the theme drops header templates that render empty."""
    lang, twin = page_language(pagename), twin_docname(pagename)
    if twin in app.env.found_docs:
        other = "en" if lang == "es" else "es"
        context["course_twin"] = {"link": app.builder.get_relative_uri(pagename, twin), "lang": other,
                                  "label": LABELS[other], "code": other.upper(), "current": lang.upper()}


def localize_rendered_pages(app) -> None:
    """Wrap the HTML builder's template rendering: Spanish pages get RENDERED_ES applied to their final HTML."""
    templates = getattr(app.builder, "templates", None)
    if templates is None or getattr(templates, "course_localized", False):
        return
    render = templates.render

    def render_localized(template, context):
        page = render(template, context)
        if page_language(context.get("pagename", "")) == "es":
            for english, spanish in RENDERED_ES.items():
                page = page.replace(english, spanish)
        return page

    templates.render = render_localized
    templates.course_localized = True


def configure(app, config) -> None:
    templates = str(Path(__file__).resolve().parent.parent / "_templates")
    if templates not in config.templates_path:
        config.templates_path.append(templates)
    options = config.html_theme_options
    end = list(options.get("article_header_end") or ["article-header-buttons.html"])
    if "lang-switch.html" not in end:
        options["article_header_end"] = ["lang-switch.html", *end]
    app.course_es_catalog = _spanish_catalogs()


def setup(app):
    app.connect("config-inited", configure)
    app.connect("builder-inited", localize_rendered_pages)
    app.connect("doctree-resolved", translate_prompts)
    app.connect("html-page-context", set_twin, priority=100)
    app.connect("html-page-context", per_language_page, priority=950)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
