"""course_utils.data: bundled MNIST, IDX parsing, and the download path, offline (a local HTTP server)."""
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest
import torch

from course_utils import data

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


@pytest.fixture()
def server():
    """A local HTTP server on a free port; tests put bytes in `routes` (path -> bytes); 404 elsewhere."""
    routes, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = routes.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, routes, requests
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def serve(routes, prefix, files):
    for name, raw in files.items():
        routes[f"/{prefix}/{name}"] = raw


def test_full_download_parses_verifies_and_caches(server, tiny_mnist, tmp_path):
    base, routes, requests = server
    images, labels, files, sums = tiny_mnist
    serve(routes, "m1", files)
    x, y = data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(x[:, 0], torch.from_numpy(images).float() / 255)
    assert y.tolist() == labels.tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == [IMAGES, LABELS]
    again, _ = data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[], sha256=sums)
    assert torch.equal(again, x) and len(requests) == 2


def test_corrupted_download_raises_checksum_error_and_leaves_nothing(server, tiny_mnist, tmp_path):
    base, routes, _ = server
    _, _, files, sums = tiny_mnist
    serve(routes, "m1", {name: raw[:20] + bytes([raw[20] ^ 0xFF]) + raw[21:] for name, raw in files.items()})
    with pytest.raises(data.DownloadError, match=rf"{base}/m1/{IMAGES}: sha256 mismatch: expected {sums[IMAGES]}"):
        data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)
    assert list(tmp_path.iterdir()) == []


def test_missing_file_on_first_mirror_falls_back_to_second(server, tiny_mnist, tmp_path):
    base, routes, requests = server
    _, labels, files, sums = tiny_mnist
    serve(routes, "m2", files)
    mirrors = [f"{base}/m1/", f"{base}/m2/"]
    _, y = data.load_mnist("train", source="full", cache_dir=tmp_path, mirrors=mirrors, sha256=sums)
    assert y.tolist() == labels.tolist()
    assert requests == [f"/m1/{IMAGES}", f"/m2/{IMAGES}", f"/m1/{LABELS}", f"/m2/{LABELS}"]


def test_all_mirrors_failing_names_each_url(server, tiny_mnist, tmp_path):
    base, sums = server[0], tiny_mnist[3]
    with pytest.raises(data.DownloadError, match=rf"2 mirror\(s\)(.|\n)*{base}/a/{IMAGES}: HTTP Error 404(.|\n)*{base}/b/"):
        data.download_file(IMAGES, tmp_path, mirrors=[f"{base}/a/", f"{base}/b/"], sha256=sums)
    assert list(tmp_path.iterdir()) == []


def test_truncated_idx_gives_a_clear_error(server, tiny_mnist, tmp_path):
    base, routes, _ = server
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


def test_auto_uses_the_full_set_when_all_four_files_arrive(server, tiny_mnist, tmp_path, capsys):
    base, routes, _ = server
    _, _, files, sums = tiny_mnist
    serve(routes, "m1", files)
    x, y = data.load_mnist("test", source="auto", cache_dir=tmp_path, mirrors=[f"{base}/m1/"], sha256=sums)
    assert x.shape == (2, 1, 28, 28) and y.tolist() == [0, 1]
    assert len(list(tmp_path.iterdir())) == 4 and capsys.readouterr().out == ""


def test_auto_falls_back_to_bundled_with_one_notice(server, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "en")
    monkeypatch.setattr(data, "_shown", set())
    for split in ("train", "test"):
        x, _ = data.load_mnist(split, source="auto", cache_dir=tmp_path, mirrors=[f"{server[0]}/none/"])
    out = capsys.readouterr().out
    assert x.shape == (1000, 1, 28, 28)
    assert out.count("Notice") == 1 and "bundled subset" in out and "HTTP Error 404" in out


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
    assert abs(float(a.mean() - x.mean())) < 4 * float((x * (1 - x)).mean().sqrt()) / x.numel() ** 0.5
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        data.binarize_images(x * 2)
    with pytest.raises(TypeError, match="floating-point"):
        data.binarize_images(torch.zeros(2, 3, dtype=torch.long))


def test_argument_errors_and_cache_dir(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"split='valid': expected one of \('train', 'test'\)"):
        data.load_mnist("valid")
    with pytest.raises(ValueError, match="source='web'"):
        data.load_mnist(source="web")
    with pytest.raises(ValueError, match="no sha256 known"):
        data.download_file("other.gz", tmp_path)
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / "mnist"
    monkeypatch.delenv("COURSE_DATA")
    assert data.default_cache_dir().parts[-3:] == (".cache", "course_utils", "mnist")


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc" * 1000)
    assert data.sha256_of(path) == hashlib.sha256(b"abc" * 1000).hexdigest()
