"""Save and load models as safetensors weights + a JSON description (class, config, metadata). Chapter 05.

A checkpoint `path` is two files: path.safetensors (tensors only, no pickle) and path.json
({"class": "MLPVAE", "config": {...}, "sha256": ..., "torch_version": ..., "extra": {...}}).
The class is looked up by name in course_utils.models.

A save is all-or-nothing for the pair: everything is encoded before a file is touched; the new
description is staged as path.json.pending, the weights replaced, then the description. A crash
in between leaves either the old pair (the pending file is dropped at the next load) or the new
weights with their staged description (the next load completes the save). A load builds the
model on PyTorch's "meta" device first, so a config that does not match the file never allocates.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as save_bytes

from . import __version__, models
from .files import atomic_write, atomic_write_text, sha256_of

PRETRAINED = Path(__file__).parent / "pretrained"
FORMAT = "course_utils.checkpoint/1"


def _base(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".safetensors", ".json") else path


def _files(path: str | os.PathLike) -> tuple[Path, Path]:
    """(path.safetensors, path.json); a suffix .safetensors or .json on `path` is dropped first."""
    base = _base(path)
    return base.parent / f"{base.name}.safetensors", base.parent / f"{base.name}.json"


def _dumps(meta: dict) -> str:
    """JSON with indent 2, but each list of numbers on one line (long loss histories stay readable)."""
    inline: dict[str, str] = {}

    def mark(obj):
        if isinstance(obj, dict):
            return {k: mark(v) for k, v in obj.items()}
        if isinstance(obj, list) and obj and all(type(v) in (int, float) for v in obj):
            inline[f"@inline{len(inline)}@"] = json.dumps(obj)
            return f"@inline{len(inline) - 1}@"
        return obj

    text = json.dumps(mark(meta), indent=2)
    for key, value in inline.items():
        text = text.replace(f'"{key}"', value)
    return text + "\n"


def save(model: torch.nn.Module, path: str | os.PathLike, *, extra: dict | None = None,
         dtype: torch.dtype | None = None) -> tuple[Path, Path]:
    """Write path.safetensors and path.json; dtype=torch.float16 halves the file (load casts back). Chapter 05."""
    if not hasattr(model, "config"):
        raise TypeError(f"{type(model).__name__} has no `config` property: cannot record how to rebuild it")
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype: expected a floating-point torch.dtype (e.g. torch.float16) or None, got {dtype!r}")
    name = type(model).__name__
    if getattr(models, name, None) is not type(model):
        raise TypeError(f"{name} is not a class of course_utils.models: load() could not find it by name")
    weights, description = _files(path)
    tensors = {k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in model.state_dict().items()}
    blob = save_bytes(tensors, metadata={"format": "pt"})
    meta = {"format": FORMAT, "class": name, "config": model.config, "sha256": hashlib.sha256(blob).hexdigest(),
            "stored_dtype": str(dtype or next(iter(tensors.values())).dtype).replace("torch.", ""),
            "torch_version": torch.__version__, "course_utils_version": __version__, "extra": extra or {}}
    try:
        text = _dumps(meta)  # everything is encoded before a file is touched
    except (TypeError, ValueError) as err:
        raise TypeError(f"extra: every value must be JSON-encodable (str, int, float, bool, None, list, dict); "
                        f"{err}") from err
    pending = _pending(description)
    atomic_write_text(pending, text)  # 1. the new description, complete, beside the old one
    atomic_write(weights, lambda tmp: Path(tmp).write_bytes(blob))  # 2. the new weights
    os.replace(pending, description)  # 3. commit
    return weights, description


def _pending(description: Path) -> Path:
    return description.with_name(description.name + ".pending")


def _finish_interrupted_save(weights: Path, description: Path) -> None:
    """Complete (or drop) a save that stopped between its renames; see the module docstring."""
    pending = _pending(description)
    if not pending.exists():
        return
    try:
        staged = json.loads(pending.read_text(encoding="utf-8"))
        new_weights_in_place = weights.exists() and staged.get("sha256") == sha256_of(weights)
    except (OSError, ValueError):
        new_weights_in_place = False
    if new_weights_in_place:
        os.replace(pending, description)
    else:
        pending.unlink(missing_ok=True)


def read_description(path: str | os.PathLike) -> dict:
    """The JSON description of checkpoint `path` (class, config, sha256, extra metadata). Chapter 05."""
    weights, description = _files(path)
    _finish_interrupted_save(weights, description)
    if not description.exists():
        raise FileNotFoundError(f"checkpoint description {description} is missing; expected the .json "
                                "written by course_utils.checkpoints.save next to the .safetensors file")
    try:
        meta = json.loads(description.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{description}: not valid JSON ({err})") from err
    if not isinstance(meta, dict) or not {"class", "config"} <= set(meta):
        raise ValueError(f"{description}: expected a JSON object with 'class' and 'config' keys")
    if meta.get("format", FORMAT) != FORMAT:
        raise ValueError(f"{description}: format {meta['format']!r} is not one this course_utils reads "
                         f"(expected {FORMAT!r}); update course_utils")
    if not isinstance(meta["config"], dict):
        raise ValueError(f"{description}: 'config' must be a JSON object of constructor arguments, "
                         f"got {type(meta['config']).__name__}")
    return meta


def _model_class(meta: dict, model_cls):
    name = meta["class"]
    if model_cls is None:
        model_cls = getattr(models, name, None)
        if not (isinstance(model_cls, type) and issubclass(model_cls, torch.nn.Module)):
            raise ValueError(f"checkpoint class {name!r} is not in course_utils.models "
                             f"(expected one of {models.__all__})")
    elif model_cls.__name__ != name:
        raise ValueError(f"checkpoint holds a {name}, but model_cls={model_cls.__name__} was given")
    return model_cls


def _build(meta: dict, model_cls, device: str | torch.device = "cpu") -> torch.nn.Module:
    try:
        with torch.device(device):
            return model_cls(**meta["config"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"config {meta['config']} does not fit {model_cls.__name__}: {err}") from err


def _read_tensors(weights: Path, meta: dict) -> dict[str, torch.Tensor]:
    if not weights.exists():
        raise FileNotFoundError(f"checkpoint weights {weights} are missing (expected beside {weights.stem}.json)")
    if meta.get("sha256") and sha256_of(weights) != meta["sha256"]:
        raise ValueError(f"{weights}: sha256 differs from the one recorded in the JSON; "
                         "the file is corrupt, truncated or from another checkpoint")
    try:
        tensors = load_file(weights)
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{weights}: not a readable safetensors file, corrupt or truncated ({err})") from err
    bad = sorted(k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all())
    if bad:
        raise ValueError(f"{weights}: tensors {bad[:5]} hold NaN or infinite values (a diverged training run?)")
    return tensors


def _check_tensors(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    misshaped = [f"{k}: file {tuple(tensors[k].shape)}, model {tuple(expected[k].shape)}"
                 for k in sorted(set(expected) & set(tensors)) if tensors[k].shape != expected[k].shape]
    problems = [f"missing tensors {missing}" if missing else "",
                f"unexpected tensors {unexpected}" if unexpected else "",
                f"mis-shaped tensors [{'; '.join(misshaped)}]" if misshaped else ""]
    if any(problems):
        raise ValueError(f"{source} does not match {type(model).__name__}({model.config}): "
                         + ", ".join(p for p in problems if p))


def load(path: str | os.PathLike, model_cls: type | None = None,
         device: str | torch.device | None = None) -> torch.nn.Module:
    """Rebuild the model saved at `path` (class from the JSON unless model_cls), in eval mode, on device (CPU).

    Chapter 05.
    """
    weights, description = _files(path)
    meta = read_description(description)
    model_cls = _model_class(meta, model_cls)
    tensors = _read_tensors(weights, meta)
    _check_tensors(_build(meta, model_cls, "meta"), tensors, weights)  # shapes only: nothing allocated
    model = _build(meta, model_cls)
    reference = model.state_dict()
    model.load_state_dict({k: v.to(reference[k].dtype) for k, v in tensors.items()})
    return model.to(device or "cpu").eval()


def available() -> list[str]:
    """Names of the pretrained checkpoints shipped in course_utils/pretrained/. Chapter 05."""
    return sorted(p.stem for p in PRETRAINED.glob("*.json"))


def pretrained(name: str, device: str | torch.device | None = None) -> torch.nn.Module:
    """A shipped pretrained model by name, e.g. pretrained("mnist_mlp_vae_z2"), in eval mode. Chapter 05."""
    if name not in available():
        raise ValueError(f"no pretrained checkpoint {name!r}; available: {available()}")
    return load(PRETRAINED / name, device=device)
