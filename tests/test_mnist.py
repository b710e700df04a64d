"""course_utils.data.mnist: bundled MNIST, IDX parsing, and full MNIST through the download path, offline
(a local HTTP server, the `http_server` fixture of conftest.py). download_file itself: test_download.py."""
import gzip
import hashlib

import numpy as np
import pytest
import torch
from conftest import assert_within_stderr

import course_utils.data
from course_utils.data import mnist as data

IMAGES, LABELS = data.FILES["train"]
TEST_IMAGES, TEST_LABELS = data.FILES["test"]


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of uint8 data: magic 0x0000 08 ndim, big-endian uint32 sizes, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture()
def tiny_mnist():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    labels = np.arange(6, dtype=np.uint8)
    files = {IMAGES: gzip.compress(idx_bytes(images)), LABELS: gzip.compress(idx_bytes(labels)),
             TEST_IMAGES: gzip.compress(idx_bytes(images[:2])), TEST_LABELS: gzip.compress(idx_bytes(labels[:2]))}
    sums = {name: hashlib.sha256(raw).hexdigest() for name, raw in files.items()}
    return images, labels, files, sums


@pytest.fixture(autouse=True)
def _fresh_kernel(monkeypatch):
    """Each test starts as a fresh kernel would: no remembered download failure."""
    monkeypatch.setattr(data, "_unavailable", None)


def serve(routes, prefix, files):
    for name, raw in files.items():
        routes[f"/{prefix}/{name}"] = raw


def test_full_download_parses_verifies_and_caches(http_server, tiny_mnist, tmp_path):
    base, routes, requests = http_server
    images, labels, files, sums = tiny_mnist
    serve(routes, "m1", files)
    x, y = data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x[:, 0], torch.from_numpy(images).float() / 255)
    assert y.tolist() == labels.tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == [IMAGES, LABELS]
    again, _ = data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[], sha256=sums)
    assert torch.equal(again, x) and len(requests) == 2


def test_corrupted_download_raises_checksum_error_and_leaves_nothing(http_server, tiny_mnist, tmp_path):
    base, routes, _ = http_server
    _, _, files, sums = tiny_mnist
    serve(routes, "m1", {name: raw[:20] + bytes([raw[20] ^ 0xFF]) + raw[21:] for name, raw in files.items()})
    with pytest.raises(data.DownloadError, match=rf"{base}/m1/{IMAGES}: sha256 mismatch: expected {sums[IMAGES]}"):
        data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_on_first_mirror_falls_back_to_second(http_server, tiny_mnist, tmp_path):
    base, routes, requests = http_server
    _, labels, files, sums = tiny_mnist
    serve(routes, "m2", files)
    mirrors = [f"{base}/m1/", f"{base}/m2/"]
    _, y = data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=mirrors, sha256=sums)
    assert y.tolist() == labels.tolist()
    assert requests == [f"/m1/{IMAGES}", f"/m2/{IMAGES}", f"/m1/{LABELS}", f"/m2/{LABELS}"]


def test_truncated_idx_gives_a_clear_error(http_server, tiny_mnist, tmp_path):
    base, routes, _ = http_server
    images, _, files, sums = tiny_mnist
    truncated = gzip.compress(idx_bytes(images)[:-100])
    files = {**files, IMAGES: truncated}
    sums = {**sums, IMAGES: hashlib.sha256(truncated).hexdigest()}
    serve(routes, "m1", files)
    with pytest.raises(ValueError, match=r"shape \(6, 28, 28\).*truncated or corrupt"):
        data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)


def test_parse_idx_round_trip_and_errors(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(data.parse_idx(idx_bytes(array)), array)
    with pytest.raises(ValueError, match="bad IDX magic number"):
        data.parse_idx(b"\x01\x02\x08\x01" + bytes(8))
    with pytest.raises(ValueError, match="truncated IDX header"):
        data.parse_idx(bytes([0, 0, 8, 3, 0, 0]))
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(idx_bytes(array))[:20])
    with pytest.raises(ValueError, match="not a readable IDX file"):
        data.read_idx(broken)


def test_auto_uses_the_full_set_when_all_four_files_arrive(http_server, tiny_mnist, tmp_path, capsys):
    base, routes, _ = http_server
    _, _, files, sums = tiny_mnist
    serve(routes, "m1", files)
    x, y = data.load_mnist("test", source="auto", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)
    assert x.shape == (2, 1, 28, 28) and y.tolist() == [0, 1]
    assert len(list(tmp_path.iterdir())) == 4 and capsys.readouterr().out == ""


def test_auto_falls_back_to_bundled_with_one_notice(http_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    monkeypatch.setattr(data, "_shown", set())
    for split in ("train", "test"):
        x, _ = data.load_mnist(split, source="auto", cache_dir=tmp_path, mirrors=[f"{http_server[0]}/none/"])
    out = capsys.readouterr().out
    assert x.shape == (1000, 1, 28, 28)
    assert out.count("Notice") == 1 and "bundled subset" in out and "HTTP Error 404" in out


def test_auto_remembers_a_failure_for_the_kernel_and_asks_no_mirror_again(http_server, tiny_mnist, tmp_path,
                                                                            capsys, monkeypatch):
    base, routes, requests = http_server
    monkeypatch.setenv("COURSE_LANG", "en")
    monkeypatch.setattr(data, "_shown", set())
    data.load_mnist("train", source="auto", cache_dir=tmp_path, mirrors=[f"{base}/none/"])
    asked = len(requests)
    assert asked >= 1
    x, _ = data.load_mnist("test", source="auto", cache_dir=tmp_path, mirrors=[f"{base}/none/"])
    assert x.shape == (1000, 1, 28, 28) and len(requests) == asked, "the second call must not try the mirrors again"
    _, _, files, sums = tiny_mnist  # an explicit source="full" still tries
    serve(routes, "m1", files)
    assert data.load_mnist("test", source="full", cache_dir=tmp_path / "f", mirrors=[f"{base}/m1/"],
                           sha256=sums)[0].shape == (2, 1, 28, 28)


def test_auto_gives_each_mirror_a_short_timeout(monkeypatch, tmp_path):
    seen = []

    def fake_download(name, folder, *, mirrors, sha256, timeout):
        seen.append(timeout)
        raise data.DownloadError("offline")

    monkeypatch.setattr(data, "download_file", fake_download)
    monkeypatch.setattr(data, "_shown", set())
    data.load_mnist("test", source="auto", cache_dir=tmp_path, timeout=30.0)
    assert seen == [data.AUTO_TIMEOUT] and data.AUTO_TIMEOUT <= 5


def test_bundled_splits_are_real_stratified_and_disjoint():
    x_train, y_train = data.load_mnist("train", source="bundled")
    x_test, y_test = data.load_mnist("test", source="bundled")
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == torch.float32 and y_train.dtype == torch.int64
    assert float(x_train.min()) == 0.0 and float(x_train.max()) == 1.0
    assert torch.bincount(y_train).tolist() == [400] * 10 and torch.bincount(y_test).tolist() == [100] * 10
    arrays = data._bundled_arrays()
    assert set(arrays["train_index"].tolist()).isdisjoint(arrays["test_index"].tolist())
    assert 0.1 < float(x_train.mean()) < 0.15  # MNIST's mean grey level is about 0.13


def test_binarize_is_a_seeded_bernoulli_sample():
    x, _ = data.load_mnist("test", source="bundled")
    a, _ = data.load_mnist("test", source="bundled", binarize=True, seed=1)
    b = data.binarize_images(x, seed=1)
    c = data.binarize_images(x, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert set(a.unique().tolist()) == {0.0, 1.0}
    se = float((x * (1 - x)).mean().sqrt()) / x.numel() ** 0.5  # pixels are independent Bernoulli(x)
    assert_within_stderr(a.mean(), x.mean(), se, what="mean of the binarized images")
    with pytest.raises(ValueError, match=r"x: grey levels must lie in \[0, 1\]"):
        data.binarize_images(x * 2)
    with pytest.raises(TypeError, match="x: expected a floating-point torch.Tensor"):
        data.binarize_images(torch.zeros(2, 3, dtype=torch.long))


def test_argument_errors_and_cache_dir(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"split='valid': expected one of \('train', 'test'\)"):
        data.load_mnist("valid")
    with pytest.raises(ValueError, match="source='web'"):
        data.load_mnist(source="web")
    with pytest.raises(ValueError, match=r"name: no sha256 known for 'other.gz'"):
        data.download_file("other.gz", tmp_path, mirrors=data.MIRRORS, sha256=data.SHA256)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / "mnist"
    monkeypatch.delenv("COURSE_DATA")
    assert data.default_cache_dir().parts[-3:] == (".cache", "course_utils", "mnist")


def test_package_reexports_the_public_names():
    assert course_utils.data.load_mnist is data.load_mnist
    assert course_utils.data.binarize_images is data.binarize_images
    from course_utils.data import download

    assert course_utils.data.download_file is download.download_file is data.download_file
    assert course_utils.data.DownloadError is download.DownloadError is data.DownloadError
    assert set(course_utils.data.__all__) == {"DownloadError", "binarize_images", "download_file", "load_mnist"}


def test_shipped_checksums_name_the_four_files():
    assert set(data.SHA256) == {*data.FILES["train"], *data.FILES["test"]}
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in data.SHA256.values())
