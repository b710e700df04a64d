"""course_utils.instructor.authoring: the setup cell, Colab links, and twin notebooks written atomically."""
import json

import pytest

from course_utils import config
from course_utils.instructor import authoring, parity


def test_setup_cell_installs_from_the_one_repository_url():
    src = authoring.setup_cell()
    assert config.REPOSITORY in src and "check_environment" in src
    compile(src, "<setup>", "exec")


def test_colab_url_points_at_the_language_folder():
    url = authoring.colab_url("es", "02_elbo_jensen.ipynb")
    assert url.startswith("https://colab.research.google.com/github/")
    assert url.endswith("/blob/main/notebooks/es/02_elbo_jensen.ipynb")


def test_write_twins_writes_identical_code_and_stamped_prose(tmp_path):
    cells = [authoring.header("x.ipynb", "Hola", "Hello"), ("code", "a = 1"), ("md", "$$a$$ uno", "$$a$$ one"),
             ("code", "b = 2", ["hide-input"])]
    es, en = authoring.write_twins("x.ipynb", cells, root=tmp_path)
    nb_es, nb_en = json.loads(es.read_text()), json.loads(en.read_text())
    assert nb_es["metadata"]["course"]["lang"] == "es" and nb_en["metadata"]["course"]["lang"] == "en"
    assert nb_en["cells"][3]["metadata"]["tags"] == ["hide-input"]
    assert parity.check_tree(tmp_path) == []


def test_write_twins_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match=r"name 'x.txt': expected a file name ending in .ipynb"):
        authoring.write_twins("x.txt", [], root=tmp_path)
    with pytest.raises(ValueError, match="cell 0: kind 'raw', expected 'md' or 'code'"):
        authoring.write_twins("x.ipynb", [("raw", "x")], root=tmp_path)


def test_write_twins_replaces_existing_notebooks_without_leftovers(tmp_path):
    cells = [authoring.header("x.ipynb", "Hola", "Hello"), ("code", "a = 1")]
    authoring.write_twins("x.ipynb", cells, root=tmp_path)
    es, en = authoring.write_twins("x.ipynb", cells + [("code", "b = 2")], root=tmp_path)
    assert len(json.loads(es.read_text())["cells"]) == 3 == len(json.loads(en.read_text())["cells"])
    for lang in ("es", "en"):
        assert sorted(p.name for p in (tmp_path / lang).iterdir()) == ["x.ipynb"], "no temporary .part file is left"


def test_write_twins_failing_half_way_keeps_the_old_notebooks(tmp_path, monkeypatch):
    cells = [authoring.header("x.ipynb", "Hola", "Hello"), ("code", "a = 1")]
    es, en = authoring.write_twins("x.ipynb", cells, root=tmp_path)
    before = es.read_text(), en.read_text()

    def refuse(obj, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(authoring.json, "dumps", refuse)
    with pytest.raises(RuntimeError, match="disk full"):
        authoring.write_twins("x.ipynb", cells + [("code", "b = 2")], root=tmp_path)
    assert (es.read_text(), en.read_text()) == before
