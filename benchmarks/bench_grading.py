"""What grading costs beyond running the notebook, and how a class scales with -j.

1. Per notebook, in fresh processes as a teacher runs them, rounds alternating:
   - `python -m backproplab.cli grade SOLUTION` (rebuild, kernel, checks, report);
   - plain nbclient executing the same notebook (kernel start, cells, shutdown);
   - `pytest --nbval` on the same notebook, for reference;
   and, inside one process, `Grader.grade` against `NotebookClient.execute`. The
   notebook's own run time is the sum of its cells' execution times (nbclient's timing
   metadata); grading overhead = grading time - own run time.
2. A class of N submissions (copies of the test corpus's ordinary submissions: correct,
   wrong, blank, moved cells, ...) graded with -j 1 and -j 2.

    python benchmarks/bench_grading.py [--rounds 5] [--class-size 50] [--notebook PATH]

The default notebook is every solution in solutions/ plus the test corpus's demo.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = "auto"
FIXTURES = ROOT / "tests" / "grading" / "fixtures"
sys.path.insert(0, str(ROOT))

from backproplab.grading.generate import PRISTINE  # noqa: E402
from backproplab.grading.grader import Grader  # noqa: E402
from backproplab.grading.runner import kernel_env  # noqa: E402

# Submissions of the corpus that finish on their own (no loops, no crashes).
CLASS_MIX = ["correct", "wrong_relu", "blank", "moved_cells", "added_cells",
             "deleted_checks", "stderr_warnings", "syntax_error", "debug_prints",
             "fake_pass_outputs"]

NBCLIENT = """
import sys, time, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3").execute()
"""


def timed(command, cwd):
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=kernel_env(), capture_output=True,
                            text=True, timeout=600)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return seconds


def own_run_time(notebook):
    """Sum of the cells' execution times, as nbclient records them."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    total = 0.0
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (end - start).total_seconds()
    return total


def per_notebook(notebook, exercises, rounds):
    """Median seconds of each way of running ``notebook``."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / notebook.name  # pytest and nbclient may write beside it
        shutil.copy(notebook, copy)
        commands = {
            "grade (CLI)": [sys.executable, "-m", "backproplab.cli", "grade", str(copy),
                            "--exercises", str(exercises), "--sandbox", SANDBOX],
            "nbclient (CLI)": [sys.executable, "-c", NBCLIENT, str(copy)],
            "pytest --nbval": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--nbval", "--nbval-current-env", "-o", "addopts=",
                               str(copy)],
        }
        times = {name: [] for name in commands}
        times["grade (in-process)"], times["nbclient (in-process)"] = [], []
        grader = Grader(exercises, sandbox_mode=SANDBOX)
        import nbformat
        from nbclient import NotebookClient

        for _ in range(rounds):
            for name, command in commands.items():
                times[name].append(timed(command, ROOT))
            start = time.perf_counter()
            report = grader.grade(copy)
            times["grade (in-process)"].append(time.perf_counter() - start)
            assert report.error is None and report.total == report.max, report.to_dict()
            start = time.perf_counter()
            NotebookClient(nbformat.read(copy, as_version=4), timeout=600,
                           kernel_name="python3").execute()
            times["nbclient (in-process)"].append(time.perf_counter() - start)
        own = statistics.median(own_run_time(copy) for _ in range(rounds))
    return {name: statistics.median(values) for name, values in times.items()}, own


def class_of(size, folder):
    paths = []
    for i in range(size):
        name = CLASS_MIX[i % len(CLASS_MIX)]
        path = folder / f"student{i:03d}_{name}.ipynb"
        shutil.copy(FIXTURES / "submissions" / f"{name}.ipynb", path)
        paths.append(path)
    return paths


def whole_class(size):
    with tempfile.TemporaryDirectory() as scratch:
        paths = class_of(size, Path(scratch))
        # The corpus's os._exit and warnings are beside the point here: count them.
        grader = Grader(FIXTURES / "exercises", sandbox_mode=SANDBOX, allow_flagged=True)
        result = {}
        for jobs in (1, 2):
            start = time.perf_counter()
            reports = grader.grade_many(paths, jobs=jobs)
            result[jobs] = time.perf_counter() - start
            assert all(r.error is None for r in reports)
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--class-size", type=int, default=50)
    parser.add_argument("--notebook", type=Path, action="append",
                        help="solution notebook(s); default: solutions/*.ipynb and the demo")
    parser.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                        help="the grader's sandbox mode (default auto: bubblewrap where it works)")
    args = parser.parse_args()
    global SANDBOX
    SANDBOX = args.sandbox
    os.environ.update({k: v for k, v in kernel_env().items() if k.endswith("_THREADS")})

    notebooks = args.notebook or (sorted((ROOT / "solutions").glob("*.ipynb"))
                                  + [FIXTURES / "solutions" / "00_demo.ipynb"])
    print(f"cpus: {os.cpu_count()}, rounds: {args.rounds} (medians)\n")
    results = {}
    for notebook in (n.resolve() for n in notebooks):
        exercises = (PRISTINE if notebook.parent == ROOT / "solutions"
                     else notebook.parent.parent / "exercises")
        times, own = per_notebook(notebook, exercises, args.rounds)
        results[notebook.name] = {"own_run_s": own, **times}
        print(f"{notebook.relative_to(ROOT)}: cells' own run time {own:.2f} s")
        for name, seconds in times.items():
            print(f"  {name:24s} {seconds:6.2f} s   beyond own run time {seconds - own:5.2f} s")
        for where in ("CLI", "in-process"):
            grade, plain = times[f"grade ({where})"], times[f"nbclient ({where})"]
            print(f"  grade / nbclient ({where}): {grade / plain:.2f}x, "
                  f"difference {grade - plain:+.2f} s")
        print()

    seconds = whole_class(args.class_size)
    print(f"class of {args.class_size}: -j 1 {seconds[1]:.1f} s, -j 2 {seconds[2]:.1f} s, "
          f"speed-up {seconds[1] / seconds[2]:.2f}x, "
          f"{seconds[2] / args.class_size:.2f} s per notebook at -j 2")
    results["class"] = {"size": args.class_size, "j1_s": seconds[1], "j2_s": seconds[2]}
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
