"""Convolution and max pooling on NCHW arrays: the primitives behind ``nn.Conv2d``,
``nn.Conv1d``, ``nn.MaxPool2d`` and (composed from the convolution) ``nn.AvgPool2d``.

Notation (the lesson's): input X (N, C, H, W), weight W (O, C/G, kH, kW), output
Y (N, O, Ho, Wo); stride s, dilation d, padding p (X_p is X with p zeros around
it), groups G (output channel o sees only the C/G input channels of its group).

    Y[n, o, i, j] = sum_{c, a, b} W[o, c, a, b] X_p[n, g(o) C/G + c, s i + d a, s j + d b]
    Ho = floor((H + p_top + p_bottom - d (kH - 1) - 1) / s) + 1     (Wo alike)

This is a cross-correlation, as in every deep-learning library ("convolution" by
convention). It is computed as one matrix product (im2col): ``windows`` lists
the receptive field of every output pixel, X_win (N, C, Ho, Wo, kH, kW), whose
rows become the columns matrix (N Ho Wo, C/G kH kW); then Y = cols @ W_mat^T.
No Python loop runs over examples or pixels: NumPy and CuPy get the windows as a
strided view (``backend.sliding_window_view``), other array libraries (the
array standard has no strided views) from one slice per kernel offset (a, b).
"""

from __future__ import annotations

import math

from ..autodiff import Function
from ..backend import namespace, device_of, sliding_window_view

__all__ = ["Conv2d", "MaxPool2d", "pad2d", "windows"]


def _channels_last(x) -> bool:
    """True for an (N, C, H, W) array whose memory holds the C channels of a pixel side
    by side (the layout the convolution below produces). Only NumPy and CuPy report
    strides; other libraries count as NCHW."""
    strides = getattr(x, "strides", None)
    return strides is not None and x.shape[1] > 1 and strides[1] < min(strides[2:])


def _full(x, shape, value, channels_last=None):
    """An (N, C, H, W) array of ``value`` with the dtype and device of ``x``, in its
    memory layout (or channels-last if ``channels_last`` says so): elementwise work
    between arrays of one layout runs along contiguous memory."""
    xp = namespace(x)
    n, c, h, w = shape
    if channels_last is None:
        channels_last = _channels_last(x)
    order = (n, h, w, c) if channels_last else tuple(shape)
    if value == 0:  # zeros come from the allocator already cleared, without a pass over them
        out = xp.zeros(order, dtype=x.dtype, device=device_of(x))
    else:
        out = xp.full(order, value, dtype=x.dtype, device=device_of(x))
    return xp.permute_dims(out, (0, 3, 1, 2)) if channels_last else out


def pad2d(x, pads, value=0.0):
    """X (N, C, H, W) with ``pads`` = (top, bottom, left, right) rows/columns of ``value``
    around it (zeros for a convolution, -inf for max pooling)."""
    top, bottom, left, right = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = _full(x, (n, c, h + top + bottom, w + left + right), value)
    out[:, :, top : top + h, left : left + w] = x
    return out


def _offset_slices(a, b, out_hw, stride, dilation):
    # the (H, W) slices of X_p that kernel offset (a, b) meets at the Ho x Wo output positions
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return (
        slice(dh * a, dh * a + sh * (ho - 1) + 1, sh),
        slice(dw * b, dw * b + sw * (wo - 1) + 1, sw),
    )


def windows(x, kernel, stride, dilation):
    """X_win[n, c, i, j, a, b] = X[n, c, s i + d a, s j + d b]: the (kH, kW) receptive
    field of every output position (i, j) of an (N, C, H, W) array, shape
    (N, C, Ho, Wo, kH, kW). A read-only strided view on NumPy and CuPy; elsewhere a
    new array stacked from kH kW slices."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    view = sliding_window_view(x, (span_h, span_w), axis=(2, 3))
    if view is not None:
        return view[:, :, ::sh, ::sw, ::dh, ::dw]
    xp = namespace(x)
    n, c, h, w = x.shape
    ho, wo = (h - span_h) // sh + 1, (w - span_w) // sw + 1
    pieces = [x[(slice(None), slice(None)) + _offset_slices(a, b, (ho, wo), stride, dilation)]
              for a in range(kh) for b in range(kw)]
    return xp.reshape(xp.stack(pieces, axis=-1), (n, c, ho, wo, kh, kw))


def _crop(x, shape, pads):
    top, _, left, _ = pads
    if x.shape == tuple(shape):
        return x
    return x[:, :, top : top + shape[2], left : left + shape[3]]


class Conv2d(Function):
    """Y = conv2d(X, W) + b: X (N, C, H, W), W (O, C/G, kH, kW), b (O,) or none ->
    Y (N, O, Ho, Wo).

    Forward, per group g (im2col; P = N Ho Wo output pixels, K = C/G kH kW):
        cols  = X_win as a matrix (P, K), row p the receptive field of output pixel p
        Y_mat = cols @ W_mat^T           W_mat = W as a matrix (O/G, K); Y_mat (P, O/G)

    Backward: the gradient of a convolution is again a convolution.
        dW[o, c, a, b] = sum_{n, i, j} dY[n, o, i, j] X_p[n, c, s i + d a, s j + d b]
            a correlation of the input X with dY (dY plays the kernel, with dilation s);
            as matrices dW_mat = dY_mat^T @ cols, shape (O/G, K).
        dX[n, c, y, x] = sum_{o, a, b} dY[n, o, (y + p - d a) / s, (x + p - d b) / s] W[o, c, a, b]
            (only the terms whose indices are whole numbers in range): a full
            convolution of dY with the flipped kernel, input and output channels
            swapped, Wt[c, o, a, b] = W[o, c, kH-1-a, kW-1-b] (the transposed
            convolution). Computed exactly so: dY with s - 1 zeros between its
            entries, d (k - 1) zeros around them, convolved with Wt at stride 1 and
            dilation d, by the same im2col and matmul as the forward pass.

        db[o] = sum_{n, i, j} dY[n, o, i, j]   (the adjoint of copying b to every pixel)

    The bias is part of the primitive for speed only: added in place to the matmul's
    output it costs no extra array (composed, y + b would allocate and walk a second
    array as large as Y).

    pads: (top, bottom, left, right). Saves the padded input (for dW) and the weight
    (for dX), each only when that gradient is needed, never the (P, K) columns.

    Memory layout (speed only; the values do not depend on it): Y is returned as an
    (N, O, Ho, Wo) view of an (N, Ho, Wo, O) array, the matmul's own output. An input
    in that channels-last layout is read into cols in (kH, kW, C/G) order, an NCHW
    one as K rows of P (C/G, kH, kW order): either way the copy runs along
    contiguous memory.
    """

    def forward(self, x, w, b=None, *, stride, pads, dilation, groups):
        xpad = pad2d(x, pads)
        self.geometry = (x.shape, xpad.shape, stride, pads, dilation, groups)
        self.kernel = tuple(w.shape[2:])
        if self.needs_input_grad[1]:
            self.xpad = xpad
        if self.needs_input_grad[0]:
            self.w = w
        return _correlate(xpad, w, b, stride, dilation, groups)

    def backward(self, g):
        xp = namespace(g)
        x_shape, xpad_shape, stride, pads, dilation, groups = self.geometry
        n, o, ho, wo = g.shape
        g_mat = xp.reshape(g, (n, groups, o // groups, ho, wo))  # dY as (G, P, O/G): a view if channels-last
        g_mat = xp.reshape(xp.permute_dims(g_mat, (1, 0, 3, 4, 2)), (groups, n * ho * wo, o // groups))
        dx = dw = db = None
        if self.needs_input_grad[1]:
            dw = _weight_gradient(self.xpad, g_mat, o, self.kernel, stride, dilation, groups)
        if self.needs_input_grad[0]:
            dx = _input_gradient(g, self.w, x_shape, xpad_shape, stride, pads, dilation, groups)
        if len(self.needs_input_grad) == 2:  # no bias: one gradient per input
            return dx, dw
        if self.needs_input_grad[2]:
            # the sum over all P pixels as a product with a row of ones: one BLAS call,
            # many times faster than NumPy's sum over the axes (0, 2, 3)
            ones = xp.ones((groups, 1, n * ho * wo), dtype=g.dtype, device=device_of(g))
            db = xp.reshape(ones @ g_mat, (o,))
        return dx, dw, db


def _correlate(xpad, w, b, stride, dilation, groups):
    """Y (N, O, Ho, Wo) from a padded input (N, C, Hp, Wp), W (O, C/G, kH, kW) and a
    bias b (O,) or None: cols (G, P, K) @ W_mat^T (G, K, O/G), one matmul (batched
    over the G groups), + b added in place to the matmul's fresh output."""
    xp = namespace(xpad, w)
    n = xpad.shape[0]
    o, cg, kh, kw = w.shape
    win = windows(xpad, (kh, kw), stride, dilation)  # (N, C, Ho, Wo, kH, kW)
    ho, wo = win.shape[2], win.shape[3]
    channels_last = _channels_last(xpad)
    y = _columns(xp, win, groups, channels_last) @ _weight_matrix(xp, w, groups, channels_last).mT
    if b is not None:
        b = xp.reshape(b, (groups, 1, o // groups))
        y = y + b if b.dtype != y.dtype else _add_into(y, b)
    y = xp.permute_dims(xp.reshape(y, (groups, n, ho, wo, o // groups)), (1, 0, 4, 2, 3))
    return xp.reshape(y, (n, o, ho, wo))  # a view for G = 1


def _add_into(y, b):
    y += b  # in place: y is the matmul's own fresh output
    return y


def _weight_gradient(xpad, g_mat, o, kernel, stride, dilation, groups):
    """dW (O, C/G, kH, kW) = dY_mat^T @ cols per group: a correlation of X with dY."""
    xp = namespace(g_mat)
    cg = xpad.shape[1] // groups
    channels_last = _channels_last(xpad)
    dw = g_mat.mT @ _columns(xp, windows(xpad, kernel, stride, dilation), groups, channels_last)  # (G, O/G, K)
    if channels_last:  # K ran (kH, kW, C/G)
        return xp.permute_dims(xp.reshape(dw, (o,) + tuple(kernel) + (cg,)), (0, 3, 1, 2))
    return xp.reshape(dw, (o, cg) + tuple(kernel))


def _input_gradient(g, w, x_shape, xpad_shape, stride, pads, dilation, groups):
    """dX (N, C, H, W): dY dilated by the stride and padded by d (k - 1), convolved
    with the flipped, channel-swapped kernel (the transposed convolution)."""
    xp = namespace(g, w)
    n, o, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    (sh, sw), (dh, dw), (top, _, left, _) = stride, dilation, pads
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    z = _full(g, (n, o, xpad_shape[2] + eh, xpad_shape[3] + ew), 0)
    z[:, :, eh : eh + sh * (ho - 1) + 1 : sh, ew : ew + sw * (wo - 1) + 1 : sw] = g
    # only the rows and columns of X itself, not of its padding
    z = z[:, :, top : top + x_shape[2] + eh, left : left + x_shape[3] + ew]
    w_t = xp.reshape(w, (groups, o // groups, cg, kh, kw))
    w_t = xp.reshape(xp.permute_dims(w_t, (0, 2, 1, 3, 4)), (groups * cg, o // groups, kh, kw))
    return _correlate(z, xp.flip(w_t, axis=(2, 3)), None, (1, 1), dilation, groups)


def _weight_matrix(xp, w, groups, channels_last):
    """W (O, C/G, kH, kW) -> W_mat (G, O/G, K), K in the order ``_columns`` uses."""
    o, cg, kh, kw = w.shape
    if channels_last:
        w = xp.permute_dims(w, (0, 2, 3, 1))
    return xp.reshape(w, (groups, o // groups, cg * kh * kw))


def _columns(xp, win, groups, channels_last):
    """X_win (N, C, Ho, Wo, kH, kW) -> cols (G, P, K), P = N Ho Wo, K = C/G kH kW:
    im2col, the one copy. For a channels-last input K runs (kH, kW, C/G) and cols is
    a (G, P, K) array; for NCHW, K runs (C/G, kH, kW) and cols is the transposed
    view of a (G, K, P) array."""
    n, c, ho, wo, kh, kw = win.shape
    win = xp.reshape(win, (n, groups, c // groups, ho, wo, kh, kw))
    k = (c // groups) * kh * kw
    if channels_last:
        return xp.reshape(xp.permute_dims(win, (1, 0, 3, 4, 5, 6, 2)), (groups, n * ho * wo, k))
    return xp.reshape(xp.permute_dims(win, (1, 2, 5, 6, 0, 3, 4)), (groups, k, n * ho * wo)).mT


def _index_dtype(xp, count):
    for name, top in (("int8", 127), ("int16", 32767)):
        if count <= top:
            return getattr(xp, name)
    return xp.int32


class MaxPool2d(Function):
    """Y[n, c, i, j] = max_{a, b} X_p[n, c, s i + d a, s j + d b], X (N, C, H, W) ->
    Y (N, C, Ho, Wo), X_p padded with -inf.

    dX: each window's winner (its first maximum, row by row, as PyTorch picks it)
    gets that window's dY; every other entry of the window gets 0. A pixel that
    wins several overlapping windows gets the sum. Saves only the winner's offset
    k = a kW + b per output (int8 for kernels of up to 127 entries).
    """

    def forward(self, x, kernel, stride, pads, dilation):
        xp = namespace(x)
        win = windows(pad2d(x, pads, -math.inf), kernel, stride, dilation)
        kh, kw = kernel
        best = win[:, :, :, :, 0, 0]
        winner = xp.zeros_like(best, dtype=_index_dtype(xp, kh * kw))
        for k in range(1, kh * kw):
            piece = win[:, :, :, :, k // kw, k % kw]
            # k exceeds every earlier offset, so max(winner, k) picks k where piece wins
            winner = xp.maximum(winner, k * xp.astype(piece > best, winner.dtype))
            best = xp.maximum(best, piece)
        self.winner = winner
        self.geometry = (x.shape, _channels_last(x), kernel, stride, pads, dilation)
        return best if kh * kw > 1 else xp.asarray(best, copy=True)

    def backward(self, g):
        xp = namespace(g)
        x_shape, channels_last, (kh, kw), stride, pads, dilation = self.geometry
        n, c, h, w = x_shape
        top, bottom, left, right = pads
        dxpad = _full(g, (n, c, h + top + bottom, w + left + right), 0, channels_last)
        # windows that do not overlap write disjoint pixels: assign instead of add
        overlap = any(s < d * (k - 1) + 1 for s, d, k in zip(stride, dilation, (kh, kw)))
        for k in range(kh * kw):
            key = (slice(None), slice(None)) + _offset_slices(k // kw, k % kw, g.shape[2:], stride, dilation)
            routed = g * xp.astype(self.winner == k, g.dtype)
            if overlap:
                dxpad[key] += routed
            else:
                dxpad[key] = routed
        return (_crop(dxpad, x_shape, pads),)
