"""course_utils.files: atomic writes leave the old file or the new one, never a half-written one; sha256."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from course_utils import files


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith("."))


def test_atomic_write_creates_the_file_and_its_folders(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    result = files.atomic_write(target, lambda tmp: Path(tmp).write_bytes(b"new"))
    assert result == target and target.read_bytes() == b"new"
    assert leftovers(target.parent) == []
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_atomic_write_writes_beside_the_target_then_renames(tmp_path):
    target = tmp_path / "out.txt"
    seen = []

    def write(tmp):
        seen.append(Path(tmp))
        assert not target.exists(), "the target appears only once the write is complete"
        Path(tmp).write_text("x")

    files.atomic_write(target, write)
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.name.startswith(".out.txt.") and tmp.name.endswith(".part")
    assert not tmp.exists() and target.read_text() == "x"


@pytest.mark.parametrize("existing", [True, False])
def test_atomic_write_keeps_the_old_file_when_write_raises(tmp_path, existing):
    target = tmp_path / "out.txt"
    if existing:
        target.write_text("old")

    def failing(tmp):
        Path(tmp).write_text("half of the ne")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        files.atomic_write(target, failing)
    assert (target.read_text() == "old") if existing else not target.exists()
    assert leftovers(tmp_path) == [], "no .part file is left behind"


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def interrupted(tmp):
        Path(tmp).write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match=r"^$"):
        files.atomic_write(target, interrupted)
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_atomic_write_text_replaces_and_is_utf8(tmp_path):
    target = tmp_path / "notes.md"
    target.write_text("old")
    files.atomic_write_text(target, "año ≈ 2π\n")
    assert target.read_bytes() == "año ≈ 2π\n".encode("utf-8")
    assert leftovers(tmp_path) == []


def test_atomic_write_text_rejects_non_text_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "notes.md"
    target.write_text("old")
    with pytest.raises(TypeError, match="str"):
        files.atomic_write_text(target, b"bytes")
    assert target.read_text() == "old" and leftovers(tmp_path) == []


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    assert files.sha256_of(path) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert files.sha256_of(str(path)) == files.sha256_of(path)


def test_sha256_of_large_and_empty_files(tmp_path):
    big = tmp_path / "big.bin"
    payload = os.urandom(3 * (1 << 20) + 17)  # more than one 1 MiB block, not a multiple of it
    big.write_bytes(payload)
    assert files.sha256_of(big) == hashlib.sha256(payload).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert files.sha256_of(empty) == hashlib.sha256(b"").hexdigest()


def test_sha256_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.bin"):
        files.sha256_of(tmp_path / "missing.bin")
