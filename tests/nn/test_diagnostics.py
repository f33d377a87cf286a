"""Diagnostics for the vanishing-gradient lesson."""

import math

import numpy as np

from backproplab import Tensor, diagnostics, nn


def deep_sigmoid_net(depth, width=16, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, rng=rng), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(width, 3, rng=rng))


def test_gradient_norms_by_name_and_vanishing_in_a_deep_sigmoid_net():
    net = deep_sigmoid_net(8)
    x = Tensor(np.random.default_rng(1).standard_normal((64, 16)))
    nn.functional.cross_entropy(net(x), np.arange(64) % 3).backward()
    norms = diagnostics.gradient_norms(net)
    assert list(norms) == [n for n, _ in net.named_parameters()]
    g = net[0].weight.grad
    assert norms["0.weight"] == math.sqrt((g * g).sum())
    # the sigmoid's slope is at most 1/4: the first layer gets a far smaller gradient
    assert norms["0.weight"] < norms["14.weight"] / 100


def test_gradient_norm_of_an_unused_parameter_is_nan():
    net = deep_sigmoid_net(1)
    assert all(math.isnan(v) for v in diagnostics.gradient_norms(net).values())
