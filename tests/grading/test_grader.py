"""Grading notebooks end to end: the corpus of submissions, the CLI, and every lesson.

Each file in fixtures/submissions/ has its expected report, written by hand, in
fixtures/expected/. The corpus is graded once per test session, two at a time.
"""

import copy
import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.cli import main as cli
from backproplab.grading import runner
from backproplab.grading.generate import PRISTINE
from backproplab.grading.grader import Grader

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
EXPECTED = FIXTURES / "expected"
EXERCISES = FIXTURES / "exercises"
TIMEOUT_S = 10  # the corpus's infinite loop costs this much, not the default minute

pytestmark = pytest.mark.notebook


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def corpus():
    paths = sorted(SUBMISSIONS.iterdir())
    before = {p: digest(p) for p in paths}
    # Flags are tested in test_attacks.py; here os._exit must crash the kernel for real.
    # A fixed seed of cases, so that the expected hints' counts are those of every run.
    reports = Grader(EXERCISES, timeout=TIMEOUT_S, allow_flagged=True, seed=0).grade_many(
        paths, jobs=2)
    assert {p: digest(p) for p in paths} == before, "grading modified a submission"
    return {Path(r.submission).stem: r for r in reports}


def test_every_submission_has_an_expected_report():
    assert sorted(p.stem for p in SUBMISSIONS.iterdir()) == sorted(
        p.stem for p in EXPECTED.glob("*.json"))


@pytest.mark.parametrize("name", sorted(p.stem for p in EXPECTED.glob("*.json")))
def test_corpus_submission_gets_its_expected_report(corpus, name):
    expected = json.loads((EXPECTED / f"{name}.json").read_text())
    report = corpus[name]
    if "error" in expected:
        assert report.error is not None and expected["error"] in report.error
        assert report.exercises == []
        return
    assert report.error is None
    got = {r.exercise: {"status": r.status, "points": r.points, "hint": r.hint}
           for r in report.exercises}
    assert got == expected["exercises"]
    assert (report.total, report.max) == (expected["total"], 7)


def test_check_requiring_a_looping_exercise_is_not_run(corpus):
    # two_layer_backward calls relu_backward, whose loop already cost one time limit;
    # its declared requirement spares a second one.
    report = corpus["infinite_loop"]
    assert report.exercises[2].hint == "blocked by relu_backward"


def answered_notebook(**answers):
    """The corpus's correct notebook with some answer cells replaced."""
    nb = json.loads((SUBMISSIONS / "correct.ipynb").read_text())
    for cell in nb["cells"]:
        exercise = cell["metadata"].get("backproplab", {}).get("exercise")
        if cell["metadata"].get("backproplab", {}).get("role") == "answer" and exercise in answers:
            cell["source"] = answers[exercise]
    return nb


def write(tmp_path, name, nb):
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    return path


def test_memory_cap_loop_at_top_level_and_lost_requirement(tmp_path):
    path = write(tmp_path, "hostile.ipynb", answered_notebook(
        relu_backward="while True:\n    pass",
        sigmoid_backward="def sigmoid_backward(dout, y):\n"
                         "    big = np.ones(2**28)  # 2 GiB, above the 1 GiB cap\n"
                         "    return dout * y * (1 - y)"))
    report = Grader(EXERCISES, timeout=TIMEOUT_S, memory_mb=1024).grade(path)
    statuses = {r.exercise: (r.status, r.hint) for r in report.exercises}
    assert statuses["relu_backward"] == (
        "timeout", f"the answer cell ran longer than {TIMEOUT_S} s (an infinite loop?)")
    assert statuses["sigmoid_backward"][0] == "fail"
    assert statuses["sigmoid_backward"][1].startswith(
        "sigmoid_backward raised MemoryError: Unable to allocate 2.00 GiB")
    assert statuses["two_layer_backward"] == ("blocked", "blocked by relu_backward")


def test_a_loop_that_ignores_interrupts_is_killed_and_the_rest_graded(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "INTERRUPT_GRACE_S", 1.0)
    path = write(tmp_path, "stubborn.ipynb", answered_notebook(
        sigmoid_backward="def sigmoid_backward(dout, y):\n"
                         "    import signal\n"
                         "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                         "    while True:\n"
                         "        pass"))
    report = Grader(EXERCISES, timeout=TIMEOUT_S, allow_flagged=True).grade(path)
    assert [(r.exercise, r.status) for r in report.exercises] == [
        ("relu_backward", "pass"), ("sigmoid_backward", "timeout"),
        ("two_layer_backward", "pass")]


def test_name_of_another_exercise_undefined_blocks(tmp_path):
    nb = answered_notebook(relu_backward="relu_backward = undefined_name")
    report = Grader(EXERCISES, timeout=TIMEOUT_S).grade(write(tmp_path, "n.ipynb", nb))
    statuses = {r.exercise: (r.status, r.hint) for r in report.exercises}
    assert statuses["relu_backward"] == (
        "error", "the answer cell raised NameError: name 'undefined_name' is not defined")
    assert statuses["two_layer_backward"] == ("blocked", "blocked by relu_backward")


def test_cli_single_notebook_prints_the_table(capsys):
    status = cli(["grade", str(SUBMISSIONS / "wrong_relu.ipynb"), "--exercises",
                  str(EXERCISES), "--timeout", str(TIMEOUT_S)])
    out = capsys.readouterr().out
    assert status == 0
    assert "relu_backward       0/2     fail     dx is wrong where x < 0" in out
    assert "two_layer_backward  0/3     blocked  blocked by relu_backward" in out
    assert "total               2/7" in out


def test_cli_class_writes_gradebook_and_json_and_names_bad_files(tmp_path, capsys):
    names = ["correct", "wrong_relu", "broken_json", "other_assignment"]
    paths = [str(SUBMISSIONS / f"{n}.ipynb") for n in names]
    status = cli(["grade", *paths, "--exercises", str(EXERCISES), "-j", "2",
                  "--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "g.csv")])
    captured = capsys.readouterr()
    assert status == 1  # some files could not be graded; the others were
    errors = [line for line in captured.err.splitlines() if line.startswith("backproplab")]
    assert len(errors) == 2
    assert "broken_json.ipynb: broken JSON" in errors[0]
    assert "other_assignment.ipynb: unknown assignment '99_other'" in errors[1]
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert [(Path(r["submission"]).stem, r["relu_backward"], r["total"]) for r in rows] == [
        ("correct", "2", "7"), ("wrong_relu", "0", "2"), ("broken_json", "", ""),
        ("other_assignment", "", "")]
    reports = json.loads((tmp_path / "r.json").read_text())
    assert [r["total"] for r in reports] == [7, 2, 0, 0]
    assert reports[1]["exercises"][2] == {"exercise": "two_layer_backward", "points": 0,
                                          "max": 3, "status": "blocked",
                                          "hint": "blocked by relu_backward", "flags": []}


def test_cli_assignment_option_rejects_other_assignments(tmp_path, capsys):
    nb = json.loads((SUBMISSIONS / "correct.ipynb").read_text())
    other = copy.deepcopy(nb)
    other["metadata"]["backproplab"]["assignment"] = "01_other"
    status = cli(["grade", str(write(tmp_path, "other.ipynb", other)), "--exercises",
                  str(EXERCISES), "--assignment", "00_demo"])
    assert status == 1
    assert ("other.ipynb: a notebook of assignment '01_other', but this run grades "
            "'00_demo'") in capsys.readouterr().err


def test_cli_rejects_bad_options(capsys):
    assert cli(["grade", "x.ipynb", "--timeout", "0"]) == 2
    assert "--timeout must be > 0" in capsys.readouterr().err
    assert cli(["grade", "x.ipynb", "--exercises", "/no/such/folder"]) == 2
    assert "--exercises /no/such/folder is not a folder" in capsys.readouterr().err


def test_cli_without_nbval_says_what_to_install():
    code = ("import sys; sys.modules['nbval.kernel'] = None\n"
            "from backproplab.cli import main\n"
            "sys.exit(main(['grade', 'x.ipynb']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.startswith("backproplab grade: grading needs nbval and ipykernel")


def test_console_command_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "backproplab.cli", "grade", str(SUBMISSIONS / "correct.ipynb"),
         "--exercises", str(EXERCISES)], capture_output=True, text=True, timeout=120,
        cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "total               7/7" in result.stdout


def test_demo_solution_passes_nbval_itself(tmp_path):
    """The references are what nbval compares: the solution validates under plain nbval."""
    copy_path = tmp_path / "00_demo.ipynb"
    copy_path.write_bytes((FIXTURES / "solutions" / "00_demo.ipynb").read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "--nbval", "--nbval-current-env", str(copy_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=runner.kernel_env())
    assert result.returncode == 0, result.stdout[-2000:]
    assert "7 passed" in result.stdout  # its seven code cells


def solution_cases():
    """Every course solution, and the demo's, with the folder of its exercise notebook."""
    cases = [(p, PRISTINE) for p in sorted((ROOT / "solutions").glob("*.ipynb"))]
    return cases + [(FIXTURES / "solutions" / "00_demo.ipynb", EXERCISES)]


@pytest.mark.parametrize("solution, exercises", solution_cases(),
                         ids=[solution.stem for solution, _ in solution_cases()])
def test_solution_scores_full_marks_and_exercise_scores_zero(solution, exercises):
    full, blank = Grader(exercises).grade_many([solution, exercises / solution.name], jobs=2)
    assert full.error is None
    assert [(r.exercise, r.status) for r in full.exercises if r.status != "pass"] == []
    assert full.total == full.max > 0
    assert [(r.exercise, r.flags) for r in full.exercises if r.flags] == []  # honest: no flag
    assert blank.error is None
    assert [(r.exercise, r.points) for r in blank.exercises if r.status == "pass"
            or r.points] == []
