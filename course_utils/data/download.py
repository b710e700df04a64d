"""Download a file from a list of mirrors, verified by sha256 and written atomically. Chapters 05 on.

Used for data that is too large to ship (full MNIST; later full dSprites). Nothing here runs
offline code paths differently: a missing network is one more failed mirror. A download killed
half-way leaves only a hidden `.NAME.*.part` file in the folder; the next call removes it.
"""
from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence

from ..files import atomic_write, sha256_of


class DownloadError(RuntimeError):
    """No mirror delivered a file whose sha256 matched; the message names each URL and what failed. Chapter 05."""


def download_file(name: str, folder: str | os.PathLike, *, mirrors: Sequence[str],
                  sha256: Mapping[str, str], timeout: float = 30.0) -> Path:
    """Path of `name` in `folder`, downloaded from the first mirror whose copy matches sha256[name]. Chapter 05."""
    if name not in sha256:
        raise ValueError(f"name: no sha256 known for {name!r}; expected one of {sorted(sha256)}")
    folder = Path(folder)
    target = folder / name
    if target.exists() and sha256_of(target) == sha256[name]:
        return target
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(f".{name}.*.part"):  # left by a download that was killed
        stale.unlink(missing_ok=True)
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            atomic_write(target, lambda tmp: _fetch_verified(url, tmp, sha256[name], timeout))
            return target
        except (OSError, ValueError) as err:
            failures.append(f"  {url}: {err}")
    first = failures[0].strip() if failures else "no mirrors given"
    raise DownloadError(f"could not download {name} from {len(failures)} mirror(s), first error: {first}\n"
                        f"expected sha256 {sha256[name]}; tried:\n" + "\n".join(failures))


def _fetch_verified(url: str, path: str, expected: str, timeout: float) -> None:
    """Stream url into path and check its sha256 (raises ValueError on a mismatch)."""
    digest = hashlib.sha256()
    with open(path, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        for block in iter(lambda: response.read(1 << 16), b""):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != expected:
        raise ValueError(f"sha256 mismatch: expected {expected}, got {digest.hexdigest()}")
