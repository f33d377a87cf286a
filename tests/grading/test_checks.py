"""Checks: plain data across the boundary, the judge's hints, and check() in both modes."""

import json

import numpy as np
import pytest

from backproplab.grading import checker, course, run_check, wire
from backproplab.grading.checks import CASES_ENV
from backproplab.grading.observe import OBSERVED
from backproplab.grading.spec import Spec

RELU = course.specs("05_layers")["relu_backward"]


def relu_backward(dout, x):
    return np.where(x > 0, dout, 0.0)


# ---- wire: plain data only ----

@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("nan"), 1 + 2j, "text", [1, [2, "x"]], (1, (2.0,)),
    {"a": np.arange(6).reshape(2, 3)}, np.array(3.5), np.zeros((0, 4)), np.array([True, False]),
])
def test_wire_round_trips_plain_data(value):
    back = wire.decode(wire.encode(value))
    if isinstance(value, dict):
        assert np.array_equal(back["a"], value["a"]) and back["a"].dtype == value["a"].dtype
    elif isinstance(value, np.ndarray):
        assert back.shape == value.shape and back.dtype == value.dtype
        assert np.array_equal(back, value)
    elif isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value and type(back) is type(value)


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1: 2}, {"__array__": 1},
                                   lambda: 0, np.array(["a"])])
def test_wire_refuses_what_is_not_plain_data(value):
    with pytest.raises(wire.WireError):
        wire.encode(value)


@pytest.mark.parametrize("text", [
    '{"__array__": {"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}}',
    '{"__array__": {"dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="}}',
    '{"__pickle__": "gASV"}', '{"__tuple__": 3}', "[" * 100 + "]" * 100, "not json",
])
def test_wire_decode_rejects_code_and_malformed_data(text):
    with pytest.raises(wire.WireError):
        wire.decode(text)


# ---- check() in a learner's notebook: prints, never raises ----

def test_check_prints_pass_for_a_right_answer(capsys, monkeypatch):
    monkeypatch.delenv(CASES_ENV, raising=False)
    checker("05_layers")("relu_backward", relu_backward)
    assert capsys.readouterr().out == "PASS relu_backward (3/3)\n"


@pytest.mark.parametrize("answer, hint", [
    (lambda dout, x: dout, "dx is wrong where x < 0"),
    (lambda dout, x: None, "relu_backward returned None"),
    (lambda dout, x: dout[:1], "dx has shape"),
    (lambda dout, x: (x > 0), "dx has dtype bool"),
    (lambda dout, x: 1 / 0, "relu_backward raised ZeroDivisionError"),
])
def test_check_prints_one_fail_line_with_a_hint(answer, hint, capsys, monkeypatch):
    monkeypatch.delenv(CASES_ENV, raising=False)
    checker("05_layers")("relu_backward", answer)
    out = capsys.readouterr().out
    assert out.startswith("FAIL relu_backward: ") and hint in out and out.count("\n") == 1


def test_mutating_an_input_is_reported():
    def in_place(dout, x):
        dout[x <= 0] = 0.0
        return dout
    assert "mutated its input dout" in run_check(RELU, (in_place,))


def test_stubs_say_not_implemented_or_blocked():
    def stub(dout, x):
        raise NotImplementedError("relu_backward: replace this line with your code")

    def blocked(dout, x):
        raise NotImplementedError("sigmoid_backward: replace this line with your code")
    assert "not implemented yet" in run_check(RELU, (stub,))
    assert "blocked by sigmoid_backward" in run_check(RELU, (blocked,))


class Liar(np.ndarray):
    """An array that claims to equal anything."""

    def __eq__(self, other):
        return True

    def __array_function__(self, func, types, args, kwargs):
        return True


def test_objects_that_lie_about_equality_do_not_pass():
    def lying(dout, x):
        return np.zeros_like(dout).view(Liar)

    class AlwaysEqual:
        def __eq__(self, other):
            return True
    assert run_check(RELU, (lying,)).startswith("FAIL relu_backward: dx is wrong")
    assert run_check(RELU, (lambda dout, x: AlwaysEqual(),)).startswith("FAIL relu_backward")


def test_an_unknown_check_id_says_so(capsys, monkeypatch):
    monkeypatch.delenv(CASES_ENV, raising=False)
    checker("05_layers")("no_such_check", relu_backward)
    assert "no check named 'no_such_check'" in capsys.readouterr().out


# ---- check() under the grader: only observes ----

def test_under_the_grader_check_prints_observations_not_verdicts(tmp_path, capsys, monkeypatch):
    cases = RELU.cases(np.random.default_rng(12345))
    (tmp_path / "relu_backward.json").write_text(wire.encode(cases))
    monkeypatch.setenv(CASES_ENV, str(tmp_path))
    checker("05_layers")("relu_backward", lambda dout, x: dout)  # wrong, but not judged here
    out = capsys.readouterr().out
    assert "PASS" not in out and "FAIL" not in out
    prefix = f"{OBSERVED} relu_backward "
    assert out.startswith(prefix)
    records = wire.decode(out[len(prefix):].strip())
    assert len(records) == len(cases)
    assert np.array_equal(records[0]["value"], cases[0][0])


def test_every_course_spec_is_well_formed_and_has_a_reference_or_judge():
    for assignment in course.ASSIGNMENTS:
        specs = course.specs(assignment)
        assert specs, assignment
        for spec in specs.values():
            cases = spec.cases(np.random.default_rng(0))
            assert cases and all(isinstance(c, tuple) for c in cases), spec.id
            json.loads(wire.encode(cases))  # the cases cross as plain data
            other = spec.cases(np.random.default_rng(1))
            assert wire.encode(cases) != wire.encode(other), (
                f"{spec.id}: cases do not depend on the seed")


def test_a_spec_needs_exactly_one_way_to_judge():
    with pytest.raises(ValueError, match="exactly one"):
        Spec("x", "x", 1, lambda rng: [()], subject="x")
    with pytest.raises(ValueError, match="points"):
        Spec("x", "x", 0, lambda rng: [()], subject="x", reference=lambda: 0)
