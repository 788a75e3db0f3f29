"""Private input checks of neurodyn.rsa: RDM forms and scale normalisation.

RDMs are accepted everywhere in one of these forms:

- a single vector ``(n_pairs,)`` (upper triangle, row-major, ``i < j``);
- a stack of vectors ``(n_rdms, n_pairs)``;
- a stack of squares ``(n_rdms, K, K)``, symmetric with a zero (or NaN) diagonal;
- a single square ``(K, K)``: a 2-D square array that is symmetric with a zero
  (or NaN) diagonal is read as ONE square RDM, never as ``K`` vectors.

A 2-D square array that is *not* symmetric with a zero diagonal is read as a
stack of vectors only when its width is a triangular number; a symmetric one
with a non-zero diagonal (e.g. a similarity matrix) is then read as vectors with
a :class:`~neurodyn._validation.LayoutWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np

from .._validation import LayoutWarning, caller_stacklevel, check_array

_RDM_DIMS = "(n_pairs,), (n_rdms, n_pairs), (K, K) or (n_rdms, K, K)"


class RDMForm(NamedTuple):
    """How an RDM argument was given, to hand results back in the same form."""

    square: bool  # given as square matrices
    single: bool  # one RDM (1-D vector or 2-D square)


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def n_conditions(n_pairs: int, name: str = "rdms", shape: tuple | None = None) -> int:
    """``K`` with ``K (K - 1) / 2 == n_pairs``, or a ValueError naming ``name``."""
    k = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if k < 2 or k * (k - 1) // 2 != n_pairs:
        lo = max(2, int(np.floor((1 + np.sqrt(1 + 8 * n_pairs)) / 2)))
        near = f" (nearest: {lo * (lo - 1) // 2} for K={lo}, {(lo + 1) * lo // 2} for K={lo + 1})"
        got = f" (shape {_shape(shape)})" if shape is not None else ""
        raise ValueError(
            f"{name}: an RDM vector must have K(K-1)/2 entries for an integer K >= 2; got "
            f"{n_pairs} entries{got}{near}"
        )
    return k


def _square_ok(m: np.ndarray) -> tuple[bool, float, bool]:
    """(symmetric, largest asymmetry, zero-or-NaN diagonal) of square matrices ``(..., K, K)``."""
    finite = m[np.isfinite(m)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    tol = 1e-8 * scale
    with np.errstate(invalid="ignore"):
        diff = np.abs(m - np.swapaxes(m, -1, -2))
    asym = float(np.nanmax(diff)) if diff.size else 0.0
    one_nan = np.isnan(m) ^ np.isnan(np.swapaxes(m, -1, -2))
    sym = (asym <= tol or np.isnan(asym)) and not one_nan.any()
    diag = np.diagonal(m, axis1=-2, axis2=-1)
    zero_diag = bool(np.all(np.isnan(diag) | (np.abs(diag) <= tol)))
    return sym, (asym if np.isfinite(asym) else 0.0), zero_diag


def as_rdm_vectors(rdms: Any, name: str = "rdms", *, allow_nan: bool = True,
                   allow_square: bool = True) -> tuple[np.ndarray, RDMForm]:
    """Validate RDMs in any accepted form and return float64 vectors ``(n_rdms, n_pairs)``.

    Parameters
    ----------
    rdms : array-like
        See the module docstring for the accepted forms.
    name : str
        Argument name for messages.
    allow_nan : bool
        NaN marks a missing dissimilarity; Inf is never allowed.
    allow_square : bool
        Accept square forms (otherwise only vectors).

    Returns
    -------
    vectors : numpy.ndarray, shape (n_rdms, n_pairs), float64 (a new array when the
        input was square; otherwise possibly the caller's data: do not modify)
    form : RDMForm
    """
    v = check_array(rdms, name, ndim=(1, 2, 3) if allow_square else (1, 2),
                    dims=_RDM_DIMS if allow_square else "(n_pairs,) or (n_rdms, n_pairs)")
    lo, hi = (float(np.min(v)), float(np.max(v))) if v.size else (0.0, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        n_inf, n_nan = int(np.isinf(v).sum()), int(np.isnan(v).sum())
        if not allow_nan and (n_nan or n_inf):
            raise ValueError(f"{name} must be finite (no NaN or Inf); got {n_nan} NaN and {n_inf} Inf values")
        if n_inf:
            raise ValueError(f"{name} must not contain Inf (NaN marks a missing dissimilarity); got {n_inf} "
                             f"Inf values")
    if v.ndim == 3:
        if v.shape[-1] != v.shape[-2] or v.shape[-1] < 2:
            raise ValueError(f"{name} must be {_RDM_DIMS}; a 3-D array is a stack of square RDMs "
                             f"(n_rdms, K, K) with K >= 2; got shape {_shape(v.shape)}")
        sym, asym, zero_diag = _square_ok(v)
        if not sym:
            raise ValueError(f"{name} must hold symmetric square RDMs; largest |D - D.T| is {asym:.3g} "
                             f"(shape {_shape(v.shape)})")
        if not zero_diag:
            raise ValueError(f"{name} must hold square RDMs with a zero (or NaN) diagonal; got non-zero "
                             f"diagonal entries (shape {_shape(v.shape)})")
        iu = np.triu_indices(v.shape[-1], 1)
        return v[:, iu[0], iu[1]], RDMForm(square=True, single=False)
    if v.ndim == 2 and allow_square and v.shape[0] == v.shape[1] and v.shape[0] >= 2:
        sym, asym, zero_diag = _square_ok(v)
        if sym and zero_diag:
            iu = np.triu_indices(v.shape[0], 1)
            return v[None, iu[0], iu[1]], RDMForm(square=True, single=True)
        k = v.shape[0]
        triangular = int(round((1 + np.sqrt(1 + 8 * k)) / 2))
        if triangular * (triangular - 1) // 2 != k:
            why = f"largest |D - D.T| is {asym:.3g}" if not sym else "its diagonal is not zero"
            raise ValueError(
                f"{name} has shape {_shape(v.shape)}: not one square RDM ({why}) and not a stack of "
                f"RDM vectors ({k} is not K(K-1)/2). Pass one RDM as a symmetric (K, K) matrix with a "
                f"zero diagonal, or vectors (n_rdms, n_pairs)")
        if sym and k >= 3:
            warnings.warn(
                f"{name} is a symmetric ({k}, {k}) array with a non-zero diagonal: read as {k} RDM "
                f"vectors of {k} pairs. If it is one square RDM, set its diagonal to 0; if it is a "
                f"similarity matrix, convert it to dissimilarities first", LayoutWarning, stacklevel=caller_stacklevel())
    n_conditions(v.shape[-1], name, v.shape)
    if v.ndim == 1:
        return v[None], RDMForm(square=False, single=True)
    return v, RDMForm(square=False, single=False)


def restore_form(vectors: np.ndarray, form: RDMForm, diagonal: float = 0.0) -> np.ndarray:
    """Hand ``(..., n_rdms, n_pairs)`` results back in the form the RDMs were given."""
    out = vectors[..., 0, :] if form.single else vectors
    if form.square:
        k = n_conditions(out.shape[-1])
        iu = np.triu_indices(k, 1)
        sq = np.full(out.shape[:-1] + (k, k), float(diagonal), dtype=out.dtype)
        sq[..., iu[0], iu[1]] = out
        sq[..., iu[1], iu[0]] = out
        out = sq
    return out


def normalise_rows(v: np.ndarray, force: bool = False) -> np.ndarray:
    """Each row divided by a power of two near its largest ``|entry|`` (NaN ignored).

    For comparisons that are invariant to a positive scale of each RDM (cosine,
    correlation, ranks): the products that follow can then neither under- nor
    overflow. Returns the input itself when every row is already in ``[2^-100, 2^100]``
    (enough for float64), unless ``force`` (for a cast to float32 that follows).
    """
    if v.size == 0:
        return v
    m = np.maximum(v.max(axis=-1), -v.min(axis=-1))  # no |v| temporary
    if not np.isfinite(m).all():  # NaN entries: the slower NaN-aware maximum
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: scale 1, checked by the caller
            m = np.nanmax(np.abs(v), axis=-1)
        m = np.where(np.isfinite(m), m, 0.0)
    if not force and np.all(((m > 2.0**-100) & (m < 2.0**100)) | (m == 0)):
        return v
    exps = np.frexp(np.where(m > 0, m, 1.0))[1]
    return v / np.ldexp(1.0, exps)[..., None]


def check_bool(value: Any, name: str) -> bool:
    """A boolean flag (Python or numpy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def method_args(method: str, given: dict[str, bool], users: dict[str, tuple[str, ...]],
                what: str = "method") -> None:
    """Refuse arguments that ``method`` does not use (instead of ignoring them).

    ``given`` maps each argument to whether the caller set it; ``users`` maps each
    argument to the methods that read it; ``what`` names the selecting argument.
    """
    for arg, was_given in given.items():
        if was_given and method not in users[arg]:
            raise ValueError(f"{arg} is only used by {what} in {list(users[arg])}; got {what}={method!r} "
                             f"(remove {arg} or choose one of those)")
