"""Per-neuron Newton M-step of the switching and single GLMs.

The weighted Poisson log-likelihood of S GLMs separates over neurons: neuron
``n`` has the parameters ``theta_n = (W[0, n], ..., W[S-1, n], b[., n])`` (its
coupling rows in every state and its bias, shared by the states or one per
state), and the Gaussian shared-mean prior couples a neuron's rows across states
only. So the Newton system is one ``P x P`` matrix per neuron,
``P = S * D + n_bias``, built from weighted sufficient statistics

``H[s, n] = sum_m w[m, s] c(u[m, s, n]) x_m x_m^T``  (``c``: curvature weight)

with one batched product per state and time chunk (the bins enter through the
statistics only, so memory is one chunk, never ``bins x states x neurons``).
Fisher scoring (expected information; the observed information of the
non-canonical links, available through ``observed=True``, did not converge
faster on the paper's generator) with
a backtracking line search that guarantees the M-step objective increases: a
generalised EM step. Warm-started from the previous solution, a few steps reach
the M-step optimum to the requested tolerance.
"""

from __future__ import annotations

import torch

from ._emission import _SIGMOID_EPS, LINKS

# elements of a (rows x neurons x features) block formed at once
_CHUNK = 4_000_000


def value_grad_fisher(counts, u, link, fisher=True, observed=False):
    """``counts log f(u) - f(u)``, its ``u`` derivative and a curvature weight.

    The weight is the Fisher information ``f'^2 / f`` or, with ``observed``, the
    positive part of the observed information ``-d^2/du^2 (counts log f - f)``
    (equal to it for the log-concave ``exp`` and ``softplus`` links, where it is
    never negative); None when ``fisher`` is False.
    """
    if link == "exp":
        rate = torch.exp(u)
        return counts * u - rate, counts - rate, (rate if fisher else None)
    if link == "softplus":
        rate = torch.nn.functional.softplus(u)
        sig = torch.sigmoid(u)
        small = u < -30.0
        safe = rate.clamp_min(1e-300)
        log_rate = torch.where(small, u, torch.log(safe))
        dlog = torch.where(small, torch.ones_like(u), sig / safe)
        info = None
        if fisher and observed:
            d2 = sig * (1.0 - sig)
            info = torch.where(small, d2, counts * (dlog * dlog - d2 / safe) + d2).clamp_min(0.0)
        elif fisher:
            info = sig * sig / safe
        return counts * log_rate - rate, counts * dlog - sig, info
    if link == "sigmoid":
        sig = torch.sigmoid(u)
        rate = (1.0 - _SIGMOID_EPS) * sig + _SIGMOID_EPS
        drate = (1.0 - _SIGMOID_EPS) * sig * (1.0 - sig)
        shifted = rate + _SIGMOID_EPS
        info = None
        if fisher and observed:
            d2 = drate * (1.0 - 2.0 * sig)
            info = (counts * (drate * drate - shifted * d2) / (shifted * shifted) + d2).clamp_min(0.0)
        elif fisher:
            info = drate * drate / rate
        return counts * torch.log(shifted) - rate, counts * drate / shifted - drate, info
    raise ValueError(f"link must be one of {list(LINKS)}; got {link!r}")


def _value_only(counts, u, link):
    if link == "exp":
        return counts * u - torch.exp(u)
    if link == "softplus":
        rate = torch.nn.functional.softplus(u)
        return counts * torch.where(u < -30.0, u, torch.log(rate.clamp_min(1e-300))) - rate
    sig = torch.sigmoid(u)
    rate = (1.0 - _SIGMOID_EPS) * sig + _SIGMOID_EPS
    return counts * torch.log(rate + _SIGMOID_EPS) - rate


def index_subsets(counts, feats, weights, threshold=1e-10):
    """Per state, the row indices of the bins whose posterior exceeds ``threshold``.

    The index form of :func:`~._emission.state_subsets`: the bins are gathered one
    chunk at a time in :func:`glm_statistics`, so the M-step never copies the design.
    """
    out = []
    for s in range(weights.shape[1]):
        rows = torch.nonzero(weights[:, s] > threshold).ravel()
        out.append((counts, feats, weights[rows, s], rows))
    return out


def _rows(n_neurons, dim, chunk):
    return max(1, int(chunk) // max(1, n_neurons * (dim + 1)))


def glm_statistics(subsets, W, b, link, order=2, chunk=_CHUNK, observed=False):
    """Weighted log-likelihood, gradient and Fisher blocks of S GLMs on their bins.

    Parameters
    ----------
    subsets : list of S tuples ``(counts (m_s, N), feats (m_s, D), weights (m_s,) or None)``
        or ``(counts (M, N), feats (M, D), weights (m_s,), rows (m_s,))`` (the state's
        bins given by their row indices, gathered chunk by chunk; see :func:`index_subsets`)
    W : (S, N, D); b : (1 or S, N)
    order : {0, 1, 2}
        0: the value only (line search); 1: value and gradients; 2: also the Fisher blocks.
    observed : bool
        Curvature blocks from the (positive part of the) observed information
        instead of the Fisher information (see :func:`value_grad_fisher`).

    Returns
    -------
    value : float64 scalar tensor
    grad_W (S, N, D), grad_b (S, N), H_ww (S, N, D, D), H_wb (S, N, D), H_bb (S, N)
    (per state; the caller folds shared biases). ``order`` 0 returns the value alone,
    ``order`` 1 the value and the two gradients.
    """
    n_states, n_neurons, dim = W.shape
    dtype, device = W.dtype, W.device
    value = torch.zeros((), dtype=torch.float64, device=device)
    if order >= 1:
        g_w = torch.zeros_like(W)
        g_b = torch.zeros(n_states, n_neurons, dtype=dtype, device=device)
    if order >= 2:
        h_ww = torch.zeros(n_states, n_neurons, dim, dim, dtype=dtype, device=device)
        h_wb = torch.zeros_like(W)
        h_bb = torch.zeros(n_states, n_neurons, dtype=dtype, device=device)
    step = _rows(n_neurons, dim if order >= 2 else 1, chunk)
    for s, subset in enumerate(subsets):
        counts, feats, w = subset[:3]
        idx = subset[3] if len(subset) > 3 else None
        bias = b[0] if b.shape[0] == 1 else b[s]
        n_rows = counts.shape[0] if idx is None else idx.shape[0]
        for start in range(0, n_rows, step):
            if idx is None:
                x = feats[start:start + step]
                y = counts[start:start + step]
            else:  # rows gathered one chunk at a time: no copy of the state's bins
                rows = idx[start:start + step]
                x = feats.index_select(0, rows)
                y = counts.index_select(0, rows)
            u = torch.addmm(bias, x, W[s].T)
            ww = None if w is None else w[start:start + step]
            if order == 0:
                ll = _value_only(y, u, link).sum(1)
                value = value + _sum64(ll if ww is None else ww * ll)
                continue
            ll, d, c = value_grad_fisher(y, u, link, fisher=order >= 2, observed=observed)
            ll = ll.sum(1)
            if ww is not None:
                ll = ll * ww
                d = d * ww[:, None]
            value = value + _sum64(ll)
            g_w[s] += d.T @ x
            g_b[s] += d.sum(0)
            if order < 2:
                continue
            if ww is not None:
                c = c * ww[:, None]
            # sum_m c[m, n] x_m x_m^T for every neuron in one product: (D, m) @ (m, N * D)
            h_ww[s] += (x.T @ (c[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)
                        ).reshape(dim, n_neurons, dim).transpose(0, 1)
            h_wb[s] += c.T @ x
            h_bb[s] += c.sum(0)
    if order == 0:
        return value
    if order == 1:
        return value, g_w, g_b
    return value, g_w, g_b, h_ww, h_wb, h_bb


def _sum64(t):
    return t.sum() if t.dtype == torch.float64 else t.sum(dtype=torch.float64)


class NewtonMStep:
    """Maximise ``F = sum weighted log-lik - penalty`` over (W, b) by per-neuron Fisher scoring.

    ``penalty``: ``inv_var`` (Gaussian shared-mean prior,
    ``0.5 inv_var sum_s ||W_s - mean_s W_s||^2``, or 0) and ``ridge``
    (``0.5 ridge ||W||^2``), both in the units of the summed log-likelihood.
    ``keep_fisher``: start each :meth:`run` from the Fisher matrix of the previous
    one (successive M-steps of EM), recomputing it only when it contracts poorly.
    """

    def __init__(self, link, inv_var=0.0, ridge=0.0, chunk=_CHUNK, keep_fisher=False):
        self.link = link
        self.keep_fisher = keep_fisher
        self.inv_var = float(inv_var)
        self.ridge = float(ridge)
        self.chunk = chunk

    def penalty(self, W):
        out = torch.zeros((), dtype=torch.float64, device=W.device)
        if self.inv_var > 0 and W.shape[0] > 1:
            dev = W - W.mean(0, keepdim=True)
            out = out + 0.5 * self.inv_var * _sum64(dev * dev)
        if self.ridge > 0:
            out = out + 0.5 * self.ridge * _sum64(W * W)
        return out

    def objective(self, subsets, W, b):
        return glm_statistics(subsets, W, b, self.link, order=0,
                              chunk=self.chunk) - self.penalty(W)

    def _gradient(self, subsets, W, b, order):
        """Objective, packed gradient (N, P) and, for ``order=2``, the packed Fisher (N, P, P)."""
        n_states, n_neurons, dim = W.shape
        shared = b.shape[0] == 1
        stats = glm_statistics(subsets, W, b, self.link, order=order, chunk=self.chunk)
        value, g_w, g_b = stats[:3]
        value = value - self.penalty(W)
        if self.inv_var > 0 and n_states > 1:
            g_w = g_w - self.inv_var * (W - W.mean(0, keepdim=True))
        if self.ridge > 0:
            g_w = g_w - self.ridge * W
        n_b = 1 if shared else n_states
        P = n_states * dim + n_b
        g = torch.zeros(n_neurons, P, dtype=W.dtype, device=W.device)
        for s in range(n_states):
            g[:, s * dim:(s + 1) * dim] = g_w[s]
            g[:, n_states * dim + (0 if shared else s)] += g_b[s]
        if order < 2:
            return value, g, None
        h_ww, h_wb, h_bb = stats[3:]
        eye_d = torch.eye(dim, dtype=W.dtype, device=W.device)
        H = torch.zeros(n_neurons, P, P, dtype=W.dtype, device=W.device)
        for s in range(n_states):
            sl = slice(s * dim, (s + 1) * dim)
            jb = n_states * dim + (0 if shared else s)
            H[:, sl, sl] = h_ww[s] + self.ridge * eye_d
            H[:, sl, jb] = h_wb[s]
            H[:, jb, sl] = h_wb[s]
            H[:, jb, jb] += h_bb[s]
            if self.inv_var > 0 and n_states > 1:
                for r in range(n_states):  # (I - J / S) inv_var on the (s, r) blocks
                    coef = self.inv_var * ((1.0 if r == s else 0.0) - 1.0 / n_states)
                    H[:, sl, r * dim:(r + 1) * dim] += coef * eye_d
        return value, g, H

    @staticmethod
    def _unpack(delta, n_states, dim):
        n_neurons = delta.shape[0]
        d_w = delta[:, :n_states * dim].reshape(n_neurons, n_states, dim).transpose(0, 1)
        return d_w, delta[:, n_states * dim:].T

    def run(self, subsets, W, b, max_steps, tol):
        """Newton steps until the predicted gain ``g . delta / 2`` is below ``tol``.

        The Fisher matrix is computed at the first point and kept while the steps
        contract well (chord iterations: each further step needs only a gradient
        pass over the bins); it is recomputed after a poor contraction or a
        backtracking step. A step is kept only if the objective rises (Armijo test,
        backtracking otherwise); the last step, whose predicted gain is below
        ``tol``, is taken without a new evaluation. Returns ``W, b, n_steps, converged``.
        """
        n_states, n_neurons, dim = W.shape
        W, b = W.clone(), b.clone()
        P = n_states * dim + b.shape[0]
        factor = getattr(self, "_factor", None) if self.keep_fisher else None
        if factor is not None and tuple(factor.shape) == (n_neurons, P, P):
            # the Fisher matrix of the previous call (previous EM iteration): kept while
            # it contracts well, like the chord steps within a call
            value, g, H = self._gradient(subsets, W, b, order=1)
        else:
            value, g, H = self._gradient(subsets, W, b, order=2)
            factor = _cholesky_psd(H)
        prev_dec = None
        for it in range(max_steps):
            self._factor = factor
            delta = torch.cholesky_solve(g[..., None], factor)[..., 0]
            dec = float((g * delta).sum())
            if not (dec == dec):
                return W, b, it, False
            if dec <= 0:
                return W, b, it, True
            d_w, d_b = self._unpack(delta, n_states, dim)
            if 0.5 * dec <= tol:
                return W + d_w, b + d_b, it + 1, True
            if H is None and prev_dec is not None and dec > 0.25 * prev_dec:
                # the kept Fisher matrix contracts poorly: refresh it here and re-solve
                value, g, H = self._gradient(subsets, W, b, order=2)
                factor = _cholesky_psd(H)
                prev_dec = None
                continue
            t = 1.0
            while True:
                W_new, b_new = W + t * d_w, b + t * d_b
                if t == 1.0:
                    new, g_new, _ = self._gradient(subsets, W_new, b_new, order=1)
                else:
                    new = self.objective(subsets, W_new, b_new)
                if bool(torch.isfinite(new)) and float(new - value) >= 1e-4 * t * dec:
                    break
                if H is None:  # a kept Fisher matrix failed: recompute it before backtracking
                    break
                t *= 0.5
                if t < 1e-10:
                    return W, b, it + 1, False
            if H is None and not (bool(torch.isfinite(new)) and float(new - value) >= 1e-4 * dec):
                value, g, H = self._gradient(subsets, W, b, order=2)
                factor = _cholesky_psd(H)
                prev_dec = None
                continue
            W, b = W_new, b_new
            if t == 1.0:
                value, g, H = new, g_new, None
                prev_dec = dec
            else:
                value, g, H = self._gradient(subsets, W, b, order=2)
                factor = _cholesky_psd(H)
                prev_dec = None
        return W, b, max_steps, False


def _cholesky_psd(H):
    """Cholesky factors of a batch of symmetric positive (semi)definite matrices.

    A jitter relative to the largest diagonal entry is added (and raised) until
    every factorisation succeeds.
    """
    scale = torch.diagonal(H, dim1=-2, dim2=-1).abs().amax(-1).clamp_min(1e-300)
    eye = torch.eye(H.shape[-1], dtype=H.dtype, device=H.device)
    jitter = 1e-12
    for _ in range(8):
        L, info = torch.linalg.cholesky_ex(H + (jitter * scale)[:, None, None] * eye)
        if not bool(info.any()):
            return L
        jitter *= 100.0
    return torch.linalg.cholesky(H + scale[:, None, None] * eye)
