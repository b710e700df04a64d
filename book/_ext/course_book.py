"""Local Sphinx extension for the course book: two fixes so pages load with a clean console.

- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice, so every page declared
  `const THEBE_JS_URL` twice and the browser reported a SyntaxError. Repeated scripts are dropped.
- With no `default_mode`, the theme logs "Got invalid theme mode" on a first visit; it is set to
  "auto" (follow the reader's system setting) in the page context the theme's template reads.
"""
from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", default_theme_mode, priority=900)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
