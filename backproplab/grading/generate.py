"""Generate exercise notebooks from solution notebooks (the single source).

In every answer cell the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
becomes a stub at the same indentation. Every output and execution count is cleared: a
student's notebook shows nothing they did not run. Every code cell but the setup cells is
tagged ``raises-exception``, so that Run All goes through a notebook whose exercises are
not done yet (a demonstration calling a stub shows its error and the next cell runs). Each check cell must call a check of
the notebook's assignment (``check("id", ...)``, a Spec in :mod:`.course`) whose exercise
and points match the cell's metadata, and the solution must have printed its PASS line
(nbval compares it when the test suite runs the solutions). Output is written exactly as
``nbformat.write`` writes it, so generating twice gives the same bytes.

The pristine exercise notebooks live in the package (``backproplab/exercises/``), where
the grader finds them. The learner's copies in ``exercises/`` are refreshed only where
they are still as the previous generation left them: a learner's edited notebook is
never overwritten (``--reset NAME`` restores one, after asking).

    backproplab exercises [--solutions solutions] [--out DIR] [--learner exercises] [--check]
    python -m backproplab.grading.generate [same options]
"""

import argparse
import ast
import copy
import sys
from pathlib import Path

import nbformat

from . import course
from .assignment import (PASS_LINE, AuthoringError, assignment_name, cell_info, exercises,
                         stdout_text)
from .observe import STUB_MESSAGE

RAISES = "raises-exception"  # the cell tag JupyterLab and nbclient run past on an error
# Where the grader and the test suite find the pristine exercise notebooks.
PRISTINE = Path(__file__).resolve().parents[1] / "exercises"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
# The grader and the check helpers recognise a stub by STUB_MESSAGE.
STUB = "{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError(\"" + STUB_MESSAGE + "\")"


def stub_solutions(source, exercise, where="answer cell"):
    """``source`` with every solution block replaced by the stub of ``exercise``."""
    lines = source.split("\n")
    out, indent, blocks = [], None, 0
    for number, line in enumerate(lines, 1):
        marker = line.strip()
        if marker == BEGIN:
            if indent is not None:
                raise AuthoringError(f"{where}, line {number}: {BEGIN} inside another "
                                     f"solution block")
            indent = line[:len(line) - len(line.lstrip())]
            out.append(STUB.format(indent=indent, exercise=exercise))
            blocks += 1
        elif marker == END:
            if indent is None:
                raise AuthoringError(f"{where}, line {number}: {END} without {BEGIN}")
            indent = None
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise AuthoringError(f"{where}: {BEGIN} is never closed by {END}")
    if blocks == 0:
        raise AuthoringError(f"{where}: no {BEGIN} ... {END} block, so the exercise "
                             f"notebook would contain the solution")
    return "\n".join(out)


def make_exercise(solution, source="solution"):
    """The exercise notebook for a solution notebook (a new notebook; the input is kept)."""
    name = assignment_name(solution)
    if name is None:
        raise AuthoringError(f"{source}: notebook metadata needs "
                             f'{{"backproplab": {{"assignment": "NN_name"}}}}')
    exercises(solution, source)  # validates every cell's metadata
    try:
        specs = course.specs(name)
    except KeyError:
        raise AuthoringError(f"{source}: no checks for assignment {name!r} in "
                             f"backproplab.grading.course") from None
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        info = cell_info(cell)
        role = info.get("role")
        if role == "answer":
            cell.source = stub_solutions(cell.source, info["exercise"],
                                         f"{source}: cell {index} ({info['exercise']})")
        elif role == "check":
            _check_call(cell, info, specs, f"{source}: cell {index}")
            _check_reference(cell, info, f"{source}: cell {index}")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
            if role != "setup":
                # Until its exercises are done, a cell may raise (a stub, a name not yet
                # defined): Jupyter's Run All goes on past cells tagged so.
                tags = cell.metadata.setdefault("tags", [])
                if RAISES not in tags:
                    tags.append(RAISES)
    return nb


def _check_call(cell, info, specs, where):
    """A check cell is one ``check("id", ...)`` call of a check of this exercise."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise AuthoringError(f"{where}: the check cell does not parse ({exc.msg})") from None
    calls = [node.value for node in tree.body if isinstance(node, ast.Expr)
             and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
             and node.value.func.id == "check"]
    if len(tree.body) != 1 or len(calls) != 1 or not calls[0].args or not isinstance(
            calls[0].args[0], ast.Constant) or not isinstance(calls[0].args[0].value, str):
        raise AuthoringError(f"{where}: a check cell must be one call "
                             f"check(\"check id\", your_objects...), got {cell.source!r:.80}")
    check_id = calls[0].args[0].value
    spec = specs.get(check_id)
    if spec is None:
        raise AuthoringError(f"{where}: no check {check_id!r} for this assignment")
    if (spec.exercise, spec.points) != (info["exercise"], info["points"]):
        raise AuthoringError(f"{where}: check {check_id!r} is worth {spec.points} points for "
                             f"{spec.exercise!r}, but the cell metadata says {info['points']} "
                             f"for {info['exercise']!r}")


# nbval compares a cell's saved output in --nbval-lax runs only when tagged so: with
# the tag, `pytest --nbval-lax solutions/` proves every check's reference is what
# running the solution prints.
NBVAL_CHECK_TAG = "nbval-check-output"


def _check_reference(cell, info, where):
    """A check cell's stored output must be the PASS lines worth its points, marked
    for nbval to compare."""
    if NBVAL_CHECK_TAG not in cell.get("metadata", {}).get("tags", []):
        raise AuthoringError(f"{where}: the check cell of {info['exercise']!r} needs the "
                             f"cell tag {NBVAL_CHECK_TAG!r}, so that nbval compares its output")
    lines = stdout_text(cell).splitlines()
    passes = [PASS_LINE.match(line) for line in lines]
    if not lines or not all(passes):
        raise AuthoringError(f"{where}: the stored output of the check cell of "
                             f"{info['exercise']!r} must be its PASS line(s), got "
                             f"{lines!r}; run the solution notebook and save it")
    printed = sum(int(match["points"]) for match in passes)
    if printed != info["points"] or {m["exercise"] for m in passes} != {info["exercise"]}:
        raise AuthoringError(f"{where}: metadata gives {info['exercise']!r} {info['points']} "
                             f"points but the check printed {lines!r}")


def exercise_text(solution_path):
    """The exact text ``backproplab exercises`` writes for ``solution_path``."""
    solution_path = Path(solution_path)
    solution = nbformat.read(solution_path, as_version=4)
    name = assignment_name(solution)
    if name is not None and name != solution_path.stem:
        raise AuthoringError(f"{solution_path}: metadata assignment is {name!r} but the file "
                             f"is named {solution_path.name!r}; they must match")
    nb = make_exercise(solution, str(solution_path))
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write does


def generate(solutions_dir, out_dir=PRISTINE, check=False, learner_dir=None):
    """Write (or with ``check``, only compare) ``out_dir/X.ipynb`` for every solution X.

    learner_dir: a learner's folder of copies to refresh: a copy is replaced only when it
    is missing or still equal to the pristine notebook it replaces.
    Returns (paths that were out of date, learner copies kept because they were edited).
    """
    solutions_dir, out_dir = Path(solutions_dir), Path(out_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"solutions directory {solutions_dir} does not exist")
    changed, kept = [], []
    for solution_path in sorted(solutions_dir.glob("*.ipynb")):
        text = exercise_text(solution_path)
        target = out_dir / solution_path.name
        old = target.read_text(encoding="utf-8") if target.exists() else None
        if old != text:
            changed.append(target)
        if check:
            continue
        if learner_dir is not None:
            copy_path = Path(learner_dir) / solution_path.name
            current = copy_path.read_text(encoding="utf-8") if copy_path.exists() else None
            if current is None or current in (old, text):
                if current != text:
                    copy_path.parent.mkdir(parents=True, exist_ok=True)
                    copy_path.write_text(text, encoding="utf-8", newline="\n")
            else:
                kept.append(copy_path)
        if old != text:
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
    return changed, kept


def reset(name, learner_dir, pristine_dir=PRISTINE, ask=input):
    """Replace the learner's ``learner_dir/name.ipynb`` by the pristine one, after asking."""
    name = Path(name).stem
    source, target = Path(pristine_dir) / f"{name}.ipynb", Path(learner_dir) / f"{name}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(f"no exercise notebook {name!r} in {pristine_dir}")
    if target.exists() and target.read_bytes() != source.read_bytes():
        answer = ask(f"{target} has your edits; replace it with a blank copy? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return False
    target.write_bytes(source.read_bytes())
    return True


def add_arguments(parser):
    parser.add_argument("--solutions", default="solutions", type=Path,
                        help="folder of solution notebooks (default: solutions)")
    parser.add_argument("--out", default=PRISTINE, type=Path,
                        help=f"folder of the pristine exercise notebooks (default: {PRISTINE})")
    parser.add_argument("--learner", default="exercises", type=Path,
                        help="the learner's folder of copies, refreshed where unedited "
                             "(default: exercises)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when an exercise notebook is out of date")
    parser.add_argument("--reset", metavar="NAME", default=None,
                        help="replace the learner's copy of NAME with a blank one (asks first)")


def run(args):
    if args.reset:
        try:
            done = reset(args.reset, args.learner, args.out)
        except (FileNotFoundError, EOFError) as exc:
            print(f"backproplab exercises: {exc}", file=sys.stderr)
            return 2
        print(f"{args.learner / Path(args.reset).stem}.ipynb " + ("reset" if done else "kept"))
        return 0
    try:
        changed, kept = generate(args.solutions, args.out, check=args.check,
                                 learner_dir=None if args.check else args.learner)
    except (AuthoringError, FileNotFoundError, nbformat.ValidationError) as exc:
        print(f"backproplab exercises: {exc}", file=sys.stderr)
        return 2
    stale = sorted({p.name for p in args.out.glob("*.ipynb")}
                   - {p.name for p in args.solutions.glob("*.ipynb")})
    for name in stale:
        print(f"{args.out / name} has no solution in {args.solutions}", file=sys.stderr)
    verb = "out of date" if args.check else "written"
    for path in changed:
        print(f"{path} {verb}")
    for path in kept:
        print(f"{path} has your edits and was left as it is (backproplab exercises --reset "
              f"{path.stem} replaces it)")
    if not changed:
        print(f"{args.out}: up to date")
    return 1 if args.check and (changed or stale) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m backproplab.grading.generate",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
