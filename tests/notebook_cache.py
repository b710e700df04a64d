"""Each notebook is executed once per `pytest` run: nbval runs it, and the book build reuses that run.

nbval executes every notebook cell by cell (its visible asserts are the checks); the `book` fixture's
build used to execute every notebook a second time. This plugin (registered by conftest.py):

- orders the tests that read the built book after everything else, so the notebooks run first;
- records the kernel messages nbval reads for each cell, and once all cells of a notebook have passed,
  replays them through nbclient's own message handling (`NotebookClient.process_message`, the code
  jupyter-book's execution runs) to rebuild the executed notebook exactly as the build would have:
  update_display_data, clear_output, separate stream outputs, widget state, execution counts;
- stores it in the book's jupyter-cache with jupyter-cache's API, as myst-nb does after executing, so
  the build finds a cache hit. jupyter-cache keys a notebook by its code cells and kernelspec: an edited
  notebook never matches an old entry.

nbval's cells are sent as nbclient sends them (store_history=True: the same execution counts, `_` and
`Out`). A notebook is cached only when every cell the build would execute ran and passed here, no cell
raised an error the build would stop on, no cell is skipped by either tool, no Output widget needs a
frontend, no cell ran over the book's timeout, and the kernels saw the book's environment (BOOK_ENV);
otherwise the build executes it as before.
"""
from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest

BOOK_ENV = {"COURSE_TIER": "ci"}  # what the `book` fixture builds with (conftest.py)


def executed_notebook(nb, messages: dict, language_info: dict):
    """The notebook nbclient would have produced from these kernel messages.

    nb: the notebook as read from its file; messages: cell index -> that cell's iopub messages (those
    whose parent is its execute request), in order. The notebook itself is not modified.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionComplete

    nb = copy.deepcopy(nb)
    client = NotebookClient(nb, record_timing=False)  # as jupyter-cache's single_nb_execution; no kernel
    nb.metadata["language_info"] = language_info  # nbclient copies it from the kernel_info reply
    count = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue  # nbclient sends no empty cell
        count += 1
        cell.outputs, client.clear_before_next_output = [], False
        for msg in messages[index]:
            try:  # a fresh header: nbclient renames update_display_data in place
                client.process_message({**msg, "header": dict(msg["header"])}, cell, index)
            except CellExecutionComplete:
                break
        cell.execution_count = count  # nbclient numbers the executed cells 1, 2, ...
    client.set_widgets_metadata()
    return nb


def cacheable(nb, messages: dict) -> str | None:
    """Why the replay of these messages could differ from the build's own run, or None if it cannot."""
    from nbclient import NotebookClient

    skip_tag = NotebookClient.skip_cells_with_tag.default_value
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if skip_tag in cell.metadata.get("tags", []):
            return f"cell {index} is tagged {skip_tag} (the build would not run it)"
        if index not in messages:
            return f"cell {index} did not run and pass under nbval"
        for msg in messages[index]:
            if msg["msg_type"] == "error" and "raises-exception" not in cell.metadata.get("tags", []):
                return f"cell {index} raised {msg['content'].get('ename')}"  # nbval allowed it, the build would not
            if (msg["msg_type"] == "comm_open"
                    and msg["content"].get("data", {}).get("state", {}).get("_model_name") == "OutputModel"):
                return f"cell {index} opens an Output widget (nbclient answers it as a frontend)"
    return None


class NotebookCache:
    """The pytest plugin: orders the tests, records nbval's cells, writes the book's cache."""

    def __init__(self, root: Path):
        import yaml

        execute = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")).get("execute", {})
        # the build reads the cache only in `cache` mode, and runs in the notebook's folder as nbval does
        usable = execute.get("execute_notebooks") == "cache" and not execute.get("run_in_temp", False)
        self.cache_path = root / execute.get("cache", "_build/.jupyter_cache") if usable else None
        self.timeout = execute.get("timeout", 30)  # jupyter-book's default per-cell timeout
        self.runs: dict = {}  # IPyNbFile -> {"messages": {cell index: [...]}, "start": t, "parent_id": ...}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        # stable: tests that read the built book move to the end, after the notebooks that fill its cache
        items.sort(key=lambda item: "book" in getattr(item, "fixturenames", ()))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        from nbval.plugin import IPyNbCell

        if not isinstance(item, IPyNbCell):
            yield
            return
        run = self._run(item.parent)
        start = time.monotonic()
        outcome = yield
        if outcome.excinfo is not None or run is None:
            return
        run["slowest"] = max(run.get("slowest", 0), time.monotonic() - start)
        index = next(i for i, cell in enumerate(item.parent.nb.cells) if cell is item.cell)
        run["messages"][index] = run.pop("current", [])
        if all(i in run["messages"] for i, cell in enumerate(item.parent.nb.cells)
               if cell.cell_type == "code" and cell.source.strip()) and not run.get("done"):
            run["done"] = True
            try:
                self._store(item, run)
            except Exception as error:  # never fail a test for the cache: the build then executes it
                item.warn(pytest.PytestWarning(f"{item.parent.path.name} not cached for the book: {error!r}"))

    def _run(self, nbfile):
        """This notebook's record, set up on its first cell (its kernel is running by then)."""
        if nbfile not in self.runs:
            if self.cache_path is None or any(os.environ.get(k) != v for k, v in BOOK_ENV.items()):
                self.runs[nbfile] = None
                return None
            run = self.runs[nbfile] = {"messages": {}, "start": time.monotonic()}
            kernel = nbfile.kernel
            get_message = kernel.get_message

            def execute_cell_input(source, allow_stdin=None):
                # sent as nbclient sends a cell (nbval's own default is store_history=False)
                run["parent_id"] = kernel.kc.execute(source, store_history=True, allow_stdin=allow_stdin,
                                                     stop_on_error=False)
                run["current"] = []
                return run["parent_id"]

            def recording_get_message(stream, timeout=None):
                msg = get_message(stream, timeout=timeout)
                if stream == "iopub" and msg["parent_header"].get("msg_id") == run.get("parent_id"):
                    run["current"].append(msg)
                return msg

            kernel.execute_cell_input, kernel.get_message = execute_cell_input, recording_get_message
        return self.runs[nbfile]

    def _store(self, item, run):
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        nbfile = item.parent
        timeout = nbfile.nb.metadata.get("execution", {}).get("timeout", self.timeout)  # as jupyter-cache reads it
        reason = cacheable(nbfile.nb, run["messages"])
        if run["slowest"] > timeout:
            reason = f"a cell took {run['slowest']:.0f} s, over the build's timeout of {timeout} s"
        if reason:
            item.warn(pytest.PytestWarning(f"{nbfile.path.name} not cached for the book: {reason}"))
            return
        info = nbfile.kernel.kc.kernel_info(reply=True, timeout=30)["content"]
        nb = executed_notebook(nbfile.nb, run["messages"], info["language_info"])
        # as myst-nb caches a notebook it executed (uri: the notebook's path)
        get_cache(str(self.cache_path)).cache_notebook_bundle(
            CacheBundleIn(nb, str(Path(nbfile.path).resolve()),
                          data={"execution_seconds": time.monotonic() - run["start"]}),
            check_validity=False, overwrite=True)
