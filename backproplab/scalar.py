"""A scalar reverse-mode autodiff engine, small enough to read in one sitting.

Every ``Value`` remembers the values it was made from (``_prev``) and a function
(``_backward``) that pushes its gradient back to them with the chain rule:

    if z = f(x, y) then  dL/dx += dL/dz * dz/dx  and  dL/dy += dL/dz * dz/dy

``backward()`` visits the graph in reverse topological order, so a node's
gradient is complete before it is passed on, and every update is ``+=`` because
a value used twice receives a contribution along each path.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Value"]


class Value:
    """A scalar that records how it was computed.

    >>> a, b = Value(2.0), Value(-3.0)
    >>> c = a * b + a          # a is used twice
    >>> c.backward()
    >>> a.grad, b.grad         # dc/da = b + 1, dc/db = a
    (-2.0, 2.0)
    """

    __slots__ = ("data", "grad", "label", "_op", "_prev", "_backward")

    def __init__(self, data, _prev=(), _op="", label=""):
        if isinstance(data, Value):
            raise TypeError("Value(data): data is already a Value; use it directly")
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(
                f"Value(data): data must be a real number, got {type(data).__name__} {data!r}"
            ) from None
        self.grad = 0.0
        self.label = label
        self._op = _op
        self._prev = tuple(_prev)
        self._backward = None  # set by the op that made this value; None for leaves

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- binary ops: forward value and the local derivative side by side ----

    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a+b)/da = 1, d(a+b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        if isinstance(k, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number")
        if not isinstance(k, numbers.Real):
            raise TypeError(f"Value ** k: k must be an int or float, got {type(k).__name__}")
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"Value ** {k}: 0 raised to a negative power")
        if self.data < 0 and not float(k).is_integer():
            raise ValueError(f"Value ** {k}: negative base {self.data} with a fractional exponent")
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward():  # d(x^k)/dx = k x^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    # ---- unary functions; where f' is a function of f, save the output ----

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d(e^x)/dx = e^x
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"Value.log: log is defined for x > 0, got x = {self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():  # d(ln x)/dx = 1/x
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():  # d(tanh x)/dx = 1 - tanh(x)^2
            self.grad += (1.0 - out.data**2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data  # split by sign so exp never overflows
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():  # d(sigma)/dx = sigma (1 - sigma)
            self.grad += out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():  # d(relu)/dx = 1 if x > 0 else 0
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    # ---- composed from the primitives above: no backward code of their own ----

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-_as_value(other))

    def __truediv__(self, other):
        return self * _as_value(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _as_value(other) - self

    def __rtruediv__(self, other):
        return _as_value(other) / self

    # ---- the engine ----

    def topological_order(self):
        """Every value this one depends on, each after all of its inputs.

        Iterative depth-first search (an explicit stack, not recursion), so a
        chain of 100,000 operations does not hit Python's recursion limit.
        """
        order, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in visited:
                    stack.append((child, False))
        return order

    def backward(self, retain_graph=False):
        """Fill ``.grad`` of every value this one depends on with d(self)/d(value).

        Gradients accumulate (``+=``) into ``.grad``, as they must for a value used
        twice; reset them with ``zero_grad`` between training steps. After the
        walk, the graph is released: calling ``backward()`` again on the same graph
        raises ``RuntimeError`` instead of silently doubling every gradient. Pass
        ``retain_graph=True`` to keep it (and accept that gradients add up).
        """
        order = self.topological_order()
        for node in order:
            if node._backward is _RELEASED:
                raise RuntimeError(
                    "backward() through a graph that was already backpropagated: "
                    "its gradients would be added a second time. Build a new graph "
                    "(run the forward pass again), or call backward(retain_graph=True) "
                    "the first time if you really mean to accumulate."
                )
        self.grad = 1.0  # dL/dL
        for node in reversed(order):
            if node._backward is not None:
                node._backward()
                if not retain_graph:
                    node._backward = _RELEASED

    def zero_grad(self):
        """Set ``.grad`` to 0 for this value and everything it depends on."""
        for node in self.topological_order():
            node.grad = 0.0


def _released():
    raise AssertionError("unreachable: released nodes are checked before the walk")


_RELEASED = _released


def _as_value(x):
    return x if isinstance(x, Value) else Value(x)
