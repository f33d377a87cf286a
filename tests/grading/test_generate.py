"""Generating exercises/ from solutions/, and keeping them in step."""

import json
from pathlib import Path

import nbformat
import pytest

from backproplab.cli import main as cli
from backproplab.grading.assignment import AuthoringError
from backproplab.grading.generate import exercise_text, generate, make_exercise, stub_solutions

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# (solutions, exercises) pairs that must be in step: the course's and the test corpus's.
FOLDERS = [(ROOT / "solutions", ROOT / "exercises"),
           (FIXTURES / "solutions", FIXTURES / "exercises")]


@pytest.mark.parametrize("solutions, exercises", FOLDERS,
                         ids=["course", "test-fixtures"])
def test_exercises_are_generated_from_solutions(solutions, exercises):
    """Fails when exercises/ differs from what `backproplab exercises` would write."""
    expected = {p.name for p in solutions.glob("*.ipynb")}
    present = {p.name for p in exercises.glob("*.ipynb")}
    assert present == expected, (
        f"{exercises} has {sorted(present - expected)} without a solution and lacks "
        f"{sorted(expected - present)}; run `backproplab exercises --solutions {solutions} "
        f"--out {exercises}`")
    for name in sorted(expected):
        assert (exercises / name).read_text(encoding="utf-8") == exercise_text(
            solutions / name), (f"{exercises / name} is out of date; run `backproplab "
                                f"exercises --solutions {solutions} --out {exercises}`")


def test_stub_keeps_indentation_and_removes_the_solution():
    source = ("def f(x):\n"
              "    y = x + 1\n"
              "    ### BEGIN SOLUTION\n"
              "    z = y * 2\n"
              "    return z\n"
              "    ### END SOLUTION\n"
              "\n"
              "### BEGIN SOLUTION\n"
              "w = 3\n"
              "### END SOLUTION")
    assert stub_solutions(source, "f") == (
        "def f(x):\n"
        "    y = x + 1\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError(\"f: replace this line with your code\")\n"
        "\n"
        "# YOUR CODE HERE\n"
        "raise NotImplementedError(\"f: replace this line with your code\")")


@pytest.mark.parametrize("source, message", [
    ("x = 1", "no ### BEGIN SOLUTION ... ### END SOLUTION block"),
    ("### BEGIN SOLUTION\nx = 1", "### BEGIN SOLUTION is never closed"),
    ("x = 1\n### END SOLUTION", "line 2: ### END SOLUTION without ### BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "line 2: ### BEGIN SOLUTION inside another solution block"),
])
def test_bad_solution_blocks_are_named(source, message):
    with pytest.raises(AuthoringError, match=message):
        stub_solutions(source, "f", "nb.ipynb: cell 3")


def solution(*cells, assignment="01_demo"):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    if assignment:
        nb.metadata["backproplab"] = {"assignment": assignment}
    return nb


def answer(exercise="f", source="### BEGIN SOLUTION\nx = 1\n### END SOLUTION"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["backproplab"] = {"role": "answer", "exercise": exercise}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="solution output\n")]
    cell.execution_count = 3
    return cell


def check(exercise="f", points=2, printed=None, tagged=True, **extra):
    cell = nbformat.v4.new_code_cell("check()")
    if tagged:
        cell.metadata["tags"] = ["nbval-check-output"]
    cell.metadata["backproplab"] = {"role": "check", "exercise": exercise, "points": points,
                                    **extra}
    text = printed if printed is not None else f"PASS {exercise} ({points}/{points})\n"
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text),
                    nbformat.v4.new_output("stream", name="stderr", text="a warning\n")]
    return cell


def test_answer_outputs_cleared_and_check_reference_kept():
    nb = make_exercise(solution(answer(), check()))
    answer_cell, check_cell = nb.cells
    assert answer_cell.outputs == [] and answer_cell.execution_count is None
    assert "x = 1" not in answer_cell.source
    assert [(o.name, o.text) for o in check_cell.outputs] == [("stdout", "PASS f (2/2)\n")]


@pytest.mark.parametrize("cells, assignment, message", [
    ((answer(), check()), None, 'notebook metadata needs {"backproplab"'),
    ((answer(),), "01_demo", "exercise 'f' has an answer cell but no check cell"),
    ((answer(), check(points=0)), "01_demo", "needs positive int points, got 0"),
    ((answer(), check(requires=["g"])), "01_demo", r"requires \['g'\], which are not"),
    ((answer(), check(printed="")), "01_demo", "must be its PASS line"),
    ((answer(), check(printed="PASS f (3/3)\n")), "01_demo",
     "metadata gives 'f' 2 points but the check printed"),
    ((answer(), answer(), check()), "01_demo", "has a second answer cell"),
    ((answer(), check(tagged=False)), "01_demo", "needs the cell tag 'nbval-check-output'"),
])
def test_authoring_mistakes_are_named(cells, assignment, message):
    with pytest.raises(AuthoringError, match=message):
        make_exercise(solution(*cells, assignment=assignment), "solutions/01_demo.ipynb")


def test_cli_generates_deterministically_and_checks(tmp_path, capsys):
    solutions, out = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    nbformat.write(solution(answer(), check()), solutions / "01_demo.ipynb")
    assert cli(["exercises", "--solutions", str(solutions), "--out", str(out)]) == 0
    first = (out / "01_demo.ipynb").read_bytes()
    assert json.loads(first)["cells"][0]["outputs"] == []
    assert cli(["exercises", "--solutions", str(solutions), "--out", str(out), "--check"]) == 0
    assert generate(solutions, out) == []
    assert (out / "01_demo.ipynb").read_bytes() == first

    (out / "01_demo.ipynb").write_text("{}")
    assert cli(["exercises", "--solutions", str(solutions), "--out", str(out), "--check"]) == 1
    assert "01_demo.ipynb out of date" in capsys.readouterr().out


def test_cli_names_the_file_of_a_bad_solution(tmp_path, capsys):
    (tmp_path / "02_x.ipynb").write_text(nbformat.writes(solution(answer(), check(),
                                                                   assignment="03_y")))
    assert cli(["exercises", "--solutions", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "02_x.ipynb: metadata assignment is '03_y'" in capsys.readouterr().err
