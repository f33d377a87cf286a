"""Grading a class on a Dask distributed cluster: ``backproplab grade --dask ADDRESS``.

Each hand-in travels to a worker as the bytes of its file (workers need not share the
teacher's disk), is graded there by a Grader with the same options and the same seed of
cases as this run (so every worker judges the same cases), in the same sandbox, and comes
back as plain data. Reports keep the order of the hand-ins. A worker lost mid-run costs
no grade: Dask runs its hand-ins again on another worker. ``local`` or ``local:N`` starts a
cluster of N worker processes (default 2) on this machine for the run.
"""

from pathlib import Path

from .report import ExerciseResult, Report, printable


class ClusterError(RuntimeError):
    """The cluster cannot be reached or started; the message is one line."""


_GRADERS = {}  # one Grader per options per worker process


def _grade_task(shown, data, options):
    from .grader import Grader

    key = repr(sorted(options.items()))
    if key not in _GRADERS:
        keep = options.pop("keep_cells", False)
        _GRADERS[key] = Grader(**options)
        _GRADERS[key].keep_cells = keep
    return to_plain(_GRADERS[key].grade_data(shown, data))


def to_plain(report):
    plain = report.to_dict()
    plain["student"] = report.student
    plain["cells"] = [list(c) for c in report.cells]
    plain["seconds"] = report.seconds
    return plain


def from_plain(plain):
    return Report(submission=plain["submission"], assignment=plain["assignment"],
                  exercises=[ExerciseResult(**x) for x in plain["exercises"]],
                  error=plain["error"], seconds=plain["seconds"], student=plain["student"],
                  cells=[tuple(c) for c in plain["cells"]])


def connect(address):
    """A distributed Client for ``address`` (``local[:N]`` starts a local cluster)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("--dask needs Dask distributed: pip install -e \".[cluster]\"") from None
    if address == "local" or address.startswith("local:"):
        try:
            workers = int(address.partition(":")[2] or 2)
        except ValueError:
            raise ClusterError(f"--dask {address}: expected local or local:N") from None
        if workers < 1:
            raise ClusterError(f"--dask {address}: N must be at least 1")
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster)
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"--dask {printable(address)}: no scheduler reached ({exc})") from None


def grade_on_cluster(client, grader, paths):
    """Reports of ``paths`` in their order, graded on ``client``'s workers with ``grader``'s
    options and seed; files too large or unreadable are reported here without sending."""
    options = {"exercise_dirs": [str(d) for d in grader.exercise_dirs],
               "assignment": grader.assignment, "timeout": grader.timeout,
               "memory_mb": grader.memory_mb, "startup_timeout": grader.startup_timeout,
               "sandbox_mode": grader.sandbox_mode, "allow_flagged": grader.allow_flagged,
               "max_notebook_mb": grader.max_notebook_bytes / 2**20, "seed": grader.seed,
               "keep_cells": grader.keep_cells}
    reports, futures = [None] * len(paths), {}
    for index, path in enumerate(paths):
        shown = printable(path)
        try:
            path = Path(path)
            if path.stat().st_size > grader.max_notebook_bytes or path.suffix != ".ipynb":
                reports[index] = grader.grade(path)  # says why, without reading it whole
                continue
            data = path.read_bytes()
        except OSError:
            reports[index] = grader.grade(path)
            continue
        futures[index] = client.submit(_grade_task, shown, data, dict(options), pure=False,
                                       retries=2, key=f"backproplab-grade-{index}-{grader.seed}")
    for index, future in futures.items():
        try:
            reports[index] = from_plain(future.result())
        except Exception as exc:  # the task failed on every worker it was given to
            reports[index] = Report(submission=printable(paths[index]),
                                    error=f"{printable(paths[index])}: grading failed on the "
                                          f"cluster: {type(exc).__name__}: {exc}")
    return reports
