"""What a classroom needs of the grader: rosters, LMS gradebooks, feedback pages,
--min-score, and bad options refused before anything is graded."""

import csv
import re
from pathlib import Path

import pytest

from backproplab.cli import main as cli
from backproplab.grading import gradebook

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"
EXERCISES = ["--exercises", str(FIXTURES / "exercises"), "--sandbox", "none", "-j", "2"]

pytestmark = pytest.mark.notebook


def roster(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def hand_ins(*names):
    return [str(SUBMISSIONS / f"{n}.ipynb") for n in names]


def test_roster_canvas_moodle_feedback_and_min_score_in_one_run(tmp_path, capsys):
    r = roster(tmp_path, 'file,student_id,name,email,section\n'
                         'correct,s1,"Lovelace, Ada",ada@example.edu,A\n'
                         'wrong_relu.ipynb,s2,Alan Turing,alan@example.edu,B\n')
    status = cli(["grade", *hand_ins("correct", "wrong_relu", "blank"), *EXERCISES,
                  "--roster", str(r), "--csv", str(tmp_path / "canvas.csv"),
                  "--csv-format", "canvas", "--feedback", str(tmp_path / "fb"),
                  "--min-score", "50"])
    err = capsys.readouterr().err
    assert status == 3  # graded, but wrong_relu (2/7) and blank (0/7) are below 50%
    assert "blank.ipynb is not in the roster" in err
    rows = list(csv.reader((tmp_path / "canvas.csv").open()))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "00_demo"]
    assert rows[1] == ["Points Possible", "", "", "", "", "7"]
    assert rows[2] == ["Lovelace, Ada", "", "s1", "", "A", "7"]
    assert rows[3] == ["Alan Turing", "", "s2", "", "B", "2"]
    assert rows[4][2] == "blank"  # keyed by its file name
    pages = sorted(p.name for p in (tmp_path / "fb").glob("*.html"))
    assert pages == ["blank.html", "correct.html", "wrong_relu.html"]
    page = (tmp_path / "fb" / "wrong_relu.html").read_text()
    assert "<script" not in page.lower() and 'href="http' not in page
    assert "relu_backward: 0/2, fail" in page and "dx is wrong where x &lt; 0" in page
    text = re.sub(r"<[^>]+>", "", page)  # the highlighted code as text
    assert "2 of 7 points" in text and "def relu_backward(dout, x):" in text


def test_moodle_has_one_row_per_student_across_assignments(tmp_path):
    from backproplab.grading.report import ExerciseResult, Report
    reports = [Report("a.ipynb", "01_x", [ExerciseResult("f", 2, 3, "fail")]),
               Report("a2.ipynb", "02_y", [ExerciseResult("g", 4, 4, "pass")]),
               Report("b.ipynb", "01_x", [ExerciseResult("f", 3, 3, "pass")])]
    ada = gradebook.Student("s1", "Ada", "ada@example.edu")
    gradebook.write_lms_csv(reports, [ada, ada, None], tmp_path / "m.csv", "moodle")
    rows = list(csv.reader((tmp_path / "m.csv").open()))
    assert rows == [["ID number", "Email address", "Full name", "01_x", "02_y"],
                    ["s1", "ada@example.edu", "Ada", "2", "4"],
                    ["b", "", "b", "3", ""]]


def test_wide_csv_gains_the_roster_columns(tmp_path):
    r = roster(tmp_path, "file,student_id,name\ncorrect,s1,Ada\n")
    assert cli(["grade", *hand_ins("correct"), *EXERCISES, "--roster", str(r),
                "--csv", str(tmp_path / "g.csv")]) == 0
    [row] = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert (row["student_id"], row["name"], row["total"]) == ("s1", "Ada", "7")


@pytest.mark.parametrize("extra, message", [
    (["--csv-format", "blackboard"], "--csv-format 'blackboard' is not one of"),
    (["--min-score", "120"], "--min-score must be a percentage"),
    (["--roster", "{missing}"], "cannot be read"),
    (["--roster", "{twice}"], "'correct' is named twice"),
    (["--roster", "{no_id}"], "needs the columns file and student_id"),
    (["--feedback", "/proc/backproplab-feedback"], "--feedback /proc/backproplab-feedback: "
                                                   "cannot write there"),
    (["--dask", "tcp://127.0.0.1:9"], "--dask tcp://127.0.0.1:9: no scheduler reached"),
])
def test_bad_options_are_one_line_and_status_2_before_grading(tmp_path, capsys, extra, message):
    files = {"missing": tmp_path / "nope.csv",
             "twice": roster(tmp_path, "file,student_id\ncorrect,s1\ncorrect,s2\n"),
             "no_id": tmp_path / "no_id.csv"}
    files["no_id"].write_text("file,name\ncorrect,Ada\n")
    extra = [str(files[a[1:-1]]) if a.startswith("{") else a for a in extra]
    if "--dask" in extra:
        pytest.importorskip("distributed")
    assert cli(["grade", *hand_ins("correct"), *EXERCISES, "--json",
                str(tmp_path / "r.json"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "r.json").exists()  # nothing was graded


def test_a_roster_row_matching_two_ways_is_refused():
    roster_ = {"alice": gradebook.Student("s1"), "alice.ipynb": gradebook.Student("s2")}
    with pytest.raises(gradebook.RosterError, match="must match one student"):
        gradebook.match(roster_, "alice.ipynb")
    assert gradebook.match(roster_, "bob.ipynb", "alice").student_id == "s1"


def test_github_classroom_workflow_runs_one_test_per_exercise_worth_its_points(tmp_path, capsys):
    yaml = pytest.importorskip("yaml")
    from backproplab.grading.classroom import main as classroom_main
    assert cli(["classroom", "05_layers"]) == 0
    flow = yaml.safe_load(capsys.readouterr().out)
    steps = flow["jobs"]["run-autograding-tests"]["steps"]
    tests = [s for s in steps if s.get("uses", "").startswith(
        "classroom-resources/autograding-command-grader")]
    from backproplab.grading.generate import PRISTINE
    from backproplab.grading.submission import Assignment
    exercises = Assignment.load(PRISTINE / "05_layers.ipynb").exercises
    assert [s["with"]["test-name"] for s in tests] == list(exercises)
    assert [int(s["with"]["max-score"]) for s in tests] == [e.points for e in exercises.values()]
    reporter = steps[-1]
    assert reporter["with"]["runners"] == ",".join(s["id"] for s in tests)
    # The per-exercise test reads the one report the workflow writes.
    report = tmp_path / "report.json"
    assert cli(["grade", *hand_ins("wrong_relu"), *EXERCISES, "--json", str(report)]) == 0
    assert classroom_main(["passed", str(report), "sigmoid_backward"]) == 0
    assert classroom_main(["passed", str(report), "relu_backward"]) == 1
    assert classroom_main(["passed", str(tmp_path / "none.json"), "relu_backward"]) == 1
    assert cli(["classroom", "99_nothing"]) == 2
