"""Diagnostics for the vanishing-gradient lesson."""

import math

import numpy as np

from backproplab import Tensor, diagnostics, nn, optim


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


def test_activation_recorder_statistics_match_numpy():
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(4, 8, rng=rng), nn.Sigmoid(), nn.Linear(8, 8, rng=rng), nn.ReLU(),
                        nn.Linear(8, 6, rng=rng), nn.Tanh())
    x = rng.standard_normal((32, 4))
    with diagnostics.ActivationRecorder(net) as rec:
        net(Tensor(x))
    assert list(rec.stats) == ["0", "1", "2", "3", "4", "5"]
    h = 1 / (1 + np.exp(-(x @ net[0].weight.numpy() + net[0].bias.numpy())))
    assert abs(rec.stats["1"]["mean"] - h.mean()) < 1e-12
    assert abs(rec.stats["1"]["std"] - h.std()) < 1e-12
    r = np.maximum(h @ net[2].weight.numpy() + net[2].bias.numpy(), 0)
    assert rec.stats["3"]["dead"] == np.mean((r == 0).all(axis=0))
    assert "saturated" in rec.stats["5"] and "dead" not in rec.stats["1"]
    net(Tensor(x))  # outside the block: no more recording, hooks removed
    assert all(not m._forward_hooks for m in net.modules())


def test_saturation_grows_with_large_weights():
    """Large initial weights push sigmoid units into their flat tails."""
    x = Tensor(np.random.default_rng(1).standard_normal((256, 16)))
    fractions = []
    for scale in (0.1, 10.0):
        lin = nn.Linear(16, 16, rng=np.random.default_rng(2))
        nn.init.normal_(lin.weight, 0.0, scale, rng=np.random.default_rng(3))
        net = nn.Sequential(lin, nn.Sigmoid())
        with diagnostics.ActivationRecorder(net, modules=["1"]) as rec:
            net(x)
        fractions.append(rec.stats["1"]["saturated"])
    assert fractions[0] == 0.0 and fractions[1] > 0.5


def test_saturation_and_dead_relu_by_hand():
    y = np.array([[0.005, 0.5, 0.995], [0.3, 0.999, 0.02]])
    assert diagnostics.saturation_fraction(y) == 3 / 6
    assert diagnostics.saturation_fraction(np.array([-0.995, 0.2, 0.99]), "tanh") == 2 / 3
    r = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    assert diagnostics.dead_relu_fraction(r) == 1 / 3  # only the first unit is 0 for both examples


def test_update_ratios_are_step_norm_over_weight_norm():
    net = deep_sigmoid_net(1, width=4)
    w_before = net[0].weight.numpy().copy()
    x = Tensor(np.random.default_rng(0).standard_normal((8, 4)))
    nn.functional.cross_entropy(net(x), np.arange(8) % 3).backward()
    g = net[0].weight.grad.copy()
    ratios = diagnostics.update_ratios(net, optim.SGD(net.parameters(), lr=0.1))
    expected = np.linalg.norm(0.1 * g) / np.linalg.norm(w_before)
    assert abs(ratios["0.weight"] - expected) < 1e-12 * expected
    assert list(ratios) == [n for n, _ in net.named_parameters()]


def test_find_nonfinite_names_the_layer_in_the_forward_pass():
    net = deep_sigmoid_net(3, width=4)
    x = np.random.default_rng(0).standard_normal((5, 4))
    y = np.arange(5) % 3
    assert not diagnostics.find_nonfinite(net, x, nn.CrossEntropyLoss(), y)
    net[2].weight.data[1, 1] = np.inf  # the second Linear
    report = diagnostics.find_nonfinite(net, x, nn.CrossEntropyLoss(), y)
    assert report.forward == "2" and "layer '2'" in str(report)
    report = diagnostics.find_nonfinite(net, np.full((5, 4), np.nan))
    assert report.input_nonfinite and report.forward == "0"


class Sqrt(nn.Module):
    def forward(self, x):
        return x**0.5


def test_find_nonfinite_names_the_layer_in_the_backward_pass():
    """sqrt(relu(z)) is finite at z <= 0, but its derivative 1/(2 sqrt(0)) is inf."""
    rng = np.random.default_rng(0)
    net = nn.Sequential(nn.Linear(3, 4, rng=rng), nn.ReLU(), Sqrt(), nn.Linear(4, 2, rng=rng))
    x = rng.standard_normal((6, 3))
    net[0].bias.data[:] = [-100.0, 0.5, 0.5, 0.5]  # unit 0 is always 0 after the ReLU
    net[0].weight.grad = np.ones((3, 4))  # an existing gradient, which must survive the check
    report = diagnostics.find_nonfinite(net, x, nn.CrossEntropyLoss(), np.array([0, 1, 0, 1, 0, 1]))
    assert report.forward is None
    assert report.backward == "1"  # the gradient reaching the ReLU's output (made by Sqrt's backward)
    assert "0.weight" in report.parameters
    np.testing.assert_array_equal(net[0].weight.grad, np.ones((3, 4)))
