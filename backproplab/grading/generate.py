"""Generate exercise notebooks from solution notebooks (the single source).

In every answer cell the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
becomes a stub at the same indentation, and the outputs are cleared. Check cells keep
only their stored stdout: the reference that the grader compares. Everything else is
copied as it is. Output is written exactly as ``nbformat.write`` writes it, so generating
twice gives the same bytes, and a test can compare ``exercises/`` with a fresh generation.

    backproplab exercises [--solutions solutions] [--out exercises] [--check]
    python -m backproplab.grading.generate [same options]
"""

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from .assignment import (PASS_LINE, AuthoringError, assignment_name, cell_info, exercises,
                         stdout_text)
from .checks import STUB_MESSAGE

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
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        info = cell_info(cell)
        role = info.get("role")
        if role == "answer":
            cell.source = stub_solutions(cell.source, info["exercise"],
                                         f"{source}: cell {index} ({info['exercise']})")
            cell.outputs = []
            cell.execution_count = None
        elif role == "check":
            _check_reference(cell, info, f"{source}: cell {index}")
            # The reference is the stdout only: warnings on stderr differ between runs.
            cell.outputs = [out for out in cell.outputs if out.get("output_type") == "stream"
                            and out.get("name") == "stdout"]
    return nb


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


def generate(solutions_dir, out_dir, check=False):
    """Write (or with ``check``, only compare) ``out_dir/X.ipynb`` for every solution X.

    Returns the paths that were out of date.
    """
    solutions_dir, out_dir = Path(solutions_dir), Path(out_dir)
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"solutions directory {solutions_dir} does not exist")
    changed = []
    for solution_path in sorted(solutions_dir.glob("*.ipynb")):
        text = exercise_text(solution_path)
        target = out_dir / solution_path.name
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        changed.append(target)
        if not check:
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
    return changed


def add_arguments(parser):
    parser.add_argument("--solutions", default="solutions", type=Path,
                        help="folder of solution notebooks (default: solutions)")
    parser.add_argument("--out", default="exercises", type=Path,
                        help="folder to write exercise notebooks to (default: exercises)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when an exercise notebook is out of date")


def run(args):
    try:
        changed = generate(args.solutions, args.out, check=args.check)
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
