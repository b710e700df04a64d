import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("COURSE_TIER", "ci")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def book() -> Path:
    """Build the book once per session (warnings are errors); reuses the execution cache."""
    exe = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "COURSE_TIER": "ci"}
    run = subprocess.run([str(exe), "build", str(ROOT), "--warningiserror", "--keep-going"],
                         capture_output=True, text=True, env=env, timeout=1800)
    assert run.returncode == 0, f"jupyter-book build failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    return ROOT / "_build" / "html"
