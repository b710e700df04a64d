"""One vocabulary per language, checked over every markdown cell of the chapters and the glossary page.

Spanish follows the lecture's wording where it has one (encoder, decoder, el prior) and one choice
elsewhere; English uses one spelling variety (Oxford: -ize, colour, centre, grey). The glossary page
(book/notation.md) is the reference; a variant listed here fails CI, with the word to use instead.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "es": {
        r"\b(el|del|al|un) posterior\b": "la posterior",
        r"\bposterior(es)? (agregado|aproximado|verdadero|exacto)s?\b": "la posterior (femenino)",
        r"\b(la|de la|a la|una) prior\b": "el prior",
        r"\bdesviaci[oó]n(es)? t[ií]pica": "desviación estándar",
        r"\bcostes?\b": "costo",
        r"\bmallas?\b": "rejilla",
        r"\buna VAE\b": "un VAE",
        r"\b(de)?codificador(es)?\b": "encoder / decoder",
        r"\bfunci[oó]n de puntuaci[oó]n\b": "función score",
        r":D|:c\b|:\)": "(sin emoticonos)",
        r"(?m)^- [^(\n]* and [^(\n]*\(\d{4}\)": "autores unidos con «y»",
    },
    "en": {
        r"\brecognis": "recognize",
        r"\bparametriz": "parameterize",
        r"\b(normalis|optimis|minimis|maximis|regularis|summaris|generalis)(e|ed|es|ing|ation)s?\b": "-ize",
        r"\bcolor\b": "colour (in prose)",
        r"\bcenter(ed|s)?\b": "centre",
        r"\bgray\b": "grey",
        r":D|:c\b": "(no emoticons)",
    },
}


def _texts(lang: str):
    for path in sorted((ROOT / "notebooks" / lang).glob("*.ipynb")):
        for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "markdown":
                source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                yield f"{path.name} cell {i}", _prose(source)
    if lang == "es":
        yield "book/notation.md", (ROOT / "book" / "notation.md").read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """Markdown without code spans, code blocks, math and link targets (identifiers are not vocabulary)."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`", " ", text, flags=re.S)
    return re.sub(r"\]\([^)]*\)", "]", text)


@pytest.mark.parametrize("lang", sorted(FORBIDDEN))
def test_one_vocabulary(lang):
    found = [f"{where}: '{m.group(0)}' -> use '{use}'" for where, text in _texts(lang)
             for pattern, use in FORBIDDEN[lang].items() for m in re.finditer(pattern, text)]
    assert not found, "\n".join(found)


def test_the_terminology_check_can_fail():
    assert re.search(next(iter(FORBIDDEN["es"])), "cerca del posterior verdadero")
    assert re.search(r"\b(la|de la|a la|una) prior\b", _prose("muestras de la prior y `la prior` en código"))
