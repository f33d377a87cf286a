"""Elementwise ops. Binary ops receive inputs already broadcast to one shape
(broadcasting is its own op, ``Expand``), so their backward never reshapes."""

from ..autodiff import Function
from ..backend import namespace


class Add(Function):
    """z = a + b;  dz/da = 1, dz/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """z = a - b;  dz/da = 1, dz/db = -1."""

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """z = a * b;  dz/da = b, dz/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        da = g * self.b if self.needs_input_grad[0] else None
        db = g * self.a if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = -a/b^2 = -z/b."""

    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, g):
        da = g / self.b if self.needs_input_grad[0] else None
        db = -g * self.out / self.b if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    """z = -x;  dz/dx = -1."""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """z = x^k for a constant number k;  dz/dx = k x^(k-1)."""

    def forward(self, x, k):
        self.x, self.k = x, k
        return x**k

    def backward(self, g):
        return (g * self.k * self.x ** (self.k - 1),)


class Exp(Function):
    """z = e^x;  dz/dx = e^x = z (saved output)."""

    def forward(self, x):
        self.out = namespace(x).exp(x)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    """z = ln x;  dz/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return namespace(x).log(x)

    def backward(self, g):
        return (g / self.x,)


class Tanh(Function):
    """z = tanh x;  dz/dx = 1 - z^2 (saved output)."""

    def forward(self, x):
        self.out = namespace(x).tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class Sigmoid(Function):
    """z = 1 / (1 + e^-x);  dz/dx = z (1 - z) (saved output)."""

    def forward(self, x):
        xp = namespace(x)
        e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows, for either sign of x
        self.out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class Relu(Function):
    """z = max(x, 0);  dz/dx = 1 where x > 0, else 0 (read off the saved output)."""

    def forward(self, x):
        self.out = namespace(x).maximum(x, 0)
        return self.out

    def backward(self, g):
        xp = namespace(g)
        # a 0/1 mask multiply: several times faster than where() on random signs
        return (g * xp.astype(self.out > 0, g.dtype),)


class Where(Function):
    """z = a where cond else b (cond is a constant boolean array)."""

    def forward(self, a, b, cond):
        self.cond = cond
        return namespace(a, b).where(cond, a, b)

    def backward(self, g):
        xp = namespace(g)
        da = xp.where(self.cond, g, 0) if self.needs_input_grad[0] else None
        db = xp.where(self.cond, 0, g) if self.needs_input_grad[1] else None
        return da, db


class Cast(Function):
    """z = x converted to another floating dtype;  the gradient converts back."""

    def forward(self, x, dtype):
        self.in_dtype = x.dtype
        return namespace(x).astype(x, dtype)

    def backward(self, g):
        return (namespace(g).astype(g, self.in_dtype),)
