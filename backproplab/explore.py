"""How gradients flow through a deep network: the explorer of the vanishing-gradient lesson.

    net = deep_net(depth=20, activation="sigmoid", init="xavier", rng=rng)
    flow = gradient_flow(depth=20, activation="sigmoid", init="xavier", residual=False)
    flow.grad_norms        # ||dL/dW_l|| for l = 1..depth, the first layer first
    plot_gradient_flow([flow, ...])
    gradient_flow_figure(depth=20, activation="sigmoid")   # the explorer's picture, static
    gradient_flow_explorer()   # ipywidgets: depth, activation, init, residual, norm

The network is ``depth`` blocks of width D, each ``h_l = act(norm(h_{l-1} W_l + b_l))``
(``norm`` optional), or with ``residual=True`` ``h_l = h_{l-1} + act(norm(h_{l-1} W_l + b_l))``.
The input X (N, D) and an upstream gradient G = dL/dh_depth (N, D) are standard normal
numbers drawn from the seed; the loss ``L = sum(h_depth * G) / N`` makes ``backward()``
start from dL/dh_depth = G / N (each example's share of G), so what the norms show is the
network's own effect on the gradient, not that of a particular task.

matplotlib and ipywidgets are imported inside the functions that draw, so importing
this module stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import nn
from .tensor import Tensor

__all__ = ["ACTIVATIONS", "INITS", "NORMS", "GradientFlow", "deep_net", "init_weight",
           "gradient_flow", "plot_gradient_flow", "gradient_flow_figure",
           "gradient_flow_explorer"]

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
# name -> (what it is, std of W as a function of (fan_in, fan_out))
INITS = {
    "small": ("N(0, 0.01^2)", lambda fan_in, fan_out: 0.01),
    "large": ("N(0, 1)", lambda fan_in, fan_out: 1.0),
    "xavier": ("Xavier/Glorot normal, Var = 2 / (fan_in + fan_out)",
               lambda fan_in, fan_out: math.sqrt(2.0 / (fan_in + fan_out))),
    "he": ("He/Kaiming normal, Var = 2 / fan_in", lambda fan_in, fan_out: math.sqrt(2.0 / fan_in)),
}
NORMS = {None: None, "layernorm": nn.LayerNorm, "batchnorm": nn.BatchNorm1d}


def _choice(what, value, options):
    if value not in options:
        raise ValueError(f"{what} must be one of {list(options)}, got {value!r}")
    return value


def init_weight(linear, init, rng):
    """Set ``linear.weight`` (D_in, D_out) by the scheme ``init`` and its bias to 0.

    'xavier' and 'he' call ``backproplab.nn.init`` (xavier_normal_, kaiming_normal_);
    'small' and 'large' draw N(0, std^2) with std 0.01 and 1.
    """
    _choice("init", init, INITS)
    if init == "xavier":
        nn.init.xavier_normal_(linear.weight, rng=rng)
    elif init == "he":
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", rng=rng)
    else:
        nn.init.normal_(linear.weight, 0.0, INITS[init][1](*linear.weight.shape), rng=rng)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)
    return linear


def deep_net(depth=20, width=64, activation="tanh", init="xavier", residual=False, norm=None,
             rng=None):
    """An ``nn.Sequential`` of ``depth`` blocks ``act(norm(Linear(D, D)))``, each wrapped
    in ``nn.Residual`` when ``residual`` is True (then block l computes h + f(h)).

    activation: 'sigmoid', 'tanh' or 'relu'; init: 'small', 'large', 'xavier', 'he';
    norm: None, 'layernorm' or 'batchnorm' (placed between the Linear and the activation).
    """
    _choice("activation", activation, ACTIVATIONS)
    _choice("init", init, INITS)
    _choice("norm", norm, NORMS)
    if not isinstance(depth, int) or depth < 1 or not isinstance(width, int) or width < 1:
        raise ValueError(f"deep_net: depth and width must be positive ints, got depth={depth!r}, "
                         f"width={width!r}")
    rng = nn.init.default_rng(rng)
    blocks = []
    for _ in range(depth):
        layers = [init_weight(nn.Linear(width, width, rng=rng), init, rng)]
        if norm is not None:
            layers.append(NORMS[norm](width))
        layers.append(ACTIVATIONS[activation]())
        block = nn.Sequential(*layers)
        blocks.append(nn.Residual(block) if residual else block)
    return nn.Sequential(*blocks)


def _linears(net):
    """The Linear layer of each block, first block first."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


@dataclass
class GradientFlow:
    """Per-block numbers of one deep network after one forward and backward pass.

    grad_norms:      (depth,) ||dL/dW_l||_F, l = 1 (next to the input) .. depth.
    activation_std:  (depth,) std of the block outputs h_l over the batch and units.
    delta_norms:     (depth,) the gradient reaching each block output, per example:
                     sqrt(1/N sum_n ||dL_n/dh_l,n||^2), L_n = h_depth,n . G_n the loss of
                     example n (about sqrt(D) at the top, where it is G itself).
    label:           a short description for plot legends.
    """

    grad_norms: np.ndarray
    activation_std: np.ndarray
    delta_norms: np.ndarray
    label: str

    @property
    def ratio(self):
        """||dL/dW_1|| / ||dL/dW_depth||: below 1 the gradient shrinks on its way down."""
        return float(self.grad_norms[0] / self.grad_norms[-1])


def gradient_flow(depth=20, width=64, activation="tanh", init="xavier", residual=False,
                  norm=None, batch=128, seed=0):
    """Build ``deep_net(...)`` from ``seed``, run X (batch, width) forward and the
    upstream gradient G backward (see the module docstring), and return a ``GradientFlow``.

    The same seed gives the same weights, X and G, so two calls that differ in one
    setting differ only by the effect of that setting.
    """
    rng = np.random.default_rng(seed)
    net = deep_net(depth, width, activation, init, residual, norm, rng)
    x = Tensor(rng.standard_normal((batch, width)))
    upstream = Tensor(rng.standard_normal((batch, width)))
    outputs, h = [], x
    for block in net:
        h = block(h).retain_grad()
        outputs.append(h)
    (h * upstream).sum().__truediv__(batch).backward()
    grad_norms = np.array([np.linalg.norm(lin.weight.grad) for lin in _linears(net)])
    stds = np.array([float(np.std(o.data)) for o in outputs])
    deltas = np.array([np.linalg.norm(o.grad) * math.sqrt(batch) for o in outputs])  # N dL/dh
    parts = [activation, init] + (["residual"] if residual else []) + ([norm] if norm else [])
    return GradientFlow(grad_norms, stds, deltas, ", ".join(parts))


def plot_gradient_flow(flows, ax=None, what="grad_norms", title=None):
    """Plot one line per ``GradientFlow`` against the layer number, log scale.

    what: 'grad_norms' (||dL/dW_l||), 'activation_std' or 'delta_norms'.
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    labels = {"grad_norms": "gradient norm ||dL/dW_l||",
              "activation_std": "activation std of h_l",
              "delta_norms": "||dL/dh_l|| per example (RMS)"}
    _choice("what", what, labels)
    if isinstance(flows, GradientFlow):
        flows = [flows]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6), dpi=72)
    for flow in flows:
        values = getattr(flow, what)
        layers = np.arange(1, len(values) + 1)
        ax.semilogy(layers, np.where(values > 0, values, np.nan), marker="o", markersize=3,
                    label=flow.label)
    ax.set_xlabel("layer l (1 = next to the input)")
    ax.set_ylabel(labels[what] + " (log scale)")
    ax.set_title(title or labels[what] + " through depth")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def gradient_flow_figure(depth=20, activation="sigmoid", init="xavier", residual=False,
                         norm=None, width=64, batch=128, seed=0):
    """The explorer's picture as a static matplotlib figure: the gradient norm per layer
    (left) and the activation std per layer (right) of ``gradient_flow(...)`` with these
    settings, the ratio ||dL/dW_1|| / ||dL/dW_depth|| in the title. Returns the figure
    (closed for pyplot, so a notebook shows it once: as the cell's value or with display)."""
    import matplotlib.pyplot as plt

    flow = gradient_flow(depth=depth, width=width, activation=activation, init=init,
                         residual=residual, norm=norm, batch=batch, seed=seed)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=72)
    plot_gradient_flow(flow, left, "grad_norms")
    plot_gradient_flow(flow, right, "activation_std")
    fig.suptitle(f"{flow.label}, depth {len(flow.grad_norms)}: ||dL/dW_1|| / "
                 f"||dL/dW_{len(flow.grad_norms)}|| = {flow.ratio:.2g}", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def gradient_flow_explorer(depth=20, activation="sigmoid", init="xavier", residual=False,
                           norm=None, width=64, batch=128, seed=0):
    """An ipywidgets panel (depth, activation, init, residual, norm) that redraws
    ``gradient_flow_figure`` whenever a control changes.

    Returns ``(panel, update)``. Display ``panel`` in a live kernel. ``update(**settings)``
    sets the panel's controls to ``settings`` (e.g. ``update(depth=30, residual=True)``),
    redraws its plot once and returns the figure; it changes what the panel shows, so a
    notebook that wants a picture of other settings beside the panel should call
    ``gradient_flow_figure`` instead. Without a kernel (GitHub, nbviewer) a widget shows
    only its text form, so a lesson saves a static ``gradient_flow_figure`` beside it.
    The norm control reads "none" for no normalisation (``norm=None``).
    """
    import ipywidgets as widgets
    from IPython.display import display

    norm_options = [("none", "none"), ("LayerNorm", "layernorm"), ("BatchNorm", "batchnorm")]
    _choice("norm", norm, NORMS)
    controls = {
        "depth": widgets.IntSlider(value=depth, min=2, max=50, description="depth"),
        "activation": widgets.Dropdown(options=list(ACTIVATIONS), value=activation,
                                       description="activation"),
        "init": widgets.Dropdown(options=list(INITS), value=init, description="init"),
        "residual": widgets.Checkbox(value=residual, description="residual"),
        # a Dropdown whose value is None shows a blank: the control holds "none" instead
        "norm": widgets.Dropdown(options=norm_options, value=norm or "none", description="norm"),
    }
    output = widgets.Output()
    setting_many = [False]  # while update() sets several controls, redraw once at the end

    def settings_now():
        values = {name: c.value for name, c in controls.items()}
        values["norm"] = None if values["norm"] == "none" else values["norm"]
        return values

    def draw():
        fig = gradient_flow_figure(width=width, batch=batch, seed=seed, **settings_now())
        with output:
            output.clear_output(wait=True)
            display(fig)
        return fig

    def update(**settings):
        unknown = [name for name in settings if name not in controls]
        if unknown:
            raise ValueError(f"gradient_flow_explorer: unknown settings {unknown}; use "
                             f"{list(controls)}")
        if "norm" in settings:
            _choice("norm", settings["norm"], NORMS)
            settings["norm"] = settings["norm"] or "none"
        setting_many[0] = True
        try:
            for name, value in settings.items():
                controls[name].value = value
        finally:
            setting_many[0] = False
        return draw()

    def on_change(change):
        if not setting_many[0]:
            draw()

    class ExplorerPanel(widgets.VBox):
        def __repr__(self):  # what a page without a kernel shows in the widget's place
            return "gradient-flow explorer: its controls need a kernel (static figure below)"

    for control in controls.values():
        control.observe(on_change, names="value")
    panel = ExplorerPanel([widgets.HBox(list(controls.values())[:3]),
                           widgets.HBox(list(controls.values())[3:]), output])
    draw()  # the panel opens showing its starting settings
    return panel, update
