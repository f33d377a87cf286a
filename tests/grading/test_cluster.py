"""Grading on a Dask cluster: the same reports in the same order as on one machine, and a
worker killed mid-run costs no grade."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from backproplab.grading.grader import Grader

pytest.importorskip("distributed")

from backproplab.grading import cluster  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NAMES = ["correct", "wrong_relu", "blank", "debug_prints", "added_cells", "moved_cells",
         "broken_json", "not_a_notebook"]
PATHS = [FIXTURES / "submissions" / (f"{n}.ipynb" if n != "not_a_notebook" else f"{n}.py")
         for n in NAMES]

pytestmark = pytest.mark.notebook


def summary(reports):
    return [(Path(r.submission).name, r.total, r.error is None,
             [(x.exercise, x.status, x.hint) for x in r.exercises]) for r in reports]


@pytest.fixture(scope="module")
def local_two():
    client = cluster.connect("local:2")
    yield client
    client.close()
    client.cluster.close()


def grader():
    return Grader(FIXTURES / "exercises", seed=7, timeout=30, allow_flagged=True)


@pytest.fixture(scope="module")
def expected():
    return summary(grader().grade_many(PATHS, jobs=2))


def test_cluster_reports_equal_one_machines_in_order(local_two, expected):
    assert summary(cluster.grade_on_cluster(local_two, grader(), PATHS)) == expected


def test_a_worker_killed_mid_run_costs_no_grade(local_two, expected):
    pids = local_two.run(os.getpid)
    killed = []

    def kill_one_when_busy():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = [w for w, tasks in local_two.processing().items() if tasks]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill_one_when_busy)
    thread.start()
    reports = cluster.grade_on_cluster(local_two, grader(), PATHS)
    thread.join()
    assert killed, "no worker was busy to be killed"
    assert summary(reports) == expected
