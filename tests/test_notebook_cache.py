"""tests/notebook_cache.py without a kernel: the replayed notebook, what is not cached, the cache key, the order."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("jupyter_cache")  # the book's stack; `.ci/compat` runs the unit tests without it
pytest.importorskip("nbclient")

import nbformat  # noqa: E402
from jupyter_cache import get_cache  # noqa: E402
from jupyter_cache.base import CacheBundleIn  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

from conftest import ROOT  # noqa: E402
from notebook_cache import NotebookCache, cacheable, executed_notebook  # noqa: E402

LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def message(msg_type, **content):
    """An iopub message as jupyter_client delivers it (only the fields nbclient reads)."""
    return {"msg_type": msg_type, "header": {"msg_type": msg_type}, "parent_header": {"msg_id": "run"},
            "content": content, "metadata": {}, "buffers": []}


def idle():
    return message("status", execution_state="idle")


def notebook():
    nb = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("show()"), new_code_cell("  \n"),
                             new_code_cell("progress()")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


MESSAGES = {
    1: [message("execute_input", code="show()", execution_count=7),
        message("stream", name="stdout", text="a\n"),
        message("display_data", data={"text/plain": "frame 0"}, metadata={}, transient={"display_id": "d"}),
        message("stream", name="stdout", text="b\n"),
        message("update_display_data", data={"text/plain": "frame 9"}, metadata={}, transient={"display_id": "d"}),
        message("execute_result", data={"text/plain": "42"}, metadata={}, execution_count=7),
        idle()],
    2: [idle()],  # nbval runs the empty cell too; nbclient does not
    3: [message("comm_open", comm_id="w", target_name="jupyter.widget",
                data={"state": {"_model_name": "FloatProgressModel", "_model_module": "@jupyter-widgets/controls",
                                     "value": 0}, "buffer_paths": []}),
        message("display_data", data={"text/plain": "  0%"}, metadata={}),
        message("comm_msg", comm_id="w", data={"method": "update", "state": {"value": 10}, "buffer_paths": []}),
        message("clear_output", wait=True),
        message("display_data", data={"text/plain": "100%"}, metadata={}),
        idle()],
}


def test_replay_matches_nbclient_semantics():
    nb = notebook()
    out = executed_notebook(nb, MESSAGES, LANGUAGE_INFO)
    assert nb.cells[1].outputs == [] and "language_info" not in nb.metadata, "the input is not modified"
    show, empty, progress = out.cells[1:]
    assert show.execution_count == 1 and empty.execution_count is None and progress.execution_count == 2
    assert [o.output_type for o in show.outputs] == ["stream", "display_data", "stream", "execute_result"]
    assert show.outputs[1].data == {"text/plain": "frame 9"}, "a display handle ends at its last update"
    assert [o.data["text/plain"] for o in progress.outputs] == ["100%"], "clear_output(wait=True) applied"
    state = out.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]["w"]["state"]
    assert state["value"] == 10, "the widget's final state is stored, as nbclient stores it"
    assert out.metadata.language_info == LANGUAGE_INFO


def test_what_is_not_cached():
    nb = notebook()
    assert cacheable(nb, MESSAGES) is None
    assert "did not run" in cacheable(nb, {1: MESSAGES[1]})
    failed = {**MESSAGES, 3: [message("error", ename="AssertionError", evalue="", traceback=[]), idle()]}
    assert "AssertionError" in cacheable(nb, failed)
    nb.cells[3].metadata["tags"] = ["raises-exception"]
    assert cacheable(nb, failed) is None, "the build keeps going after this cell too"
    output = {**MESSAGES, 3: [message("comm_open", comm_id="o", data={"state": {"_model_name": "OutputModel"}}),
                              idle()]}
    assert "Output widget" in cacheable(nb, output)
    nb.cells[3].metadata["tags"] = ["skip-execution"]
    assert "skip-execution" in cacheable(nb, MESSAGES)


def test_cache_entry_matches_the_notebook_and_not_an_edited_one(tmp_path):
    path = tmp_path / "chapter.ipynb"
    nbformat.write(notebook(), path)
    cache = get_cache(str(tmp_path / "cache"))
    source = nbformat.read(path, as_version=4)  # as nbval reads it
    cache.cache_notebook_bundle(CacheBundleIn(executed_notebook(source, MESSAGES, LANGUAGE_INFO), str(path)),
                                check_validity=False, overwrite=True)
    _, merged = cache.merge_match_into_notebook(nbformat.read(path, as_version=4))  # as myst-nb looks it up
    assert merged.cells[1].outputs[1].data == {"text/plain": "frame 9"}
    edited = nbformat.read(path, as_version=4)
    edited.cells[3].source += "  # edited"
    with pytest.raises(KeyError):  # an edited code cell has another key: the build executes it
        cache.match_cache_notebook(edited)


def test_tests_reading_the_book_run_after_the_notebooks():
    items = [SimpleNamespace(name="book_page", fixturenames=["book"]), SimpleNamespace(name="Cell 0"),
             SimpleNamespace(name="unit", fixturenames=["tmp_path"]), SimpleNamespace(name="Cell 1")]
    NotebookCache(ROOT).pytest_collection_modifyitems(items)
    assert [item.name for item in items] == ["Cell 0", "unit", "Cell 1", "book_page"]
