"""Grade submitted notebooks: ``backproplab grade SUBMISSION.ipynb ...``.

A hand-in flows one way through these stages:

1. read (:mod:`.submission`): at most ``--max-notebook-mb``, as JSON; the assignment is a
   plain ``NN_name`` looked up only in the exercise folders;
2. rebuild (:mod:`.submission`): setup and check cells from the pristine exercise
   notebook, the student's answer cells by exercise id and the cells they added;
3. flag (:mod:`.flags`): a static read of the student's cells;
4. run (:mod:`.runner`, inside :mod:`.sandbox`): the check cells only observe, on cases
   this run drew from a seed of its own, and print what they saw as plain data;
5. judge (:mod:`.judge`, here, in a process that runs no student code): observations
   against the references, plus timeouts, crashes and what blocks what;
6. report (:mod:`.report`).

A failure caused by another exercise (its stub, its name being undefined, a frame of its
function in the traceback, or a declared ``requires``) is reported as ``blocked by`` that
exercise rather than as a failure of its own.
"""

import os
import re
import secrets
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from . import course, flags as flagging, sandbox, wire
from .assignment import assignment_name, cell_info, cell_source
from .generate import PRISTINE
from .judge import PASSED, Verdict, judge_observation
from .observe import OBSERVED, STUB_MESSAGE
from .report import (ExerciseResult, Report, printable, summary, table, write_csv,
                     write_json)
from .runner import run_cells
from .submission import Assignment, SubmissionError, build_cells, parse_notebook

DEFAULT_TIMEOUT_S = 60
DEFAULT_MEMORY_MB = 4096
DEFAULT_MAX_NOTEBOOK_MB = 20
HINT_CHARS = 300
UNDEFINED = re.compile(r"name '(\w+)' is not defined")
STUB = re.compile("^(\\S+): " + re.escape(STUB_MESSAGE.split(": ", 1)[1]) + "$")


def default_exercise_dirs():
    """Where exercise notebooks are looked for: the package's pristine copies (never the
    learners' editable ``exercises/``)."""
    return [PRISTINE]


class Grader:
    """Grades submissions against the exercise notebooks in ``exercise_dirs``.

    seed: the seed check cases are drawn from (default: a fresh one for every Grader,
    that is for every run of ``backproplab grade``).
    sandbox: ``auto`` (bubblewrap where it works), ``bwrap`` (or SandboxError) or ``none``.
    """

    def __init__(self, exercise_dirs=None, *, assignment=None, timeout=DEFAULT_TIMEOUT_S,
                 memory_mb=DEFAULT_MEMORY_MB, startup_timeout=60, sandbox_mode="auto",
                 allow_flagged=False, max_notebook_mb=DEFAULT_MAX_NOTEBOOK_MB, seed=None):
        if exercise_dirs is None:
            exercise_dirs = default_exercise_dirs()
        elif isinstance(exercise_dirs, (str, Path)):
            exercise_dirs = [exercise_dirs]
        self.exercise_dirs = [Path(d) for d in exercise_dirs]
        self.assignment = assignment
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.startup_timeout = startup_timeout
        self.sandbox_mode = sandbox_mode
        self.use_bwrap, self.sandbox_note = sandbox.choose(sandbox_mode)
        self.allow_flagged = allow_flagged
        self.max_notebook_bytes = int(max_notebook_mb * 2**20)
        self.seed = secrets.randbits(63) if seed is None else int(seed)
        self.keep_cells = False  # True: reports keep the student's cells (for feedback pages)
        self._assignments = {}

    def find_assignment(self, name):
        if not isinstance(name, str) or not course.ASSIGNMENT_NAME.fullmatch(name):
            raise SubmissionError(f"the assignment {printable(repr(name))[:80]} is not a "
                                  f"plain NN_name")
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
        shown = printable(path)
        try:
            path = Path(path)
            if path.is_dir():
                raise SubmissionError(f"{shown}: is a directory, not a notebook")
            if path.suffix != ".ipynb":
                raise SubmissionError(f"{shown}: not a notebook (expected a .ipynb file)")
            try:
                size = path.stat().st_size
                if size > self.max_notebook_bytes:
                    raise SubmissionError(self._too_large(shown, size))
                data = path.read_bytes()
            except FileNotFoundError:
                raise SubmissionError(f"{shown}: no such file") from None
            except OSError as exc:
                raise SubmissionError(f"{shown}: cannot be read ({exc})") from None
        except SubmissionError as exc:
            return Report(submission=shown, error=printable(exc),
                          seconds=time.monotonic() - start)
        return self.grade_data(shown, data, start)

    def _too_large(self, shown, size):
        return (f"{shown}: too large ({size / 2**20:.1f} MB, more than --max-notebook-mb "
                f"{self.max_notebook_bytes / 2**20:g})")

    def grade_data(self, shown, data, start=None):
        """The Report of a submission given as the bytes of its file, named ``shown``."""
        start = time.monotonic() if start is None else start
        report = Report(submission=shown)
        try:
            if len(data) > self.max_notebook_bytes:
                raise SubmissionError(self._too_large(shown, len(data)))
            nb = parse_notebook(data, shown)
            name = assignment_name(nb)
            report.assignment = printable(name) if name is not None else None
            if name is None:
                raise SubmissionError(f"{shown}: no backproplab assignment in the notebook "
                                      f"metadata; is it one of the course's exercise notebooks?")
            if self.assignment is not None and name != self.assignment:
                raise SubmissionError(f"{shown}: a notebook of assignment {printable(name)!r}, "
                                      f"but this run grades {self.assignment!r}")
            try:
                assignment = self.find_assignment(name)
                specs = course.specs(name)
            except SubmissionError as exc:
                raise SubmissionError(f"{shown}: {exc}") from None
            except KeyError:
                raise SubmissionError(f"{shown}: no checks for assignment {name!r}") from None
            report.student = _student_key(nb)
            report.exercises = self._run(assignment, specs, nb)
            if self.keep_cells:  # the student's own cells, for a feedback page
                given = _given_sources(assignment)
                report.cells = [(c.role, c.exercise, c.source) for c in build_cells(assignment, nb)
                                if c.role == "answer" or c.role == "student"
                                and c.source not in given]
        except SubmissionError as exc:
            report.error = printable(exc)
        except Exception as exc:  # a kernel that would not start, a notebook odd in a new
            # way, MemoryError or RecursionError on a monstrous cell: this submission is
            # not graded, and the rest of the class still is
            report.error = printable(f"{shown}: grading failed: {type(exc).__name__}: {exc}")[:500]
        report.seconds = time.monotonic() - start
        return report

    def cases(self, spec):
        """This run's cases of one check (the same for every hand-in of the run)."""
        rng = np.random.default_rng([self.seed, zlib.crc32(spec.id.encode())])
        return spec.cases(rng)

    def _run(self, assignment, specs, nb):
        cells = build_cells(assignment, nb)
        check_ids = [_check_id(c) if c.role == "check" else None for c in cells]
        cases = {cid: self.cases(specs[cid]) for cid in check_ids if cid in specs}
        owners = _defined_names(cells)
        found = _flags(cells, assignment, course.references(assignment.name))
        with tempfile.TemporaryDirectory(prefix="backproplab-grade-",
                                         ignore_cleanup_errors=True) as folder:
            work, case_dir = Path(folder, "work"), Path(folder, "cases")
            work.mkdir()
            case_dir.mkdir()
            for cid, items in cases.items():
                (case_dir / f"{cid}.json").write_text(wire.encode(items), encoding="utf-8")
            runs = run_cells([c.source for c in cells], work, self.timeout, self.memory_mb,
                             skip=lambda i, runs: _lost_requirement(cells, runs, i) is not None,
                             startup_timeout=self.startup_timeout, sandbox=self.use_bwrap,
                             cases_dir=case_dir)
        verdicts = {}
        for index, (cell, run) in enumerate(zip(cells, runs)):
            if cell.role == "check":
                spec = specs.get(check_ids[index])
                verdicts[index] = _check_verdict(
                    cell, run, spec, cases.get(check_ids[index]), owners, self.timeout,
                    _lost_requirement(cells, runs, index), _answer_run(cells, runs, cell))
        return _results(assignment, cells, runs, verdicts, found, self.allow_flagged,
                        self.timeout)

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


def _student_key(nb):
    """What the notebook says of its author: metadata ``backproplab.student`` (a string)."""
    info = nb.get("metadata", {}).get("backproplab") if isinstance(nb.get("metadata"), dict) else None
    value = info.get("student") if isinstance(info, dict) else None
    return printable(value)[:200] if isinstance(value, str) and value else None


def _check_id(cell):
    """The check id a pristine check cell names: ``check("id", ...)``."""
    try:
        call = flagging.parse(cell.source).body[0].value
        return call.args[0].value
    except (SyntaxError, AttributeError, IndexError):
        return None


def _answer_run(cells, runs, check_cell):
    for cell, run in zip(cells, runs):
        if cell.role == "answer" and cell.exercise == check_cell.exercise:
            return run
    return None


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
            tree = flagging.parse(cell.source)
        except SyntaxError:
            continue
        for name in flagging.bound_names(tree):
            owners.setdefault(name, cell.exercise)
    return owners


def _given_sources(assignment):
    """Ordinary code cells of the exercise notebook itself (demonstrations): not the
    student's, though they come back in every hand-in."""
    return {cell_source(c) for c in assignment.notebook["cells"]
            if c.get("cell_type") == "code" and not cell_info(c).get("role")}


def _flags(cells, assignment, references):
    """``{exercise: [flag text]}``: every flag of a student's cell counts against each
    exercise whose check runs after that cell (a helper can serve any later answer)."""
    protected, aliases = set(), {}
    for cell in cells:
        if cell.role in ("setup", "check"):
            try:
                tree = flagging.parse(cell.source)
            except SyntaxError:
                continue
            protected |= flagging.bound_names(tree)
            if cell.role == "setup":
                aliases.update(flagging.module_aliases(tree))
    given = _given_sources(assignment)
    found, pending = {}, []
    for cell in cells:
        if cell.role == "student" and cell.source in given:
            continue
        if cell.role in ("answer", "student"):
            where = (f"the answer cell of {cell.exercise}" if cell.role == "answer"
                     else "a cell you added")
            pending += [f"{where}, {flag}" for flag in
                        flagging.flag_cell(cell.source, protected, aliases, references)]
        elif cell.role == "check" and pending:
            found.setdefault(cell.exercise, [])
            found[cell.exercise] += [f for f in pending if f not in found[cell.exercise]]
    return found


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


def _results(assignment, cells, runs, verdicts, found, allow_flagged, timeout):
    setup_error = next((f"a setup cell failed ({_problem(r, timeout)}), so no check could "
                        f"run as intended" for c, r in zip(cells, runs)
                        if c.role == "setup" and r.status != "ok"), None)
    by_exercise = {}  # exercise -> [(Verdict, points of the cell)]
    for index, verdict in verdicts.items():
        cell = cells[index]
        by_exercise.setdefault(cell.exercise, []).append((verdict, cell.points))

    # Each exercise's own verdict (its first failing check) comes first: whether another
    # exercise blocks it depends on that one's own verdict, wherever it is in the notebook.
    own = {exercise: next((v for v, _ in items if v.status != "pass"), PASSED)
           for exercise, items in by_exercise.items()}

    results = []
    for exercise, info in assignment.exercises.items():
        points = sum(p for v, p in by_exercise.get(exercise, []) if v.status == "pass")
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
        flags = [_shorten(f) for f in found.get(exercise, [])]
        if flags and not allow_flagged:
            points, status = 0, "flagged"
            hint = f"flagged for a teacher to read: {flags[0]}" + (
                f" (and {len(flags) - 1} more)" if len(flags) > 1 else "")
        results.append(ExerciseResult(exercise, points, info.points, status, _shorten(hint),
                                      flags))
    return results


def _problem(run, timeout):
    """What went wrong in a cell that did not run cleanly, in a few words."""
    if run.status in ("timeout", "killed"):
        return f"ran longer than {timeout:g} s"
    if run.status == "died":
        return "the kernel died"
    return f"{run.ename}: {run.evalue}"


def _observation(stdout, check_id):
    """The records the check ``check_id`` printed (its last report), or None."""
    prefix = f"{OBSERVED} {check_id} "
    for line in reversed(stdout.splitlines()):
        if line.startswith(prefix):
            try:
                return wire.decode(line[len(prefix):])
            except wire.WireError:
                return None
    return None


def _check_verdict(cell, run, spec, cases, owners, timeout, lost_requirement, answer_run):
    """The Verdict of one check cell's run, judged here from what it observed."""
    exercise = cell.exercise
    if run.status == "skipped":
        return Verdict("blocked", f"blocked by {lost_requirement}",
                       frozenset({lost_requirement}))
    if spec is None:
        return Verdict("error", "the exercise notebook's check cell names no known check")
    records = _observation(run.stdout, spec.id) if run.status == "ok" else None
    if records is not None:
        try:
            return judge_observation(spec, cases, records, owners)
        except Exception as exc:  # an observation of an unexpected shape: this check only
            return Verdict("error", f"the check's result could not be judged "
                                    f"({type(exc).__name__}: {_shorten(str(exc))})")
    # The answer cell's own trouble explains a failing check better than the check does.
    if answer_run is not None and answer_run.status in ("timeout", "killed"):
        return Verdict("timeout", f"the answer cell ran longer than {timeout:g} s (an "
                                  f"infinite loop?)")
    if answer_run is not None and answer_run.status == "died":
        return Verdict("error", "the answer cell ended the kernel (os._exit, a crash, or "
                                "too much memory?)")
    if run.status in ("timeout", "killed"):
        return Verdict("timeout", f"ran longer than {timeout:g} s and was stopped (an "
                                  f"infinite loop?)")
    if run.status == "died":
        return Verdict("error", "the kernel died during the check (os._exit, a crash, or "
                                "memory above the limit?)")
    undefined = UNDEFINED.search(run.evalue) if run.ename == "NameError" else None
    if undefined and owners.get(undefined[1]) not in (None, exercise):
        return Verdict("error", f"{undefined[1]} is not defined",
                       frozenset({owners[undefined[1]]}))
    if answer_run is not None and answer_run.status == "error":
        return Verdict("error", f"the answer cell raised {_problem(answer_run, timeout)}")
    if run.status == "error":
        return Verdict("error", _problem(run, timeout))
    return Verdict("error", "the check reported no result")


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
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                        help="run each hand-in in a bubblewrap sandbox: auto (where it works), "
                             "bwrap (or stop), none (default: auto)")
    parser.add_argument("--allow-flagged", action="store_true",
                        help="count flagged exercises (after reading them); flags stay in "
                             "the report")
    parser.add_argument("--max-notebook-mb", type=float, default=DEFAULT_MAX_NOTEBOOK_MB,
                        metavar="MB", help=f"larger hand-ins are not graded (default "
                                           f"{DEFAULT_MAX_NOTEBOOK_MB})")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the check cases (default: a new one each run)")
    parser.add_argument("--feedback", type=Path, default=None, metavar="DIR",
                        help="write one self-contained HTML feedback page per hand-in")
    parser.add_argument("--roster", type=Path, default=None, metavar="ROSTER.csv",
                        help="map hand-ins to students (columns file, student_id, name, ...)")
    parser.add_argument("--csv-format", default="wide", metavar="FORMAT",
                        help="gradebook format: wide (default), canvas or moodle")
    parser.add_argument("--min-score", type=float, default=None, metavar="P",
                        help="exit with status 3 when a hand-in scores below P percent of "
                             "its points (for CI, e.g. GitHub Classroom)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS",
                        help="grade on a Dask cluster: a scheduler address, or local[:N]")


def _refuse(message):
    print(f"backproplab grade: {message}", file=sys.stderr)
    return 2


def run(args):
    from . import gradebook

    if args.timeout <= 0 or args.jobs < 1 or args.memory_mb < 0:
        return _refuse(f"--timeout must be > 0, -j >= 1 and --memory-mb >= 0; got "
                       f"{args.timeout}, {args.jobs} and {args.memory_mb}")
    if args.exercises is not None and not args.exercises.is_dir():
        return _refuse(f"--exercises {printable(args.exercises)} is not a folder")
    if args.csv_format not in gradebook.FORMATS:
        return _refuse(f"--csv-format {printable(args.csv_format)!r} is not one of "
                       f"{', '.join(gradebook.FORMATS)}")
    if args.min_score is not None and not 0 <= args.min_score <= 100:
        return _refuse(f"--min-score must be a percentage from 0 to 100, got {args.min_score}")
    roster = None
    if args.roster is not None:
        try:
            roster = gradebook.read_roster(args.roster)
        except gradebook.RosterError as exc:
            return _refuse(str(exc))
    if args.feedback is not None:
        try:
            args.feedback.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=args.feedback, prefix=".backproplab-")
            probe.close()
        except OSError as exc:
            return _refuse(f"--feedback {printable(args.feedback)}: cannot write there "
                           f"({exc.strerror or exc})")
    try:
        grader = Grader(args.exercises, assignment=args.assignment, timeout=args.timeout,
                        memory_mb=args.memory_mb or None, sandbox_mode=args.sandbox,
                        allow_flagged=args.allow_flagged, max_notebook_mb=args.max_notebook_mb,
                        seed=args.seed)
    except sandbox.SandboxError as exc:
        return _refuse(f"--sandbox bwrap: {exc}")
    grader.keep_cells = args.feedback is not None
    client = None
    if args.dask is not None:
        from . import cluster
        try:
            client = cluster.connect(args.dask)
        except cluster.ClusterError as exc:
            return _refuse(str(exc))
    many = len(args.submissions) > 1
    try:
        if client is not None:
            reports = cluster.grade_on_cluster(client, grader, args.submissions)
        else:
            reports = grader.grade_many(args.submissions, jobs=args.jobs, progress=many)
    finally:
        if client is not None:
            client.close()
            if getattr(client, "cluster", None) is not None:
                client.cluster.close()
    for report in reports:
        if report.error:
            print(f"backproplab grade: {report.error}", file=sys.stderr)
    try:
        students, warnings = gradebook.identities(
            roster, args.submissions, [r.student for r in reports])
    except gradebook.RosterError as exc:  # graded already: keep the reports, key by file
        print(f"backproplab grade: {exc}; rows are keyed by file name", file=sys.stderr)
        students, warnings = [None] * len(reports), []
    for warning in warnings:
        print(f"backproplab grade: warning: {warning}", file=sys.stderr)
    graded = [r for r in reports if not r.error]
    if many:
        print(summary(reports))
    elif graded:
        print(table(graded[0]))
    if grader.sandbox_note:
        print(f"note: {grader.sandbox_note}")
    if args.json:
        write_json(reports, args.json)
    if args.csv:
        if args.csv_format == "wide":
            write_csv(reports, args.csv, students if roster is not None else None)
        else:
            gradebook.write_lms_csv(reports, students, args.csv, args.csv_format)
    if args.feedback is not None:
        from .feedback import write_feedback
        write_feedback(reports, args.feedback, grader.sandbox_note)
    if len(graded) != len(reports):
        return 1
    if args.min_score is not None and any(
            r.max and 100 * r.total / r.max < args.min_score for r in graded):
        low = [f"{r.submission} {r.total}/{r.max}" for r in graded
               if r.max and 100 * r.total / r.max < args.min_score]
        print(f"backproplab grade: below --min-score {args.min_score:g}%: {', '.join(low)}",
              file=sys.stderr)
        return 3
    return 0
