"""course_utils.instructor.parity, the es/en checker: it must pass on the course and fail on each kind of drift."""
import json
import re
from pathlib import Path

import pytest

from course_utils.instructor import authoring, parity

ROOT = Path(__file__).resolve().parent.parent / "notebooks"
CELLS = [
    authoring.header("t.ipynb", "Título", "Title"),
    ("code", authoring.setup_cell()),
    ("md", "La evidencia: $$\\log p(x) = \\log \\int p(x, z)\\, dz$$", "The evidence: $$\\log p(x) = \\log \\int p(x, z)\\, dz$$"),
    ("code", "import math\nvalue = math.log(2.0)\nassert value > 0"),
]


@pytest.fixture
def twins(tmp_path):
    authoring.write_twins("t.ipynb", CELLS, root=tmp_path)
    return tmp_path


def edit(root: Path, lang: str, index: int, text: str, keep_stamp: bool = True) -> None:
    path = root / lang / "t.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][index]["source"] = text
    path.write_text(json.dumps(nb))


def kinds(root: Path) -> list[str]:
    return [p.kind for p in parity.check_tree(root)]


def test_fresh_twins_are_in_parity(twins):
    assert parity.check_tree(twins) == []


def test_editing_one_twins_code_cell_fails(twins):
    edit(twins, "en", 3, "import math\nvalue = math.log(3.0)\nassert value > 0")
    problems = parity.check_tree(twins)
    assert [(p.kind, p.cell) for p in problems] == [("code", 3)]
    assert parity.main(["check", "--root", str(twins)]) == 1


def test_sync_code_repairs_the_twin(twins):
    edit(twins, "en", 3, "value = 3")
    assert parity.sync_code(twins, "t.ipynb", "es") == 1
    assert parity.check_tree(twins) == []


def test_different_display_math_fails(twins):
    edit(twins, "en", 2, "The evidence: $$\\log p(x) = \\int \\log p(x, z)\\, dz$$")
    assert "math" in kinds(twins)


def test_edited_spanish_prose_makes_the_english_stale(twins):
    edit(twins, "es", 2, "La evidencia, ahora mejor explicada: $$\\log p(x) = \\log \\int p(x, z)\\, dz$$")
    problems = parity.check_tree(twins)
    assert [p.kind for p in problems] == ["stale"]
    assert "Spanish cell changed" in problems[0].message and problems[0].cell == 2
    assert parity.stamp(twins, "t.ipynb") == 2
    assert parity.check_tree(twins) == []


def test_edited_english_prose_makes_the_spanish_stale(twins):
    edit(twins, "en", 2, "The evidence, better: $$\\log p(x) = \\log \\int p(x, z)\\, dz$$")
    assert "English cell changed" in parity.check_tree(twins)[0].message


def test_structure_missing_twin_and_outputs_fail(twins):
    nb = json.loads((twins / "en" / "t.ipynb").read_text())
    nb["cells"].pop()
    (twins / "en" / "t.ipynb").write_text(json.dumps(nb))
    assert kinds(twins) == ["structure"]
    (twins / "es" / "only.ipynb").write_text((twins / "es" / "t.ipynb").read_text())
    assert "missing-twin" in kinds(twins)


def test_saved_outputs_fail_until_cleaned(twins):
    nb = json.loads((twins / "es" / "t.ipynb").read_text())
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x"}]
    nb["cells"][3]["execution_count"] = 7
    (twins / "es" / "t.ipynb").write_text(json.dumps(nb))
    assert kinds(twins) == ["outputs"]
    assert parity.main(["clean", "--root", str(twins)]) == 0
    assert parity.check_tree(twins) == []


def test_unreadable_notebook_says_so(tmp_path):
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad.ipynb.*cannot be read as a notebook"):
        parity.load(tmp_path / "bad.ipynb")


def test_cli_requires_a_name_for_stamp(capsys):
    with pytest.raises(SystemExit, match="^2$") as exit_info:
        parity.main(["stamp"])
    assert exit_info.value.code == 2
    assert "stamp needs a notebook name" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "clean", "stamp t.ipynb", "sync-code t.ipynb"])
def test_cli_refuses_a_root_without_language_folders(tmp_path, capsys, command):
    with pytest.raises(SystemExit, match="^2$") as exit_info:
        parity.main([*command.split(), "--root", str(tmp_path / "nope")])
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert f"--root {tmp_path / 'nope'}: expected a folder with es/ and en/ notebook folders" in err
    assert str(tmp_path / "nope" / "es") in err and str(tmp_path / "nope" / "en") in err


def test_cli_refuses_a_root_with_only_one_language(twins, capsys):
    import shutil

    shutil.rmtree(twins / "en")
    with pytest.raises(SystemExit, match="^2$"):
        parity.main(["check", "--root", str(twins)])
    err = capsys.readouterr().err
    assert "missing" in err and str(twins / "en") in err and str(twins / "es") + "'" not in err


def test_cli_check_passes_on_twins_in_parity(twins, capsys):
    assert parity.main(["check", "--root", str(twins)]) == 0
    assert "twins in parity" in capsys.readouterr().out


def test_stamp_and_sync_code_write_atomically(twins):
    edit(twins, "en", 3, "value = 3")
    parity.sync_code(twins, "t.ipynb", "es")
    parity.stamp(twins, "t.ipynb")
    for lang in parity.LANGS:
        assert sorted(p.name for p in (twins / lang).iterdir()) == ["t.ipynb"], "no temporary .part file is left"


# --- the course itself -------------------------------------------------------------------------

NOTEBOOKS = sorted(p.name for p in (ROOT / "es").glob("*.ipynb"))


def test_course_has_notebooks_in_both_languages():
    assert NOTEBOOKS, "no notebooks found under notebooks/es"
    assert NOTEBOOKS == sorted(p.name for p in (ROOT / "en").glob("*.ipynb"))


def test_course_notebooks_are_in_parity():
    problems = parity.check_tree(ROOT)
    assert problems == [], "\n".join(map(str, problems))


@pytest.mark.parametrize("name", NOTEBOOKS)
@pytest.mark.parametrize("lang", parity.LANGS)
def test_course_notebook_shape(name, lang):
    nb = parity.load(ROOT / lang / name)
    cells = nb["cells"]
    other = "en" if lang == "es" else "es"
    head = parity.source(cells[0])
    assert head.startswith("# ") and authoring.book_url(other, name) in head, "header must link to the twin"
    relative = [link for c in cells if c["cell_type"] == "markdown"
                for link in re.findall(r"\]\((?!https?://|#)([^)\s]+)\)", parity.source(c))]
    assert not relative, f"relative links break in Colab and in copies on Drive; use authoring.book_url: {relative}"
    assert authoring.colab_url(lang, name) in head, "header must carry the Colab badge for this language"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert parity.source(first_code) == authoring.setup_cell(), "first code cell must be authoring.setup_cell()"
    assert nb["metadata"]["course"]["lang"] == lang
    assert nb["metadata"]["kernelspec"]["display_name"].endswith(f"({lang})"), "regenerate with authoring"
    h1 = [c for c in cells if c["cell_type"] == "markdown" and parity.source(c).lstrip().startswith("# ")]
    assert len(h1) == 1, "exactly one H1 (the title) per notebook"
    text = "\n".join(parity.source(c) for c in cells)
    assert "arXiv" in text or "arxiv" in text, "references with arXiv ids are expected"
    assert "assert " in text, "derivation checks are visible asserts"


def test_module_entry_point_runs_under_its_new_name(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "course_utils.instructor.parity", "check", "--root", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "usage: python -m course_utils.instructor.parity" in result.stderr
    assert "expected a folder with es/ and en/ notebook folders" in result.stderr


def test_clean_keeps_a_folded_solution_folded():
    nb = {"cells": [{"cell_type": "code", "metadata": {"jupyter": {"source_hidden": True, "outputs_hidden": False},
                                                       "cellView": "form", "tags": ["hide-input"]},
                     "source": "x = 1", "outputs": [], "execution_count": 3}], "metadata": {}}
    parity.clean_notebook(nb)
    meta = nb["cells"][0]["metadata"]
    assert meta["jupyter"] == {"source_hidden": True} and meta["cellView"] == "form" and meta["tags"] == ["hide-input"]
    assert nb["cells"][0]["execution_count"] is None
