"""Shared test helpers: figures closed around each test, a Monte Carlo assertion, fresh small models, data.

Every fixture here is function-scoped (a fresh object per test), so no test can change what another
test sees; the one session-scoped fixture, `book`, is a built folder that tests only read.
The notebook_cache plugin runs the tests that read the book last, and hands the notebooks nbval executed
to the book's build, so no notebook is executed twice (see tests/notebook_cache.py).
"""
import http.server
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from notebook_cache import BOOK_ENV, NotebookCache  # noqa: E402

os.environ.setdefault("COURSE_TIER", "ci")

ROOT = Path(__file__).resolve().parent.parent


FIGURE_REPORT = ROOT / "_build" / "figure_report.jsonl"


class FigureReport:
    """Every figure the notebooks show is measured (course_utils.display.style); tests/test_book.py reads the file.

    The report is emptied at the start of the run; each notebook's kernel is started with the notebook's path in
    its environment, so each line names the chapter it came from.
    """

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")
        os.environ["COURSE_FIGURE_REPORT"] = str(path)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        if str(item.fspath).endswith(".ipynb"):  # before nbval starts this notebook's kernel
            os.environ["COURSE_FIGURE_SOURCE"] = str(Path(str(item.fspath)).relative_to(ROOT))


def pytest_configure(config):
    # with nbval running: a plugin, not conftest hooks, as these must also see the notebook items (outside tests/)
    if getattr(config.option, "nbval_lax", False) or getattr(config.option, "nbval", False):
        config.pluginmanager.register(NotebookCache(ROOT), "notebook_cache")
        config.pluginmanager.register(FigureReport(FIGURE_REPORT), "figure_report")


def _as_tensor(value) -> torch.Tensor:
    return value.detach().double() if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float64)


def assert_within_stderr(estimate, expected, stderr, k: float = 4, what: str = "estimate") -> None:
    """Assert |estimate - expected| < k * stderr elementwise (tensors or floats, broadcast together).

    The message gives the z-scores (estimate - expected) / stderr, so a failing Monte Carlo check
    says how far outside the band it fell. A stderr of zero demands exact equality.
    """
    estimate, expected, stderr = _as_tensor(estimate), _as_tensor(expected), _as_tensor(stderr)
    if (stderr < 0).any() or not torch.isfinite(stderr).all():
        raise AssertionError(f"{what}: stderr must be finite and >= 0, got {stderr.tolist()}")
    diff = (estimate - expected).abs()
    inside = (diff < k * stderr) | (diff == 0)
    if not bool(inside.all()):
        z = (estimate - expected) / stderr
        worst = float(z.abs().max()) if z.numel() else math.nan
        raise AssertionError(
            f"{what} is not within {k} standard errors of the expected value: largest |z| = {worst:.2f}\n"
            f"  z-scores: {z.tolist()}\n  estimate: {estimate.tolist()}\n  expected: {expected.tolist()}\n"
            f"  stderr:   {stderr.tolist()}")


@pytest.fixture
def one_thread():
    """One torch thread for tests of tiny models: extra intra-op threads only add overhead (and stall on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _close_figures():
    """Each test starts and ends with no open matplotlib figure."""
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture
def tiny_mlp_vae():
    """Factory of fresh, seeded small MLPVAEs: tiny_mlp_vae(seed=0, **overrides) -> MLPVAE(hidden=16, z_dim=2)."""
    from course_utils.models import MLPVAE

    def make(seed: int = 0, **kwargs) -> MLPVAE:
        torch.manual_seed(seed)
        return MLPVAE(**{"hidden": 16, "z_dim": 2, **kwargs})

    return make


@pytest.fixture
def tiny_conv_vae():
    """Factory of fresh, seeded small ConvVAEs: tiny_conv_vae(seed=0, **overrides) -> ConvVAE(z_dim=3, channels=4)."""
    from course_utils.models import ConvVAE

    def make(seed: int = 0, **kwargs) -> ConvVAE:
        torch.manual_seed(seed)
        return ConvVAE(**{"z_dim": 3, "channels": 4, **kwargs})

    return make


@pytest.fixture
def bundled_mnist():
    """Fresh tensors of the bundled MNIST (x_train, y_train, x_test), so a test may modify its copy."""
    from course_utils.data import load_mnist

    x, y = load_mnist("train", source="bundled")
    x_test, _ = load_mnist("test", source="bundled")
    return x, y, x_test


@pytest.fixture
def http_server():
    """A local HTTP server on a free port: yields (base_url, routes, requests).

    Tests put bytes in `routes` (path -> bytes); other paths answer 404. `requests` lists the paths asked for.
    """
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
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes, requests
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def book() -> Path:
    """Build the whole book once per session (warnings are errors; every page rewritten, so a change to book/_ext
    shows); reuses the execution cache. Tests only read it.

    The cache holds the notebooks nbval executed earlier in this run (notebook_cache); the build executes
    only the others. It runs in ROOT, where _config.yml's relative cache path points.
    """
    exe = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, **BOOK_ENV}
    run = subprocess.run([str(exe), "build", "--all", str(ROOT), "--warningiserror", "--keep-going"],
                         capture_output=True, text=True, env=env, timeout=1800, cwd=ROOT)
    problems = [line for line in (run.stdout + run.stderr).splitlines() if "WARNING:" in line or "ERROR" in line]
    assert run.returncode == 0, "jupyter-book build failed:\n" + "\n".join(problems[:40]) + "\n" + run.stdout[-3000:]
    return ROOT / "_build" / "html"
