"""One call that compares model representations with brain representations by several methods.

:func:`compare_representations` scores every (model layer, brain region) pair
with RSA, topological RSA, CKA, generalised shape metrics and cross-validated
encoding, optionally with bootstrap intervals over conditions and permutation
p-values, and returns a tidy :class:`ComparisonTable` (one row per layer,
region, method and time point).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._parallel import check_n_jobs, parallel_map
from .._torch import check_random_state
from .._validation import check_array, check_finite, check_in, check_positive_int, check_scalar
from .cka import linear_cka
from .encoding import cross_validated_encoding, r_ceiling
from .inference import _index_blocks, _interval
from .shape import cross_validated_shape_distance, shape_distance

__all__ = ["compare_representations", "ComparisonTable", "METHODS", "method_range"]

METHODS = ("rsa", "trsa", "cka", "procrustes", "encoding")
_KIND = {"rsa": "similarity", "trsa": "similarity", "cka": "similarity",
         "procrustes": "distance", "encoding": "similarity"}

#: the range of each method's score: intervals are clipped to it (the Procrustes score is an
#: angular distance in radians, [0, pi/2] when fitted on all conditions and [0, pi] held out)
def method_range(method: str, *, cv: int | None = None, cka_debiased: bool = False) -> tuple[float, float]:
    """Lowest and highest value the score of ``method`` can take in :func:`compare_representations`.

    Parameters
    ----------
    method : {"rsa", "trsa", "cka", "procrustes", "encoding"}
    cv : int or None
        Whether the Procrustes distance is held out (range [0, pi]) or fitted ([0, pi/2]).
    cka_debiased : bool
        The debiased CKA can be negative ([-1, 1]); the biased one lies in [0, 1].

    Returns
    -------
    (float, float)
    """
    check_in(method, "method", METHODS)
    if method == "procrustes":
        return (0.0, float(np.pi) if cv else float(np.pi / 2))
    if method == "cka" and not cka_debiased:
        return (0.0, 1.0)
    return (-1.0, 1.0)


_COLUMNS = ("model", "brain", "method", "time", "score", "kind", "ci_low", "ci_high", "se",
            "p_value", "noise_ceiling", "ceiled_score", "n_conditions")


class ComparisonTable:
    """A tidy table of comparison scores (one row per model, brain, method and time point).

    Columns: ``model``, ``brain``, ``method``, ``time`` (None for static data),
    ``score``, ``kind`` (``"similarity"``: higher = more alike, ``"distance"``:
    lower = more alike), ``ci_low``, ``ci_high``, ``se`` (bootstrap; the interval
    is clipped to the method's range, see :func:`method_range`: RSA, tRSA,
    debiased CKA and encoding r in [-1, 1], CKA in [0, 1], the Procrustes angular
    distance in radians in [0, pi/2], or [0, pi] on held-out conditions),
    ``p_value`` (permutation), ``noise_ceiling`` (the region's reliability),
    ``ceiled_score`` (encoding score / sqrt(reliability), the ceiling on r),
    ``n_conditions``. Missing values are NaN.
    """

    def __init__(self, rows: Sequence[dict]):
        self.rows = [dict(r) for r in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, column: str) -> np.ndarray:
        if column not in _COLUMNS:
            raise KeyError(f"unknown column {column!r}; columns are {list(_COLUMNS)}")
        return np.array([r[column] for r in self.rows], dtype=object if column in
                        ("model", "brain", "method", "kind", "time") else float)

    @property
    def columns(self) -> tuple[str, ...]:
        return _COLUMNS

    def select(self, **where: Any) -> ComparisonTable:
        """Rows whose columns equal the given values, e.g. ``select(method="cka")``."""
        return ComparisonTable([r for r in self.rows if all(r[k] == v for k, v in where.items())])

    def matrix(self, method: str, value: str = "score", time: Any = None) -> tuple[np.ndarray, list, list]:
        """(models x brains) matrix of ``value`` for one method (and time point).

        Returns the matrix and the model and brain labels in first-seen order.
        """
        rows = [r for r in self.rows if r["method"] == method and r["time"] == time]
        if not rows:
            raise ValueError(f"no rows for method={method!r} and time={time!r}")
        models = list(dict.fromkeys(r["model"] for r in rows))
        brains = list(dict.fromkeys(r["brain"] for r in rows))
        out = np.full((len(models), len(brains)), np.nan)
        for r in rows:
            out[models.index(r["model"]), brains.index(r["brain"])] = r[value]
        return out, models, brains

    def to_dict(self) -> dict[str, list]:
        """Column-oriented dict (``pandas.DataFrame(table.to_dict())`` works)."""
        return {c: [r[c] for r in self.rows] for c in _COLUMNS}

    def to_pandas(self):
        """A ``pandas.DataFrame`` (pandas is optional)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_pandas needs pandas; use to_dict() otherwise") from exc
        return pd.DataFrame(self.to_dict())

    def to_string(self, max_rows: int | None = 30, digits: int = 4) -> str:
        """The table as aligned text: one header line, one line per row.

        Columns with no value in any row (``time`` for static data, intervals
        without a bootstrap, p-values without permutations, ceilings) are left
        out; text is left-aligned and numbers right-aligned, every column as
        wide as its widest cell.

        Parameters
        ----------
        max_rows : int or None
            Rows to show (None: all); a last line counts the rest.
        digits : int
            Decimals of the numbers (scientific notation in a column whose
            values would lose their leading digit or run wider than 6 digits).

        Returns
        -------
        str
        """
        rows = self.rows if max_rows is None else self.rows[:max_rows]
        if not self.rows:
            return "ComparisonTable (0 rows)"
        text_cols = ("model", "brain", "method", "kind", "time")
        candidates = ["model", "brain", "method", "kind", "time", "score", "ci_low", "ci_high", "p_value",
                      "noise_ceiling", "ceiled_score"]

        def present(c):
            vals = [r.get(c) for r in self.rows]
            if c in text_cols:
                return any(v is not None for v in vals)
            return any(v is not None and np.isfinite(v) for v in vals)

        cols = [c for c in candidates if present(c)]

        def fixed_ok(c):  # fixed-point keeps the decimal points of a column aligned
            vals = np.array([r[c] for r in self.rows], dtype=float)
            vals = np.abs(vals[np.isfinite(vals) & (vals != 0)])
            return vals.size == 0 or (vals.min() >= 10.0 ** (1 - digits) and vals.max() < 1e6)

        fixed = {c: fixed_ok(c) for c in cols if c not in text_cols}

        def cell(c, v):
            if v is None:
                return "-"
            if c in text_cols:
                return str(v)
            if not np.isfinite(v):
                return "nan"
            return f"{v:.{digits}f}" if fixed[c] else f"{v:.{digits - 1}e}"

        body = [[cell(c, r.get(c)) for c in cols] for r in rows]
        widths = [max(len(c), *(len(line[k]) for line in body)) for k, c in enumerate(cols)]

        def fmt(values):
            return "  ".join(v.ljust(w) if c in text_cols[:4] else v.rjust(w)
                             for c, v, w in zip(cols, values, widths, strict=True)).rstrip()

        lines = [fmt(cols)] + [fmt(line) for line in body]
        if len(rows) < len(self.rows):
            lines.append(f"... ({len(self.rows) - len(rows)} more rows, {len(self.rows)} in all)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_string()

    def __repr__(self) -> str:
        return f"ComparisonTable ({len(self.rows)} rows)\n{self.to_string()}"


def _named(reps: Any, name: str, default: str) -> list[tuple[str, np.ndarray]]:
    if isinstance(reps, dict):
        items = [(str(k), v) for k, v in reps.items()]
    elif isinstance(reps, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(reps)]
    else:
        items = [(default, reps)]
    if not items:
        raise ValueError(f"{name} is empty")
    out = []
    for key, v in items:
        label = f"{name}[{key!r}]" if len(items) > 1 or isinstance(reps, (dict, list, tuple)) else name
        arr = v.detach().cpu().numpy() if hasattr(v, "detach") else v
        arr = check_array(arr, label, ndim=(2, 3),
                          dims="(n_conditions, n_features) or (n_conditions, n_timepoints, n_features)")
        check_finite(arr, label)
        if np.all(arr == arr[:1]):
            raise ValueError(f"{label} has no variance across conditions (every row is the same); "
                             "no comparison is defined")
        out.append((key, arr, label))
    return out


def _check_options(methods, rdm_method, rdm_compare, trsa_bounds, trsa_compare, shape_alpha,
                   encoding_alphas, noise_ceiling) -> None:
    """Every option of :func:`compare_representations` is checked before any work, with its name,
    whether or not its method is selected."""
    from .encoding import _ceiling_value, _check_alphas
    from .shape import _check_alpha

    _check_alpha(shape_alpha, "shape_alpha")
    _check_alphas(encoding_alphas, "encoding_alphas")
    if noise_ceiling is not None:
        items = noise_ceiling.items() if isinstance(noise_ceiling, dict) else [(None, noise_ceiling)]
        for key, c in items:
            name = "noise_ceiling" if key is None else f"noise_ceiling[{key!r}]"
            if np.ndim(c) != 0:
                raise ValueError(f"{name} must be a float (one ceiling per brain region); "
                                 f"got shape {np.shape(c)}")
            _ceiling_value(c, 1, name)
    from ..rsa import COMPARE_METHODS, RDM_METHODS

    check_in(rdm_method, "rdm_method", RDM_METHODS)
    check_in(rdm_compare, "rdm_compare", COMPARE_METHODS)
    check_in(trsa_compare, "trsa_compare", COMPARE_METHODS)
    if not isinstance(trsa_bounds, (tuple, list)) or len(trsa_bounds) != 2:
        raise ValueError(f"trsa_bounds must be a pair (lower, upper) of quantiles in [0, 1]; "
                         f"got {trsa_bounds!r}")
    lo = check_scalar(trsa_bounds[0], "trsa_bounds[0]", low=0.0, high=1.0)
    hi = check_scalar(trsa_bounds[1], "trsa_bounds[1]", low=0.0, high=1.0)
    if lo > hi:
        raise ValueError(f"trsa_bounds must satisfy lower <= upper; got {trsa_bounds!r}")


def _average_conditions(arr: np.ndarray, conditions: np.ndarray | None, label: str) -> np.ndarray:
    if conditions is None:
        return arr
    if arr.shape[0] != conditions.shape[0]:
        raise ValueError(f"{label} has {arr.shape[0]} rows but conditions has {conditions.shape[0]} labels")
    values, inv = np.unique(conditions, return_inverse=True)
    out = np.zeros((values.size,) + arr.shape[1:])
    np.add.at(out, inv, arr)
    return out / np.bincount(inv).reshape((-1,) + (1,) * (arr.ndim - 1))


def _rsa_api():
    try:
        from ..rsa import compare_rdms, compute_rdm, geotopological_transform, rdm_to_matrix
    except ImportError:  # the rsa package may not re-export its functions yet
        from ..rsa.compare import compare_rdms
        from ..rsa.rdm import compute_rdm, rdm_to_matrix
        from ..rsa.transforms import geotopological_transform
    return compute_rdm, compare_rdms, geotopological_transform, rdm_to_matrix


class _Scorer:
    """Scores one (model, brain, method) pair on re-indexed conditions.

    ``score(ix, iy)``: model rows ``ix`` against brain rows ``iy`` (bootstrap:
    ix = iy with repeats; permutation: ix = identity, iy permuted).
    """

    def __init__(self, method: str, X: np.ndarray, Y: np.ndarray, opts: dict):
        self.method, self.X, self.Y, self.opts = method, X, Y, opts
        if method in ("rsa", "trsa"):
            compute_rdm, compare_rdms, gt, to_matrix = _rsa_api()
            self._compare, self._gt = compare_rdms, gt

            def rdm_mats(A):
                batch = A.transpose(1, 0, 2) if A.ndim == 3 else A[None]
                vecs = compute_rdm(batch, method=opts["rdm_method"], device=opts["device"])
                return to_matrix(np.atleast_2d(vecs))

            self._Dx, self._Dy = rdm_mats(X), rdm_mats(Y)

    def _rdm_score(self, ix: np.ndarray, iy: np.ndarray):
        n = ix.size
        iu = np.triu_indices(n, 1)
        dup = ix[iu[0]] == ix[iu[1]]
        a = self._Dx[:, ix][:, :, ix][:, iu[0], iu[1]]
        b = self._Dy[:, iy][:, :, iy][:, iu[0], iu[1]]
        if dup.any():  # a condition drawn twice: its self-pair is not a dissimilarity
            a[:, dup] = np.nan
            b[:, dup] = np.nan
        if self.method == "trsa":
            lo, hi = self.opts["trsa_bounds"]
            a, b = self._gt(a, lo, hi), self._gt(b, lo, hi)
            cmp = self.opts["trsa_compare"]
        else:
            cmp = self.opts["rdm_compare"]
        T = max(a.shape[0], b.shape[0])
        a = np.broadcast_to(a, (T, a.shape[1]))
        b = np.broadcast_to(b, (T, b.shape[1]))
        vals = np.array([self._compare(a[t], b[t], method=cmp, device=self.opts["device"])[0, 0]
                         for t in range(T)])
        return vals

    def score(self, ix: np.ndarray, iy: np.ndarray, rng: np.random.Generator):
        if self.method in ("rsa", "trsa"):
            return self._rdm_score(ix, iy)
        X, Y, o = self.X[ix], self.Y[iy], self.opts
        if self.method == "cka":
            return linear_cka(X, Y, debiased=o["cka_debiased"], device=o["device"])
        if self.method == "procrustes":
            if o["cv"]:
                return cross_validated_shape_distance(X, Y, alpha=o["shape_alpha"], cv=o["cv"],
                                                      random_state=rng, device=o["device"])["distance"]
            return shape_distance(X, Y, alpha=o["shape_alpha"], device=o["device"])
        return cross_validated_encoding(X, Y, cv=o["cv"] or 5, alphas=o["encoding_alphas"],
                                        random_state=rng, device=o["device"])["score"]


def _score_one(scorer: _Scorer, seed: int, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """One score, with the pair's seed (the same CV folds for the estimate and every resample)."""
    return np.atleast_1d(np.asarray(scorer.score(ix, iy, np.random.default_rng(seed)), dtype=float))


def _score_block(block: tuple, scorer: _Scorer, seed: int) -> list:
    """Scores of a block ``(ix, iy)`` of resamples: bootstrap rows (``iy`` None: ``iy = ix``)
    or permutations (``ix`` the identity, shared)."""
    ix, iy = block
    if iy is None:
        return [_score_one(scorer, seed, b, b) for b in ix]
    return [_score_one(scorer, seed, ix, p) for p in iy]


def _score_blocks(scorer: _Scorer, seed: int, ix: np.ndarray, iy: np.ndarray | None,
                  n_jobs: int | None, desc: str) -> np.ndarray:
    """Scores of every resample (rows of ``ix``, or of ``iy`` with ``ix`` fixed) over
    :func:`~neurodyn._parallel.parallel_map`, stacked in the order of the rows."""
    rows = ix if iy is None else iy
    blocks = [(ix[s], None) if iy is None else (ix, iy[s]) for s in _index_blocks(rows.shape[0], n_jobs)]
    scored = parallel_map(_score_block, blocks, args=(scorer, seed), n_jobs=n_jobs, desc=desc)
    return np.stack([v for block in scored for v in block])


def compare_representations(model_activity: Any, brain_activity: Any,
                            methods: Sequence[str] = ("rsa", "cka", "procrustes", "encoding"), *,
                            conditions: Any = None, cv: int | None = 5, n_bootstrap: int = 0,
                            n_permutations: int = 0, confidence: float = 0.95,
                            rdm_method: str = "correlation", rdm_compare: str = "spearman",
                            trsa_bounds: tuple[float, float] = (0.2, 0.8), trsa_compare: str = "corr",
                            cka_debiased: bool = False, shape_alpha: float = 1.0,
                            encoding_alphas: Any = "auto", noise_ceiling: Any = None,
                            random_state: Any = None, device: Any = "auto",
                            verbose: bool = False, n_jobs: int | None = None) -> ComparisonTable:
    """Compare model and brain representations by several methods in one tidy table.

    Parameters
    ----------
    model_activity : array-like or dict/list of array-like
        ``(n_observations, n_units)`` or time-resolved ``(n_observations,
        n_timepoints, n_units)``; a dict maps layer names to arrays.
    brain_activity : array-like or dict/list of array-like
        The same for brain regions (voxels, neurons, channels).
    methods : sequence of {"rsa", "trsa", "cka", "procrustes", "encoding"}
        - ``"rsa"``: RDMs (``rdm_method``, via :mod:`neurodyn.rsa`) compared by ``rdm_compare``.
        - ``"trsa"``: RDMs passed through the geo-topological transform with
          quantile thresholds ``trsa_bounds`` and compared by ``trsa_compare``.
        - ``"cka"``: linear CKA (debiased with ``cka_debiased``).
        - ``"procrustes"``: generalised shape distance with ``shape_alpha``
          (1 = Procrustes), on held-out conditions when ``cv`` is set.
        - ``"encoding"``: median held-out Pearson r of a ridge map from model
          units to brain targets (``cv`` folds over conditions).
    conditions : array-like (n_observations,), optional
        Condition labels; rows sharing a label are averaged first (sorted labels).
    cv : int or None
        Folds over conditions for ``procrustes`` (None: fitted on all
        conditions) and ``encoding`` (None means 5).
    n_bootstrap : int
        Bootstrap samples over conditions for confidence intervals (0: none).
        For RSA, pairs of a condition with its own duplicate are left out, as
        rsatoolbox does.
    n_permutations : int
        Permutations of the brain's condition labels for p-values (0: none);
        one-sided towards "more similar".
    confidence : float
    rdm_method, rdm_compare : str
        Passed to :func:`neurodyn.rsa.compute_rdm` / :func:`neurodyn.rsa.compare_rdms`.
    trsa_bounds : (float, float)
    trsa_compare : str
    cka_debiased : bool
    shape_alpha : float in [0, 1]
    encoding_alphas : "auto" or array-like
    noise_ceiling : float or dict {brain name: float}, optional
        Reliability of each brain region (e.g. the median of
        :func:`~neurodyn.compare.split_half_noise_ceiling`); the encoding score is
        divided by the ceiling on r, its square root (``ceiled_score`` column).
    random_state : None, int or Generator
    device : {"auto", "cpu", "cuda"}
    verbose : bool
        Show a progress bar over (model, brain, method) pairs.
    n_jobs : int or None
        Workers scoring the bootstrap samples and permutations of each pair
        (joblib semantics, any ``joblib.parallel_config`` backend; see
        :func:`neurodyn._parallel.parallel_map`). All resamples are drawn here,
        in the caller, in the serial order, and each is scored with the pair's
        own CV seed, so the table is identical for every ``n_jobs`` and backend.

    Returns
    -------
    ComparisonTable

    References
    ----------
    Kriegeskorte, Mur & Bandettini (2008), Front. Syst. Neurosci. 2:4. Lin &
    Kriegeskorte (2023), arXiv:2309.11028. Kornblith et al. (2019), ICML.
    Williams et al. (2021), NeurIPS. Schrimpf et al. (2018), Brain-Score,
    bioRxiv 407007.
    """
    if isinstance(methods, str):
        methods = (methods,)
    if not isinstance(methods, (list, tuple)):
        raise TypeError(f"methods must be a method name or a sequence of them from {list(METHODS)}; "
                        f"got {type(methods).__name__}")
    for m in methods:
        check_in(m, "methods", METHODS)
    if not methods:
        raise ValueError("methods is empty")
    n_jobs = check_n_jobs(n_jobs)
    n_bootstrap = check_positive_int(n_bootstrap, "n_bootstrap", minimum=0)
    n_permutations = check_positive_int(n_permutations, "n_permutations", minimum=0)
    check_scalar(confidence, "confidence", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    _check_options(methods, rdm_method, rdm_compare, trsa_bounds, trsa_compare, shape_alpha,
                   encoding_alphas, noise_ceiling)
    rng = check_random_state(random_state)
    models = _named(model_activity, "model_activity", "model")
    brains = _named(brain_activity, "brain_activity", "brain")
    cond = None if conditions is None else np.asarray(conditions)
    if cond is not None and cond.ndim != 1:
        raise ValueError(f"conditions must be 1-D (n_observations,); got shape {cond.shape}")
    models = [(k, _average_conditions(a, cond, lab), lab) for k, a, lab in models]
    brains = [(k, _average_conditions(a, cond, lab), lab) for k, a, lab in brains]
    n = models[0][1].shape[0]
    for _k, a, lab in models + brains:
        if a.shape[0] != n:
            raise ValueError(f"all representations must have the same number of conditions; "
                             f"{lab} has {a.shape[0]} but {models[0][2]} has {n}")
    if n < 4:
        raise ValueError(f"at least 4 conditions are needed to compare representations; got {n}")
    if cv is not None:
        cv = check_positive_int(cv, "cv", minimum=2)
        if ("procrustes" in methods or "encoding" in methods) and n < 3 * cv:
            raise ValueError(f"too few conditions for cv={cv}: got {n}, need at least {3 * cv} "
                             "(three per fold) for procrustes/encoding")
    opts = dict(rdm_method=rdm_method, rdm_compare=rdm_compare, trsa_bounds=trsa_bounds,
                trsa_compare=trsa_compare, cka_debiased=cka_debiased, shape_alpha=shape_alpha,
                encoding_alphas=encoding_alphas, cv=cv, device=device)

    tasks = [(mk, mX, bk, bY, meth) for mk, mX, _ in models for bk, bY, _ in brains for meth in methods]
    iterator: Any = tasks
    if verbose:
        from tqdm.auto import tqdm
        iterator = tqdm(tasks, desc="compare_representations")
    rows = []
    ident = np.arange(n)
    boot_idx = rng.integers(0, n, size=(n_bootstrap, n))
    perms = np.stack([rng.permutation(n) for _ in range(n_permutations)]) if n_permutations else None
    for mk, mX, bk, bY, meth in iterator:
        X_t, Y_t = mX.ndim == 3, bY.ndim == 3
        if X_t and Y_t and mX.shape[1] != bY.shape[1]:
            raise ValueError(f"model {mk!r} has {mX.shape[1]} time points but brain {bk!r} has "
                             f"{bY.shape[1]}; resample them to a common time base")
        scorer = _Scorer(meth, mX, bY, opts)
        seed = int(rng.integers(0, 2**31 - 1))
        est = _score_one(scorer, seed, ident, ident)
        n_t = est.size
        lo = hi = se = np.full(n_t, np.nan)
        if n_bootstrap:
            samples = _score_blocks(scorer, seed, boot_idx, None, n_jobs, "bootstrap block")
            lo, hi, se = _interval(est, samples, confidence, allow_nan=True)
            bounds = method_range(meth, cv=cv, cka_debiased=bool(cka_debiased))
            lo, hi = np.clip(lo, *bounds), np.clip(hi, *bounds)
        pv = np.full(n_t, np.nan)
        if perms is not None:
            null = _score_blocks(scorer, seed, ident, perms, n_jobs, "permutation block")
            tol = 1e-12 * np.maximum(1.0, np.abs(est))
            extreme = null >= est - tol if _KIND[meth] == "similarity" else null <= est + tol
            pv = (1.0 + extreme.sum(0)) / (1.0 + n_permutations)
        ceiling = np.nan
        if meth == "encoding" and noise_ceiling is not None:
            ceiling = float(noise_ceiling[bk] if isinstance(noise_ceiling, dict) else noise_ceiling)
        time_resolved = X_t or Y_t
        for t in range(n_t):
            rows.append({"model": mk, "brain": bk, "method": meth,
                         "time": t if time_resolved else None, "score": float(est[t]),
                         "kind": _KIND[meth], "ci_low": float(lo[t]), "ci_high": float(hi[t]),
                         "se": float(se[t]), "p_value": float(pv[t]), "noise_ceiling": ceiling,
                         "ceiled_score": float(est[t] / r_ceiling(ceiling)) if np.isfinite(ceiling)
                         else np.nan,
                         "n_conditions": n})
    return ComparisonTable(rows)
