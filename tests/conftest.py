import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
os.environ.setdefault("COURSE_TIER", "ci")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_figures():
    """Each test starts and ends with no open matplotlib figure."""
    plt.close("all")
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def book() -> Path:
    """Build the book once per session (warnings are errors); reuses the execution cache."""
    exe = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "COURSE_TIER": "ci"}
    run = subprocess.run([str(exe), "build", str(ROOT), "--warningiserror", "--keep-going"],
                         capture_output=True, text=True, env=env, timeout=1800)
    problems = [line for line in (run.stdout + run.stderr).splitlines() if "WARNING:" in line or "ERROR" in line]
    assert run.returncode == 0, "jupyter-book build failed:\n" + "\n".join(problems[:40]) + "\n" + run.stdout[-3000:]
    return ROOT / "_build" / "html"
