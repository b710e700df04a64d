"""The package's import rules, read from the source (ast), so a new module cannot break them quietly.

- `gaussian`, `losses`, `quantize` and everything in `models/` import only torch (and each other, and `validate`);
- `ipywidgets` is imported only by `display/widgets.py`, and nothing in the package imports that module;
- `gymnasium` only in the environments (`course_utils/envs/`) and the world-model home (`course_utils/world/`),
  `cma` only in the latter (chapter 08);
- no module imports upward: each module sits in a layer and imports only from its own layer or below.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "course_utils"
STDLIB_OK_FOR_MATH = {"__future__", "math", "typing", "dataclasses", "collections", "functools"}

# Lower layers must not import higher ones. A module's layer is looked up by its dotted name
# relative to the package, longest prefix first.
LAYERS = {
    "": 0, "config": 0, "files": 0, "validate": 0,
    "gaussian": 1, "losses": 1, "montecarlo": 1, "quantize": 1,
    "models": 2, "latent_models": 2, "symbolic": 2, "estimators": 2,
    "elbo": 3, "quadrature": 3, "objectives": 3, "data": 3, "disentanglement": 3, "envs": 3,
    "train": 4, "checkpoints": 4, "check": 4, "environment": 4, "exercises": 4,
    "display": 5, "world": 5,
    "instructor": 6,
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _imports(path: Path) -> list[str]:
    """Absolute dotted names of everything `path` imports (relative imports resolved to course_utils.*)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["course_utils", *path.relative_to(PACKAGE).parent.parts]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names += [f"{module}.{a.name}" if not node.module else module for a in node.names]
            else:
                names.append(node.module)
    return names


def _layer(name: str) -> int:
    parts = name.split(".")
    for k in range(len(parts), -1, -1):
        key = ".".join(parts[:k])
        if key in LAYERS:
            return LAYERS[key]
    raise KeyError(name)


def test_every_module_has_a_layer():
    unknown = [_name(p) for p in _modules() if _name(p) and _name(p).split(".")[0] not in LAYERS]
    assert not unknown, f"add these modules to LAYERS in {__file__}: {unknown}"


@pytest.mark.parametrize("path", [p for p in _modules() if _name(p).split(".")[0] in ("gaussian", "losses", "models", "quantize", "validate")],
                         ids=_name)
def test_math_and_models_import_only_torch(path):
    allowed_internal = ("course_utils.gaussian", "course_utils.losses", "course_utils.models", "course_utils.quantize",
                        "course_utils.validate")
    bad = [n for n in _imports(path)
           if n.split(".")[0] not in {"torch"} | STDLIB_OK_FOR_MATH and not n.startswith(allowed_internal)]
    assert not bad, f"{_name(path)} may import only torch (and gaussian, losses, models), imports {bad}"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_heavy_or_optional_libraries_stay_in_their_home(path):
    name = _name(path)
    imports = {n.split(".")[0] for n in _imports(path)}
    if name != "display.widgets":
        assert "ipywidgets" not in imports, f"{name}: only display/widgets.py may import ipywidgets"
        assert "course_utils.display.widgets" not in _imports(path), f"{name} imports display.widgets"
    if not name.startswith("world"):
        assert "cma" not in imports, f"{name}: cma belongs in course_utils/world/"
        if not name.startswith("envs"):
            assert "gymnasium" not in imports, f"{name}: gymnasium belongs in course_utils/envs/ and course_utils/world/"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_no_module_imports_upward(path):
    name = _name(path)
    if not name:
        return
    own = _layer(name)
    upward = [n for n in _imports(path) if n.startswith("course_utils.")
              and _layer(n.removeprefix("course_utils.")) > own]
    assert not upward, f"{name} (layer {own}) imports from a higher layer: {upward}"


def test_the_rules_can_fail(tmp_path):
    """The reader finds a relative import that goes upward, so the upward test is not vacuous."""
    fake = PACKAGE / "models" / "vae.py"
    tree_imports = _imports(fake)
    assert "course_utils.gaussian" in tree_imports
    assert _layer("display.plotting") > _layer("models.vae")
