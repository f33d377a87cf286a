"""Tests of the library code behind lessons 1-3 (``backproplab.numerics``,
``backproplab.viz``) and of the exercise checks of those lessons: every check rejects
plausible wrong answers (that it passes the solution and fails the blank stub is tested for
all exercises in test_every_exercise.py).

The check cells are run as they are stored in ``solutions/``: setup and answer cells are
executed into a namespace, one answer is swapped for the wrong one, and the exercise's
check cells are executed after it.
"""

import math
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import backproplab as bl
from backproplab import numerics
from checking import ExerciseFailure, check_results, course_exercises, notebook_path

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["01_derivatives", "02_chain_rule", "03_scalar_engine"]


# ---- numerics: finite differences (lesson 1) ----

def test_forward_and_central_errors_follow_their_taylor_terms():
    x, h = 1.0, 1e-3
    forward = numerics.forward_difference(np.sin, x, h) - np.cos(x)
    central = numerics.central_difference(np.sin, x, h) - np.cos(x)
    assert forward == pytest.approx(-h / 2 * np.sin(x), rel=1e-2)       # (1.2)
    assert central == pytest.approx(-h ** 2 / 6 * np.cos(x), rel=1e-2)  # (1.3)


def test_differences_broadcast_over_steps_and_keep_float32():
    steps = np.array([1e-1, 1e-2, 1e-3], dtype=np.float32)
    d = numerics.central_difference(np.sin, np.float32(1.0), steps)
    assert d.dtype == np.float32 and d.shape == (3,)
    errors = np.abs(d.astype(np.float64) - np.cos(1.0))
    assert errors[1] < errors[0] / 50  # h^2: ten times smaller h, ~100 times smaller error


@pytest.mark.parametrize("h", [0.0, -1e-3, np.nan, np.array([1e-3, 0.0]), "1e-3"])
def test_differences_reject_a_bad_step(h):
    for fn in (numerics.forward_difference, numerics.central_difference):
        with pytest.raises(ValueError, match=r"step h must be a positive"):
            fn(np.sin, 1.0, h)


# ---- numerics: gradients from the library's engines (lessons 2-3) ----

def test_value_grads_scales_by_upstream():
    assert numerics.value_grads(lambda a, b: a * b, 2.0, -3.0) == (-3.0, 2.0)
    assert numerics.value_grads(lambda a, b: a * b, 2.0, -3.0, upstream=0.5) == (-1.5, 1.0)
    (g,) = numerics.value_grads(lambda a: a.tanh(), 0.3)
    assert g == pytest.approx(1 - math.tanh(0.3) ** 2, rel=1e-14)


def test_value_grads_rejects_a_function_that_returns_a_number():
    with pytest.raises(TypeError, match="fn must return a Value"):
        numerics.value_grads(lambda a: 3.0, 1.0)


def test_tensor_grads_matches_central_differences_and_keeps_inputs():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    upstream = rng.standard_normal((4, 2))
    before = x.copy(), w.copy()
    gx, gw = numerics.tensor_grads(lambda x, w: (x @ w.T).tanh(), x, w, upstream=upstream)
    num_x = bl.numerical_gradient(lambda v: np.tanh(v @ w.T), x, upstream=upstream)
    num_w = bl.numerical_gradient(lambda v: np.tanh(x @ v.T), w, upstream=upstream)
    np.testing.assert_allclose(gx, num_x, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gw, num_w, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(w, before[1])


def test_tensor_grads_of_an_unused_input_is_zero_and_shapes_are_checked():
    gx, gy = numerics.tensor_grads(lambda x, y: x.sigmoid(), np.zeros(3), np.ones(2))
    np.testing.assert_allclose(gx, 0.25)
    np.testing.assert_array_equal(gy, np.zeros(2))
    with pytest.raises(ValueError, match=r"upstream has shape \(2,\).*shape \(3,\)"):
        numerics.tensor_grads(lambda x: x * 2.0, np.zeros(3), upstream=np.ones(2))


def test_delta_rule_update_is_eq9_and_eq8_without_momentum():
    w, g, prev = np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([0.1, -0.1])
    before = w.copy()
    new_w, delta = numerics.delta_rule_update(w, g, prev, lr=0.5, momentum=0.9)
    np.testing.assert_allclose(delta, [-0.25 + 0.09, -0.5 - 0.09])
    np.testing.assert_allclose(new_w, w + delta)
    np.testing.assert_array_equal(w, before)
    new_w, delta = numerics.delta_rule_update(w, g, prev, lr=0.1)
    np.testing.assert_allclose(delta, -0.1 * g)


def test_delta_rule_update_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(2,\), \(3,\) and \(2,\)"):
        numerics.delta_rule_update(np.zeros(2), np.zeros(3), np.zeros(2), lr=0.1)


# ---- numerics: graphs and topological orders (lesson 3) ----

@pytest.mark.parametrize("name", list(numerics.GRAPHS))
def test_example_graphs_have_unique_labels_and_a_valid_library_order(name):
    root = numerics.example_graph(bl.Value, name)
    order = root.topological_order()
    labels = [node.label for node in order]
    assert all(labels) and len(set(labels)) == len(labels)
    assert numerics.topological_order_problem(root, order) is None


def test_example_graph_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="unknown graph 'tree'"):
        numerics.example_graph(bl.Value, "tree")


def test_topological_order_problem_names_each_kind_of_mistake():
    root = numerics.example_graph(bl.Value, "node used twice")  # a, b = a*a, c = b + a
    a, b, c = root.topological_order()
    problem = numerics.topological_order_problem
    assert problem(root, [a, b, c]) is None
    assert "None" in problem(root, None)
    assert "node 'b' comes before its input node 'a'" in problem(root, [b, a, c])
    assert "lists a node twice (node 'a'" in problem(root, [a, a, b, c])
    assert "has 2 nodes but the graph has 3" in problem(root, [a, b])
    assert "not in the graph" in problem(root, [a, b, c, bl.Value(1.0)])
    assert "expected a list" in problem(root, 3)


# ---- viz ----

@pytest.fixture
def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_importing_backproplab_does_not_import_matplotlib():
    code = "import sys, backproplab, backproplab.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["node used twice", "diamond", "sum used twice", "neuron"])
def test_graph_layout_puts_every_node_right_of_its_inputs(name):
    from backproplab.viz import graph_layout

    root = numerics.example_graph(bl.Value, name)
    order, positions = graph_layout(root)
    assert {id(n) for n in order} == {id(n) for n in root.topological_order()}
    for node in order:
        for child in node._prev:
            assert positions[id(child)][0] < positions[id(node)][0]
    assert positions[id(root)][0] == max(c for c, _ in positions.values())
    assert len(set(positions.values())) == len(order)  # no two boxes on one spot


class TinyValue:
    """The shape of the lesson-3 student class, as far as the drawer needs it."""

    def __init__(self, data, _prev=(), _op="", label=""):
        self.data, self.grad, self._prev, self._op, self.label = data, 0.0, tuple(_prev), _op, label


def test_draw_graph_shows_values_grads_edge_labels_and_double_use(plt):
    from backproplab.viz import draw_graph

    a = TinyValue(3.0, label="a")
    b = TinyValue(9.0, (a, a), "*", label="b")  # a used twice by one op
    a.grad, b.grad = 6.0, 1.0
    ax = draw_graph(b, edge_labels={(a, b): 3.0}, title="t")
    texts = [t.get_text() for t in ax.texts]
    assert any("a" in t and "data 3" in t and "grad 6" in t for t in texts)
    assert any("b" in t and "data 9" in t and "grad 1" in t for t in texts)
    assert "3 (x2)" in texts and "×" in texts
    assert ax.get_title() == "t"
    ax = draw_graph(b, show_grad=False)
    assert not any("grad" in t.get_text() for t in ax.texts)
    assert "x2" in [t.get_text() for t in ax.texts]


def test_error_plot_labels_axes_drops_zeros_and_checks_shapes(plt):
    from backproplab.viz import error_plot

    h = np.logspace(-3, 0, 4)
    ax = error_plot(h, {"forward": np.array([0.0, 1e-3, 1e-2, 1e-1])},
                    guides=[(1, 1.0, 0.1, "slope 1")], title="E")
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("E", "step size h",
                                                                  "absolute error")
    assert ax.get_xscale() == ax.get_yscale() == "log"
    curve, guide = ax.get_lines()
    assert np.isnan(curve.get_ydata()[0]) and guide.get_label() == "slope 1"
    with pytest.raises(ValueError, match=r"errors\['forward'\] has shape \(3,\).*\(4,\)"):
        error_plot(h, {"forward": np.ones(3)})
    with pytest.raises(ValueError, match="positive step sizes"):
        error_plot(np.array([0.0, 1.0]), {})


def test_loss_plot_labels_axes_and_rejects_bad_input(plt):
    from backproplab.viz import loss_plot

    ax = loss_plot([3.0, 2.0, 1.0], logy=True, label="run")
    assert ax.get_title() and ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [3.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        loss_plot([])


# ---- the exercise notebooks ----



# (notebook, exercise, what is wrong, the wrong answer, a fragment of the hint)
WRONG = [
    ("01_derivatives", "forward_difference", "central difference",
     "def forward_difference(f, x, h):\n    return (f(x + h) - f(x - h)) / (2 * h)",
     "derivative is"),
    ("01_derivatives", "forward_difference", "backward difference",
     "def forward_difference(f, x, h):\n    return (f(x) - f(x - h)) / h", "derivative is"),
    ("01_derivatives", "forward_difference", "divides by 2h",
     "def forward_difference(f, x, h):\n    return (f(x + h) - f(x)) / (2 * h)", "derivative is"),
    ("01_derivatives", "central_difference", "divides by h instead of 2h",
     "def central_difference(f, x, h):\n    return (f(x + h) - f(x - h)) / h", "derivative is"),
    ("01_derivatives", "central_difference", "forward difference",
     "def central_difference(f, x, h):\n    return (f(x + h) - f(x)) / h", "derivative is"),
    ("01_derivatives", "numerical_gradient", "perturbs x in place and never restores it", """
def numerical_gradient(f, x, h=1e-6):
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)
    for i in range(flat.size):
        flat[i] += h
        plus = f(x)
        flat[i] -= 2 * h
        minus = f(x)
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad
""", "mutated its input x"),
    ("01_derivatives", "numerical_gradient", "keeps an integer x integer", """
def numerical_gradient(f, x, h=1e-6):
    x = x.copy()
    grad = np.zeros(x.shape)
    flat = x.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f(x)
        flat[i] = old - h
        minus = f(x)
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad
""", "gradient is wrong"),
    ("01_derivatives", "numerical_gradient", "forward differences", """
def numerical_gradient(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    grad = np.zeros(x.shape)
    base = f(x)
    for i in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[i] = h
        grad[i] = (f(x + step) - base) / h
    return grad
""", "gradient is wrong"),
    ("01_derivatives", "numerical_gradient", "returns a flat array", """
def numerical_gradient(f, x, h=1e-6):
    x = np.array(x, dtype=float)
    grad = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape)
        grad.append((f(x + e) - f(x - e)) / (2 * h))
    return np.array(grad)
""", "gradient has shape"),
    ("02_chain_rule", "sigmoid_derivative", "y (1 - y) of the input, not the output",
     "def sigmoid_derivative(x):\n    return x * (1 - x)", "derivative is wrong"),
    ("02_chain_rule", "sigmoid_derivative", "sign slip, s (1 + s)",
     "def sigmoid_derivative(x):\n    s = 1 / (1 + np.exp(-x))\n    return s * (1 + s)",
     "derivative is wrong"),
    ("02_chain_rule", "chain_rule", "forgets the tanh link", """
def chain_rule(x):
    v = np.tanh(x)
    u = v ** 2
    return 1 / (1 + np.exp(-u)) * 2 * v
""", "dy/dx is wrong"),
    ("02_chain_rule", "chain_rule", "d ln(1 + e^u)/du taken as e^u", """
def chain_rule(x):
    v = np.tanh(x)
    return np.exp(v ** 2) * 2 * v * (1 - v ** 2)
""", "dy/dx is wrong"),
    ("02_chain_rule", "two_layer_backward", "mean over cases instead of the sum", """
def two_layer_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = (Y - D) * Y * (1 - Y) / len(X)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "dW1 is wrong"),
    ("02_chain_rule", "two_layer_backward", "forgets the output sigmoid's derivative", """
def two_layer_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = Y - D
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "is wrong"),
    ("02_chain_rule", "two_layer_backward", "drops the 1/2 of eq. (3)", """
def two_layer_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = 2 * (Y - D) * Y * (1 - Y)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "dW1 is wrong"),
    ("02_chain_rule", "two_layer_backward", "transposed weight gradients", """
def two_layer_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = (Y - D) * Y * (1 - Y)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return X.T @ dZ1, H.T @ dZ2
""", "dW1 has shape (3, 4), expected (4, 3)"),
    ("02_chain_rule", "delta_rule_update", "steps up the gradient", """
def delta_rule_update(w, dE_dw, prev_delta, lr, momentum):
    delta = lr * dE_dw + momentum * prev_delta
    return w + delta, delta
""", "new_w is wrong"),
    ("02_chain_rule", "delta_rule_update", "momentum on the gradient, not on the last change", """
def delta_rule_update(w, dE_dw, prev_delta, lr, momentum):
    delta = -lr * (dE_dw + momentum * prev_delta)
    return w + delta, delta
""", "new_w is wrong"),
    ("02_chain_rule", "delta_rule_update", "changes w in place", """
def delta_rule_update(w, dE_dw, prev_delta, lr, momentum):
    delta = -lr * dE_dw + momentum * prev_delta
    w += delta
    return w, delta
""", "mutated its input w"),
    ("02_chain_rule", "delta_rule_update", "returns only the new weights", """
def delta_rule_update(w, dE_dw, prev_delta, lr, momentum):
    return w - lr * dE_dw + momentum * prev_delta
""", "expected 2 values"),
    ("03_scalar_engine", "mul_backward", "swaps the local derivatives",
     "def mul_backward(a, b, dout):\n    return a * dout, b * dout", "dL/da is"),
    ("03_scalar_engine", "mul_backward", "forgets dout",
     "def mul_backward(a, b, dout):\n    return b, a", "is"),
    ("03_scalar_engine", "tanh_backward", "applies tanh to the output again",
     "def tanh_backward(t, dout):\n    return (1 - math.tanh(t) ** 2) * dout", "dL/da is"),
    ("03_scalar_engine", "tanh_backward", "1 - t instead of 1 - t^2",
     "def tanh_backward(t, dout):\n    return (1 - t) * dout", "dL/da is"),
    ("03_scalar_engine", "pow_backward", "forgets the factor k",
     "def pow_backward(a, k, dout):\n    return a ** (k - 1) * dout", "dL/da is"),
    ("03_scalar_engine", "pow_backward", "keeps the exponent k",
     "def pow_backward(a, k, dout):\n    return k * a ** k * dout", "dL/da is"),
    ("03_scalar_engine", "topological_sort", "recursive: fails on the deep chain", """
def topological_sort(root):
    order, visited = [], set()
    def visit(node):
        if id(node) not in visited:
            visited.add(id(node))
            for child in node._prev:
                visit(child)
            order.append(node)
    visit(root)
    return order
""", "RecursionError"),
    ("03_scalar_engine", "topological_sort", "no visited set: a node used twice twice", """
def topological_sort(root):
    order, stack = [], [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    return order
""", "lists a node twice"),
    ("03_scalar_engine", "topological_sort", "each node before its inputs (pre-order)", """
def topological_sort(root):
    order, visited, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in visited:
            visited.add(id(node))
            order.append(node)
            stack.extend(node._prev)
    return order
""", "comes before its input"),
    ("03_scalar_engine", "topological_sort", "leaves the root out", """
def topological_sort(root):
    order, visited, stack = [], set(), [(child, False) for child in root._prev]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev)
    return order
""", "missing"),
    ("03_scalar_engine", "backward", "assigns (=) instead of accumulating (+=)", """
def backward(root):
    root.grad = 1.0
    for node in reversed(topological_sort(root)):
        if node._backward is not None:
            for child, contribution in zip(node._prev, node._backward(node.grad)):
                child.grad = contribution
""", "grad['a'] is"),
    ("03_scalar_engine", "backward", "never sets dL/dL = 1", """
def backward(root):
    for node in reversed(topological_sort(root)):
        if node._backward is not None:
            for child, contribution in zip(node._prev, node._backward(node.grad)):
                child.grad += contribution
""", "grad["),
    ("03_scalar_engine", "backward", "walks the order forwards, inputs first", """
def backward(root):
    root.grad = 1.0
    for node in topological_sort(root):
        if node._backward is not None:
            for child, contribution in zip(node._prev, node._backward(node.grad)):
                child.grad += contribution
""", "grad["),
    # the derive exercises: more wrong answers in test_derive_exercises.py
    ("01_derivatives", "second_difference", "divides by 2h²",
     "def second_difference(f, x, h):\n    return (f(x + h) - 2 * f(x) + f(x - h)) / (2 * h ** 2)",
     "check the denominator"),
    ("01_derivatives", "richardson_difference", "plain average of the two steps",
     "def richardson_difference(f, x, h):\n"
     "    return (central_difference(f, x, h) + central_difference(f, x, 2 * h)) / 2",
     "keeps the h² term"),
    ("02_chain_rule", "two_path_gradient", "only the path through u = x y",
     "def two_path_gradient(x, y):\n    g = np.exp(x * y) * np.tanh(x + y)\n"
     "    return g * y, g * x",
     "only the path through u = x y"),
    ("02_chain_rule", "cross_entropy_backward", "keeps the output sigmoid's slope", """
def cross_entropy_backward(X, W1, W2, D):
    H = 1 / (1 + np.exp(-(X @ W1.T)))
    Y = 1 / (1 + np.exp(-(H @ W2.T)))
    dZ2 = (Y - D) * Y * (1 - Y)
    dZ1 = (dZ2 @ W2) * H * (1 - H)
    return dZ1.T @ X, dZ2.T @ H
""", "do not multiply by it again"),
    ("03_scalar_engine", "div_backward", "sign of dL/db flipped",
     "def div_backward(a, b, dout):\n    return dout / b, a * dout / b ** 2",
     "the sign of dL/db is flipped"),
    ("03_scalar_engine", "used_three_times", "counts the use in x y only",
     "def used_three_times(x, y):\n    return y * x, x * x", "at least one of the three uses"),
]


@pytest.mark.parametrize("name, exercise, what, source, hint", WRONG,
                         ids=[f"{w[1]}: {w[2]}" for w in WRONG])
def test_wrong_answer_fails_its_check(name, exercise, what, source, hint):
    results, _ = check_results(name, exercise, answers={exercise: source})
    failures = [r for r in results if isinstance(r, ExerciseFailure)]
    assert failures, f"the check of {exercise} accepted a wrong answer: {what}"
    assert any(hint in str(f) for f in failures), [str(f) for f in failures]


def test_every_exercise_has_a_wrong_answer_test():
    covered = {(name, exercise) for name, exercise, *_ in WRONG}
    assert covered == {(name, exercise) for name, exercise, _ in course_exercises() if name in NAMES}


# ---- the lesson notebooks as saved ----

@pytest.mark.parametrize("folder, name", [(f, n) for f in ("lessons", "solutions") for n in NAMES])
def test_notebook_is_saved_executed_small_and_marks_plots(folder, name):
    path = notebook_path(folder, name)
    assert path.stat().st_size < 1_000_000
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{path.name}: a cell was not run"
        assert not [o for o in cell.outputs if o.output_type == "error"]
        has_image = any("image/png" in o.get("data", {}) for o in cell.outputs)
        tags = cell.metadata.get("tags", [])
        if has_image:
            assert "nbval-ignore-output" in tags, f"{path.name}: {cell.source[:60]!r}"
