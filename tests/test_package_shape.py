"""The package reads like the course: every public function and class says which chapter it belongs to
(a d2l-style back-link), and each module's docstring says what it is for."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import course_utils

CHAPTER = re.compile(r"\b[Cc]hapters? \d\d|\b[Ee]very chapter")
MODULES = [m.name for m in pkgutil.walk_packages(course_utils.__path__, "course_utils.")
           if ".instructor" not in m.name]


def _public(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield name, obj


@pytest.mark.parametrize("name", MODULES)
def test_module_docstring_names_its_job(name):
    module = importlib.import_module(name)
    assert module.__doc__ and len(module.__doc__.strip()) > 40, f"{name}: needs a docstring saying what it is for"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_docstring_links_back_to_a_chapter(name):
    module = importlib.import_module(name)
    missing = [n for n, obj in _public(module) if not (obj.__doc__ and CHAPTER.search(obj.__doc__))]
    assert not missing, f"{name}: public names without a 'Chapter NN' back-link in their docstring: {missing}"


def test_the_back_link_check_can_fail():
    def undocumented():
        pass

    assert not CHAPTER.search(undocumented.__doc__ or "")
    assert CHAPTER.search("Draw eps ~ N(0, I). Chapter 04.")


def test_init_docstring_maps_every_chapter_to_modules():
    doc = course_utils.__doc__
    for chapter in ("00", "01", "02", "03", "04", "05", "06", "07", "08"):
        assert re.search(rf"^\s*{chapter} ", doc, re.M), f"chapter {chapter} missing from the map in __init__"
