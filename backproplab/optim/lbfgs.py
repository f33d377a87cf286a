"""L-BFGS: a quasi-Newton method, with ``torch.optim.LBFGS``'s API and algorithm.

Newton's step is d = -H^-1 g. BFGS builds an approximation of H^-1 from the
changes it has seen, s_k = x_{k+1} - x_k and y_k = g_{k+1} - g_k (the curvature
along s_k is y_k . s_k); L-BFGS keeps only the last ``history_size`` pairs and
applies the approximation with the two-loop recursion (Nocedal & Wright,
Numerical Optimization, algorithm 7.4), starting from H0 = (y.s / y.y) I:

    q = -g;  for i = newest..oldest:  a_i = rho_i s_i.q,  q -= a_i y_i      (rho_i = 1 / y_i.s_i)
    r = H0 q;  for i = oldest..newest:  b_i = rho_i y_i.r,  r += (a_i - b_i) s_i
    d = r

One ``step(closure)`` runs up to ``max_iter`` such iterations; the closure
re-evaluates the loss and its gradients (zero them, forward, backward, return
the loss). The step length is ``lr`` (the first iteration: min(1, 1/|g|_1) lr),
or, with ``line_search_fn="strong_wolfe"``, one that satisfies the strong Wolfe
conditions (sufficient decrease c1 = 1e-4, curvature c2 = 0.9), found by
bracketing and cubic interpolation.

    opt = optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe")
    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss
    opt.step(closure)
"""

from __future__ import annotations

from .. import backend
from ..autodiff import enable_grad, no_grad
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _dot(a, b):
    return float(backend.namespace(a).sum(a * b))


def _max_abs(a):
    xp = backend.namespace(a)
    return float(xp.max(xp.abs(a)))


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2,
    clipped to ``bounds`` (default: between x1 and x2); their middle if it has none."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = d2_square**0.5
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step t along d with f(x + t d) <= f + c1 t g.d and |g(x + t d).d| <= c2 |g.d|:
    grow t until the minimum is bracketed, then zoom in by cubic interpolation.
    Returns (f_new, g_new, t, function evaluations)."""
    d_norm = _max_abs(d)
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = _dot(g_new, d)

    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate: a longer step, chosen by interpolation within [t + 0.01 (t - t_prev), 10 t]
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # zoom: shrink the bracket until a point satisfies both conditions
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        # keep away from the ends of the bracket (at least 10% of its width)
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = _dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new, gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new, gtd_new

    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


class LBFGS(Optimizer):
    """LBFGS(params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
    tolerance_change=1e-9, history_size=100, line_search_fn=None)

    max_iter: iterations per ``step()``; max_eval: closure calls per step
        (default max_iter * 5 / 4); tolerance_grad: stop when max |g| is at most this;
    tolerance_change: stop when the step or the change of the loss is smaller;
    history_size: (s, y) pairs kept; line_search_fn: None or 'strong_wolfe'.

    All parameters are treated as one flat vector; the state (history, last
    direction and step) carries over from one ``step()`` to the next.
    """

    hyperparameters = ("max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size", "line_search_fn")

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        super().__init__(params, lr)
        if not isinstance(max_iter, int) or max_iter < 1:
            raise ValueError(f"LBFGS: max_iter must be a positive integer, got {max_iter!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got {line_search_fn!r}")
        if not isinstance(history_size, int) or history_size < 1:
            raise ValueError(f"LBFGS: history_size must be a positive integer, got {history_size!r}")
        self.max_iter, self.max_eval = max_iter, max_eval
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        self.history_size, self.line_search_fn = history_size, line_search_fn
        self._lbfgs = {"func_evals": 0, "n_iter": 0}

    # ---- the parameters as one flat vector ----

    def _gather_flat_grad(self):
        xp = backend.namespace(*[p.data for p in self.params])
        views = [
            xp.zeros(p.shape[:0] + (p.size,), dtype=p.data.dtype, device=backend.device_of(p.data))
            if p.grad is None else xp.reshape(p.grad, (-1,))
            for p in self.params
        ]
        return xp.concat(views)

    def _add_grad(self, step_size, update):
        xp = backend.namespace(update)
        offset = 0
        for p in self.params:
            n = p.size
            p.data = p.data + step_size * xp.reshape(update[offset : offset + n], p.shape)
            offset += n

    def _clone_param(self):
        return [backend.namespace(p.data).asarray(p.data, copy=True) for p in self.params]

    def _set_param(self, values):
        for p, v in zip(self.params, values):
            p.data = backend.namespace(v).asarray(v, copy=True)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # ---- one step ----

    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss before the first."""
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that zeroes the gradients, computes the loss, "
                            "calls backward() and returns the loss")

        def evaluate():
            with enable_grad():
                return closure()

        self.steps += 1
        with no_grad():
            return self._step(evaluate)

    def _step(self, closure):
        lr, max_iter, max_eval = self.lr, self.max_iter, self.max_eval
        tolerance_grad, tolerance_change = self.tolerance_grad, self.tolerance_change
        state = self._lbfgs

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1

        flat_grad = self._gather_flat_grad()
        if _max_abs(flat_grad) <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_flat_grad, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = _dot(y, s)
                if ys > 1e-10:  # keep the pair only where the curvature is positive
                    if len(old_dirs) == self.history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
                    H_diag = ys / _dot(y, y)
                num_old = len(old_dirs)
                al = [0.0] * num_old
                q = -flat_grad  # the two-loop recursion
                for i in range(num_old - 1, -1, -1):
                    al[i] = _dot(old_stps[i], q) * ro[i]
                    q = q - al[i] * old_dirs[i]
                r = q * H_diag
                for i in range(num_old):
                    be_i = _dot(old_dirs[i], r) * ro[i]
                    r = r + (al[i] - be_i) * old_stps[i]
                d = r

            prev_flat_grad = backend.namespace(flat_grad).asarray(flat_grad, copy=True)
            prev_loss = loss

            if state["n_iter"] == 1:
                xp = backend.namespace(flat_grad)
                t = min(1.0, 1.0 / float(xp.sum(xp.abs(flat_grad)))) * lr
            else:
                t = lr

            gtd = _dot(flat_grad, d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            ls_func_evals = 0
            if self.line_search_fn == "strong_wolfe":
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd)
                self._add_grad(t, d)
                opt_cond = _max_abs(flat_grad) <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(closure())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = _max_abs(flat_grad) <= tolerance_grad
                    ls_func_evals = 1

            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals

            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if _max_abs(d) * abs(t) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
