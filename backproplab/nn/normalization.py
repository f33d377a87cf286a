"""Normalisation layers: BatchNorm1d (over the batch) and LayerNorm (over features).

Both are compositions of Tensor ops, so the well-known batch-norm backward
(Ioffe and Szegedy, 2015) comes from the engine and is checked by gradcheck.
"""

from __future__ import annotations

from .. import backend
from ..autodiff import no_grad
from ..tensor import Tensor, ones, zeros
from .linear import as_tensor
from .module import Module, Parameter

__all__ = ["BatchNorm1d", "LayerNorm"]


class BatchNorm1d(Module):
    """Batch normalisation of X (N, D), each feature d over the batch:

        mu_d = 1/N sum_n x_nd ;   var_d = 1/N sum_n (x_nd - mu_d)^2
        x^_nd = (x_nd - mu_d) / sqrt(var_d + eps) ;   y_nd = gamma_d x^_nd + beta_d

    In training mode the batch's mu and var are used (and the gradient flows
    through them), and running estimates are updated:
    running = (1 - momentum) running + momentum * batch value (the running
    variance uses the unbiased 1/(N-1) estimate, as in PyTorch). In eval mode
    the running estimates replace mu and var, so the layer is a fixed affine map.

    BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True, dtype='float64', device=None)
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype="float64", device=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype, device=device))  # gamma
            self.bias = Parameter(zeros(num_features, dtype=dtype, device=device))  # beta
        else:
            self.weight = self.bias = None
        self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
        self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))

    def forward(self, x):
        x = as_tensor(x, "BatchNorm1d")
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape (N, {self.num_features}), "
                f"got {x.shape}"
            )
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d in training mode needs more than one example per batch to "
                    f"estimate a variance, got input of shape {x.shape} (use eval() to apply it "
                    "to single examples)"
                )
            mean = x.mean(0)
            var = x.var(0)
            with no_grad():
                m = self.momentum
                self.running_mean.data = (1 - m) * self.running_mean.data + m * mean.data
                self.running_var.data = (1 - m) * self.running_var.data + m * var.data * (n / (n - 1))
            x_hat = (x - mean) / (var + self.eps).sqrt()
        else:
            scale = backend.namespace(self.running_var.data).sqrt(self.running_var.data + self.eps)
            x_hat = (x - self.running_mean) / Tensor._wrap(scale)
        if self.weight is None:
            return x_hat
        return x_hat * self.weight + self.bias

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}"


class LayerNorm(Module):
    """Layer normalisation (Ba et al., 2016): each example normalised over its last
    axes (``normalized_shape``), the same computation in training and eval:

        mu_n = mean_d x_nd ;  var_n = mean_d (x_nd - mu_n)^2
        y_nd = gamma_d (x_nd - mu_n) / sqrt(var_n + eps) + beta_d

    LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, dtype='float64', device=None)
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype="float64", device=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        if elementwise_affine:
            self.weight = Parameter(ones(shape, dtype=dtype, device=device))
            self.bias = Parameter(zeros(shape, dtype=dtype, device=device))
        else:
            self.weight = self.bias = None

    def forward(self, x):
        x = as_tensor(x, "LayerNorm")
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k:] != self.normalized_shape or x.ndim < k:
            raise ValueError(
                f"LayerNorm({self.normalized_shape}) expects inputs whose last axes have shape "
                f"{self.normalized_shape}, got {x.shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axes, keepdims=True)
        var = x.var(axes, keepdims=True)
        y = (x - mean) / (var + self.eps).sqrt()
        return y if self.weight is None else y * self.weight + self.bias

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.weight is not None}"
