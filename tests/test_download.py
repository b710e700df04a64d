"""course_utils.data.download: sha256-verified downloads from mirrors, atomic, offline (a local HTTP server)."""
import hashlib
import inspect
import os

import pytest

from course_utils.data import download
from course_utils.data.download import DownloadError, download_file

NAME = "payload.bin"
BODY = b"the bytes of a data set\n" * 100
SUMS = {NAME: hashlib.sha256(BODY).hexdigest()}


def test_mirrors_and_sha256_are_required_keywords(tmp_path):
    params = inspect.signature(download_file).parameters
    assert params["mirrors"].kind is params["sha256"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["mirrors"].default is params["sha256"].default is inspect.Parameter.empty
    with pytest.raises(TypeError, match="mirrors"):
        download_file(NAME, tmp_path, sha256=SUMS)
    with pytest.raises(TypeError, match="sha256"):
        download_file(NAME, tmp_path, mirrors=[])


def test_downloads_verifies_and_then_uses_the_cached_file(http_server, tmp_path):
    base, routes, requests = http_server
    routes[f"/a/{NAME}"] = BODY
    path = download_file(NAME, tmp_path / "cache", mirrors=[f"{base}/a"], sha256=SUMS)
    assert path == tmp_path / "cache" / NAME and path.read_bytes() == BODY
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert download_file(NAME, tmp_path / "cache", mirrors=[], sha256=SUMS) == path  # cached: no mirror needed
    assert requests == [f"/a/{NAME}"]


def test_a_cached_file_with_the_wrong_hash_is_downloaded_again(http_server, tmp_path):
    base, routes, requests = http_server
    routes[f"/a/{NAME}"] = BODY
    (tmp_path / NAME).write_bytes(b"stale or truncated")
    download_file(NAME, tmp_path, mirrors=[f"{base}/a/"], sha256=SUMS)
    assert (tmp_path / NAME).read_bytes() == BODY and requests == [f"/a/{NAME}"]


def test_all_mirrors_failing_names_each_url(http_server, tmp_path):
    base = http_server[0]
    with pytest.raises(DownloadError, match=rf"2 mirror\(s\)(.|\n)*{base}/a/{NAME}: HTTP Error 404(.|\n)*{base}/b/"):
        download_file(NAME, tmp_path, mirrors=[f"{base}/a/", f"{base}/b/"], sha256=SUMS)
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_copy_is_rejected_and_the_next_mirror_used(http_server, tmp_path):
    base, routes, requests = http_server
    routes[f"/bad/{NAME}"] = BODY[:-1] + b"?"
    routes[f"/good/{NAME}"] = BODY
    download_file(NAME, tmp_path, mirrors=[f"{base}/bad/", f"{base}/good/"], sha256=SUMS)
    assert (tmp_path / NAME).read_bytes() == BODY and requests == [f"/bad/{NAME}", f"/good/{NAME}"]
    assert sorted(os.listdir(tmp_path)) == [NAME]


def test_a_corrupt_copy_leaves_an_existing_good_file_alone(http_server, tmp_path):
    """A file whose hash differs is replaced only by a verified copy: a failed download keeps what was there."""
    base, routes, _ = http_server
    routes[f"/bad/{NAME}"] = b"corrupt"
    (tmp_path / NAME).write_bytes(b"previous")
    with pytest.raises(DownloadError, match=rf"{NAME}.*sha256 mismatch"):
        download_file(NAME, tmp_path, mirrors=[f"{base}/bad/"], sha256=SUMS)
    assert (tmp_path / NAME).read_bytes() == b"previous" and sorted(os.listdir(tmp_path)) == [NAME]


def test_no_mirrors_says_so(tmp_path):
    with pytest.raises(DownloadError, match=rf"could not download {NAME} from 0 mirror\(s\), first error: no mirrors given"):
        download_file(NAME, tmp_path, mirrors=[], sha256=SUMS)


def test_stale_part_files_of_killed_downloads_are_removed(http_server, tmp_path):
    base, routes, _ = http_server
    routes[f"/a/{NAME}"] = BODY
    stale = [tmp_path / f".{NAME}.123.part", tmp_path / f".{NAME}.x7_kq.part"]
    keep = [tmp_path / ".other.bin.123.part", tmp_path / f"{NAME}.123.part", tmp_path / "notes.txt"]
    for path in stale + keep:
        path.write_bytes(b"half")
    download_file(NAME, tmp_path, mirrors=[f"{base}/a/"], sha256=SUMS)
    assert not any(p.exists() for p in stale), "the .NAME.*.part files of killed downloads are gone"
    assert all(p.exists() for p in keep), "other files are left alone"
    assert (tmp_path / NAME).read_bytes() == BODY


def test_stale_part_files_are_removed_even_when_every_mirror_fails(tmp_path):
    stale = tmp_path / f".{NAME}.123.part"
    stale.write_bytes(b"half")
    with pytest.raises(DownloadError, match=NAME):
        download_file(NAME, tmp_path, mirrors=[], sha256=SUMS)
    assert not stale.exists()


def test_unknown_name_is_refused_before_any_request(http_server, tmp_path):
    base, _, requests = http_server
    with pytest.raises(ValueError, match=r"name: no sha256 known for 'other.gz'; expected one of \['payload.bin'\]"):
        download_file("other.gz", tmp_path, mirrors=[f"{base}/a/"], sha256=SUMS)
    assert requests == [] and not (tmp_path / "other.gz").exists()


def test_fetch_verified_raises_value_error_on_a_mismatch(http_server, tmp_path):
    base, routes, _ = http_server
    routes[f"/a/{NAME}"] = BODY
    with pytest.raises(ValueError, match=rf"sha256 mismatch: expected {'0' * 64}, got {SUMS[NAME]}"):
        download._fetch_verified(f"{base}/a/{NAME}", str(tmp_path / "out"), "0" * 64, timeout=5)
