"""Tests of the notebooks of lessons 4 (tensors) and 5 (layers).

The exercise checks are tested as they are written in the solution notebooks: the cells
of a solution run in order in one namespace, with the answer cell of one exercise
replaced, up to that exercise's check cell, whose failure is then inspected. Every
exercise must be rejected with a plausible wrong answer, with a hint that says what is
wrong. (That every check passes on the solution and fails on the blank stub is tested for
all exercises in test_every_exercise.py; that solutions score full marks and untouched
exercises zero under ``backproplab grade``, in tests/grading/test_grader.py.)
"""

import contextlib
import io
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest

from checking import ExerciseFailure, exec_check, notebook_path
from backproplab.grading.assignment import cell_info, exercises

matplotlib.use("Agg")  # plotting cells of the solutions run here without a display

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["04_tensors", "05_layers"]


def read(folder, name):
    return nbformat.read(notebook_path(folder, name), as_version=4)


def answer_source(nb, exercise):
    [cell] = [c for c in nb.cells if cell_info(c) == {"role": "answer", "exercise": exercise}]
    return cell.source


def run_check(name, exercise, answers):
    """Run solution ``name`` up to the check cell of ``exercise``, with answer cells
    replaced by ``answers`` ({exercise id: source}); return what that check raised
    (None if it passed). Other cells may fail, as a student's would; they are skipped."""
    nb = read("solutions", name)
    namespace = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        info = cell_info(cell)
        source = cell.source
        if info.get("role") == "answer" and info["exercise"] in answers:
            source = answers[info["exercise"]]
            compile(source, "<replaced answer>", "exec")  # a test's answer must at least parse
        is_target = info.get("role") == "check" and info["exercise"] == exercise
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if info.get("role") == "check":
                    exec_check(source, namespace)
                else:
                    exec(compile(source, f"<{name} cell>", "exec"), namespace)
            except Exception as exc:
                if is_target:
                    return exc
        if is_target:
            return None
    raise AssertionError(f"{name} has no check cell for {exercise!r}")


def wrong(name, exercise, *edits):
    """The solution's answer with (old, new) text replacements: a plausible mistake."""
    source = answer_source(read("solutions", name), exercise)
    for old, new in edits:
        assert old in source, f"{old!r} is no longer in the answer of {exercise!r}"
        source = source.replace(old, new)
    return source


# ---- the notebooks as saved ----

@pytest.mark.parametrize("folder", ["lessons", "solutions"])
@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_saved_executed_small_and_plots_are_not_compared(folder, name):
    path = notebook_path(folder, name)
    assert path.stat().st_size < 1_000_000
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "save the notebook executed"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    for cell in code:
        if any(o.output_type == "display_data" for o in cell.outputs):
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source[:60]
        if "NBVAL_CHECK_OUTPUT" in cell.source:
            assert "nbval-ignore-output" not in cell.metadata.get("tags", [])


# ---- a check names the exercise that blocks it ----

EXERCISES = [(name, ex) for name in NAMES for ex in exercises(read("solutions", name), name)]


def test_mlp_check_says_it_is_blocked_by_a_blank_relu_backward():
    stub = answer_source(read("exercises", "05_layers"), "relu_backward")
    failure = run_check("05_layers", "mlp_backward", {"relu_backward": stub})
    assert isinstance(failure, ExerciseFailure)
    assert str(failure) == ("FAIL mlp_backward: blocked by relu_backward, which is not "
                            "implemented yet")


# ---- every check rejects plausible wrong answers, with a hint ----

L4, L5 = "04_tensors", "05_layers"
WRONG_ANSWERS = {
    # lesson 4
    "linear_backward: dW transposed": (
        L4, "linear_backward", [("dw = x.T @ dout", "dw = dout.T @ x")],
        "FAIL linear_backward: dw has shape (3, 4), expected (4, 3)"),
    "linear_backward: db averaged over the batch": (
        L4, "linear_backward", [("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")],
        "FAIL linear_backward: db is wrong: 3 of 3 entries differ"),
    "linear_backward: dx with W instead of its transpose": (
        L4, "linear_backward", [("dx = dout @ w.T", "dx = dout @ w")],
        "FAIL linear_backward: linear_backward raised ValueError: matmul"),
    "sum_to_shape: only the prepended axes summed": (
        L4, "sum_to_shape", [("lead + i for i, n in enumerate(shape) if n == 1 and "
                              "grad.shape[lead + i] != 1)", ")")],
        "FAIL sum_to_shape: sum_to_shape raised ValueError: cannot reshape array of size 15 "
        "into shape (5,1) (case 2 of 8)"),
    "sum_to_shape: mean instead of sum": (
        L4, "sum_to_shape", [("grad.sum(axis=axes", "grad.mean(axis=axes")],
        "FAIL sum_to_shape: gradient is wrong: 3 of 3 entries differ"),
    "softmax: not shifted by the maximum": (
        L4, "softmax", [("np.exp(z - z.max(axis=1, keepdims=True))", "np.exp(z)")],
        "FAIL softmax: p is wrong: 3 of 6 entries differ (first at index (0, 0): got nan, "
        "expected 0.6652) (case 3 of 4)"),
    "softmax: normalised over the wrong axis": (
        L4, "softmax", [("e / e.sum(axis=1, keepdims=True)", "e / e.sum(axis=0, keepdims=True)")],
        "FAIL softmax: p is wrong"),
    "softmax_cross_entropy_backward: no division by N": (
        L4, "softmax_cross_entropy_backward", [("    dlogits /= n\n", "")],
        "FAIL softmax_cross_entropy_backward: dlogits is wrong: 40 of 40 entries differ"),
    "softmax_cross_entropy_backward: true class not subtracted": (
        L4, "softmax_cross_entropy_backward", [("    dlogits[np.arange(n), y] -= 1\n", "")],
        "FAIL softmax_cross_entropy_backward: dlogits is wrong at the true classes "
        "(entries [n, y[n]]): 8 of 40 entries differ (case 1 of 4)"),
    "softmax_cross_entropy_backward: sign flipped": (
        L4, "softmax_cross_entropy_backward", [("dlogits /= n", "dlogits /= -n")],
        "FAIL softmax_cross_entropy_backward: dlogits is wrong: 40 of 40 entries differ"),
    # lesson 5
    "relu_backward: mask forgotten": (
        L5, "relu_backward", [("np.where(x > 0, dout, 0.0)", "dout")],
        "FAIL relu_backward: dx is wrong where x < 0: 15 of 24 entries differ (case 1 of 3)"),
    "relu_backward: dout forgotten": (
        L5, "relu_backward", [("np.where(x > 0, dout, 0.0)", "(x > 0).astype(float)")],
        "FAIL relu_backward: dx is wrong where x > 0: 9 of 24 entries differ (case 1 of 3)"),
    "relu_backward: slope 1 at x == 0": (
        L5, "relu_backward", [("np.where(x > 0, dout, 0.0)", "np.where(x >= 0, dout, 0.0)")],
        "FAIL relu_backward: dx is wrong where x == 0 (the slope there is taken to be 0): "
        "3 of 10 entries differ (case 3 of 3)"),
    "relu_backward: mask applied in place to dout": (
        L5, "relu_backward", [("return np.where(x > 0, dout, 0.0)", "dout[x <= 0] = 0\n    return dout")],
        "FAIL relu_backward: relu_backward mutated its input dout"),
    "sigmoid_backward: out taken for x": (
        L5, "sigmoid_backward", [("return dout * out * (1.0 - out)",
                                  "s = sigmoid_forward(out)\n    return dout * s * (1.0 - s)")],
        "FAIL sigmoid_backward: dx is wrong: 24 of 24 entries differ"),
    "sigmoid_backward: dout forgotten": (
        L5, "sigmoid_backward", [("return dout * out * (1.0 - out)", "return out * (1.0 - out)")],
        "FAIL sigmoid_backward: dx is wrong"),
    "tanh_backward: square forgotten": (
        L5, "tanh_backward", [("(1.0 - out ** 2)", "(1.0 - out)")],
        "FAIL tanh_backward: dx is wrong: 24 of 24 entries differ"),
    "tanh_backward: tanh applied to the output again": (
        L5, "tanh_backward", [("(1.0 - out ** 2)", "(1.0 - np.tanh(out) ** 2)")],
        "FAIL tanh_backward: dx is wrong"),
    "linear_layer: bias forgotten in forward": (
        L5, "linear_layer", [("out = x @ self.w + self.b", "out = x @ self.w")],
        "FAIL linear_layer: out is wrong: 15 of 15 entries differ"),
    "linear_layer: dW transposed": (
        L5, "linear_layer", [("dw = x.T @ dout", "dw = dout.T @ x")],
        "FAIL linear_layer: dw has shape (3, 4), expected (4, 3)"),
    "linear_layer: dx with W instead of its transpose": (
        L5, "linear_layer", [("dx = dout @ self.w.T", "dx = dout @ self.w")],
        "FAIL linear_layer: Linear raised ValueError: matmul"),
    "mlp_backward: gradients left in backward order": (
        L5, "mlp_backward", [("    grads.reverse()\n", "")],
        "FAIL mlp_backward: dW1 has shape (6, 3), expected (5, 8) (case 1 of 2)"),
    "mlp_backward: dscores given to every layer": (
        L5, "mlp_backward", [("dout, dw, db = layer.backward(dout, cache)",
                              "_, dw, db = layer.backward(dout, cache)")],
        "FAIL mlp_backward: mlp_backward raised ValueError"),
    "mlp_backward: ReLU layers skipped": (
        L5, "mlp_backward", [("            dout = layer.backward(dout, cache)", "            pass")],
        "FAIL mlp_backward: dW1 is wrong"),
    "mlp_backward: a single pair returned": (
        L5, "mlp_backward", [("    grads.reverse()\n", "    grads = grads[-1]\n")],
        "FAIL mlp_backward: mlp_backward raised TypeError: mlp_backward must return a list "
        "of (dw, db) pairs, one per Linear layer"),
    # the derive exercises: more wrong answers in test_derive_exercises.py
    "div_broadcast_backward: dy not summed over the broadcast rows": (
        L4, "div_broadcast_backward", [("sum_to_shape(-dout * x / y ** 2, y.shape)",
                                        "-dout * x / y ** 2")],
        "FAIL div_broadcast_backward: dy has shape (5, 3), expected (3,)"),
    "log_softmax_backward: assumes each row of dout sums to 1": (
        L4, "log_softmax_backward", [("p * dout.sum(axis=1, keepdims=True)", "p")],
        "FAIL log_softmax_backward: dz is wrong in the rows whose upstream gradient dout does "
        "not sum to 1"),
    "row_max_backward: every tied entry gets all of dout": (
        L5, "row_max_backward", [("(dout / at_max.sum(axis=1))", "dout")],
        "FAIL row_max_backward: dx is wrong where a row's maximum is tied"),
    "softplus_backward: the given layer's bug": (
        L5, "softplus_backward", [("dout * -np.expm1(-out)", "dout / (1.0 + np.exp(-out))")],
        "FAIL softplus_backward: dx is wrong"),
}


def test_every_exercise_has_a_wrong_answer_test():
    covered = {(name, exercise) for name, exercise, _, _ in WRONG_ANSWERS.values()}
    assert covered == set(EXERCISES)


@pytest.mark.parametrize("case", sorted(WRONG_ANSWERS))
def test_check_rejects_a_wrong_answer_with_a_hint(case):
    name, exercise, edits, message = WRONG_ANSWERS[case]
    failure = run_check(name, exercise, {exercise: wrong(name, exercise, *edits)})
    assert isinstance(failure, ExerciseFailure), f"the check of {exercise} accepted: {case}"
    assert str(failure).startswith(message), str(failure)
