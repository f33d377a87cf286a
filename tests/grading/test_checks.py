"""The check helpers: what a student sees when a check passes or fails.

Every failure is a deliberately wrong function that must be caught, with its exact message.
"""

import re

import numpy as np
import pytest

from backproplab.grading import (ExerciseFailure, check_function, check_true, check_value,
                                 to_numpy)


def relu_backward_reference(dout, x):
    return np.where(x > 0, dout, 0.0)


def relu_cases():
    # x has exactly 12 negative entries out of 24, so a wrong answer there is countable.
    x = np.tile([-2.0, -1.0, 1.0, 2.0, -0.5, 0.5], (4, 1))
    dout = np.arange(1.0, 25.0).reshape(4, 6)
    return [(dout, x)]


REGIONS = {"where x < 0": lambda dout, x: x < 0, "where x > 0": lambda dout, x: x > 0}


def check_relu(student_fn, cases=None, **options):
    options.setdefault("regions", REGIONS)
    check_function("relu_backward", student_fn, relu_backward_reference,
                   cases or relu_cases(), points=2, names="dx", **options)


def failure(student_fn, **options):
    with pytest.raises(ExerciseFailure) as caught:
        check_relu(student_fn, **options)
    return str(caught.value)


def test_pass_prints_one_fixed_line(capsys):
    check_relu(lambda dout, x: dout * (x > 0))
    assert capsys.readouterr().out == "PASS relu_backward (2/2)\n"


def test_blank_stub_says_not_implemented():
    def relu_backward(dout, x):
        # YOUR CODE HERE
        raise NotImplementedError("relu_backward: replace this line with your code")

    assert failure(relu_backward) == (
        "FAIL relu_backward: not implemented yet: replace the `raise NotImplementedError` "
        "line in relu_backward")


def test_stub_of_another_exercise_blocks():
    def sigmoid_backward(dout, y):
        raise NotImplementedError("sigmoid_backward: replace this line with your code")

    def relu_backward(dout, x):
        return sigmoid_backward(dout, x)

    assert failure(relu_backward) == (
        "FAIL relu_backward: blocked by sigmoid_backward, which is not implemented yet")


def test_wrong_shape():
    assert failure(lambda dout, x: (dout * (x > 0)).T) == (
        "FAIL relu_backward: dx has shape (6, 4), expected (4, 6)")


def test_wrong_values_are_located_by_region():
    assert failure(lambda dout, x: dout.copy()) == (
        "FAIL relu_backward: dx is wrong where x < 0: 12 of 24 entries differ")
    assert failure(lambda dout, x: dout * (x > 0) + (x == 2.0)) == (
        "FAIL relu_backward: dx is wrong where x > 0: 4 of 24 entries differ")


def test_wrong_values_outside_every_region_give_the_first_difference():
    assert failure(lambda dout, x: dout * (x > 0) + (x == 2.0) + (x == -2.0)) == (
        "FAIL relu_backward: dx is wrong: 8 of 24 entries differ "
        "(first at index (0, 0): got 1, expected 0)")
    message = failure(lambda dout, x: dout * (x > 0) + 1.0, regions={})
    assert message == ("FAIL relu_backward: dx is wrong: 24 of 24 entries differ "
                       "(first at index (0, 0): got 1, expected 0)")


def test_returned_none():
    def relu_backward(dout, x):
        dout * (x > 0)

    assert failure(relu_backward) == (
        "FAIL relu_backward: relu_backward returned None — did you forget `return`?")


def test_mutated_input():
    def relu_backward(dout, x):
        dout[x < 0] = 0.0
        return dout

    assert failure(relu_backward) == (
        "FAIL relu_backward: relu_backward mutated its input dout; compute a new array "
        "instead of changing dout in place")


def test_mutation_check_sees_only_the_students_copy():
    cases = relu_cases()
    original = [tuple(a.copy() for a in case) for case in cases]

    def relu_backward(dout, x):
        x[:] = 0.0
        return dout

    with pytest.raises(ExerciseFailure, match="mutated its input x"):
        check_relu(relu_backward, cases=cases)
    np.testing.assert_array_equal(cases[0][1], original[0][1])  # the caller's array is intact


def test_wrong_dtype_kind():
    assert failure(lambda dout, x: x > 0) == (
        "FAIL relu_backward: dx has dtype bool, expected a floating-point array (float64)")


def test_exception_in_student_code_names_the_function():
    def relu_backward(dout, x):
        return dout @ x  # (4, 6) @ (4, 6)

    message = failure(relu_backward)
    assert message.startswith("FAIL relu_backward: relu_backward raised ValueError: matmul")


def test_case_number_is_given_when_there_are_several():
    cases = relu_cases() + [(np.ones((2, 2)), -np.ones((2, 2)))]
    message = failure(lambda dout, x: dout * (x > 0) if x.shape == (4, 6) else dout,
                      cases=cases)
    assert message == ("FAIL relu_backward: dx is wrong where x < 0: 4 of 4 entries differ "
                       "(case 2 of 2)")


def test_tuples_are_compared_by_name():
    def reference(x):
        return x * 2.0, x.sum(axis=0)

    def student(x):
        return x * 2.0, x.sum(axis=1)

    with pytest.raises(ExerciseFailure) as caught:
        check_function("affine_backward", student, reference, [(np.ones((3, 2)),)], 3,
                       names=("dx", "db"))
    assert str(caught.value) == "FAIL affine_backward: db has shape (3,), expected (2,)"

    with pytest.raises(ExerciseFailure) as caught:
        check_function("affine_backward", lambda x: x * 2.0, reference, [(np.ones((3, 2)),)],
                       3, names=("dx", "db"))
    assert str(caught.value) == ("FAIL affine_backward: returned a numpy.ndarray, expected "
                                 "2 values (dx, db)")


def test_tolerances_are_used():
    check_relu(lambda dout, x: dout * (x > 0) * (1 + 1e-9))
    assert "entries differ" in failure(lambda dout, x: dout * (x > 0) * (1 + 1e-3))
    check_relu(lambda dout, x: dout * (x > 0) * (1 + 1e-3), rtol=1e-2)


def test_custom_compare_decides():
    def same_up_to_sign(got, expected):
        return None if np.allclose(abs(got), abs(expected)) else "wrong even up to sign"

    check_relu(lambda dout, x: -dout * (x > 0), compare=same_up_to_sign)
    assert failure(lambda dout, x: dout, compare=same_up_to_sign) == (
        "FAIL relu_backward: wrong even up to sign")


def test_arrays_of_other_libraries_are_compared_as_numpy():
    xp = pytest.importorskip("array_api_strict")
    check_relu(lambda dout, x: xp.asarray(dout * (x > 0)))
    assert failure(lambda dout, x: xp.asarray(dout)) == (
        "FAIL relu_backward: dx is wrong where x < 0: 12 of 24 entries differ")


def test_backproplab_tensors_are_compared_as_numpy():
    import backproplab

    check_relu(lambda dout, x: backproplab.tensor(dout * (x > 0)))


def test_a_result_that_is_no_array_is_named():
    assert failure(lambda dout, x: "dx") == (
        "FAIL relu_backward: dx is a str, which cannot be read as an array")


def test_check_value(capsys):
    check_value("learning_rate", 0.1 + 1e-12, 0.1, 1)
    assert capsys.readouterr().out == "PASS learning_rate (1/1)\n"
    with pytest.raises(ExerciseFailure) as caught:
        check_value("learning_rate", 0.25, 0.1, 1, name="lr")
    assert str(caught.value) == "FAIL learning_rate: lr is 0.25, expected 0.1"
    with pytest.raises(ExerciseFailure) as caught:
        check_value("learning_rate", None, 0.1, 1, name="lr")
    assert str(caught.value) == ("FAIL learning_rate: lr is None — did you forget `return` "
                                 "or to assign lr?")
    with pytest.raises(ExerciseFailure) as caught:
        check_value("shapes", np.zeros((2, 3)), np.zeros((3, 2)), 1, name="h")
    assert str(caught.value) == "FAIL shapes: h has shape (2, 3), expected (3, 2)"


def test_check_true(capsys):
    losses = [2.0, 1.5, 0.9]
    check_true("training", losses[-1] < losses[0], 2, "the loss did not decrease")
    assert capsys.readouterr().out == "PASS training (2/2)\n"
    with pytest.raises(ExerciseFailure) as caught:
        check_true("training", losses[-1] > losses[0], 2, "the loss did not decrease")
    assert str(caught.value) == "FAIL training: the loss did not decrease"
    with pytest.raises(TypeError, match=re.escape("use .all() or .any()")):
        check_true("training", np.array([True, False]), 2, "hint")


def test_failure_is_an_assertion_error_with_its_parts():
    with pytest.raises(AssertionError) as caught:
        check_true("training", False, 2, "the loss did not decrease")
    assert caught.value.exercise == "training"
    assert caught.value.hint == "the loss did not decrease"


@pytest.mark.parametrize("points", [0, -1, 1.5, True, "2"])
def test_points_must_be_a_positive_int(points):
    with pytest.raises(ValueError, match=re.escape(f"points must be a positive int, got "
                                                   f"{points!r}")):
        check_true("training", True, points, "hint")


def test_cases_must_be_tuples():
    with pytest.raises(TypeError, match=re.escape(
            "check_function('relu_backward'): case 0 must be a tuple of arguments, got a "
            "numpy.ndarray")):
        check_relu(lambda dout, x: dout, cases=[np.ones(3)])


def test_to_numpy_rejects_what_is_not_numbers():
    with pytest.raises(TypeError, match="is an object, which cannot be read as an array"):
        to_numpy(object())
    np.testing.assert_array_equal(to_numpy([1.0, 2.0]), np.array([1.0, 2.0]))


def test_regions_apply_only_to_outputs_of_their_shape():
    x, w = np.linspace(-1, 1, 12).reshape(4, 3), np.ones((3, 2))
    with pytest.raises(ExerciseFailure, match="dw is wrong: 6 of 6 entries differ"):
        check_function("demo", lambda x, w: (x * 2, w * 3), lambda x, w: (x * 2, w * 2),
                       [(x, w)], points=1, names=("dx", "dw"),
                       regions={"where x < 0": lambda x, w: x < 0})


def test_a_random_generator_argument_is_not_reported_as_mutated(capsys):
    draw = lambda rng: rng.random(3)  # noqa: E731
    check_function("draw", draw, draw, [(np.random.default_rng(0),)], points=1)
    assert capsys.readouterr().out == "PASS draw (1/1)\n"


def test_copy_args_false_passes_the_case_as_is(capsys):
    seen = []
    check_function("same", lambda a: seen.append(a) or 1, lambda a: 1, [(seen,)], points=1,
                   copy_args=False)
    assert seen and seen[0] is seen  # the student got the very object of the case
    assert capsys.readouterr().out == "PASS same (1/1)\n"
