"""The `parameters` cells as papermill reads them: every name, its default and its comment.

Every notebook with one is checked: the paper notebooks (nbs/paper), `index` and `16_compare`.

`papermill --help-notebook` and `papermill -p` know a parameter only if papermill's Python
translator parses its line (`name = value  # help`); a line it cannot parse (one with a second
`=`, even in the comment) is dropped with a warning. No kernel is started: the cells are only read.
"""
import ast
import io
import json
import logging
import tokenize
from pathlib import Path

import pytest

inspection = pytest.importorskip("papermill.inspection")

NBS = Path(__file__).resolve().parents[1] / "nbs"


def parameters_cells(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
            if "parameters" in c.get("metadata", {}).get("tags", [])]


PAPERMILLED = [p for p in sorted(NBS.rglob("*.ipynb"))
               if not any(d.startswith((".", "_")) for d in p.relative_to(NBS).parts)
               and parameters_cells(p)]


def assigned(src):
    "name -> (the value's source, the comment on its line), for every top-level assignment."
    tokens = tokenize.generate_tokens(io.StringIO(src).readline)
    comments = {t.start[0]: t.string.lstrip("#").strip()
                for t in tokens if t.type == tokenize.COMMENT}
    out = {}
    for node in ast.parse(src).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            out[t.id] = (ast.get_source_segment(src, node.value), comments.get(node.end_lineno, ""))
    return out


def test_every_paper_notebook_has_one_parameters_cell():
    paper = sorted((NBS / "paper").glob("*.ipynb"))
    assert len(paper) >= 10 and set(paper) <= set(PAPERMILLED), paper
    assert all(len(parameters_cells(p)) == 1 for p in PAPERMILLED)


@pytest.mark.parametrize("path", PAPERMILLED, ids=[str(p.relative_to(NBS)) for p in PAPERMILLED])
def test_papermill_infers_every_parameter(path, caplog):
    (src,) = parameters_cells(path)
    want = assigned(src)
    with caplog.at_level(logging.WARNING, logger="papermill"):
        got = inspection.inspect_notebook(path)
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("papermill")]
    assert list(got) == list(want)                                     # every name, in order
    for name, (value, comment) in want.items():
        assert comment, f"{path.name}: {name} has no comment (--help-notebook says nothing of it)"
        assert (got[name]["default"], got[name]["help"]) == (value, comment), name


def test_a_second_equals_sign_drops_the_line(caplog):
    "What the test above guards against: papermill drops a line with `=` in its comment."
    cell = {"source": 'a = 1  # one\nb = None  # default: 0 = in-process\n'}
    from papermill.translators import PythonTranslator
    with caplog.at_level(logging.WARNING, logger="papermill"):
        assert [p.name for p in PythonTranslator.inspect(cell)] == ["a"]
    assert "Unable to parse line 2" in caplog.text
