"""A class graded on a local Dask cluster of 1 and of 2 worker processes, against threads.

    python benchmarks/bench_cluster.py [--class-size 200]

The class is copies of the test corpus's ordinary submissions (correct, wrong, blank,
moved cells, ...), graded with one seed, so every run grades the same work. Each way of
grading must give the same reports; the wall time of each is printed.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backproplab.grading import cluster  # noqa: E402
from backproplab.grading.grader import Grader  # noqa: E402

FIXTURES = ROOT / "tests" / "grading" / "fixtures"
MIX = ["correct", "wrong_relu", "blank", "moved_cells", "added_cells", "deleted_checks",
       "stderr_warnings", "syntax_error", "debug_prints", "fake_pass_outputs"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--class-size", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        paths = []
        for i in range(args.class_size):
            path = Path(scratch) / f"student{i:03d}_{MIX[i % len(MIX)]}.ipynb"
            shutil.copy(FIXTURES / "submissions" / f"{MIX[i % len(MIX)]}.ipynb", path)
            paths.append(path)
        grader = Grader(FIXTURES / "exercises", seed=1, allow_flagged=True)
        results = {}
        start = time.perf_counter()
        reference = grader.grade_many(paths, jobs=2)
        results["threads -j 2"] = time.perf_counter() - start
        for workers in (1, 2):
            client = cluster.connect(f"local:{workers}")
            try:
                start = time.perf_counter()
                reports = cluster.grade_on_cluster(client, grader, paths)
                results[f"dask local:{workers}"] = time.perf_counter() - start
            finally:
                client.close()
                client.cluster.close()
            assert [(r.total, r.error) for r in reports] == [
                (r.total, r.error) for r in reference], "the cluster's reports differ"
    for name, seconds in results.items():
        print(f"{name:14s} {seconds:7.1f} s  {seconds / args.class_size:.2f} s per hand-in")
    print(f"local:2 against local:1: {results['dask local:1'] / results['dask local:2']:.2f}x")


if __name__ == "__main__":
    main()
