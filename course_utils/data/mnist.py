"""MNIST as in-memory tensors: a bundled real-MNIST subset (offline) or the full set (downloaded). Chapter 05.

`load_mnist` returns x (N, 1, 28, 28) float32 in [0, 1] and y (N,) int64.
- source="bundled": 5,000 real MNIST digits shipped in assets/mnist_5k.npz (see assets/ATTRIBUTION.md),
  split once, stratified by digit: 4,000 train / 1,000 test (400 / 100 per digit).
- source="full": the standard 60,000 / 10,000 IDX files, downloaded once into a cache folder
  ($COURSE_DATA/mnist if set, else ~/.cache/course_utils/mnist), each checked by sha256 and
  written atomically (see course_utils.data.download).
- source="auto": "full" when all four files are cached or downloadable, else "bundled" with a
  printed notice (once per session, in the notebook's language). A failure is remembered for the
  kernel's life, and each connection may stall at most AUTO_TIMEOUT seconds, so an offline machine
  falls back at once instead of after minutes.
"""
from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from ..config import tr
from .download import DownloadError, download_file

#: Public mirrors of the four MNIST files, tried in order (torchvision's S3 mirror, TFDS's
#: Google Cloud bucket, Y. LeCun's original page).
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
#: sha256 of the gzipped files, as listed in tensorflow/datasets url_checksums/mnist.txt.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
SPLITS = ("train", "test")
SOURCES = ("auto", "bundled", "full")
BUNDLED = Path(__file__).parents[1] / "assets" / "mnist_5k.npz"
#: Seconds a connection or read may stall in source="auto" before the next mirror is tried.
AUTO_TIMEOUT = 5.0
IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def load_mnist(split: str = "train", *, source: str = "auto", binarize: bool = False, seed: int = 0,
               cache_dir: str | os.PathLike | None = None, mirrors: Sequence[str] = MIRRORS,
               sha256: Mapping[str, str] = SHA256, timeout: float = 30.0) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST split as x (N, 1, 28, 28) float32 in [0, 1] and y (N,) int64. Chapter 05.

    binarize=True applies dynamic (stochastic) binarization: each pixel becomes 1 with probability
    equal to its grey level, x_bin ~ Bernoulli(x), drawn once per call from a torch.Generator seeded
    with `seed` (same seed, same binary images; call again with another seed for a fresh sample).
    """
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: expected one of {SPLITS}")
    if source not in SOURCES:
        raise ValueError(f"source={source!r}: expected one of {SOURCES}")
    if source == "bundled":
        images, labels = _bundled(split)
    elif source == "full":
        images, labels = _full(split, cache_dir, mirrors, sha256, timeout)
    else:
        images, labels = _auto(split, cache_dir, mirrors, sha256, timeout)
    x = torch.from_numpy(images).float().div_(255.0).unsqueeze(1)  # (N, 1, 28, 28)
    y = torch.from_numpy(labels.astype(np.int64))  # (N,)
    return (binarize_images(x, seed=seed) if binarize else x), y


def binarize_images(x: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
    """Dynamic binarization x_bin ~ Bernoulli(x), same shape as x (values in [0, 1]). Chapter 05."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x: expected a floating-point torch.Tensor, got {type(x).__name__}")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("x: grey levels must lie in [0, 1] to be Bernoulli probabilities")
    generator = torch.Generator(device=x.device).manual_seed(seed)
    return torch.bernoulli(x, generator=generator)


def default_cache_dir() -> Path:
    """Folder of the downloaded full MNIST: $COURSE_DATA/mnist, else ~/.cache/course_utils/mnist. Chapter 05."""
    root = os.environ.get("COURSE_DATA")
    return Path(root) / "mnist" if root else Path.home() / ".cache" / "course_utils" / "mnist"


@lru_cache(maxsize=1)
def _bundled_arrays() -> dict[str, np.ndarray]:
    with np.load(BUNDLED) as archive:
        return {name: archive[name] for name in archive.files}


def _bundled(split: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = _bundled_arrays()
    index = arrays[f"{split}_index"].astype(np.int64)
    return arrays["images"][index], arrays["labels"][index]


def _full(split, cache_dir, mirrors, sha256, timeout) -> tuple[np.ndarray, np.ndarray]:
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    image_file, label_file = FILES[split]
    images = read_idx(download_file(image_file, folder, mirrors=mirrors, sha256=sha256, timeout=timeout))
    labels = read_idx(download_file(label_file, folder, mirrors=mirrors, sha256=sha256, timeout=timeout))
    if images.shape[1:] != (28, 28) or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST {split}: expected images (N, 28, 28) and labels (N,), "
                         f"got {images.shape} and {labels.shape}")
    return images, labels


#: Why the full set could not be had in this kernel (None until a failure): "auto" then goes
#: straight to the bundled subset instead of trying every mirror again on every call.
_unavailable: str | None = None


def _auto(split, cache_dir, mirrors, sha256, timeout) -> tuple[np.ndarray, np.ndarray]:
    """Full MNIST if all four files are cached or downloadable (so train and test always match)."""
    global _unavailable
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = all((folder / name).exists() for name in (*FILES["train"], *FILES["test"]))
    if _unavailable is None or cached:
        try:
            for name in (*FILES["train"], *FILES["test"]):
                download_file(name, folder, mirrors=mirrors, sha256=sha256, timeout=min(timeout, AUTO_TIMEOUT))
            return _full(split, folder, mirrors, sha256, timeout)
        except (DownloadError, OSError, ValueError) as err:
            _unavailable = str(err).splitlines()[0]
    _notice_once(tr(es=f"Aviso: no se pudo obtener MNIST completo ({_unavailable}); se usa el subconjunto "
                    "incluido de 5.000 dígitos reales (4.000 de entrenamiento / 1.000 de prueba).",
                 en=f"Notice: full MNIST is not available ({_unavailable}); using the bundled subset of "
                    "5,000 real digits (4,000 train / 1,000 test)."))
    return _bundled(split)


_shown: set[str] = set()


def _notice_once(message: str) -> None:
    """Print a notice the first time it occurs in this session (train and test loads share one)."""
    if message not in _shown:
        _shown.add(message)
        print(message)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Array stored in an IDX file (optionally gzipped), e.g. (N, 28, 28) uint8 images or (N,) labels. Chapter 05."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (gzip.BadGzipFile, EOFError, OSError) as err:
        raise ValueError(f"{path}: not a readable IDX file ({type(err).__name__}: {err})") from err
    return parse_idx(raw, name=str(path))


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Array from IDX bytes: magic (0, 0, dtype code, ndim), ndim big-endian uint32 sizes, then data. Chapter 05."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{name}: bad IDX magic number {raw[:4].hex() or '(empty)'}; expected 0000 + "
                         f"a dtype code in {[hex(c) for c in IDX_DTYPES]} + ndim")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header ({len(raw)} bytes, expected {header})")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{name}: IDX header says shape {shape} ({expected} data bytes) but the file "
                         f"holds {len(raw) - header}; truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
