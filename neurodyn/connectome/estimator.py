"""The ``DynamicConnectome`` estimator: traces -> affinities -> NTF -> communities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._torch import TorchEstimatorMixin, thread_policy
from .._validation import check_array, check_in, check_scalar
from .affinity import (
    AFFINITIES,
    _affinity_tensor,
    n_nodes_from_pairs,
    pair_indices,
    pairs_to_matrix,
)
from .communities import louvain_labels, strength_two_means, weighted_sbm
from .ntf import (
    NonnegativeCP,
    _check_cp_params,
    check_float_dtype,
    check_nonnegative_tensor,
    rank_sweep,
)

__all__ = ["DynamicConnectome", "align_neurons", "BACKGROUND_TIME_CV", "BACKGROUND_ANIMAL_CV"]

#: A component whose time and animal factors vary less than these coefficients of
#: variation is flagged as the flat "background" (baseline co-fluctuation).
BACKGROUND_TIME_CV = 0.15
BACKGROUND_ANIMAL_CV = 0.1


def _cv(x: np.ndarray) -> float:
    mean = float(np.mean(x))
    return float(np.std(x) / mean) if mean > 0 else np.inf


def align_neurons(traces: Any, neuron_labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-animal traces with different neuron sets on the union of labels.

    Parameters
    ----------
    traces : list of (T, N_w) arrays
        One recording per animal in the package layout ``(n_timepoints,
        n_units)``, all of the same length ``T``.
    neuron_labels : list of sequences
        ``neuron_labels[w][i]`` names column ``i`` of ``traces[w]``.

    Returns
    -------
    aligned : ndarray (n_animals, T, n_union)
        NaN columns where an animal lacks a neuron.
    labels : ndarray (n_union,)
        Union of labels in order of first appearance.
    """
    if not isinstance(traces, (list, tuple)) or not isinstance(neuron_labels, (list, tuple)):
        raise TypeError("neuron_labels needs traces and neuron_labels as lists, one entry per animal")
    if len(traces) != len(neuron_labels):
        raise ValueError(f"neuron_labels has {len(neuron_labels)} entries but there are "
                         f"{len(traces)} animals")
    if len(traces) == 0:
        raise ValueError("traces is empty; expected at least one animal")
    arrays = [check_array(t, f"traces[{w}]", ndim=2, dims="(n_timepoints, n_units)")
              for w, t in enumerate(traces)]
    union: dict[Any, int] = {}
    for w, (arr, labels) in enumerate(zip(arrays, neuron_labels, strict=True)):
        labels = list(labels)
        if arr.shape[1] != len(labels):
            hint = (f" -- it looks transposed: the layout changed in this release, pass traces[{w}].T"
                    if arr.shape[0] == len(labels) else "")
            raise ValueError(f"traces[{w}] must be (n_timepoints, n_units) with one column per label; "
                             f"got shape {arr.shape} and {len(labels)} labels{hint}")
        if len(set(labels)) != len(labels):
            raise ValueError(f"neuron_labels[{w}] has duplicate labels")
        if np.isinf(arr).any():
            raise ValueError(f"traces[{w}] must not contain Inf; got {int(np.isinf(arr).sum())} Inf values")
        nan = np.isnan(arr)
        partial = nan.any(axis=0) & ~nan.all(axis=0)
        if partial.any():
            raise ValueError(f"traces[{w}] has {int(partial.sum())} partly NaN column(s) (first: "
                             f"{int(np.flatnonzero(partial)[0])}); NaN may only mark a whole missing neuron")
        for lab in labels:
            union.setdefault(lab, len(union))
    lengths = {arr.shape[0] for arr in arrays}
    if len(lengths) > 1:
        raise ValueError(f"traces: every animal must have the same number of timepoints; got "
                         f"{[arr.shape[0] for arr in arrays]}")
    aligned = np.full((len(arrays), lengths.pop(), len(union)), np.nan)
    for w, (arr, labels) in enumerate(zip(arrays, neuron_labels, strict=True)):
        aligned[w][:, [union[lab] for lab in labels]] = arr
    return aligned, np.array(list(union))


class DynamicConnectome(TorchEstimatorMixin, BaseEstimator):
    """Dynamic functional connectome by non-negative tensor factorization.

    Traces of the same identified neurons in several animals, in the package
    layout ``(n_animals, n_timepoints, n_units)``, are turned into a
    pair × window × animal affinity tensor, factorised by a non-negative CP
    decomposition (HALS, best of ``n_restarts``), and each component's pair
    factor is read as a weighted graph whose communities are the component's
    "motif". A component is (which pairs, when, in which animals).

    Parameters
    ----------
    n_components : int
        Number of components (CP rank); see :meth:`rank_sweep` to choose it.
    affinity : {"derivative_corr", "derivative_product", "corr", "precomputed"} or callable
        How traces become pairwise affinities (see
        :func:`neurodyn.connectome.affinity.affinity_tensor`). ``"precomputed"``:
        ``fit`` receives the ``(P, K, W)`` tensor itself.
    window, step : int
        Window length and hop in samples, in ``[1, n_timepoints]`` (window at
        least 3 for the correlation affinities).
    smooth_sigma : float
        Gaussian smoothing (samples) before differentiation, in ``[0, n_timepoints / 4]``.
    block_size : int, optional
        Windows per block when building the affinity tensor (memory bound).
    n_restarts : int
        Random restarts, fitted as one batch; the lowest error wins.
    init : {"random", "svd"}
    solver : {"hals", "mu"}
    max_iter : int
    tol : float in [0, 1)
        Stop when the relative error changes by less than ``tol``.
    n_inner : int in [1, 100]
        HALS sweeps per mode update.
    community_method : {"louvain", "sbm"}
        How ``communities_`` are found in each component graph: Louvain
        modularity (networkx), or a weighted stochastic block model with
        exponential weights fitted by minimum description length (degree
        correction chosen by description length; see
        :func:`~neurodyn.connectome.communities.weighted_sbm`). Either way,
        ``motif_nodes_`` is the 2-means split of node strengths.
    community_threshold : float in [0, 1)
        Edges below ``community_threshold * max`` are dropped before Louvain.
    random_state : None, int or numpy Generator
    device : {"auto", "cpu", "cuda"}
    dtype : None, "float32" or "float64"
    verbose : bool
        Progress bar over NTF iterations.
    n_jobs : int or None
        Animals whose affinities are computed in parallel (joblib semantics; any
        backend of ``joblib.parallel_config``, e.g. ``"dask"`` on a
        ``dask.distributed`` cluster). None computes all animals in one batch;
        the values are the same either way.
    memory : None, str, path or joblib.Memory
        Cache of per-animal affinities: a run interrupted halfway recomputes only
        the animals not on disk (a folder the workers share on a cluster).

    Attributes
    ----------
    affinity_tensor_ : ndarray (P, K, W)
        The tensor that was factorised.
    mask_ : ndarray of bool (P, 1, W) or None
        Observed pairs when some neurons are missing in some animals.
    pairs_ : tuple of two ndarrays
        ``np.triu_indices(n_nodes_, 1)``: pair p joins neurons ``pairs_[0][p]``
        and ``pairs_[1][p]``.
    pair_factors_, time_factors_, animal_factors_ : ndarrays (P, R), (K, R), (W, R)
        Unit-norm non-negative factors, components sorted by decreasing weight.
    weights_ : ndarray (R,)
    reconstruction_error_ : float
        Relative error ``||X - model|| / ||X||`` of the best restart.
    errors_ : ndarray
        Error after each iteration of the best restart.
    n_iter_ : int
    converged_ : bool
    restart_errors_ : ndarray (n_restarts,)
    communities_ : list of R ndarrays (N,)
        Community labels of each component graph (``community_method``).
    motif_nodes_ : list of R boolean ndarrays (N,)
        Neurons in the high-strength group of each component (2-means).
    background_ : ndarray of bool (R,)
        True for a near-flat component (time CV <= 0.15, animal CV <= 0.1).
    neuron_labels_ : ndarray (N,) or None
        Neuron identities when ``fit`` received ``neuron_labels``.
    n_features_in_ : int
        Number of units ``N`` (neurons, regions) seen in ``fit``.
    window_starts_ : ndarray (K,)
        Start sample of each window (traces input only).
    rank_sweep_ : dict
        Set by :meth:`rank_sweep`.

    References
    ----------
    Dyballa, L., Lang, S., Haslund-Gourley, A., Yemini, E., Zucker, S. W. (2024).
    Learning dynamic representations of the functional connectome in
    neurobiological networks. ICLR 2024, arXiv:2402.14102.

    Examples
    --------
    >>> from neurodyn.connectome import DynamicConnectome
    >>> from neurodyn.datasets.simulate import dynamic_connectome
    >>> sim = dynamic_connectome(n_animals=3, n_neurons=12, n_timepoints=400,
    ...                          community_sizes=(4, 4), windows=((40, 180), (220, 360)),
    ...                          random_state=0)
    >>> sim["traces"].shape  # (n_animals, n_timepoints, n_units)
    (3, 400, 12)
    >>> dc = DynamicConnectome(n_components=2, window=40, step=20, n_restarts=3,
    ...                        random_state=0, device="cpu").fit(sim["traces"])
    >>> dc.pair_factors_.shape, dc.time_factors_.shape, dc.animal_factors_.shape
    ((66, 2), (19, 2), (3, 2))
    >>> sorted(np.flatnonzero(m).tolist() for m in dc.motif_nodes_)  # the planted communities
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """

    def __init__(self, n_components=4, *, affinity="derivative_corr", window=40, step=20,
                 smooth_sigma=2.0, block_size=None, n_restarts=10, init="random", solver="hals",
                 max_iter=500, tol=1e-6, n_inner=5, community_method="louvain",
                 community_threshold=0.0, random_state=None, device="auto", dtype=None,
                 verbose=False, n_jobs=None, memory=None):
        self.n_components = n_components
        self.affinity = affinity
        self.window = window
        self.step = step
        self.smooth_sigma = smooth_sigma
        self.block_size = block_size
        self.n_restarts = n_restarts
        self.init = init
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.n_inner = n_inner
        self.community_method = community_method
        self.community_threshold = community_threshold
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.memory = memory

    def _cp_params(self) -> dict:
        return dict(solver=self.solver, init=self.init, max_iter=self.max_iter, tol=self.tol,
                    n_inner=self.n_inner, random_state=self.random_state, device=self.device,
                    dtype=self.dtype, verbose=self.verbose)

    @thread_policy()  # the process's share of the cores (OMP_NUM_THREADS, joblib workers)
    def fit(self, X, y=None, mask=None, neuron_labels=None):
        """Build the affinity tensor, factorise it and find each component's communities.

        Parameters
        ----------
        X : array-like (n_animals, n_timepoints, n_units), (n_timepoints, n_units) or list of (T, N)
            Traces in the package layout; an all-NaN column marks a neuron
            missing in that animal (its pairs are masked there). The layout
            changed in this release (it was ``(n_animals, n_neurons,
            n_timepoints)``): an old array is refused where it can be told
            apart (fewer timepoints than units and than ``window``; pass
            ``np.swapaxes(X, 1, 2)``), and fewer timepoints than units draws a
            ``LayoutWarning``. With ``affinity="precomputed"``: the non-negative
            ``(P, K, W)`` tensor. A single animal (a 2-D recording) is accepted:
            the animal mode then has size one and the fit is a non-negative
            factorization of pairs × windows (``animal_factors_`` is all ones).
            Recordings must have the same length; a window longer than the
            recording, a rank with more parameters than observed entries,
            negative or non-finite affinities raise a ``ValueError``.
        y : ignored
        mask : array-like of bool, optional
            Only with ``affinity="precomputed"``: observed entries.
        neuron_labels : list of sequences, optional
            With a list of traces whose animals recorded different neurons: the
            identity of each column, one sequence per animal. The neurons are
            aligned on the union of labels (in order of first appearance, stored
            in ``neuron_labels_``); a neuron absent from an animal becomes a
            missing (masked) neuron there.

        Returns
        -------
        self
        """
        _check_cp_params(self)
        check_in(self.community_method, "community_method", ("louvain", "sbm"))
        check_scalar(self.community_threshold, "community_threshold", low=0.0, high=1.0,
                     high_inclusive=False)
        precomputed = isinstance(self.affinity, str) and self.affinity == "precomputed"
        if not precomputed:
            if not (callable(self.affinity)
                    or (isinstance(self.affinity, str) and self.affinity in AFFINITIES)):
                raise ValueError(f"affinity must be one of {list(AFFINITIES) + ['precomputed']} or "
                                 f"a callable; got {self.affinity!r}")
            check_scalar(self.smooth_sigma, "smooth_sigma", low=0.0)
            check_scalar(self.window, "window", low=1, integer=True)
            check_scalar(self.step, "step", low=1, integer=True)
            check_scalar(self.block_size, "block_size", low=1, integer=True, allow_none=True)
        self._setup_torch()
        check_float_dtype(self.dtype_)
        self.neuron_labels_ = None
        if neuron_labels is not None:
            X, self.neuron_labels_ = align_neurons(X, neuron_labels)
        if precomputed:
            tensor, m = check_nonnegative_tensor(X, "X", mask)
            self.n_nodes_ = n_nodes_from_pairs(tensor.shape[0], "X's pair mode (axis 0)")
            self.mask_ = None if m is None or m.all() else np.ascontiguousarray(m)
            self.window_starts_ = None
        else:
            if mask is not None:
                raise ValueError("mask is only accepted with affinity='precomputed'; mark missing "
                                 "neurons in the traces with NaN columns instead")
            tensor, m = _affinity_tensor(X, self.affinity, name="X", window=self.window, step=self.step,
                                        smooth_sigma=self.smooth_sigma, block_size=self.block_size,
                                        return_mask=True, device=self.device_, dtype=self.dtype_,
                                        n_jobs=self.n_jobs, memory=self.memory)
            self.n_nodes_ = n_nodes_from_pairs(tensor.shape[0])
            self.mask_ = None if m.all() else m
            self.window_starts_ = np.arange(tensor.shape[1]) * int(self.step)
        self.n_features_in_ = self.n_nodes_
        self.affinity_tensor_ = tensor
        self.pairs_ = pair_indices(self.n_nodes_)

        cp = NonnegativeCP(self.n_components, n_restarts=self.n_restarts, **self._cp_params())
        cp.fit(tensor, mask=self.mask_)
        self.weights_ = cp.weights_
        self.pair_factors_, self.time_factors_, self.animal_factors_ = cp.factors_
        self.reconstruction_error_ = cp.reconstruction_error_
        self.errors_ = cp.errors_
        self.n_iter_ = cp.n_iter_
        self.converged_ = cp.converged_
        self.restart_errors_ = cp.restart_errors_
        self.restart_models_ = cp.restart_models_
        self._find_communities()
        return self

    def _find_communities(self) -> None:
        self.communities_ = []
        self.motif_nodes_ = []
        background = []
        for r in range(self.weights_.size):
            mat = self.component_matrix(r)
            if mat.max() > 0:
                seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else 0
                if self.community_method == "sbm":
                    cut = self.community_threshold * mat.max()
                    labels = weighted_sbm(np.where(mat > cut, mat, 0.0), random_state=seed)["labels"]
                else:
                    labels = louvain_labels(mat, threshold=self.community_threshold, random_state=seed)
                self.communities_.append(labels)
                self.motif_nodes_.append(strength_two_means(mat).astype(bool))
            else:
                self.communities_.append(np.arange(self.n_nodes_))
                self.motif_nodes_.append(np.zeros(self.n_nodes_, dtype=bool))
            background.append(_cv(self.time_factors_[:, r]) <= BACKGROUND_TIME_CV
                              and _cv(self.animal_factors_[:, r]) <= BACKGROUND_ANIMAL_CV)
        self.background_ = np.array(background, dtype=bool)

    def component_matrix(self, component: int) -> np.ndarray:
        """The ``N × N`` symmetric motif of a component (pair factor, zero diagonal)."""
        check_is_fitted(self, "pair_factors_")
        n_comp = self.pair_factors_.shape[1]
        if isinstance(component, bool) or not isinstance(component, (int, np.integer)) \
                or not -n_comp <= component < n_comp:
            raise ValueError(f"component must be an integer in [0, {n_comp}); got {component!r}")
        return pairs_to_matrix(self.pair_factors_[:, component], self.n_nodes_)

    def reconstruct(self) -> np.ndarray:
        """The fitted model as a ``(P, K, W)`` tensor."""
        check_is_fitted(self, "pair_factors_")
        return np.einsum("r,pr,kr,wr->pkw", self.weights_, self.pair_factors_,
                         self.time_factors_, self.animal_factors_)

    def to_cptensor(self):
        """The fitted model as a tensorly ``CPTensor``."""
        check_is_fitted(self, "pair_factors_")
        from tensorly.cp_tensor import CPTensor

        return CPTensor((self.weights_.copy(), [self.pair_factors_.copy(), self.time_factors_.copy(),
                                                 self.animal_factors_.copy()]))

    def rank_sweep(self, ranks: Sequence[int], n_restarts: int | None = None, **cp_params) -> dict:
        """Error and restart stability of the NTF at each rank (on the fitted tensor).

        Parameters
        ----------
        ranks : sequence of int, e.g. ``range(1, 8)``
        n_restarts : int, optional
            Restarts per rank; defaults to ``n_restarts``.
        **cp_params
            Overrides of the NTF parameters (``max_iter``, ``tol``, ...).

        Returns
        -------
        dict, see :func:`neurodyn.connectome.ntf.rank_sweep`; also stored as
        ``rank_sweep_``. ``elbow_rank`` is the rank suggested by the error elbow.
        """
        check_is_fitted(self, "affinity_tensor_")
        params = self._cp_params()
        params.update(cp_params)
        n_restarts = self.n_restarts if n_restarts is None else n_restarts
        self.rank_sweep_ = rank_sweep(self.affinity_tensor_, list(ranks), n_restarts=n_restarts,
                                      mask=self.mask_, **params)
        return self.rank_sweep_
