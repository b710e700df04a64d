"""Exercise solutions collapsed in the book (local Sphinx extension).

In the notebooks each exercise's solution is a `#### Solution` (`#### Solución`) section: the
explanation, the solution's code cell and its check's output. In the built book the whole section
becomes one native `<details>` dropdown (no JavaScript needed): nothing of the solution is visible
until the reader opens it, and the page's table of contents does not list it. The solution's code, folded in the
notebook (tag hide-input), is shown unfolded inside the dropdown: one click opens all of it.
"""
from __future__ import annotations

from docutils import nodes

TITLES = {"Solution", "Solución"}


def collapse_solutions(app, doctree) -> None:
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    for section in list(doctree.findall(nodes.section)):
        title = section.next_node(nodes.title)
        if title is None or title.parent is not section or title.astext().strip() not in TITLES:
            continue
        box = nodes.container(classes=["cu-solution"], ids=list(section["ids"]), names=list(section["names"]))
        box += nodes.raw("", f'<details class="cu-solution"><summary>{title.astext().strip()}</summary>\n',
                         format="html")
        for cell in section.findall(nodes.container):
            cell.attributes.pop("hide_mode", None)  # one click opens the solution: no second fold for its code
        box.extend(child for child in section.children if child is not title)
        box += nodes.raw("", "</details>\n", format="html")
        section.replace_self(box)


def setup(app):
    # Before the table-of-contents collector (priority 500) reads the sections.
    app.connect("doctree-read", collapse_solutions, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
