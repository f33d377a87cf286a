"""The contract every graded exercise of the course keeps, tested for all of them at once
(the exercises are read from the solution notebooks, so a new one is covered without
being listed): its check cells match the assignment's specs, they pass on the solution
with the exercise's points, every one of them fails on the blank stub the learner gets,
and the cases they draw depend on the seed, so that an answer hard-coded for the
notebook's cases fails under the grader. Plausible wrong answers are each lesson's own
tests (test_lessons_*.py, test_derive_exercises.py)."""

import json

import numpy as np
import pytest

from backproplab.grading import course, wire
from checking import ExerciseFailure, cells, check_results, course_exercises, notebook_path

EXERCISES = course_exercises()
IDS = [f"{name}:{exercise}" for name, exercise, _ in EXERCISES]
ASSIGNMENTS = sorted({name for name, _, _ in EXERCISES})


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_check_cells_match_the_specs_and_there_are_at_least_three(name):
    nb = json.loads(notebook_path("solutions", name).read_text(encoding="utf-8"))
    assert nb["metadata"]["backproplab"] == {"assignment": name}
    found = {(info["exercise"], info["points"]) for info, _ in cells("solutions", name)
             if info.get("role") == "check"}
    assert found == {(spec.exercise, spec.points) for spec in course.specs(name).values()}
    answers = [info["exercise"] for info, _ in cells("solutions", name) if info.get("role") == "answer"]
    assert sorted(answers) == sorted({exercise for exercise, _ in found})  # one answer cell each
    assert len(answers) >= 3


@pytest.mark.parametrize("name, exercise, points", EXERCISES, ids=IDS)
def test_the_solution_passes_with_the_exercise_points(name, exercise, points):
    results, _ = check_results(name, exercise)
    assert not [r for r in results if isinstance(r, ExerciseFailure)], [str(r) for r in results]
    printed = [line for r in results for line in r.splitlines()]
    assert printed and all(line.startswith(f"PASS {exercise} (") for line in printed), printed
    assert sum(int(line.split("(")[1].split("/")[0]) for line in printed) == points


@pytest.mark.parametrize("name, exercise, points", EXERCISES, ids=IDS)
def test_every_check_fails_on_the_blank_stub(name, exercise, points):
    """The stub as generated for the learner (the pristine copy in the package), with
    the other exercises solved: the failure is this exercise's own."""
    stub = [source for info, source in cells("exercises", name)
            if info.get("role") == "answer" and info.get("exercise") == exercise]
    assert len(stub) == 1 and "raise NotImplementedError" in stub[0]
    results, _ = check_results(name, exercise, answers={exercise: stub[0]})
    for result in results:
        assert isinstance(result, ExerciseFailure), result
        assert str(result).startswith(f"FAIL {exercise}: not implemented yet"), str(result)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_cases_change_with_the_seed(name):
    for spec in course.specs(name).values():
        a = wire.encode(spec.cases(np.random.default_rng(1)))
        b = wire.encode(spec.cases(np.random.default_rng(2)))
        assert a != b, f"{spec.id}: its cases do not depend on the generator"
        assert wire.decode(a) is not None  # plain data, as the grader sends it
