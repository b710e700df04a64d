"""Run every chapter the way a student meets it: each notebook copied alone into an empty folder
(no repository around it, as when opened from a Colab badge or copied to Drive), every cell run
top to bottom, then every cell run again in the same kernel (no cell may work only once).

    python .ci/run_notebooks.py [--twice] [--timeout 900] notebooks/es/*.ipynb notebooks/en/*.ipynb

Uses the Python running it as the kernel (ipykernel must be installed there). Prints one line per
notebook with its time; exits 1 if any notebook raised.
"""
from __future__ import annotations

import argparse
import copy
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run(path: Path, twice: bool, timeout: int) -> tuple[bool, float, str]:
    nb = nbformat.read(path, as_version=4)
    if twice:
        nb.cells = nb.cells + [copy.deepcopy(c) for c in nb.cells]
    with tempfile.TemporaryDirectory() as alone:
        shutil.copy(path, Path(alone) / path.name)  # the notebook and nothing else
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": alone}})
        start = time.perf_counter()
        try:
            client.execute()
            return True, time.perf_counter() - start, ""
        except CellExecutionError as err:
            return False, time.perf_counter() - start, str(err).strip().splitlines()[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--twice", action="store_true", help="run all cells a second time in the same kernel")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        ok, seconds, error = run(path, args.twice, args.timeout)
        print(f"{'ok  ' if ok else 'FAIL'} {seconds:6.1f} s  {path}{'' if ok else '  ' + error}", flush=True)
        if not ok:
            failed.append(path)
    print(f"{len(args.notebooks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
