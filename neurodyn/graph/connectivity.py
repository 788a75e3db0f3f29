"""Functional graphs from time series: blocked Pearson correlation and thresholding.

Each node (voxel, vertex or region) is a column of a ``(n_timepoints, n_nodes)``
array (neurodyn's layout of one recording). Its series is z-scored with the population standard deviation
(``ddof=0``) so that the Pearson correlation matrix is ``R = Z Z^T / T``, the
same quantity as :func:`numpy.corrcoef`. An undirected, unweighted graph is
obtained by keeping the pairs ``i != j`` with ``r_ij > threshold`` (strict),
``|r_ij| > threshold`` when ``absolute=True``, or the top ``density`` fraction
of all pairs.

The correlation matrix is never materialised: rows are processed in blocks of
``block_size`` through a float32 matrix product (torch, on the CPU or a GPU).
Decisions at the threshold are nevertheless those of float64 arithmetic: the
rounding error of a float32 dot product of two z-scored series of length T is
bounded by ``(T + 3) * 2**-24`` (Higham's bound, since ``sum z_i^2 = T``), so
every pair whose float32 correlation lies within twice that margin of the
threshold is recomputed in float64 before it is accepted or rejected.

Layout warning. A region-level series with fewer timepoints than nodes is
usually a transposed array, so the functions here warn (:class:`LayoutWarning`)
when ``n_timepoints < n_nodes``; but voxel and vertex graphs legitimately have
far more nodes than timepoints (fsaverage5: 10,242 vertices, 652 volumes).
``warn_transposed="auto"`` (the default) therefore warns only for graphs of at
most ``5000`` nodes (``VOXEL_LEVEL_NODES``); ``True`` always warns and ``False``
never does.

Scale and precision. Each column is divided by its largest magnitude before it
is centred and squared, so data at any scale that float64 represents (1e-300 to
1e300) gives the same correlations. float32 (or integer) input is converted to
float64 exactly: the graph is that of the values given.

References
----------
S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
N. J. Higham (2002). Accuracy and Stability of Numerical Algorithms, 2nd ed.,
SIAM, section 3.1 (error bound of inner products).
"""

from __future__ import annotations

import math
import numbers
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from .._torch import resolve_device
from .._validation import (
    LayoutWarning,
    caller_stacklevel,
    check_allocation,
    check_in,
    check_positive_int,
    check_scalar,
    check_square_matrix,
    check_symmetric,
    check_timeseries,
    zero_variance_channels,
)
from ._checks import check_device_allocation

__all__ = [
    "zscore_timeseries",
    "correlation_matrix",
    "correlation_graph",
    "threshold_matrix",
    "CorrelationGraph",
    "density_to_n_edges",
    "VOXEL_LEVEL_NODES",
]

_UNIT_ROUNDOFF_F32 = 2.0**-24

#: Above this many nodes a graph is taken to be voxel/vertex level, where fewer
#: timepoints than nodes is the norm: ``warn_transposed="auto"`` does not warn.
VOXEL_LEVEL_NODES = 5000
_DIMS = "(n_timepoints, n_nodes)"


def _check_warn_transposed(warn_transposed) -> None:
    if not (warn_transposed == "auto" if isinstance(warn_transposed, str)
            else isinstance(warn_transposed, (bool, np.bool_))):
        raise ValueError(f"warn_transposed must be 'auto', True or False; got {warn_transposed!r}")


def _warn_layout(n_timepoints: int, n_nodes: int, name: str, warn_transposed,
                 what: str = "") -> None:
    """LayoutWarning when a series has fewer timepoints than nodes (see the module notes)."""
    _check_warn_transposed(warn_transposed)
    mode = warn_transposed if isinstance(warn_transposed, str) else bool(warn_transposed)
    if mode is False or n_timepoints >= n_nodes:
        return
    if mode == "auto" and n_nodes > VOXEL_LEVEL_NODES:
        return
    warnings.warn(
        f"{name}{what} has {n_timepoints} timepoints and {n_nodes} nodes; neurodyn expects "
        f"{_DIMS}: is it transposed? (pass X.T if so; if the nodes really outnumber the "
        "timepoints, pass warn_transposed=False)", LayoutWarning, stacklevel=caller_stacklevel())


def _warn_ties(kept: int, wanted: int, tau: float, density: float) -> None:
    """Pairs tied at the cut are all left out; say so when that loses more than 1 % of the edges.

    (Rounded real data often ties a pair or two at the cut: not worth a warning.)
    """
    if wanted == 0:
        warnings.warn(f"density={density!r} keeps no edge: round(density * n_pairs) is 0", UserWarning,
                      stacklevel=caller_stacklevel())
    elif wanted - kept > 0.01 * wanted:
        warnings.warn(f"density={density!r} asks for {wanted} edges but pairs tie at the cut value "
                      f"{tau:.6g}: ties are all left out, so {kept} edges are kept", UserWarning,
                      stacklevel=caller_stacklevel())


def _check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


@dataclass
class CorrelationGraph:
    """A thresholded correlation graph and how it was obtained.

    Attributes
    ----------
    adjacency : scipy.sparse.csr_array of bool, shape (n_nodes, n_nodes)
        Symmetric, zero diagonal. Node ``k`` is column ``nodes[k]`` of the input.
    nodes : ndarray of int
        Input column of each node (zero-variance columns are absent when dropped).
    constant_nodes : ndarray of int
        Input columns with zero variance (no edges: dropped or isolated).
    threshold : float
        The threshold applied (strict ``>``); in density mode the float64
        correlation of the first pair left out.
    n_edges : int
        Number of undirected edges.
    n_refined : int
        Number of pairs whose decision needed the float64 recomputation.
    weights : scipy.sparse.csr_array of float64 or None
        With ``weighted=True``: the float64 (signed) correlation ``r_ij`` of
        every edge, on the pattern of ``adjacency``; None otherwise.
    """

    adjacency: sp.csr_array
    nodes: np.ndarray
    constant_nodes: np.ndarray
    threshold: float
    n_edges: int
    n_refined: int
    weights: sp.csr_array | None = None

    @property
    def density(self) -> float:
        """Fraction of the ``n (n - 1) / 2`` node pairs that are edges."""
        n = self.adjacency.shape[0]
        return 2.0 * self.n_edges / (n * (n - 1)) if n > 1 else 0.0


def _zscore_columns(X: np.ndarray) -> np.ndarray:
    """(n_nodes, n_timepoints) z-scores of the columns of a finite, non-constant float64 array.

    Each column is first divided by its largest magnitude, so neither the mean
    (a sum) nor the squares overflow or underflow at any float64 scale.
    """
    peak = np.maximum(X.max(axis=0), -X.min(axis=0))  # no |X| temporary
    scaled = X.T / np.where(peak > 0, peak, 1.0)[:, None]
    scaled -= scaled.mean(axis=1, keepdims=True)
    std = np.sqrt(np.einsum("ij,ij->i", scaled, scaled) / scaled.shape[1])[:, None]
    scaled /= std
    return scaled


def zscore_timeseries(X, name: str = "X", *, warn_transposed="auto") -> np.ndarray:
    """Z-score each column of ``X`` with the population standard deviation.

    Parameters
    ----------
    X : array-like of shape (n_timepoints, n_nodes)
        One recording: finite, at least 3 timepoints, no constant column.
    name : str
        Name of ``X`` in error messages.
    warn_transposed : {"auto", True, False}, default "auto"
        :class:`~neurodyn._validation.LayoutWarning` when ``n_timepoints <
        n_nodes`` (``"auto"``: only up to ``VOXEL_LEVEL_NODES`` nodes).

    Returns
    -------
    Z : ndarray of shape (n_nodes, n_timepoints), float64
        Rows are nodes; ``Z @ Z.T / n_timepoints`` is the Pearson correlation.
        Scale invariant: ``X * c`` (any ``c > 0`` with finite ``X * c``) gives
        the same ``Z`` up to rounding.
    """
    _check_warn_transposed(warn_transposed)
    X = check_timeseries(X, name, min_timepoints=3, dims=_DIMS)
    _warn_layout(X.shape[0], X.shape[1], name, warn_transposed)
    return _zscore_columns(X)


def correlation_matrix(X, name: str = "X", *, warn_transposed="auto") -> np.ndarray:
    """Dense float64 Pearson correlation between the columns of ``X``.

    Meant for region-level graphs (a few thousand nodes at most); voxel graphs
    go through :func:`correlation_graph`, which never forms the dense matrix.

    Parameters
    ----------
    X : array-like of shape (n_timepoints, n_nodes)
        One recording: finite, at least 3 timepoints, no constant column.
    name : str
        Name of ``X`` in error messages.
    warn_transposed : {"auto", True, False}, default "auto"
        See :func:`zscore_timeseries`.

    Returns
    -------
    R : ndarray of shape (n_nodes, n_nodes)
        Equal to ``np.corrcoef(X.T)`` up to rounding (diagonal set to exactly 1),
        at any data scale.

    Raises
    ------
    MemoryError
        Before allocating, when the ``n_nodes**2`` matrix would not fit in memory.
    """
    _check_warn_transposed(warn_transposed)
    X = check_timeseries(X, name, min_timepoints=3, dims=_DIMS)
    check_allocation(float(X.shape[1]) ** 2, f"{name} with {X.shape[1]} nodes",
                     what="dense correlation matrix (use correlation_graph for voxel graphs)")
    _warn_layout(X.shape[0], X.shape[1], name, warn_transposed)
    Z = _zscore_columns(X)
    R = Z @ Z.T / Z.shape[1]
    np.clip(R, -1.0, 1.0, out=R)
    np.fill_diagonal(R, 1.0)
    return R


_ROUNDINGS = ("half_even", "half_up")


def density_to_n_edges(density: float, n_nodes: int, rounding: str = "half_even") -> int:
    """Number of edges kept at ``density`` (rounded) among ``n (n - 1) / 2`` pairs.

    Parameters
    ----------
    density : float in (0, 1]
        Fraction of node pairs kept.
    n_nodes : int >= 1
    rounding : {"half_even", "half_up"}, default "half_even"
        How ``density * n (n - 1) / 2`` is rounded when it ends in exactly one
        half: to the even integer (Python's ``round``, neurodyn's default) or up
        (MATLAB's ``round``, used by the Brain Connectivity Toolbox and bctpy's
        ``threshold_proportional``; e.g. 2.5 pairs keeps 3 edges instead of 2).

    Returns
    -------
    int
    """
    density = check_scalar(density, "density", low=0.0, high=1.0, low_inclusive=False)
    n_nodes = check_positive_int(n_nodes, "n_nodes")
    check_in(rounding, "rounding", _ROUNDINGS)
    n_pairs = n_nodes * (n_nodes - 1) // 2
    wanted = density * n_pairs
    if rounding == "half_up":
        whole = math.floor(wanted)
        return int(whole) + int(wanted - whole >= 0.5)  # the difference is exact in binary floating point
    return int(round(wanted))


def _check_threshold_args(threshold, density, absolute):
    absolute = _check_bool(absolute, "absolute")
    if (threshold is None) == (density is None):
        raise ValueError(
            "give exactly one of threshold (keep r > threshold) or density (keep the top "
            f"fraction of pairs); got threshold={threshold!r}, density={density!r}"
        )
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"threshold must be a real number in [-1, 1]; got {threshold!r}")
        if not np.isfinite(threshold) or not -1.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold must be in [-1, 1] (a correlation); got {threshold!r}")
        if absolute and threshold < 0:
            raise ValueError(
                f"threshold must be in [0, 1] when absolute=True (it applies to |r|); got {threshold!r}"
            )
    else:
        if isinstance(density, bool) or not isinstance(density, numbers.Real):
            raise TypeError(f"density must be a real number in (0, 1]; got {density!r}")
        if not np.isfinite(density) or not 0.0 < float(density) <= 1.0:
            raise ValueError(f"density must be in (0, 1] (fraction of node pairs kept); got {density!r}")


@contextmanager
def _ieee_float32_matmul():
    """Full float32 products (no TF32/bf16 shortcuts), which the error bound assumes."""
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


class _PairScanner:
    """Row blocks of the upper triangle of ``Z Z^T / T`` in float32, refined in float64."""

    def __init__(self, Z64: np.ndarray, absolute: bool, block_size: int, device: torch.device):
        self.Z64 = Z64
        self.n, self.T = Z64.shape
        self.absolute = absolute
        self.block_size = block_size
        self.device = device
        self.Z32 = torch.from_numpy(Z64.astype(np.float32)).to(device)
        # Bound on |r32 - r64| for z-scored rows (see module docstring), doubled for safety.
        self.margin = 2.0 * (self.T + 4) * _UNIT_ROUNDOFF_F32

    def blocks(self):
        """Yield ``(i0, values)`` with values[a, b] = r(i0 + a, i0 + b) as float32 numpy."""
        for i0 in range(0, self.n, self.block_size):
            i1 = min(i0 + self.block_size, self.n)
            with _ieee_float32_matmul():
                R = self.Z32[i0:i1] @ self.Z32[i0:].T
            R /= self.T
            if self.absolute:
                R.abs_()
            yield i0, R.cpu().numpy()

    def upper(self, i0: int, values: np.ndarray, mask: np.ndarray):
        """Pairs (i, j), i < j, of a block where ``mask`` is true."""
        a, b = np.nonzero(mask)
        keep = b > a  # block columns start at i0, so the diagonal is a == b
        return a[keep] + i0, b[keep] + i0, values[a[keep], b[keep]]

    def refine(self, i: np.ndarray, j: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Float64 correlation of the given pairs."""
        out = np.empty(i.shape[0], dtype=np.float64)
        for s in range(0, i.shape[0], chunk):
            zi = self.Z64[i[s:s + chunk]]
            zj = self.Z64[j[s:s + chunk]]
            out[s:s + chunk] = np.einsum("ij,ij->i", zi, zj) / self.T
        return np.abs(out) if self.absolute else out

    def scan(self, lower: float, upper: float):
        """Pairs certainly above ``upper`` and float64 values of pairs in [lower, upper]."""
        sure_i, sure_j, amb_i, amb_j = [], [], [], []
        lo, hi = lower - self.margin, upper + self.margin
        for i0, vals in self.blocks():
            si, sj, _ = self.upper(i0, vals, vals > hi)
            sure_i.append(si)
            sure_j.append(sj)
            ai, aj, _ = self.upper(i0, vals, (vals >= lo) & (vals <= hi))
            amb_i.append(ai)
            amb_j.append(aj)
        cat = _concat_int
        amb_i, amb_j = cat(amb_i), cat(amb_j)
        return cat(sure_i), cat(sure_j), amb_i, amb_j, self.refine(amb_i, amb_j)

    def top_pairs(self, k: int):
        """Float32 value ``v`` of the k-th largest pair, and every pair with ``r32 >= v - 2 margin``.

        One pass: a running buffer keeps the k largest pairs seen so far plus those
        within two margins below the running k-th value (which only increases).
        """
        band = 2.0 * self.margin
        vals = np.empty(0, dtype=np.float32)
        rows = cols = np.empty(0, dtype=np.int64)
        cut = -np.inf
        for i0, block in self.blocks():
            bi, bj, bv = self.upper(i0, block, block >= cut - band)
            if bv.size == 0:
                continue
            vals = np.concatenate([vals, bv])
            rows = np.concatenate([rows, bi.astype(np.int64)])
            cols = np.concatenate([cols, bj.astype(np.int64)])
            if vals.size >= k:
                cut = float(np.partition(vals, vals.size - k)[vals.size - k])
                keep = vals >= cut - band
                vals, rows, cols = vals[keep], rows[keep], cols[keep]
        if vals.size < k:  # pragma: no cover - guarded by the caller
            raise ValueError(f"fewer than {k} node pairs")
        return cut, rows, cols, vals


def _concat_int(parts) -> np.ndarray:
    parts = [p for p in parts if p.size]
    if not parts:
        return np.empty(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def _symmetric_csr(i: np.ndarray, j: np.ndarray, n: int, values: np.ndarray | None = None) -> sp.csr_array:
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    data = np.ones(rows.size, dtype=bool) if values is None else np.concatenate([values, values])
    A = sp.csr_array((data, (rows, cols)), shape=(n, n))
    A.sort_indices()
    return A


def correlation_graph(X, threshold: float | None = None, *, density: float | None = None,
                      absolute: bool = False, zero_variance: str = "drop",
                      block_size: int = 1024, device="auto", name: str = "X",
                      warn_transposed="auto", weighted: bool = False,
                      rounding: str = "half_even") -> CorrelationGraph:
    """Binary functional graph of the columns of ``X`` by thresholded Pearson correlation.

    Parameters
    ----------
    X : array-like of shape (n_timepoints, n_nodes)
        One recording; finite, at least 3 timepoints. Any float64 scale.
    threshold : float in [-1, 1], optional
        Keep pairs with ``r > threshold`` (strict). Exactly one of ``threshold``
        and ``density`` must be given.
    density : float in (0, 1], optional
        Keep the ``round(density * n (n - 1) / 2)`` pairs of largest correlation
        (fewer if several pairs tie at the cut: tied pairs are all left out, with
        a warning when that loses more than 1 % of the edges). Comparable across
        subjects.
    absolute : bool, default False
        Rank and threshold ``|r|`` instead of ``r``.
    zero_variance : {"drop", "isolate", "raise"}, default "drop"
        Constant columns have no correlation. ``"drop"`` removes them from the
        graph (``nodes`` lists the columns kept), ``"isolate"`` keeps them as nodes
        without edges (degree 0), ``"raise"`` rejects them.
    block_size : int, default 1024
        Rows of the correlation matrix computed at once; memory is about
        ``4 * block_size * n_nodes`` bytes per block.
    device : {"auto", "cpu", "cuda"} or torch.device
        Where the float32 products run; float64 refinement runs on the CPU.
    name : str
        Name of ``X`` in error messages.
    warn_transposed : {"auto", True, False}, default "auto"
        :class:`~neurodyn._validation.LayoutWarning` when ``n_timepoints <
        n_nodes``; ``"auto"`` warns only up to ``VOXEL_LEVEL_NODES`` (5000)
        nodes, since voxel and vertex graphs normally have more nodes than
        timepoints.
    weighted : bool, default False
        Also return the float64 correlation of every edge (``weights``), for
        weighted measures (:func:`~neurodyn.graph.weighted_node_features`); costs
        one dot product of length ``n_timepoints`` per edge.
    rounding : {"half_even", "half_up"}, default "half_even"
        Rounding of ``density * n_pairs`` to a number of edges (see
        :func:`density_to_n_edges`); ``"half_up"`` counts as the Brain
        Connectivity Toolbox (bctpy ``threshold_proportional``) does.

    Returns
    -------
    CorrelationGraph

    Raises
    ------
    MemoryError
        Before allocating, when one block of ``block_size`` rows would not fit.

    Notes
    -----
    The result equals ``np.corrcoef(X.T) > threshold`` off the diagonal for every
    pair whose float64 correlation is not within about 1e-15 of the threshold.
    float32 input is converted to float64 exactly, so the graph is that of the
    float32 values; against the float64 data it was rounded from, only pairs
    with ``|r - threshold|`` below about ``1e-6 (1 + |mean| / sd)`` can differ.

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.
    """
    _check_threshold_args(threshold, density, absolute)
    check_in(zero_variance, "zero_variance", ("drop", "isolate", "raise"))
    block_size = check_positive_int(block_size, "block_size")
    _check_warn_transposed(warn_transposed)
    weighted = _check_bool(weighted, "weighted")
    check_in(rounding, "rounding", _ROUNDINGS)
    dev = resolve_device(device)
    Xv = check_timeseries(X, name, min_timepoints=3, allow_constant=(zero_variance != "raise"),
                          dims=_DIMS)
    n_total = Xv.shape[1]
    # a float32 block and its host copy, plus the float32 z-scores on the device
    check_device_allocation(4.0 * min(block_size, n_total) * n_total + 4.0 * Xv.size, "block_size",
                            f"float32 correlation blocks of {n_total} nodes", dev)
    _warn_layout(Xv.shape[0], n_total, name, warn_transposed)
    constant = zero_variance_channels(Xv, time_axis=0)
    varying = np.setdiff1d(np.arange(n_total), constant)
    if varying.size == 0:
        raise ValueError(f"{name} has no non-constant column; cannot build a correlation graph")
    Z = _zscore_columns(Xv[:, varying] if constant.size else Xv)
    scanner = _PairScanner(Z, bool(absolute), block_size, dev)
    n = varying.size
    n_pairs = n * (n - 1) // 2

    if threshold is not None:
        tau = float(threshold)
        si, sj, ai, aj, r64 = scanner.scan(tau, tau)
        accept = r64 > tau
    else:
        m = density_to_n_edges(density, n, rounding)
        if m >= n_pairs:
            tau = -np.inf
            si, sj = np.triu_indices(n, 1)
            ai = aj = np.empty(0, dtype=np.int64)
            accept = np.empty(0, dtype=bool)
            r64 = np.empty(0)
        else:
            # The float64 value of the (m+1)-th pair lies within one margin of the
            # float32 one, so it is among the pairs within two margins, refined here.
            v32, rows, cols, vals = scanner.top_pairs(m + 1)
            band = 2.0 * scanner.margin
            sure = vals > v32 + band
            amb = (vals >= v32 - band) & ~sure
            si, sj = rows[sure], cols[sure]
            ai, aj = rows[amb], cols[amb]
            r64 = scanner.refine(ai, aj)
            need = m - si.size  # edges still to take from the refined pairs
            order = np.sort(r64)[::-1]
            tau = float(order[need])
            accept = r64 > tau
    i = np.concatenate([si, ai[accept]])
    j = np.concatenate([sj, aj[accept]])
    if density is not None:
        _warn_ties(int(i.size), m, tau, density)

    if zero_variance == "isolate":
        i_out, j_out, n_out = varying[i], varying[j], n_total
        nodes = np.arange(n_total)
    else:
        i_out, j_out, n_out = i, j, n
        nodes = varying
    A = _symmetric_csr(i_out, j_out, n_out)
    W = None
    if weighted:
        W = _symmetric_csr(i_out, j_out, n_out, _pair_correlations(Z, i, j))
    return CorrelationGraph(adjacency=A, nodes=nodes, constant_nodes=constant,
                            threshold=float(tau), n_edges=int(i.size), n_refined=int(ai.size),
                            weights=W)


def _pair_correlations(Z64: np.ndarray, i: np.ndarray, j: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Signed float64 correlation of the pairs (i, j) of z-scored rows."""
    out = np.empty(i.shape[0], dtype=np.float64)
    for s in range(0, i.shape[0], chunk):
        out[s:s + chunk] = np.einsum("ij,ij->i", Z64[i[s:s + chunk]], Z64[j[s:s + chunk]])
    out /= Z64.shape[1]
    return np.clip(out, -1.0, 1.0)


def threshold_matrix(matrix, threshold: float | None = None, *, density: float | None = None,
                     absolute: bool = False, name: str = "matrix", weighted: bool = False,
                     rounding: str = "half_even") -> CorrelationGraph:
    """Binary graph from a given symmetric connectivity matrix (e.g. a region-level FC matrix).

    Parameters
    ----------
    matrix : array-like of shape (n_nodes, n_nodes)
        Finite, real and symmetric (up to ``1e-10`` times its largest magnitude,
        the rounding of ``np.corrcoef``); the diagonal is ignored. Values need
        not be correlations when ``density`` is used. float32 input is used as
        given (converted to float64 exactly).
    threshold : float, optional
        Keep pairs with ``m_ij > threshold`` (strict); any finite real number,
        but within [-1, 1] when every entry of ``matrix`` is (a correlation
        matrix: a threshold outside would keep no pair or every pair).
    density : float in (0, 1], optional
        Keep the ``round(density * n (n - 1) / 2)`` largest pairs (fewer on ties:
        pairs tied at the cut are all left out, with a warning when that loses
        more than 1 % of the edges, as on binary or coarsely rounded matrices).
    absolute : bool, default False
        Threshold ``|m_ij|``.
    name : str
        Name of ``matrix`` in error messages.
    weighted : bool, default False
        Also return the kept entries ``m_ij`` (signed, as given) in ``weights``.
    rounding : {"half_even", "half_up"}, default "half_even"
        Rounding of ``density * n_pairs`` (see :func:`density_to_n_edges`).
        ``"half_up"`` keeps the edges of bctpy's ``threshold_proportional(matrix,
        density)`` on a symmetric matrix without ties.

    Returns
    -------
    CorrelationGraph
        ``nodes`` is every row; ``n_refined`` is 0 (the input is used as given).
    """
    weighted = _check_bool(weighted, "weighted")
    check_in(rounding, "rounding", _ROUNDINGS)
    if threshold is not None and density is None:
        _check_bool(absolute, "absolute")
        if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real):
            raise TypeError(f"threshold must be a finite real number; got {threshold!r}")
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be a finite real number; got {threshold!r}")
    else:
        _check_threshold_args(threshold, density, absolute)
    if sp.issparse(matrix) or (isinstance(matrix, torch.Tensor) and matrix.layout != torch.strided):
        raise TypeError(f"{name} must be a dense array (n, n); got a sparse {type(matrix).__name__} "
                        "(pass matrix.toarray() or .to_dense())")
    M = check_square_matrix(matrix, name)
    n = M.shape[0]
    check_allocation(1.5 * n * (n - 1), f"{name} with {n} nodes", what="upper-triangle pairs")
    peak = float(np.max(np.abs(M)))
    # rounding asymmetry (np.corrcoef) is tolerated, relative to the scale; the upper triangle decides
    M = check_symmetric(M, name, atol=1e-10 * peak)
    if threshold is not None and peak <= 1.0 and not -1.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [-1, 1] for a correlation matrix (every entry of {name} "
                         f"lies in [-1, 1]); got {threshold!r}, which keeps "
                         f"{'no' if threshold > 1 else 'every'} pair")
    iu, ju = np.triu_indices(n, 1)
    vals = M[iu, ju]
    if absolute:
        vals = np.abs(vals)
    if threshold is not None:
        tau = float(threshold)
    else:
        m = density_to_n_edges(density, n, rounding)
        tau = -np.inf if m >= vals.size else float(np.sort(vals)[::-1][m])
    keep = vals > tau
    if density is not None:
        _warn_ties(int(keep.sum()), m, tau, density)
    ik, jk = iu[keep].astype(np.int64), ju[keep].astype(np.int64)
    A = _symmetric_csr(ik, jk, n)
    W = _symmetric_csr(ik, jk, n, M[ik, jk].astype(np.float64)) if weighted else None
    return CorrelationGraph(adjacency=A, nodes=np.arange(n), constant_nodes=np.empty(0, dtype=np.int64),
                            threshold=tau, n_edges=int(keep.sum()), n_refined=0, weights=W)
