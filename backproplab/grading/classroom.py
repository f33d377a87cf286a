"""GitHub Classroom: an autograding workflow for one assignment, and its per-exercise test.

    backproplab classroom 05_layers > .github/workflows/classroom.yml

writes a workflow for the assignment's template repository. On each push it installs the
course, grades the student's ``exercises/05_layers.ipynb`` once into ``report.json``, then
runs one GitHub Classroom command test per exercise, worth that exercise's points, which
passes when the exercise passed (``python -m backproplab.grading.classroom passed
report.json EXERCISE``); GitHub Classroom's reporter adds them up. The workflow uses
GitHub's published actions ``classroom-resources/autograding-command-grader`` and
``autograding-grading-reporter``.
"""

import argparse
import json
import sys

from .generate import PRISTINE
from .submission import Assignment

INSTALL = 'pip install "backproplab @ git+{repository}"'


def workflow(assignment, repository="https://github.com/OWNER/backproplab", python="3.11"):
    """The YAML text of the autograding workflow of ``assignment`` (an NN_name)."""
    exercises = Assignment.load(PRISTINE / f"{assignment}.ipynb").exercises
    notebook = f"exercises/{assignment}.ipynb"
    lines = [
        f"# GitHub Classroom autograding for {assignment}: written by `backproplab classroom "
        f"{assignment}`.",
        "# Copy to .github/workflows/classroom.yml in the assignment's template repository.",
        "name: Autograding Tests",
        "'on':",
        "  - push",
        "  - repository_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - uses: actions/setup-python@v5",
        "        with:",
        f"          python-version: '{python}'",
        "      - name: Install the course and the sandbox",
        "        run: |",
        "          sudo apt-get update && sudo apt-get install -y bubblewrap",
        f"          {INSTALL.format(repository=repository)}",
        "      - name: Grade the notebook once",
        f"        run: backproplab grade {notebook} --assignment {assignment} --json report.json"
        " || true",
    ]
    ids = []
    for exercise in exercises.values():
        step = exercise.id.replace("_", "-").replace(".", "-")
        ids.append(step)
        lines += [
            f"      - name: {exercise.id}",
            f"        id: {step}",
            "        uses: classroom-resources/autograding-command-grader@v1",
            "        with:",
            f"          test-name: {exercise.id}",
            f"          command: python -m backproplab.grading.classroom passed report.json "
            f"{exercise.id}",
            "          timeout: 10",
            f"          max-score: {exercise.points}",
        ]
    lines += ["      - name: Autograding Reporter",
              "        uses: classroom-resources/autograding-grading-reporter@v1",
              "        env:"]
    lines += [f"          {step.upper()}_RESULTS: \"${{{{steps.{step}.outputs.result}}}}\""
              for step in ids]
    lines += ["        with:", f"          runners: {','.join(ids)}"]
    return "\n".join(lines) + "\n"


def passed(report_path, exercise):
    """Exit status 0 when ``exercise`` passed in the JSON report, else 1 (with why)."""
    try:
        reports = json.loads(open(report_path, encoding="utf-8").read())
        results = {x["exercise"]: x for x in reports[0]["exercises"]}
    except (OSError, ValueError, LookupError, TypeError) as exc:
        print(f"no readable report in {report_path}: {exc}")
        return 1
    result = results.get(exercise)
    if result is None:
        print(f"{exercise}: not in the report ({reports[0].get('error') or 'not graded'})")
        return 1
    print(f"{exercise}: {result['points']}/{result['max']} {result['status']} {result['hint']}")
    return 0 if result["status"] == "pass" else 1


def add_arguments(parser):
    parser.add_argument("assignment", help="the assignment, e.g. 05_layers")
    parser.add_argument("--repository", default="https://github.com/OWNER/backproplab",
                        help="where the workflow installs backproplab from")


def run(args):
    try:
        sys.stdout.write(workflow(args.assignment, args.repository))
    except Exception as exc:  # an unknown assignment, a broken notebook
        print(f"backproplab classroom: {args.assignment}: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backproplab.grading.classroom")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("passed", help="exit 0 when an exercise passed in a JSON report")
    check.add_argument("report")
    check.add_argument("exercise")
    args = parser.parse_args(argv)
    return passed(args.report, args.exercise)


if __name__ == "__main__":
    sys.exit(main())
