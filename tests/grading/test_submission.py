"""Rebuilding a submission from the pristine exercise notebook (no kernel needed)."""

import copy
import json
from pathlib import Path

import pytest

from backproplab.grading.submission import (Assignment, SubmissionError, build_cells,
                                            read_notebook)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PRISTINE = FIXTURES / "exercises" / "00_demo.ipynb"


@pytest.fixture(scope="module")
def assignment():
    return Assignment.load(PRISTINE)


def pristine():
    return json.loads(PRISTINE.read_text())


def role_of(cell):
    return cell.get("metadata", {}).get("backproplab", {})


def find(nb, role, exercise=None):
    return next(c for c in nb["cells"] if role_of(c).get("role") == role
                and role_of(c).get("exercise") == exercise)


def shape(cells):
    return [(c.role, c.exercise) for c in cells]


PRISTINE_SHAPE = [("setup", None),
                  ("answer", "relu_backward"), ("check", "relu_backward"),
                  ("answer", "sigmoid_backward"), ("check", "sigmoid_backward"),
                  ("answer", "two_layer_backward"), ("check", "two_layer_backward")]


def test_untouched_notebook_runs_the_pristine_cells(assignment):
    cells = build_cells(assignment, pristine())
    assert shape(cells) == PRISTINE_SHAPE
    assert cells[2].source == 'check("relu_backward", relu_backward)'
    assert cells[6].requires == ["relu_backward"] and cells[6].points == 3


def test_edited_and_deleted_check_cells_are_restored(assignment):
    nb = pristine()
    find(nb, "check", "relu_backward")["source"] = 'print("PASS relu_backward (2/2)")'
    nb["cells"].remove(find(nb, "check", "sigmoid_backward"))
    nb["cells"].remove(find(nb, "setup"))
    cells = build_cells(assignment, nb)
    assert shape(cells) == PRISTINE_SHAPE
    assert cells[2].source == 'check("relu_backward", relu_backward)'


def test_answers_are_matched_by_exercise_not_position(assignment):
    nb = pristine()
    relu = find(nb, "answer", "relu_backward")
    relu["source"] = "def relu_backward(dout, x):\n    return dout * (x > 0)"
    nb["cells"].remove(relu)
    nb["cells"].insert(0, relu)  # moved above the setup cell
    nb["cells"].remove(find(nb, "answer", "sigmoid_backward"))  # deleted: the stub runs
    cells = build_cells(assignment, nb)
    assert shape(cells) == PRISTINE_SHAPE
    assert cells[1].source.endswith("return dout * (x > 0)")
    assert "raise NotImplementedError(\"sigmoid_backward: " in cells[3].source


def test_added_cells_stay_after_the_cell_they_followed(assignment):
    nb = pristine()
    answer_index = nb["cells"].index(find(nb, "answer", "relu_backward"))
    nb["cells"].insert(answer_index + 1, {"cell_type": "code", "metadata": {}, "outputs": [],
                                          "source": ["helper = 1\n", "print(helper)"]})
    nb["cells"].insert(0, {"cell_type": "code", "metadata": {}, "outputs": [],
                           "source": "first = 1"})
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "notes"})
    cells = build_cells(assignment, nb)
    assert shape(cells) == [("student", None)] + PRISTINE_SHAPE[:2] + [
        ("student", None)] + PRISTINE_SHAPE[2:]
    assert cells[0].source == "first = 1"
    assert cells[3].source == "helper = 1\nprint(helper)"


def test_answer_retyped_in_a_new_cell_runs_after_the_restored_stub(assignment):
    nb = pristine()
    answer = find(nb, "answer", "relu_backward")
    index = nb["cells"].index(answer)
    nb["cells"][index] = {"cell_type": "code", "metadata": {}, "outputs": [],
                          "source": "def relu_backward(dout, x):\n    return dout * (x > 0)"}
    cells = build_cells(assignment, nb)
    assert shape(cells) == PRISTINE_SHAPE[:2] + [("student", None)] + PRISTINE_SHAPE[2:]
    assert "NotImplementedError" in cells[1].source
    assert cells[2].source.endswith("return dout * (x > 0)")


def test_locked_roles_a_student_invents_or_copies_do_not_run(assignment):
    nb = pristine()
    fake = copy.deepcopy(find(nb, "check", "relu_backward"))
    fake["source"] = "print('PASS relu_backward (2/2)')"
    fake["metadata"]["backproplab"]["exercise"] = "bonus"
    nb["cells"].append(fake)
    nb["cells"].append(copy.deepcopy(find(nb, "check", "sigmoid_backward")))
    duplicate = copy.deepcopy(find(nb, "answer", "relu_backward"))
    duplicate["source"] = "second_copy = True"
    nb["cells"].append(duplicate)
    cells = build_cells(assignment, nb)
    assert shape(cells) == PRISTINE_SHAPE + [("student", None)]
    assert cells[-1].source == "second_copy = True"


@pytest.mark.parametrize("name, text, message", [
    ("a.py", "print(1)", "a.py: not a notebook (expected a .ipynb file)"),
    ("b.ipynb", '{"cells": [', "b.ipynb: broken JSON, not a readable notebook (line 1"),
    ("c.ipynb", "[1, 2]", "c.ipynb: JSON without a list of cells, not a notebook"),
    ("d.ipynb", '{"cells": [], "nbformat": 3}', "d.ipynb: notebook format 3; only format 4"),
    ("e.ipynb", '{"cells": [1], "nbformat": 4}', "e.ipynb: cell 0 is not a JSON object"),
    ("f.ipynb", '{"cells": [{"source": 5}], "nbformat": 4}',
     "f.ipynb: cell 0 has a source that is not text: 5"),
])
def test_unreadable_files_are_named_with_the_reason(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(SubmissionError) as caught:
        read_notebook(tmp_path / name)
    assert str(caught.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message.split(": ", 1)[1] in str(caught.value)


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(SubmissionError, match="nothing.ipynb: no such file"):
        read_notebook(tmp_path / "nothing.ipynb")
    with pytest.raises(SubmissionError, match="is a directory, not a notebook"):
        read_notebook(tmp_path)
