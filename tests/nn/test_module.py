"""Module, Parameter, Sequential: the parameter tree, modes, saving and loading."""

import numpy as np
import pytest

from backproplab import Tensor
from backproplab.nn import Linear, Module, Parameter, ReLU, Sequential, Sigmoid

from nn_helpers import rng


class TwoLayer(Module):
    def __init__(self, seed=0):
        super().__init__()
        r = rng(seed)
        self.hidden = Linear(3, 4, rng=r)
        self.blocks = [Linear(4, 4, rng=r), Linear(4, 4, rng=r)]
        self.scale = Parameter(np.ones(1))
        self.out = Linear(4, 2, rng=r)
        self.not_a_param = Tensor(np.zeros(3))

    def forward(self, x):
        h = self.hidden(x).relu()
        for b in self.blocks:
            h = b(h).tanh()
        return self.out(h * self.scale)


def test_parameter_tree_found_from_attributes_with_dotted_names():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == [
        "scale", "hidden.weight", "hidden.bias", "blocks.0.weight", "blocks.0.bias",
        "blocks.1.weight", "blocks.1.bias", "out.weight", "out.bias",
    ]
    assert m.num_parameters() == 1 + (12 + 4) + 2 * (16 + 4) + (8 + 2)
    assert [type(c).__name__ for c in m.children()] == ["Linear"] * 4
    assert len(list(m.modules())) == 5


def test_shared_parameter_listed_once():
    lin = Linear(2, 2, rng=rng())
    net = Sequential(lin, ReLU(), lin)
    assert len(list(net.parameters())) == 2


def test_parameter_copies_data_and_requires_grad():
    a = np.array([1.0, 2.0])
    p = Parameter(a)
    p.data += 1
    assert a.tolist() == [1.0, 2.0] and p.requires_grad
    assert repr(p).startswith("Parameter(")


def test_zero_grad_sets_none_and_train_eval_propagate():
    m = TwoLayer()
    x = Tensor(rng(1).standard_normal((5, 3)))
    m(x).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.eval()
    assert not any(mod.training for mod in m.modules())
    m.train()
    assert all(mod.training for mod in m.modules())


def test_sequential_indexing_iteration_and_repr():
    net = Sequential(Linear(2, 3, rng=rng()), Sigmoid(), Linear(3, 1, rng=rng()))
    assert len(net) == 3 and isinstance(net[1], Sigmoid)
    assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid", "Linear"]
    assert isinstance(net[:2], Sequential) and len(net[:2]) == 2
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert repr(net) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sigmoid()\n  (2): Linear(in_features=3, out_features=1, bias=True)\n)"
    )
    with pytest.raises(TypeError, match="item 1"):
        Sequential(Linear(2, 2, rng=rng()), lambda x: x)


def test_subclass_without_super_init_still_works():
    class Bare(Module):
        def __init__(self):
            self.lin = Linear(2, 1, rng=rng())

        def forward(self, x):
            return self.lin(x)

    b = Bare()
    assert b.training and len(list(b.parameters())) == 2
    assert b(Tensor(np.ones((1, 2)))).shape == (1, 1)
    b.eval()
    assert not b.training


def test_state_dict_roundtrip_gives_numpy_copies():
    a, b = TwoLayer(0), TwoLayer(1)
    state = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["hidden.weight"][0, 0] = 123.0  # a copy: the model is not changed
    assert a.hidden.weight.data[0, 0] != 123.0
    b.load_state_dict(a.state_dict())
    x = Tensor(rng(2).standard_normal((4, 3)))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    m = TwoLayer()
    before = m.state_dict()
    bad = m.state_dict()
    del bad["out.bias"]
    bad["extra.weight"] = np.zeros(2)
    bad["hidden.weight"] = np.zeros((4, 3))  # transposed
    bad["scale"] = np.full(1, 7.0)  # a valid entry, which must not be applied either
    with pytest.raises(ValueError) as err:
        m.load_state_dict(bad)
    msg = str(err.value)
    assert "missing entries: out.bias" in msg
    assert "unexpected entries: extra.weight" in msg
    assert "hidden.weight: expected shape (3, 4), got (4, 3)" in msg
    assert "not changed" in msg
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_to_converts_dtype_in_place():
    m = TwoLayer()
    params = list(m.parameters())
    assert m.to(dtype="float32") is m
    assert all(p.dtype == np.float32 for p in m.parameters())
    assert list(m.parameters())[0] is params[0]  # same objects: an optimizer keeps working


def test_forward_hook_sees_output_and_can_be_removed():
    net = Sequential(Linear(2, 3, rng=rng()), ReLU())
    seen = []
    handle = net[1].register_forward_hook(lambda mod, inp, out: seen.append(out.shape))
    net(Tensor(np.ones((5, 2))))
    handle.remove()
    net(Tensor(np.ones((5, 2))))
    assert seen == [(5, 3)]
