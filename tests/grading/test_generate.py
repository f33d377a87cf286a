"""Generating exercises/ from solutions/, and keeping them in step."""

import json
from pathlib import Path

import nbformat
import pytest

from backproplab.cli import main as cli
from backproplab.grading.assignment import AuthoringError
from backproplab.grading.generate import (PRISTINE, exercise_text, generate, make_exercise,
                                          reset, stub_solutions)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# (solutions, exercises) pairs that must be in step: the course's and the test corpus's.
FOLDERS = [(ROOT / "solutions", PRISTINE),
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


def solution(*cells, assignment="00_demo"):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    if assignment:
        nb.metadata["backproplab"] = {"assignment": assignment}
    return nb


def answer(exercise="relu_backward", source="### BEGIN SOLUTION\nx = 1\n### END SOLUTION"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["backproplab"] = {"role": "answer", "exercise": exercise}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="solution output\n")]
    cell.execution_count = 3
    return cell


def check(exercise="relu_backward", points=2, printed=None, tagged=True, source=None,
          **extra):
    cell = nbformat.v4.new_code_cell(source or f'check("{exercise}", {exercise})')
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
    assert check_cell.outputs == [] and check_cell.execution_count is None


@pytest.mark.parametrize("cells, assignment, message", [
    ((answer(), check()), None, 'notebook metadata needs {"backproplab"'),
    ((answer(),), "00_demo", "exercise 'relu_backward' has an answer cell but no check cell"),
    ((answer(), check(points=0)), "00_demo", "needs positive int points, got 0"),
    ((answer(), check(requires=["g"])), "00_demo", r"requires \['g'\], which are not"),
    ((answer(), check(printed="")), "00_demo", "must be its PASS line"),
    ((answer(), check(printed="PASS relu_backward (3/3)\n")), "00_demo",
     "metadata gives 'relu_backward' 2 points but the check printed"),
    ((answer(), answer(), check()), "00_demo", "has a second answer cell"),
    ((answer(), check(tagged=False)), "00_demo", "needs the cell tag 'nbval-check-output'"),
    ((answer(), check(points=3, printed="PASS relu_backward (3/3)\n")), "00_demo",
     "is worth 2 points for 'relu_backward'"),
    ((answer(), check(source='print("PASS relu_backward (2/2)")')), "00_demo",
     "a check cell must be one call"),
    ((answer(), check(source='check("no_such", relu_backward)')), "00_demo",
     "no check 'no_such'"),
    ((answer(), check()), "98_unknown", "no checks for assignment '98_unknown'"),
])
def test_authoring_mistakes_are_named(cells, assignment, message):
    with pytest.raises(AuthoringError, match=message):
        make_exercise(solution(*cells, assignment=assignment), "solutions/00_demo.ipynb")


def test_cli_generates_deterministically_and_checks(tmp_path, capsys):
    solutions, out = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    learner = tmp_path / "learner"
    nbformat.write(solution(answer(), check()), solutions / "00_demo.ipynb")
    options = ["--solutions", str(solutions), "--out", str(out), "--learner", str(learner)]
    assert cli(["exercises", *options]) == 0
    first = (out / "00_demo.ipynb").read_bytes()
    assert json.loads(first)["cells"][0]["outputs"] == []
    assert (learner / "00_demo.ipynb").read_bytes() == first  # a learner's copy, made once
    assert cli(["exercises", *options, "--check"]) == 0
    assert generate(solutions, out) == ([], [])
    assert (out / "00_demo.ipynb").read_bytes() == first

    (out / "00_demo.ipynb").write_text("{}")
    assert cli(["exercises", *options, "--check"]) == 1
    assert "00_demo.ipynb out of date" in capsys.readouterr().out


def test_a_learners_edited_copy_is_never_overwritten_without_asking(tmp_path, capsys):
    solutions, out, learner = tmp_path / "solutions", tmp_path / "pristine", tmp_path / "mine"
    solutions.mkdir()
    nbformat.write(solution(answer(), check()), solutions / "00_demo.ipynb")
    generate(solutions, out, learner_dir=learner)
    mine = learner / "00_demo.ipynb"
    mine.write_text(mine.read_text().replace("raise NotImplementedError", "return 1  #"))
    edited = mine.read_bytes()
    nbformat.write(solution(answer(source="# new text\n### BEGIN SOLUTION\nx = 2\n"
                                          "### END SOLUTION"), check()),
                   solutions / "00_demo.ipynb")
    changed, kept = generate(solutions, out, learner_dir=learner)
    assert changed == [out / "00_demo.ipynb"] and kept == [mine]
    assert mine.read_bytes() == edited
    assert reset("00_demo", learner, out, ask=lambda prompt: "n") is False
    assert mine.read_bytes() == edited
    assert reset("00_demo", learner, out, ask=lambda prompt: "y") is True
    assert mine.read_bytes() == (out / "00_demo.ipynb").read_bytes()


def test_cli_names_the_file_of_a_bad_solution(tmp_path, capsys):
    (tmp_path / "02_x.ipynb").write_text(nbformat.writes(solution(answer(), check(),
                                                                   assignment="03_y")))
    assert cli(["exercises", "--solutions", str(tmp_path), "--out", str(tmp_path / "o"),
                "--learner", str(tmp_path / "l")]) == 2
    assert "02_x.ipynb: metadata assignment is '03_y'" in capsys.readouterr().err


def test_run_all_goes_through_every_blank_exercise_notebook():
    """Every cell after setup carries `raises-exception`, so a cell that calls a stub shows
    its error and Run All goes on; a notebook that stopped there (03) runs to the end."""
    for path in sorted(PRISTINE.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        untagged = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                    and c.metadata.get("backproplab", {}).get("role") != "setup"
                    and "raises-exception" not in c.metadata.get("tags", [])]
        assert untagged == [], f"{path.name}: cells {untagged} would stop Run All"
    from nbclient import NotebookClient

    nb = nbformat.read(PRISTINE / "03_scalar_engine.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "exercises")}}).execute()
    checks = [c for c in nb.cells if c.metadata.get("backproplab", {}).get("role") == "check"]
    printed = ["".join(o.get("text", "") for o in c.outputs) for c in checks]
    assert all(text.startswith("FAIL ") and text.count("\n") == 1 for text in printed), printed
