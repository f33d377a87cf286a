"""The scalar engine: every op's gradient against central differences, the
graph walk, and the double-backward guard."""

import math

import pytest

from backproplab import Value

# name, function of Values (or floats), inputs
CASES = [
    ("add", lambda a, b: a + b, (0.7, -1.3)),
    ("sub", lambda a, b: a - b, (0.7, -1.3)),
    ("mul", lambda a, b: a * b, (0.7, -1.3)),
    ("div", lambda a, b: a / b, (0.7, -1.3)),
    ("pow", lambda a: a**3, (0.7,)),
    ("pow_frac", lambda a: a**0.5, (1.7,)),
    ("rsub_rdiv", lambda a: 2 - 3 / a, (0.9,)),
    ("exp", lambda a: a.exp(), (0.4,)),
    ("log", lambda a: a.log(), (2.5,)),
    ("tanh", lambda a: a.tanh(), (0.4,)),
    ("sigmoid", lambda a: a.sigmoid(), (-0.8,)),
    ("sigmoid_large", lambda a: a.sigmoid(), (-800.0,)),
    ("relu_pos", lambda a: a.relu(), (0.8,)),
    ("relu_neg", lambda a: a.relu(), (-0.8,)),
    ("neuron", lambda x, w, b: (x * w + b).tanh() * x, (0.5, -1.2, 0.3)),
]


def _numerical(f, xs, i, eps=1e-6):
    plus = list(xs)
    minus = list(xs)
    plus[i] += eps
    minus[i] -= eps
    return (f(*[Value(v) for v in plus]).data - f(*[Value(v) for v in minus]).data) / (2 * eps)


@pytest.mark.parametrize("name, f, xs", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_central_differences(name, f, xs):
    vals = [Value(v) for v in xs]
    out = f(*vals)
    out.backward()
    for i, v in enumerate(vals):
        assert v.grad == pytest.approx(_numerical(f, xs, i), rel=1e-6, abs=1e-9), f"{name}: input {i}"


def test_forward_values():
    assert Value(2.0).exp().data == pytest.approx(math.exp(2.0))
    assert Value(-1000.0).sigmoid().data == pytest.approx(0.0)
    assert Value(1000.0).sigmoid().data == pytest.approx(1.0)


def test_node_used_twice_accumulates():
    a = Value(3.0)
    b = a * a  # db/da = 2a
    b.backward()
    assert a.grad == 6.0


def test_topological_order_puts_inputs_first():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    order = d.topological_order()
    pos = {id(n): i for i, n in enumerate(order)}
    assert pos[id(a)] < pos[id(c)] < pos[id(d)] and pos[id(b)] < pos[id(c)]
    assert len(order) == 4


def test_backward_twice_raises_and_keeps_gradients():
    a = Value(2.0)
    y = a * a + a
    y.backward()
    assert a.grad == 5.0
    with pytest.raises(RuntimeError, match="already backpropagated"):
        y.backward()
    assert a.grad == 5.0


def test_retain_graph_accumulates_on_purpose():
    a = Value(2.0)
    y = a * a
    y.backward(retain_graph=True)
    y.backward()
    assert a.grad == 8.0


def test_zero_grad():
    a = Value(2.0)
    y = a * 3
    y.backward()
    y.zero_grad()
    assert a.grad == 0.0 and y.grad == 0.0


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: Value("x"), TypeError, "data must be a real number"),
        (lambda: Value(-1.0).log(), ValueError, "log is defined for x > 0"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, "negative power"),
        (lambda: Value(2.0) ** Value(2.0), TypeError, "exponent must be a number"),
        (lambda: Value(2.0) ** "2", TypeError, "k must be an int or float"),
        (lambda: Value(-2.0) ** 0.5, ValueError, "fractional exponent"),
    ],
)
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_numpy_number_exponent():
    np = pytest.importorskip("numpy")
    a = Value(2.0)
    y = a ** np.int64(3)
    y.backward()
    assert y.data == 8.0 and a.grad == 12.0
