"""Twin-notebook checks: es/en must share cells, code and display math; translations must be fresh.

Command line (run from the repository root):
    python -m course_utils.instructor.parity check            # all problems, exit 1 if any
    python -m course_utils.instructor.parity stamp NAME       # after re-translating: record both texts' hashes
    python -m course_utils.instructor.parity sync-code NAME --from es   # copy code cells to the other twin
    python -m course_utils.instructor.parity clean            # strip outputs and execution counts
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ..files import atomic_write_text

LANGS = ("es", "en")
_VOLATILE_CELL_KEYS = ("execution", "collapsed", "scrolled", "ExecuteTime", "jupyter")
_MATH = re.compile(r"\$\$(.+?)\$\$|\\begin\{(equation|align|aligned|gather)\*?\}(.+?)\\end\{\2\*?\}", re.S)


@dataclass(frozen=True)
class Problem:
    """One parity problem: notebook name, kind, cell index (or None) and what to do."""

    name: str
    kind: str
    cell: int | None
    message: str

    def __str__(self) -> str:
        where = f" cell {self.cell}" if self.cell is not None else ""
        return f"{self.name}{where}: [{self.kind}] {self.message}"


def source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def cell_hash(text: str) -> str:
    """Short sha256 of a cell text, ignoring trailing whitespace on lines."""
    norm = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:12]


def display_math(text: str) -> list[str]:
    """Display-math blocks ($$...$$ and \\begin{align}...) with whitespace collapsed."""
    return [" ".join("".join(m.group(0)).split()) for m in _MATH.finditer(text)]


def load(path: Path) -> dict:
    """Read a notebook as JSON, with a clear error for a file that is not one."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot be read as a notebook ({err})") from err
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path}: not a notebook (no 'cells' list)")
    return nb


def clean_notebook(nb: dict) -> dict:
    """Strip outputs, execution counts and volatile metadata (in place); return nb."""
    for cell in nb["cells"]:
        meta = cell.get("metadata", {})
        folded = meta.get("jupyter", {}).get("source_hidden") if isinstance(meta.get("jupyter"), dict) else None
        for key in _VOLATILE_CELL_KEYS:
            meta.pop(key, None)
        if folded:  # a folded solution stays folded in JupyterLab (not volatile: the author chose it)
            meta["jupyter"] = {"source_hidden": True}
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cell["source"] = source(cell)
    nb.get("metadata", {}).pop("widgets", None)
    return nb


def is_clean(nb: dict) -> bool:
    """True when no code cell carries outputs or an execution count."""
    return all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb["cells"] if c["cell_type"] == "code")


def _staleness(name: str, i: int, es: dict, en: dict) -> list[Problem]:
    text = {"es": source(es), "en": source(en)}
    stamps = {lang: cell.get("metadata", {}).get("i18n") for lang, cell in (("es", es), ("en", en))}
    if not all(isinstance(s, dict) and set(LANGS) <= set(s) for s in stamps.values()):
        return [Problem(name, "unstamped", i, "no translation stamp: translate, then run `stamp`")]
    changed = [lang for lang in LANGS if cell_hash(text[lang]) != stamps[lang][lang]]
    if changed == ["es"]:
        return [Problem(name, "stale", i, "the Spanish cell changed since translation: re-translate the English cell, then `stamp`")]
    if changed == ["en"]:
        return [Problem(name, "stale", i, "the English cell changed since translation: re-translate the Spanish cell, then `stamp`")]
    if changed:
        return [Problem(name, "stale", i, "both texts changed since the last stamp: check they agree, then `stamp`")]
    return []


def compare_twins(name: str, es_nb: dict, en_nb: dict) -> list[Problem]:
    """All problems between a Spanish notebook and its English twin."""
    es_cells, en_cells = es_nb["cells"], en_nb["cells"]
    kinds = ([c["cell_type"] for c in es_cells], [c["cell_type"] for c in en_cells])
    if kinds[0] != kinds[1]:
        return [Problem(name, "structure", None,
                        f"cells differ in number or type (es: {len(es_cells)}, en: {len(en_cells)})")]
    problems = []
    for i, (es, en) in enumerate(zip(es_cells, en_cells)):
        if es["cell_type"] == "code" and source(es) != source(en):
            problems.append(Problem(name, "code", i, "code cells differ: code must be byte-identical (use `sync-code`)"))
        elif es["cell_type"] == "markdown":
            if display_math(source(es)) != display_math(source(en)):
                problems.append(Problem(name, "math", i, "display math differs between the twins"))
            problems += _staleness(name, i, es, en)
    return problems


def check_tree(root: Path) -> list[Problem]:
    """Problems for every notebook under root/es and root/en (missing twins, parity, cleanliness)."""
    names = {lang: {p.name for p in (root / lang).glob("*.ipynb")} for lang in LANGS}
    problems = [Problem(n, "missing-twin", None, f"exists only in {lang}/")
                for lang, other in (("es", "en"), ("en", "es")) for n in sorted(names[lang] - names[other])]
    for n in sorted(names["es"] & names["en"]):
        es_nb, en_nb = load(root / "es" / n), load(root / "en" / n)
        problems += compare_twins(n, es_nb, en_nb)
        for lang, nb in (("es", es_nb), ("en", en_nb)):
            if not is_clean(nb):
                problems.append(Problem(n, "outputs", None, f"{lang}/ copy holds outputs: run `clean`"))
    return problems


def _save(path: Path, nb: dict) -> None:
    atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def stamp(root: Path, name: str) -> int:
    """Record the current hashes of every markdown pair of `name`; return how many were stamped."""
    es_nb, en_nb = load(root / "es" / name), load(root / "en" / name)
    structure = [p for p in compare_twins(name, es_nb, en_nb) if p.kind == "structure"]
    if structure:
        raise ValueError(str(structure[0]))
    count = 0
    for es, en in zip(es_nb["cells"], en_nb["cells"]):
        if es["cell_type"] == "markdown":
            mark = {"es": cell_hash(source(es)), "en": cell_hash(source(en))}
            es.setdefault("metadata", {})["i18n"] = dict(mark)
            en.setdefault("metadata", {})["i18n"] = dict(mark)
            count += 1
    _save(root / "es" / name, es_nb)
    _save(root / "en" / name, en_nb)
    return count


def sync_code(root: Path, name: str, source_lang: str) -> int:
    """Copy every code cell of the `source_lang` twin into the other; return how many changed."""
    if source_lang not in LANGS:
        raise ValueError(f"--from {source_lang!r}: expected one of {LANGS}")
    target_lang = "en" if source_lang == "es" else "es"
    src_nb, dst_nb = load(root / source_lang / name), load(root / target_lang / name)
    if [c["cell_type"] for c in src_nb["cells"]] != [c["cell_type"] for c in dst_nb["cells"]]:
        raise ValueError(f"{name}: the twins differ in cell structure; align them by hand first")
    changed = 0
    for s, d in zip(src_nb["cells"], dst_nb["cells"]):
        if s["cell_type"] == "code" and source(s) != source(d):
            d["source"], changed = source(s), changed + 1
    _save(root / target_lang / name, dst_nb)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.instructor.parity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "stamp", "sync-code", "clean"])
    parser.add_argument("name", nargs="?", help="notebook file name, e.g. 02_elbo.ipynb")
    parser.add_argument("--from", dest="source_lang", default="es")
    parser.add_argument("--root", type=Path, default=Path("notebooks"))
    args = parser.parse_args(argv)
    if args.command in ("stamp", "sync-code") and not args.name:
        parser.error(f"{args.command} needs a notebook name")
    missing = [str(args.root / lang) for lang in LANGS if not (args.root / lang).is_dir()]
    if missing:
        parser.error(f"--root {args.root}: expected a folder with es/ and en/ notebook folders; missing {missing}")
    if args.command == "check":
        problems = check_tree(args.root)
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s)" if problems else "twins in parity")
        return 1 if problems else 0
    if args.command == "stamp":
        print(f"stamped {stamp(args.root, args.name)} markdown pair(s) of {args.name}")
    elif args.command == "sync-code":
        print(f"copied {sync_code(args.root, args.name, args.source_lang)} code cell(s) from {args.source_lang}/")
    else:
        for path in sorted(args.root.glob("*/*.ipynb")):
            _save(path, clean_notebook(load(path)))
        print("cleaned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
