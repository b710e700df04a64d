"""Environment check run by every notebook's first cell (chapter 00 explains it)."""
from __future__ import annotations

import platform
import sys
from importlib import metadata
from dataclasses import asdict, dataclass

import torch

from . import config

_LABELS = {
    "es": {
        "title": "Entorno del curso",
        "where": "Dónde", "colab": "Google Colab", "local": "máquina local / CI",
        "python": "Python", "torch": "PyTorch", "device": "Dispositivo",
        "widgets": "ipywidgets", "none": "no instalado", "tier": "Nivel de cómputo",
        "tiers": {"ci": "ci (rápido: presupuestos mínimos)", "full": "full (completo: presupuestos del curso)"},
        "old_python": "Aviso: el curso se prueba con Python 3.10-3.12.",
        "no_widgets": "Aviso: sin ipywidgets los deslizadores no funcionan: pip install ipywidgets",
    },
    "en": {
        "title": "Course environment",
        "where": "Where", "colab": "Google Colab", "local": "local machine / CI",
        "python": "Python", "torch": "PyTorch", "device": "Device",
        "widgets": "ipywidgets", "none": "not installed", "tier": "Compute tier",
        "tiers": {"ci": "ci (fast: minimal budgets)", "full": "full (the course's budgets)"},
        "old_python": "Warning: the course is tested with Python 3.10-3.12.",
        "no_widgets": "Warning: without ipywidgets the sliders do not work: pip install ipywidgets",
    },
}


@dataclass(frozen=True)
class Environment:
    """What the first cell of a notebook found. Every chapter."""

    colab: bool
    python: str
    torch: str
    device: str
    ipywidgets_major: int | None
    tier: str
    language: str


def _ipywidgets_major() -> int | None:
    # Read the installed version without importing ipywidgets (only course_utils.widgets imports it).
    try:
        return int(metadata.version("ipywidgets").split(".")[0])
    except metadata.PackageNotFoundError:
        return None


def detect() -> Environment:
    """Detect Colab, Python, torch, device, ipywidgets major version, tier and language. Every chapter."""
    return Environment(
        colab="google.colab" in sys.modules,
        python=platform.python_version(),
        torch=torch.__version__,
        device=str(config.device()),
        ipywidgets_major=_ipywidgets_major(),
        tier=config.tier(),
        language=config.language(),
    )


def report(env: Environment, lang: str | None = None) -> str:
    """The text check_environment prints, in `lang` (default: the notebook's language). Every chapter."""
    lang = lang or env.language
    if lang not in _LABELS:
        raise ValueError(f"lang={lang!r}: expected one of {tuple(_LABELS)}")
    t = _LABELS[lang]
    widgets = f"{env.ipywidgets_major}.x" if env.ipywidgets_major is not None else t["none"]
    rows = [
        (t["where"], t["colab"] if env.colab else t["local"]),
        (t["python"], env.python),
        (t["torch"], env.torch),
        (t["device"], env.device),
        (t["widgets"], widgets),
        (t["tier"], t["tiers"][env.tier]),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [t["title"]] + [f"  {k:<{width}} : {v}" for k, v in rows]
    if tuple(int(p) for p in env.python.split(".")[:2]) < (3, 10):
        lines.append(t["old_python"])
    if env.ipywidgets_major is None:
        lines.append(t["no_widgets"])
    return "\n".join(lines)


def check_environment(lang: str | None = None) -> dict:
    """Print what this runtime is (in the notebook's language) and return it as a dict. Every chapter."""
    env = detect()
    print(report(env, lang))
    return asdict(env)
