"""Hand-ins written to get points without solving the exercise, graded in one class run.

Each hand-in is built here from one of the course's own exercise notebooks, as a student
would edit it (answer cells and added cells only), attacking its first exercise; honest
classmates answer with the solution notebook's code, so the corpus follows the course. Every attack must earn 0 on the exercise it attacks
(flagged, or judged wrong), honest and blank classmates graded before and after it must
keep their scores, the package and the exercise notebooks must be byte-identical after
the run, and no process a hand-in started may outlive it.
"""

import copy
import csv
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from backproplab.grading import sandbox
from backproplab.grading.grader import Grader
from backproplab.grading.report import write_csv, write_json

from backproplab.grading.generate import BEGIN, END, PRISTINE

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_derivatives"  # the quickest notebook of the course to run
EXERCISES = PRISTINE
PACKAGE = Path(sandbox.PACKAGE_DIR)
MARKER = "backproplab-attack-marker"
FLAG_ONLY = {"m_calls_reference"}

pytestmark = pytest.mark.notebook

def _answers(nb):
    return {c["metadata"]["backproplab"]["exercise"]: "".join(c["source"])
            for c in nb["cells"] if c["metadata"].get("backproplab", {}).get("role") == "answer"}


SOLUTION = json.loads((ROOT / "solutions" / f"{ASSIGNMENT}.ipynb").read_text())
RIGHT = {exercise: "\n".join(line for line in source.split("\n")
                              if line.strip() not in (BEGIN, END))
         for exercise, source in _answers(SOLUTION).items()}
TARGET = next(iter(RIGHT))  # the exercise every attack is after
FULL = sum(c["metadata"]["backproplab"]["points"] for c in SOLUTION["cells"]
           if c["metadata"].get("backproplab", {}).get("role") == "check")


def blank():
    return json.loads((EXERCISES / f"{ASSIGNMENT}.ipynb").read_text())


def with_answers(answers, added=(), nb=None):
    """The exercise notebook with answer cells replaced and cells added after setup."""
    nb = copy.deepcopy(nb or blank())
    for cell in nb["cells"]:
        info = cell["metadata"].get("backproplab", {})
        if info.get("role") == "answer" and info["exercise"] in answers:
            cell["source"] = answers[info["exercise"]]
    setup = next(i for i, c in enumerate(nb["cells"])
                 if c["metadata"].get("backproplab", {}).get("role") == "setup")
    for k, source in enumerate(added):
        nb["cells"].insert(setup + 1 + k, {"cell_type": "code", "metadata": {}, "outputs": [],
                                           "execution_count": None, "source": source,
                                           "id": f"added-{k}"})
    return nb


def answer(body):
    """The attacked exercise's function, taking any arguments, with ``body``."""
    return f"def {TARGET}(*args):\n" + "".join(f"    {line}\n" for line in body.split("\n"))


def attacks(tmp_path):
    """{name: (notebook, exercises attacked)}."""
    checks_py = PACKAGE / "grading" / "checks.py"
    late = (f"import time; time.sleep(3); "
            f"open({str(tmp_path / 'out' / 'late.txt')!r}, 'w').write({MARKER!r})")
    out = {
        "calls_reference": with_answers({TARGET: "import backproplab.numerics as m\n"
                                         + answer(f"return m.{TARGET}(*args)")}),
        "execs_solution": with_answers({TARGET: (
            "src = open('" + str(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb") + "').read()\n"
            "exec(src[:0])\n" + answer("return args[0]"))}),
        "rebinds_check": with_answers({}, added=[
            f"check = lambda *a: print('PASS {TARGET} (1/1)')"]),
        "patches_numpy": with_answers({TARGET: answer("return args[0]")}, added=[
            "np.isclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True"]),
        "input_transformer": with_answers({}, added=[
            "get_ipython().input_transformers_cleanup.append(\n"
            f"    lambda lines: ['print(\"PASS {TARGET} (1/1)\")\\n'])"]),
        "fake_observation": with_answers({}, added=[
            f"print('BACKPROPLAB-OBSERVED {TARGET} [{{\"value\": 0}}]')"]),
        "lying_equality": with_answers({TARGET: (
            "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n\n"
            + answer("return AlwaysEqual()"))}),
        "lying_array": with_answers({TARGET: (
            "class Liar(np.ndarray):\n"
            "    def __eq__(self, other):\n        return np.ones(self.shape, bool)\n"
            "    def __array_function__(self, func, types, args, kwargs):\n        return True\n\n"
            + answer("return np.zeros_like(np.asarray(args[1], float)).view(Liar)"))}),
        "frame_walk": with_answers({TARGET: (
            "import sys\n" + answer("return sys._getframe(1).f_locals.get('expected')"))}),
        "writes_package": with_answers({TARGET: (
            f"with open({str(checks_py)!r}, 'a') as f:\n    f.write('\\n# changed\\n')\n"
            + answer("return args[0]"))}),
        "detached_process": with_answers({TARGET: (
            "import subprocess, sys\n"
            f"late = {late!r}\n"
            "subprocess.Popen([sys.executable, '-c', late], start_new_session=True)\n"
            + answer("return args[0]"))}),
    }
    return {name: (nb, [TARGET]) for name, nb in out.items()}


def digest_tree(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def write(folder, name, nb):
    path = folder / f"{name}.ipynb"
    path.write_text(json.dumps(nb, ensure_ascii=True))
    return path


@pytest.fixture(scope="module")
def need_sandbox():
    problem = sandbox.bwrap_works()
    if problem and os.environ.get("BACKPROPLAB_REQUIRE_SANDBOX"):
        pytest.fail(f"the sandbox is required here: {problem}")
    if problem:
        pytest.skip(f"no sandbox here: {problem}")


@pytest.mark.parametrize("allow_flagged", [False, True], ids=["flags", "allow-flagged"])
def test_a_class_with_attackers_keeps_every_honest_grade(tmp_path, need_sandbox, allow_flagged):
    hand_ins, out = tmp_path / "hand-ins", tmp_path / "out"
    hand_ins.mkdir()
    out.mkdir()
    honest = with_answers(RIGHT)
    paths = [write(hand_ins, "a_honest", honest), write(hand_ins, "a_blank", blank())]
    attacked = {}
    for name, (nb, targets) in attacks(tmp_path).items():
        paths.append(write(hand_ins, f"m_{name}", nb))
        attacked[f"m_{name}"] = targets
    paths += [write(hand_ins, "z_honest", honest), write(hand_ins, "z_blank", blank())]
    before = {**digest_tree(PACKAGE), **digest_tree(EXERCISES)}

    reports = Grader(EXERCISES, timeout=30, allow_flagged=allow_flagged).grade_many(paths, jobs=2)
    write_json(reports, out / "r.json")
    write_csv(reports, out / "g.csv")
    time.sleep(4)  # longer than the detached process would have waited

    by_name = {Path(r.submission).stem: r for r in reports}
    for name in ("a_honest", "z_honest"):
        assert by_name[name].total == FULL, (name, by_name[name].exercises)
    for name in ("a_blank", "z_blank"):
        assert by_name[name].total == 0 and not by_name[name].error
    for name, targets in attacked.items():
        report = by_name[name]
        assert report.error is None, (name, report.error)
        for result in report.exercises:
            # Calling the reference gives right results: only the flag stops it, and a
            # teacher who allows flagged answers has read it and chosen to count it.
            if result.exercise in targets and not (allow_flagged and name in FLAG_ONLY):
                assert result.points == 0, (name, result)
                if not allow_flagged and name not in ("m_lying_equality", "m_lying_array",
                                                       "m_fake_observation"):
                    assert result.status == "flagged", (name, result)
    # Objects that lie are caught by judging outside, not by a flag.
    for name in ("m_lying_equality", "m_lying_array"):
        assert by_name[name].exercises[0].status == "fail"
    assert {**digest_tree(PACKAGE), **digest_tree(EXERCISES)} == before
    assert not (out / "late.txt").exists()
    alive = subprocess.run(["pgrep", "-f", MARKER], capture_output=True, text=True).stdout
    assert alive == "", f"processes of a hand-in outlived it: {alive}"
    assert len(json.loads((out / "r.json").read_text())) == len(paths)
    assert len(list(csv.DictReader((out / "g.csv").open()))) == len(paths)


@pytest.mark.parametrize("assignment", ["../solutions/05_layers", "/etc/passwd",
                                        "05_layers/../../x", ["05_layers"], ""])
def test_the_assignment_is_a_plain_name_looked_up_only_among_exercises(tmp_path, assignment):
    nb = with_answers(RIGHT)
    nb["metadata"]["backproplab"]["assignment"] = assignment
    report = Grader(EXERCISES, sandbox_mode="none").grade(write(tmp_path, "x", nb))
    assert report.error and report.exercises == []


def test_odd_text_and_odd_metadata_cost_only_what_they_touch(tmp_path):
    first, second, third = list(RIGHT)[:3]
    nb = with_answers({**RIGHT,
                       first: RIGHT[first] + "  # \ud800",
                       second: "x = " + "-" * 200_000 + "1"})
    for cell in nb["cells"]:
        if cell["metadata"].get("backproplab", {}).get("exercise") == third \
                and cell["metadata"]["backproplab"]["role"] == "answer":
            cell["metadata"]["backproplab"]["exercise"] = [third]
    name = os.fsdecode(b"caf\xe9")
    path = write(tmp_path, name, nb)
    reports = Grader(EXERCISES, sandbox_mode="none", timeout=20).grade_many([path], jobs=1)
    report = reports[0]
    assert report.error is None, report.error
    statuses = {r.exercise: r.status for r in report.exercises}
    assert statuses[first] == "pass"
    assert statuses[second] != "pass"
    write_json(reports, tmp_path / "r.json")
    write_csv(reports, tmp_path / "g.csv")
    [row] = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert row["submission"].endswith("caf\\xe9.ipynb")
    assert "caf\\xe9" in (tmp_path / "g.csv").read_text(encoding="utf-8")


def test_a_notebook_over_the_size_limit_is_not_read(tmp_path):
    nb = with_answers(RIGHT)
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * 200_000})
    report = Grader(EXERCISES, sandbox_mode="none", max_notebook_mb=0.1).grade(
        write(tmp_path, "big", nb))
    assert "too large" in report.error


def test_without_a_sandbox_the_summary_says_hand_ins_were_not_isolated(tmp_path, capsys):
    from backproplab.cli import main as cli
    path = write(tmp_path, "honest", with_answers(RIGHT))
    assert cli(["grade", str(path), "--exercises", str(EXERCISES), "--sandbox", "none"]) == 0
    assert "note: hand-ins were not isolated" in capsys.readouterr().out
