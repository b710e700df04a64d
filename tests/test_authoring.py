import json

import pytest

from course_utils import authoring, config, parity


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
    with pytest.raises(ValueError, match="ending in .ipynb"):
        authoring.write_twins("x.txt", [], root=tmp_path)
    with pytest.raises(ValueError, match="expected 'md' or 'code'"):
        authoring.write_twins("x.ipynb", [("raw", "x")], root=tmp_path)
