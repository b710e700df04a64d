"""Course-wide settings: compute tier, language, device and seeding (used by every chapter)."""
from __future__ import annotations

import os
import random
import sys
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

#: The one place that holds the public repository (Colab badges, install cell, book links).
REPOSITORY = "https://github.com/transformatec/vae-world-models"
BRANCH = "main"
#: Where the book is published (GitHub Pages of REPOSITORY). Notebooks link to chapters here, not by
#: relative paths, so links work in Colab and in copies on Drive; the book build makes them relative.
BOOK_URL = "https://transformatec.github.io/vae-world-models/"

TIER_VARIABLE = "COURSE_TIER"
LANG_VARIABLE = "COURSE_LANG"
TIERS = ("ci", "full")
LANGUAGES = ("es", "en")

T = TypeVar("T")
_language_override: str | None = None


def tier() -> str:
    """Compute tier from $COURSE_TIER: 'ci' (seconds per notebook) or 'full' (default). Every chapter."""
    value = os.environ.get(TIER_VARIABLE, "full").strip().lower()
    if value not in TIERS:
        raise ValueError(f"{TIER_VARIABLE}={value!r}: expected one of {TIERS}")
    return value


def budget(*, ci: T, full: T) -> T:
    """Pick a budget (epochs, sample count, grid size) by tier; the code path never changes. Every chapter."""
    return ci if tier() == "ci" else full


def set_language(lang: str) -> None:
    """Force the language of messages ('es' or 'en') for this session. Every chapter."""
    global _language_override
    if lang not in LANGUAGES:
        raise ValueError(f"lang: expected one of {LANGUAGES}, got {lang!r}")
    _language_override = lang


def _language_from_path(path: str | os.PathLike) -> str | None:
    parts = Path(path).parts
    for lang in LANGUAGES:
        if lang in parts and "notebooks" in parts:
            return lang
    return None


@lru_cache(maxsize=1)
def _language_from_colab() -> str | None:
    """The notebook's own metadata.course.lang (kept by "Copy to Drive"), asked of Colab once per kernel."""
    if "google.colab" not in sys.modules:
        return None
    try:  # Colab can hand the kernel the notebook it runs, metadata included.
        from google.colab import _message  # type: ignore

        nb = _message.blocking_request("get_ipynb", timeout_sec=5)["ipynb"]
        lang = nb.get("metadata", {}).get("course", {}).get("lang")
        return lang if lang in LANGUAGES else None
    except Exception:
        return None


def language() -> str:
    """Language of the running notebook: override, $COURSE_LANG, notebook path, Colab metadata, else 'en'.

    Every chapter.
    """
    if _language_override:
        return _language_override
    env = os.environ.get(LANG_VARIABLE, "").strip().lower()
    if env:
        if env not in LANGUAGES:
            raise ValueError(f"{LANG_VARIABLE}={env!r}: expected one of {LANGUAGES} (or leave it unset)")
        return env
    for candidate in (os.environ.get("JPY_SESSION_NAME", ""), os.getcwd()):
        lang = _language_from_path(candidate) if candidate else None
        if lang:
            return lang
    return _language_from_colab() or "en"


def tr(*, es: str, en: str) -> str:
    """Pick the text of the notebook's language (for labels passed into plots). Every chapter."""
    return es if language() == "es" else en


def device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then CPU (or `prefer` if available). Every chapter."""
    if prefer is not None:
        if prefer not in ("cuda", "mps", "cpu"):
            raise ValueError(f"prefer={prefer!r}: expected 'cuda', 'mps' or 'cpu'")
        if prefer == "cpu" or _available(prefer):
            return torch.device(prefer)
        raise RuntimeError(f"device {prefer!r} was requested but is not available here")
    for name in ("cuda", "mps"):
        if _available(name):
            return torch.device(name)
    return torch.device("cpu")


def _available(name: str) -> bool:
    if name == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a torch.Generator seeded the same. Every chapter."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
