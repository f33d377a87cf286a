"""Grade submitted notebooks: ``backproplab grade SUBMISSION.ipynb ...``.

For each submission: find its assignment's pristine exercise notebook, rebuild the cells
to run (:mod:`.submission`), run them in a fresh kernel (:mod:`.runner`), compare every
check cell's stdout with its reference, and say per exercise what earned points and, where
not, why (:mod:`.report`). A failure caused by another exercise (its stub, its name being
undefined, a frame of its function in the traceback, or a declared ``requires``) is
reported as ``blocked by`` that exercise rather than as a failure of its own.
"""

import ast
import os
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NamedTuple

from .assignment import assignment_name
from .checks import STUB_MESSAGE
from .report import ExerciseResult, Report, summary, table, write_csv, write_json
from .runner import PACKAGE_ROOT, run_cells
from .submission import Assignment, SubmissionError, build_cells, read_notebook

DEFAULT_TIMEOUT_S = 60
DEFAULT_MEMORY_MB = 4096
HINT_CHARS = 300
FRAME = re.compile(r"^Cell In\[\d+\], line \d+, in (\w+)\(", re.MULTILINE)
UNDEFINED = re.compile(r"name '(\w+)' is not defined")
STUB = re.compile("^(\\S+): " + re.escape(STUB_MESSAGE.split(": ", 1)[1]) + "$")


def default_exercise_dirs():
    """Where exercise notebooks are looked for: the repository's exercises/, then ./exercises."""
    dirs = [Path(PACKAGE_ROOT) / "exercises", Path.cwd() / "exercises"]
    return list(dict.fromkeys(d.resolve() for d in dirs))


class Grader:
    """Grades submissions against the exercise notebooks in ``exercise_dirs``."""

    def __init__(self, exercise_dirs=None, *, assignment=None, timeout=DEFAULT_TIMEOUT_S,
                 memory_mb=DEFAULT_MEMORY_MB, startup_timeout=60):
        if exercise_dirs is None:
            exercise_dirs = default_exercise_dirs()
        elif isinstance(exercise_dirs, (str, Path)):
            exercise_dirs = [exercise_dirs]
        self.exercise_dirs = [Path(d) for d in exercise_dirs]
        self.assignment = assignment
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self._assignments = {}

    def find_assignment(self, name):
        if name not in self._assignments:
            for folder in self.exercise_dirs:
                path = folder / f"{name}.ipynb"
                if path.is_file():
                    self._assignments[name] = Assignment.load(path)
                    break
            else:
                where = ", ".join(str(d) for d in self.exercise_dirs)
                raise SubmissionError(f"unknown assignment {name!r}: no {name}.ipynb in {where}")
        return self._assignments[name]

    def grade(self, path):
        """The Report of one submission; never raises for a bad submission."""
        start = time.monotonic()
        report = Report(submission=str(path))
        try:
            nb = read_notebook(path)
            name = assignment_name(nb)
            report.assignment = name
            if name is None:
                raise SubmissionError(f"{path}: no backproplab assignment in the notebook "
                                      f"metadata; is it one of the course's exercise notebooks?")
            if self.assignment is not None and name != self.assignment:
                raise SubmissionError(f"{path}: a notebook of assignment {name!r}, but this "
                                      f"run grades {self.assignment!r}")
            try:
                assignment = self.find_assignment(name)
            except SubmissionError as exc:
                raise SubmissionError(f"{path}: {exc}") from None
            report.exercises = self._run(assignment, nb)
        except SubmissionError as exc:
            report.error = str(exc)
        except Exception as exc:  # a kernel that would not start, a notebook odd in a new
            # way: this submission is not graded, and the rest of the class still is
            report.error = f"{path}: grading failed: {type(exc).__name__}: {exc}"
        report.seconds = time.monotonic() - start
        return report

    def _run(self, assignment, nb):
        cells = build_cells(assignment, nb)
        owners = _defined_names(cells)
        with tempfile.TemporaryDirectory(prefix="backproplab-grade-",
                                         ignore_cleanup_errors=True) as cwd:
            runs = run_cells([c.source for c in cells], cwd, self.timeout, self.memory_mb,
                             skip=lambda i, runs: _lost_requirement(cells, runs, i) is not None,
                             startup_timeout=self.startup_timeout)
        return _results(assignment, cells, runs, owners, self.timeout)

    def grade_many(self, paths, jobs=None, progress=False):
        """Reports in the order of ``paths``, graded ``jobs`` at a time."""
        paths = list(paths)
        jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths) or 1))
        reports = [None] * len(paths)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(paths), unit="notebook", file=sys.stderr, leave=False)
        # Threads are enough: the work happens in the kernels, which are processes.
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(self.grade, path): i for i, path in enumerate(paths)}
            for future in as_completed(futures):
                reports[futures[future]] = future.result()
                if bar is not None:
                    bar.update()
        if bar is not None:
            bar.close()
        return reports


# CPython 3.11's AST constructor is not safe to run in two threads at once (it can fail
# with "SystemError: AST constructor recursion depth mismatch", gh-106905), and
# grade_many grades notebooks in threads.
_AST_LOCK = threading.Lock()


def _defined_names(cells):
    """``{name: exercise}`` for the functions, classes and variables of answer cells.

    Names come from the source that runs (the student's, else the stub); a student's
    answer that does not parse still defines what its exercise's stub defines.
    """
    owners = {}
    for cell in cells:
        if cell.role != "answer":
            continue
        try:
            with _AST_LOCK:
                tree = ast.parse(cell.source)
        except (SyntaxError, ValueError):  # ValueError: null bytes in the source
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                owners.setdefault(node.name, cell.exercise)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        owners.setdefault(target.id, cell.exercise)
    return owners


def _lost_requirement(cells, runs, index):
    """For a check cell: the exercise it requires whose cells ran out of time or ended
    the kernel; running the check would only lose the same time again."""
    cell = cells[index]
    if cell.role != "check":
        return None
    for earlier, run in zip(cells, runs):
        if (earlier.exercise in cell.requires and earlier.role in ("answer", "check")
                and run.status in ("timeout", "killed", "died")):
            return earlier.exercise
    return None


class Verdict(NamedTuple):
    """What one check cell's run means: status, hint, and exercises that may be to blame."""

    status: str
    hint: str = ""
    blamed: frozenset = frozenset()


PASSED = Verdict("pass")


def _results(assignment, cells, runs, owners, timeout):
    answer_runs = {c.exercise: r for c, r in zip(cells, runs) if c.role == "answer"}
    setup_error = next((f"a setup cell failed ({_problem(r, timeout)}), so no check could "
                        f"run as intended" for c, r in zip(cells, runs)
                        if c.role == "setup" and r.status != "ok"), None)
    verdicts = {}  # exercise -> [(Verdict, points of the cell)]
    for index, (cell, run) in enumerate(zip(cells, runs)):
        if cell.role == "check":
            verdict = _check_verdict(cell, run, answer_runs.get(cell.exercise), owners,
                                     timeout, _lost_requirement(cells, runs, index))
            verdicts.setdefault(cell.exercise, []).append((verdict, cell.points))

    # Each exercise's own verdict (its first failing check) comes first: whether another
    # exercise blocks it depends on that one's own verdict, wherever it is in the notebook.
    own = {exercise: next((v for v, _ in items if v.status != "pass"), PASSED)
           for exercise, items in verdicts.items()}

    results = []
    for exercise, info in assignment.exercises.items():
        points = sum(p for v, p in verdicts.get(exercise, []) if v.status == "pass")
        verdict = own.get(exercise, Verdict("error", "its check cell did not run"))
        status, hint = verdict.status, verdict.hint
        if status != "pass" and setup_error:
            status, hint = "error", setup_error
        elif status != "pass" and not hint.startswith("not implemented yet"):
            blocker = next((other for other in [*sorted(verdict.blamed), *info.requires]
                            if other != exercise and own.get(other, PASSED) is not PASSED),
                           None)
            if blocker is not None:
                status, hint = "blocked", f"blocked by {blocker}"
        results.append(ExerciseResult(exercise, points, info.points, status, _shorten(hint)))
    return results


def _problem(run, timeout):
    """What went wrong in a cell that did not run cleanly, in a few words."""
    if run.status in ("timeout", "killed"):
        return f"ran longer than {timeout:g} s"
    if run.status == "died":
        return "the kernel died"
    return f"{run.ename}: {run.evalue}"


def _check_verdict(cell, run, answer_run, owners, timeout, lost_requirement):
    """The Verdict of one check cell's run."""
    exercise = cell.exercise
    if run.status == "skipped":
        return Verdict("blocked", f"blocked by {lost_requirement}",
                       frozenset({lost_requirement}))
    if run.status == "ok":
        if _contains_lines(run.stdout, cell.reference):
            return PASSED
        got = run.stdout.strip().splitlines()
        return Verdict("fail", f"the check printed {got[-1] if got else 'nothing'!r} "
                               f"instead of {cell.reference.strip()!r}")
    # The answer cell's own trouble explains a failing check better than the check does.
    if answer_run is not None and answer_run.status in ("timeout", "killed"):
        return Verdict("timeout", f"the answer cell ran longer than {timeout:g} s (an "
                                  f"infinite loop?)")
    if answer_run is not None and answer_run.status == "died":
        return Verdict("error", "the answer cell ended the kernel (os._exit, a crash, or "
                                "too much memory?)")
    # Functions of other exercises in the traceback (its cause chain included).
    others = frozenset(owners[name] for name in FRAME.findall(run.traceback)
                       if name in owners) - {exercise}
    if run.status in ("timeout", "killed"):
        return Verdict("timeout", f"ran longer than {timeout:g} s and was stopped (an "
                                  f"infinite loop?)", others)
    if run.status == "died":
        return Verdict("error", "the kernel died during the check (os._exit, a crash, or "
                                "memory above the limit?)")
    if run.ename == "ExerciseFailure":
        hint = run.evalue.split(": ", 1)[1] if run.evalue.startswith("FAIL ") else run.evalue
        stub = re.match(r"blocked by (\S+?),", hint)
        return Verdict("fail", hint, others | ({stub[1]} if stub else set()))
    stub = STUB.match(run.evalue) if run.ename == "NotImplementedError" else None
    if stub and stub[1] == exercise:
        return Verdict("fail", "not implemented yet")
    if stub:
        return Verdict("fail", f"calls {stub[1]}, which is not implemented yet",
                       frozenset({stub[1]}))
    undefined = UNDEFINED.search(run.evalue) if run.ename == "NameError" else None
    if undefined and owners.get(undefined[1]) not in (None, exercise):
        return Verdict("error", f"{undefined[1]} is not defined",
                       frozenset({owners[undefined[1]]}))
    if answer_run is not None and answer_run.status == "error":
        return Verdict("error", f"the answer cell raised {_problem(answer_run, timeout)}")
    return Verdict("error", _problem(run, timeout), others)


def _contains_lines(stdout, reference):
    """Whether the reference lines appear in order in stdout; other lines (a student's
    debugging prints) cost nothing, as warnings on stderr cost nothing."""
    lines = iter(stdout.splitlines())
    return all(any(line == wanted for line in lines) for wanted in reference.splitlines())


def _shorten(text):
    # IPython names cells by a hash in SyntaxErrors ("(2417005877.py, line 3)").
    text = re.sub(r"\(\d+\.py, line (\d+)\)", r"(line \1)", text)
    text = " ".join(text.split())
    return text if len(text) <= HINT_CHARS else text[:HINT_CHARS - 1] + "…"


def add_arguments(parser):
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION.ipynb")
    parser.add_argument("--exercises", type=Path, default=None, metavar="DIR",
                        help="folder of pristine exercise notebooks (default: the repository's "
                             "exercises/, then ./exercises)")
    parser.add_argument("--assignment", default=None,
                        help="grade only notebooks of this assignment; others are errors")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"time limit per cell in seconds (default {DEFAULT_TIMEOUT_S})")
    parser.add_argument("--memory-mb", type=int, default=DEFAULT_MEMORY_MB, metavar="N",
                        help=f"address-space limit of each kernel in MB, 0 for none "
                             f"(default {DEFAULT_MEMORY_MB})")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                        help="write the reports as a JSON list")
    parser.add_argument("--csv", type=Path, default=None, metavar="GRADEBOOK.csv",
                        help="write a gradebook: one row per submission, one column per exercise")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="submissions graded at once (default: number of CPUs)")


def run(args):
    if args.timeout <= 0 or args.jobs < 1 or args.memory_mb < 0:
        print(f"backproplab grade: --timeout must be > 0, -j >= 1 and --memory-mb >= 0; got "
              f"{args.timeout}, {args.jobs} and {args.memory_mb}", file=sys.stderr)
        return 2
    if args.exercises is not None and not args.exercises.is_dir():
        print(f"backproplab grade: --exercises {args.exercises} is not a folder",
              file=sys.stderr)
        return 2
    grader = Grader(args.exercises, assignment=args.assignment, timeout=args.timeout,
                    memory_mb=args.memory_mb or None)
    many = len(args.submissions) > 1
    reports = grader.grade_many(args.submissions, jobs=args.jobs, progress=many)
    for report in reports:
        if report.error:
            print(f"backproplab grade: {report.error}", file=sys.stderr)
    graded = [r for r in reports if not r.error]
    if many:
        print(summary(reports))
    elif graded:
        print(table(graded[0]))
    if args.json:
        write_json(reports, args.json)
    if args.csv:
        write_csv(reports, args.csv)
    return 0 if len(graded) == len(reports) else 1
