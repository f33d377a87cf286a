"""Plots the lessons share: a computational-graph drawer and error / loss curves.

Every figure comes from ``subplots`` (one size and resolution, a light grid), and every
helper takes an optional ``ax`` so that figures can be combined. Matplotlib is imported
inside the functions: ``import backproplab`` does not pay for it.

The graph drawer works with any scalar node that has ``data``, ``grad``, ``_prev`` (its
inputs) and ``_op`` (the op that made it), and optionally ``label``: ``backproplab.Value``
and the smaller class students build in lesson 3.
"""

from __future__ import annotations

import numpy as np

__all__ = ["subplots", "error_plot", "loss_plot", "graph_layout", "draw_graph"]

DPI = 72  # keeps notebooks small; figures are read on screen, not printed

# Graph geometry in data units (1 unit = INCH_PER_UNIT inches on the figure).
_BOX_W, _BOX_H, _OP_R = 1.5, 0.78, 0.3
_COLUMN, _OP_OFFSET, _ROW = 3.2, 1.3, 1.05
INCH_PER_UNIT = 0.62
_OP_SYMBOLS = {"*": "×", "sigmoid": "σ", "relu": "ReLU"}


def subplots(nrows=1, ncols=1, *, width=6.0, height=3.6, **kwargs):
    """``plt.subplots`` with the course's size, resolution and grid; returns (fig, axes)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), dpi=DPI,
                             layout="constrained", **kwargs)
    for ax in np.atleast_1d(axes).ravel():
        ax.grid(True, which="major", alpha=0.3)
    return fig, axes


def _axes(ax, **kwargs):
    if ax is not None:
        return ax
    return subplots(**kwargs)[1]


def error_plot(h, errors, *, ax=None, title="Error of a finite difference",
               xlabel="step size h", ylabel="absolute error", guides=(), legend="best"):
    """Log-log plot of errors against the step size.

    h: (K,) step sizes. errors: {curve label: (K,) errors}; exact zeros are left out
    (a log axis cannot show them). guides: (slope, h0, e0, label) or (slope, h0, e0, label,
    color) tuples drawn as lines e = e0 (h / h0)^slope, to compare a curve's slope with the
    theory: dashed for a positive slope (truncation), dash-dotted for a negative one
    (rounding); black unless a color is given.
    legend: where the legend goes (a matplotlib ``loc``). Returns the Axes.
    """
    ax = _axes(ax)
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1 or h.size == 0 or np.any(h <= 0):
        raise ValueError(f"error_plot: h must be a 1-D array of positive step sizes, got "
                         f"shape {h.shape}")
    for label, err in errors.items():
        err = np.abs(np.asarray(err, dtype=np.float64))
        if err.shape != h.shape:
            raise ValueError(f"error_plot: errors[{label!r}] has shape {err.shape}, but h "
                             f"has shape {h.shape}")
        ax.loglog(h, np.where(err > 0, err, np.nan), marker=".", markersize=3, label=label)
    for slope, h0, e0, label, *color in guides:
        ax.loglog(h, e0 * (h / h0) ** slope, linestyle="--" if slope > 0 else "-.",
                  color=color[0] if color else "black", linewidth=0.9, alpha=0.7, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, loc=legend)
    return ax


def loss_plot(losses, *, ax=None, title="Training loss", xlabel="step", ylabel="loss",
              label=None, logy=False):
    """Loss after each step (a sequence of numbers); returns the Axes."""
    ax = _axes(ax, width=5.0, height=3.0)
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"loss_plot: losses must be a non-empty 1-D sequence, got shape "
                         f"{losses.shape}")
    marker = "." if losses.size <= 100 else None  # markers blur a long curve
    ax.plot(np.arange(losses.size), losses, marker=marker, markersize=4, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if label is not None:
        ax.legend(fontsize=8)
    return ax


def _nodes_in_order(root):
    """Every node root depends on, each after its inputs (iterative depth-first search)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in visited)
    return order


def graph_layout(root):
    """Columns and rows for drawing the graph of ``root``.

    A node's column is set by its longest path to the root (the root is rightmost), so
    every node sits just left of the consumer furthest from the output, and constants
    appear where they are used. Rows are sorted so that edges cross little (each column
    ordered by the mean row of its neighbours).
    Returns (nodes in topological order, {id(node): (column, row)}).
    """
    order = _nodes_in_order(root)
    consumers = {id(n): [] for n in order}
    for node in order:
        for child in node._prev:
            consumers[id(child)].append(node)
    steps_to_root = {}  # longest path from a node to the root, in ops
    for node in reversed(order):
        steps_to_root[id(node)] = max((steps_to_root[id(c)] + 1 for c in consumers[id(node)]),
                                      default=0)
    deepest = max(steps_to_root.values())
    column = {id(n): deepest - steps_to_root[id(n)] for n in order}
    columns = {}
    for node in order:
        columns.setdefault(column[id(node)], []).append(node)
    row = {id(n): float(i) for nodes in columns.values() for i, n in enumerate(nodes)}

    def mean_row(nodes, fallback):
        return sum(row[id(n)] for n in nodes) / len(nodes) if nodes else fallback

    for _ in range(2):  # barycentre sweeps: right to left by consumers, then left to right
        for keys, neighbours in ((sorted(columns, reverse=True), lambda n: consumers[id(n)]),
                                 (sorted(columns), lambda n: n._prev)):
            for c in keys:
                nodes = columns[c]
                nodes.sort(key=lambda n: mean_row(neighbours(n), row[id(n)]))
                for i, n in enumerate(nodes):
                    row[id(n)] = i - (len(nodes) - 1) / 2
    positions = {id(n): (c, row[id(n)]) for c, nodes in columns.items() for n in nodes}
    return order, positions


def _number(x, fmt):
    return format(float(x), fmt)


def draw_graph(root, *, edge_labels=None, show_grad=True, title=None, ax=None, fmt=".3g",
               fontsize=8):
    """Draw the computational graph of ``root``: a box per value (label, data, grad) and a
    circle per op, with arrows along the forward pass.

    edge_labels: optional {(input node, output node): number or text}, written on the
        arrow from input to output, e.g. the local derivative d(output)/d(input).
    show_grad: also print each node's ``grad`` (after ``backward()``).
    fontsize: of the text in the boxes and on the arrows (op symbols get 2 points more).
    Returns the Axes.
    """
    from matplotlib.patches import Circle, FancyBboxPatch

    order, positions = graph_layout(root)
    columns = max(c for c, _ in positions.values()) + 1
    rows = max(sum(1 for c, _ in positions.values() if c == k) for k in range(columns))
    if ax is None:
        width = min(12.0, max(4.0, (columns * _COLUMN + 0.5) * INCH_PER_UNIT))
        height = min(8.0, max(1.8, (rows * _ROW + 0.6) * INCH_PER_UNIT))
        _, ax = subplots(width=width, height=height)
        ax.grid(False)

    def box_xy(node):
        c, r = positions[id(node)]
        return c * _COLUMN, -r * _ROW

    edge_labels = {(id(a), id(b)): v for (a, b), v in (edge_labels or {}).items()}
    for node in order:
        x, y = box_xy(node)
        has_op = bool(node._prev)
        if has_op:  # the op circle sits left of its output's box
            ox = x - _OP_OFFSET
            ax.add_patch(Circle((ox, y), _OP_R, facecolor="#fff7d6", edgecolor="0.3", lw=0.8))
            op = str(getattr(node, "_op", "") or "op")
            ax.text(ox, y, _OP_SYMBOLS.get(op, op[:5]), ha="center", va="center",
                    fontsize=fontsize if len(op) > 2 else fontsize + 2)
            ax.annotate("", (x - _BOX_W / 2, y), (ox + _OP_R, y),
                        arrowprops=dict(arrowstyle="->", lw=0.8, color="0.3"))
            seen = {}
            for child in node._prev:
                seen[id(child)] = seen.get(id(child), 0) + 1
            for child in {id(c): c for c in node._prev}.values():
                cx, cy = box_xy(child)
                start, end = (cx + _BOX_W / 2, cy), (ox - _OP_R, y)
                ax.annotate("", end, start,
                            arrowprops=dict(arrowstyle="->", lw=0.8, color="0.3",
                                            shrinkA=0, shrinkB=0))
                key, text = (id(child), id(node)), ""
                if key in edge_labels:
                    value = edge_labels[key]
                    text = value if isinstance(value, str) else _number(value, fmt)
                if seen[id(child)] > 1:  # one arrow stands for several uses
                    text = f"{text} (x{seen[id(child)]})" if text else f"x{seen[id(child)]}"
                if text:
                    ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, text,
                            ha="center", va="center", fontsize=fontsize, color="tab:blue",
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
        colour = "#fde0c5" if node is root else ("#dbe9f6" if not has_op else "#f2f2f2")
        ax.add_patch(FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                    boxstyle="round,pad=0.02", facecolor=colour,
                                    edgecolor="0.3", lw=0.8))
        lines = [getattr(node, "label", "") or "", f"data {_number(node.data, fmt)}"]
        if show_grad:
            lines.append(f"grad {_number(node.grad, fmt)}")
        ax.text(x, y, "\n".join(line for line in lines if line), ha="center", va="center",
                fontsize=fontsize, linespacing=1.2)
    xs = [box_xy(n)[0] for n in order]
    ys = [box_xy(n)[1] for n in order]
    ax.set_xlim(min(xs) - _BOX_W / 2 - 0.2, max(xs) + _BOX_W / 2 + 0.2)
    ax.set_ylim(min(ys) - _BOX_H / 2 - 0.2, max(ys) + _BOX_H / 2 + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or "Computational graph (forward pass left to right)")
    return ax
