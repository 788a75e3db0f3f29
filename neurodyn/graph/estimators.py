"""Scikit-learn estimators for functional graphs: one subject, or a cohort of subjects."""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._parallel import check_memory, check_n_jobs, parallel_map
from .._validation import check_array, check_in, check_positive_int, check_recordings
from .classify import _check_numeric_dtype
from .connectivity import (
    _ROUNDINGS,
    _check_bool,
    _check_threshold_args,
    _check_warn_transposed,
    _warn_layout,
    correlation_graph,
)
from .features import (
    FEATURES,
    WEIGHTED_FEATURES,
    _normalise_features,
    node_features,
    weighted_node_features,
)

__all__ = ["FunctionalGraph", "GraphFeatures"]

_DEFAULT_THRESHOLD = 0.5


def _resolve_threshold(threshold, density):
    """Both None means the default threshold; both given is an error (raised later)."""
    if threshold is None and density is None:
        return _DEFAULT_THRESHOLD, None
    return threshold, density


class FunctionalGraph(BaseEstimator):
    """Binary functional graph of one recording by thresholded Pearson correlation.

    Parameters
    ----------
    threshold : float in [-1, 1], optional
        Keep node pairs with ``r > threshold`` (strict). Used when ``density``
        is None; defaults to 0.5 when both are None.
    density : float in (0, 1], optional
        Keep this fraction of node pairs, those of largest correlation.
    absolute : bool, default False
        Threshold ``|r|`` instead of ``r``.
    zero_variance : {"drop", "isolate", "raise"}, default "drop"
        Constant nodes are removed (``nodes_`` lists the columns kept), kept
        without edges, or rejected.
    block_size : int, default 1024
        Rows of the correlation matrix computed at once.
    device : {"auto", "cpu", "cuda"}, default "auto"
        Where the float32 correlation blocks are computed (decisions are float64).
    warn_transposed : {"auto", True, False}, default "auto"
        :class:`~neurodyn._validation.LayoutWarning` when ``X`` has fewer
        timepoints than nodes; ``"auto"`` warns only for graphs of at most
        5000 nodes (voxel and vertex graphs normally have more nodes than
        timepoints), ``False`` never.
    rounding : {"half_even", "half_up"}, default "half_even"
        Rounding of ``density * n_pairs`` to a number of edges; ``"half_up"`` as
        the Brain Connectivity Toolbox (see :func:`density_to_n_edges`).

    Attributes
    ----------
    n_features_in_ : int
        Number of columns (nodes, constant ones included) of the ``X`` given to fit.
    adjacency_ : scipy.sparse.csr_array of bool, shape ``(n_nodes_, n_nodes_)``
    nodes_ : ndarray of int
        Column of ``X`` behind each node.
    constant_nodes_ : ndarray of int
        Columns of ``X`` with zero variance.
    threshold_ : float
        Threshold applied (strict ``>``); in density mode, the float64
        correlation of the first pair left out.
    n_edges_ : int
    density_ : float
    n_refined_ : int
        Pairs decided by the float64 recomputation.

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.

    Examples
    --------
    >>> from neurodyn.graph import FunctionalGraph
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((200, 2))  # two shared signals, each driving 3 units
    >>> X = np.repeat(z, 3, axis=1) + 0.5 * rng.standard_normal((200, 6))  # (n_timepoints, n_units)
    >>> g = FunctionalGraph(threshold=0.5, device="cpu").fit(X)
    >>> g.adjacency_.toarray().astype(int)
    array([[0, 1, 1, 0, 0, 0],
           [1, 0, 1, 0, 0, 0],
           [1, 1, 0, 0, 0, 0],
           [0, 0, 0, 0, 1, 1],
           [0, 0, 0, 1, 0, 1],
           [0, 0, 0, 1, 1, 0]])
    >>> g.n_edges_, round(g.density_, 2)
    (6, 0.4)
    """

    def __init__(self, threshold=None, density=None, absolute=False, zero_variance="drop",
                 block_size=1024, device="auto", warn_transposed="auto", rounding="half_even"):
        self.threshold = threshold
        self.density = density
        self.absolute = absolute
        self.zero_variance = zero_variance
        self.block_size = block_size
        self.device = device
        self.warn_transposed = warn_transposed
        self.rounding = rounding

    def fit(self, X, y=None):
        """Build the graph of the columns of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_timepoints, n_nodes)
            One recording. A stack of recordings is refused (use one
            FunctionalGraph per recording, or :class:`GraphFeatures`).
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self
        """
        _refuse_stack(X)
        _check_one_recording(X)
        threshold, density = _resolve_threshold(self.threshold, self.density)
        g = correlation_graph(X, threshold, density=density, absolute=self.absolute,
                              zero_variance=self.zero_variance, block_size=self.block_size,
                              device=self.device, warn_transposed=self.warn_transposed,
                              rounding=self.rounding)
        self.n_features_in_ = int(g.nodes.size + (g.constant_nodes.size
                                                  if self.zero_variance == "drop" else 0))
        self.adjacency_ = g.adjacency
        self.nodes_ = g.nodes
        self.constant_nodes_ = g.constant_nodes
        self.threshold_ = g.threshold
        self.n_edges_ = g.n_edges
        self.density_ = g.density
        self.n_refined_ = g.n_refined
        self.n_nodes_ = g.adjacency.shape[0]
        return self

    def node_features(self, features=FEATURES, engine="auto"):
        """Exact node features of the fitted graph; see :func:`neurodyn.graph.node_features`."""
        check_is_fitted(self, "adjacency_")
        return node_features(self.adjacency_, features, engine=engine,
                             block_size=self.block_size, device=self.device)

    def to_networkx(self):
        """The fitted graph as a ``networkx.Graph`` with nodes numbered 0 to ``n_nodes_ - 1``."""
        import networkx as nx

        check_is_fitted(self, "adjacency_")
        G = nx.from_scipy_sparse_array(self.adjacency_.astype(np.int8))
        for _, _, data in G.edges(data=True):
            data.clear()
        return G


def _is_image(obj) -> bool:
    return isinstance(obj, (str, os.PathLike)) or hasattr(obj, "get_fdata")


def _check_one_recording(X) -> None:
    """Messages in scikit-learn's wording for the cases its estimator checks probe."""
    if sp.issparse(X):
        raise TypeError("X must be a dense (n_timepoints, n_nodes) array: sparse input is not "
                        "supported (a sparse time series has no use for a correlation graph)")
    _check_numeric_dtype(X)
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        if shape[1] == 0:
            raise ValueError(f"X is empty: 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 "
                             "is required (one column per node)")
        if shape[0] < 3:
            raise ValueError(f"X is too short: a correlation needs at least 3 timepoints; got "
                             f"n_samples = {shape[0]} (shape {tuple(shape)})")


def _refuse_stack(X) -> None:
    """FunctionalGraph takes one recording: name the way out for a stack of them."""
    ndim = getattr(X, "ndim", None)
    stack = ndim == 3 or (isinstance(X, (list, tuple)) and len(X) > 0
                          and getattr(X[0], "ndim", None) == 2)
    if stack:
        raise ValueError(f"X must be one recording (n_timepoints, n_nodes); got a stack of {len(X)} "
                         "recordings: fit one FunctionalGraph per recording, or use GraphFeatures "
                         "for a cohort")


def _subject_features(series, threshold, density, absolute, features, block_size, engine, device,
                      rounding="half_even"):
    """(n_features, n_nodes) float64 feature maps of one subject; constant nodes get 0."""
    binary = tuple(f for f in features if f in FEATURES)
    weighted = tuple(f for f in features if f in WEIGHTED_FEATURES)
    g = correlation_graph(series, threshold, density=density, absolute=absolute,
                          zero_variance="isolate", block_size=block_size, device=device,
                          warn_transposed=False,  # the cohort was checked once, in _subjects
                          weighted=bool(weighted), rounding=rounding)
    f = {}
    if binary:
        f.update(node_features(g.adjacency, binary, engine=engine, block_size=block_size, device=device))
    if weighted:
        f.update(weighted_node_features(g.weights, weighted, block_size=block_size))
    return np.stack([f[name].astype(np.float64) for name in features]), g.threshold


class GraphFeatures(TransformerMixin, BaseEstimator):
    """Node-feature maps of every subject's functional graph, concatenated into rows.

    Each subject's series ``(n_timepoints, n_nodes)`` becomes a graph
    (:func:`correlation_graph`); its node features are computed exactly
    (:func:`node_features`) and laid out feature by feature:
    ``[degree of nodes 0..n-1, triangles of nodes 0..n-1, ...]``. Subjects are
    independent, so they run in parallel through joblib (``n_jobs``; any joblib
    backend works, e.g. ``joblib.parallel_config(backend="dask")`` on a
    ``dask.distributed`` cluster), and per-subject results can be cached on disk
    with ``memory``.

    Parameters
    ----------
    threshold : float in [-1, 1], optional
        Edge if ``r > threshold`` (strict); 0.5 when both this and ``density``
        are None.
    density : float in (0, 1], optional
        Keep the same fraction of pairs in every subject (top correlations).
    absolute : bool, default False
        Threshold ``|r|``.
    features : sequence of str, default ("degree", "triangles")
        Subset of ``("degree", "triangles", "clustering", "squares")`` (binary
        graph) and ``("strength", "weighted_clustering", "positive_clustering",
        "negative_clustering")`` (the same edges weighted by their correlation
        ``r``, see :func:`weighted_node_features`: the sum of ``r``, Onnela's
        clustering with ``r`` divided by the subject's largest ``|r|``, and its
        split by the sign of ``r``, which matters with ``absolute=True``).
    block_size : int, default 1024
    engine : {"auto", "bitset", "sparse", "torch"}, default "auto"
    device : {"auto", "cpu", "cuda"}, default "auto"
    n_jobs : int or None
        Subjects processed in parallel (joblib semantics).
    memory : None, str, path or joblib.Memory
        Cache of per-subject feature maps.
    masker : nilearn masker, optional
        Used to turn 4-D images (paths or Nifti objects) into ``(time, voxels)``
        arrays, and feature rows back into images (:meth:`to_nifti`).
    verbose : bool, default False
        Progress bar over subjects.
    warn_transposed : {"auto", True, False}, default "auto"
        :class:`~neurodyn._validation.LayoutWarning` (once per call) when array
        subjects have fewer timepoints than nodes; ``"auto"`` warns only for
        graphs of at most 5000 nodes (voxel graphs normally have more nodes
        than timepoints), ``False`` never. Images turned into arrays by
        ``masker`` are never checked: their layout is known.
    rounding : {"half_even", "half_up"}, default "half_even"
        Rounding of ``density * n_pairs`` to a number of edges; ``"half_up"`` as
        the Brain Connectivity Toolbox (see :func:`density_to_n_edges`).

    Attributes
    ----------
    n_features_in_ : int
        Number of nodes (columns of each subject's series) seen in fit.
    n_nodes_ : int
    features_ : tuple of str
    feature_names_ : ndarray of str
        ``"<feature>_<node>"`` for every output column.
    thresholds_ : ndarray
        Threshold used for each subject of the cohort given to :meth:`fit_transform`
        (for other data: ``transform(X, return_thresholds=True)``).
    masker_ : nilearn masker
        The masker applied to image inputs (a fitted copy when ``masker`` was
        not fitted); only set for image inputs.

    Notes
    -----
    Input layout: a cohort is a 3-D array ``(n_subjects, n_timepoints, n_nodes)``
    or a list of ``(n_timepoints_i, n_nodes)`` arrays (or of 4-D images with
    ``masker``). A single 2-D array is refused: it would be one subject, giving
    one feature row; pass ``X[None]`` or ``[X]`` for that.

    Constant (zero-variance) nodes, e.g. outside the brain, are kept as isolated
    nodes, so they have every feature equal to 0 and columns stay aligned
    across subjects. All subjects must share the number of nodes. With a fixed
    correlation ``threshold`` they must also share the number of timepoints (the
    null distribution of ``r`` narrows with the series length, so one threshold
    means different graphs at different lengths); with ``density`` the series may
    differ in length (e.g. scans of different durations across sites).

    Running a cohort on a cluster: install the optional ``dask[distributed]``
    packages, connect a client to the cluster's scheduler (or create one with
    e.g. ``dask_jobqueue.SLURMCluster``) and select joblib's dask backend::

        from dask.distributed import Client
        from joblib import parallel_config

        client = Client("tcp://scheduler-host:8786")
        with parallel_config(backend="dask"):
            X = GraphFeatures(density=0.02, n_jobs=-1).fit_transform(subjects)

    Images are masked in the calling process and each subject's
    ``(time, voxels)`` array is sent to a worker; give ``memory`` a folder on a
    file system that the workers share so that cached graphs are reused.

    References
    ----------
    S. Dey, A. R. Rao, M. Shah (2012). Exploiting the brain's network structure in
    identifying ADHD subjects. Front. Syst. Neurosci. 6:75.

    Examples
    --------
    >>> from neurodyn.graph import GraphFeatures
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((4, 100, 2))  # 4 subjects, two shared signals each
    >>> X = np.repeat(z, 3, axis=2) + 0.5 * rng.standard_normal((4, 100, 6))
    >>> X.shape  # (n_subjects, n_timepoints, n_units)
    (4, 100, 6)
    >>> gf = GraphFeatures(threshold=0.5, device="cpu")
    >>> F = gf.fit_transform(X)
    >>> F.shape  # one row per subject: degree and triangles of 6 nodes
    (4, 12)
    >>> gf.feature_names_[[0, 6]].tolist(), F[0].tolist()
    (['degree_0', 'triangles_0'], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    """

    def __init__(self, threshold=None, density=None, absolute=False,
                 features=("degree", "triangles"), block_size=1024, engine="auto",
                 device="auto", n_jobs=None, memory=None, masker=None, verbose=False,
                 warn_transposed="auto", rounding="half_even"):
        self.threshold = threshold
        self.density = density
        self.absolute = absolute
        self.features = features
        self.block_size = block_size
        self.engine = engine
        self.device = device
        self.n_jobs = n_jobs
        self.memory = memory
        self.masker = masker
        self.verbose = verbose
        self.warn_transposed = warn_transposed
        self.rounding = rounding

    def _check_params(self):
        threshold, density = _resolve_threshold(self.threshold, self.density)
        _check_threshold_args(threshold, density, self.absolute)
        check_positive_int(self.block_size, "block_size")
        check_in(self.engine, "engine", ("auto", "bitset", "sparse", "torch"))
        _check_warn_transposed(self.warn_transposed)
        check_in(self.rounding, "rounding", _ROUNDINGS)
        check_n_jobs(self.n_jobs)
        check_memory(self.memory)
        return threshold, density, _normalise_features(self.features, FEATURES + WEIGHTED_FEATURES)

    def _subjects(self, X, fit=False, same_length=True) -> list[np.ndarray]:
        if isinstance(X, (str, bytes, os.PathLike)) or hasattr(X, "get_fdata"):
            raise TypeError(f"X must be a cohort (a list of subjects); got one {type(X).__name__}: "
                            "wrap a single image in a list, [X]")
        if not isinstance(X, (list, tuple)):
            ndim = getattr(X, "ndim", None)
            if ndim is None:
                raise TypeError("X must be a 3-D array (n_subjects, n_timepoints, n_nodes) or a "
                                f"list of (n_timepoints, n_nodes) arrays; got {type(X).__name__}")
            if ndim == 2:
                raise ValueError(
                    f"X must be a cohort: a 3-D array (n_subjects, n_timepoints, n_nodes) or a list "
                    f"of (n_timepoints, n_nodes) arrays; got one 2-D array of shape {tuple(X.shape)}. "
                    "For one subject pass X[None] or [X]")
        from_images = False
        if isinstance(X, (list, tuple)) and len(X) and any(_is_image(x) for x in X):
            if self.masker is None:
                raise ValueError("X holds images; pass masker= (e.g. a nilearn NiftiMasker) "
                                 "to turn them into (time, voxels) arrays")
            if fit or not hasattr(self, "masker_"):
                # an unfitted masker is fitted on a copy, leaving the parameter untouched
                if hasattr(self.masker, "mask_img_"):
                    self.masker_ = self.masker
                else:
                    masker = clone(self.masker)
                    # with a given mask no image is needed; otherwise the mask comes from X[0]
                    has_mask = getattr(masker, "mask_img", None) is not None
                    self.masker_ = masker.fit() if has_mask else masker.fit(X[0])
            X = [self.masker_.transform(x) for x in X]
            from_images = True
        subjects = check_recordings(X, "X", min_timepoints=3, allow_constant=True)
        if not from_images:
            short = [i for i, s in enumerate(subjects) if s.shape[0] < s.shape[1]]
            if short:
                more = f" (and {len(short) - 1} other subjects)" if len(short) > 1 else ""
                _warn_layout(subjects[short[0]].shape[0], subjects[short[0]].shape[1],
                             f"X[{short[0]}]", self.warn_transposed, what=more)
        lengths = {s.shape[0] for s in subjects}
        if same_length and len(lengths) > 1:
            raise ValueError(f"X holds series of different lengths {sorted(lengths)}; a fixed "
                             "correlation threshold means different graphs at different lengths. "
                             "Use density= instead, or cut the series to a common length")
        return subjects

    def fit(self, X, y=None):
        """Validate the cohort and parameters; learns only the layout of the columns.

        Parameters
        ----------
        X : array (n_subjects, n_timepoints, n_nodes) or list of (n_timepoints_i, n_nodes)
            The cohort (or a list of 4-D images with ``masker``).
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self
        """
        threshold, density, _ = self._check_params()
        subjects = self._subjects(X, fit=True, same_length=density is None)
        self._set_layout(subjects[0].shape[1])
        return self

    def _set_layout(self, n_nodes):
        self.features_ = _normalise_features(self.features, FEATURES + WEIGHTED_FEATURES)
        self.n_nodes_ = int(n_nodes)
        self.n_features_in_ = int(n_nodes)
        self.feature_names_ = np.array([f"{f}_{i}" for f in self.features_ for i in range(n_nodes)])

    def transform(self, X, return_thresholds=False):
        """Feature rows ``(n_subjects, n_features * n_nodes)``, float64.

        With ``return_thresholds=True`` also returns the correlation threshold used
        for each subject (the same value for all with ``threshold``; per subject
        with ``density``).
        """
        check_is_fitted(self, "n_nodes_")
        _check_bool(return_thresholds, "return_thresholds")
        _, density, _ = self._check_params()
        subjects = self._subjects(X, same_length=density is None)
        if subjects[0].shape[1] != self.n_nodes_:
            raise ValueError(f"X has {subjects[0].shape[1]} nodes per subject; this GraphFeatures "
                             f"was fitted with {self.n_nodes_}")
        rows, thresholds = self._rows(subjects)
        return (rows, thresholds) if return_thresholds else rows

    def _rows(self, subjects):
        """Feature rows and per-subject thresholds of validated subjects."""
        threshold, density, features = self._check_params()
        results = parallel_map(
            _subject_features, subjects,
            args=(threshold, density, self.absolute, features, self.block_size, self.engine,
                  self.device, self.rounding),
            n_jobs=self.n_jobs, memory=self.memory, desc="subject", verbose=self.verbose)
        return np.stack([r[0].reshape(-1) for r in results]), np.array([r[1] for r in results])

    def fit_transform(self, X, y=None, **fit_params):
        """Fit and transform in one validation pass; sets ``thresholds_``.

        Parameters
        ----------
        X : array (n_subjects, n_timepoints, n_nodes) or list of (n_timepoints_i, n_nodes)
        y : None
            Ignored.

        Returns
        -------
        ndarray of shape (n_subjects, n_features * n_nodes)
        """
        _, density, _ = self._check_params()
        subjects = self._subjects(X, fit=True, same_length=density is None)
        self._set_layout(subjects[0].shape[1])
        rows, self.thresholds_ = self._rows(subjects)
        return rows

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_nodes_")
        return self.feature_names_.astype(object)

    def feature_maps(self, row) -> dict:
        """Split one output row (or a vector of that length) into ``feature -> (n_nodes,)``."""
        check_is_fitted(self, "n_nodes_")
        row = check_array(row, "row", ndim=1, dims="(n_features * n_nodes,)")
        if not np.isfinite(row).all():
            raise ValueError(f"row must be finite; got {int((~np.isfinite(row)).sum())} NaN/Inf values")
        if row.shape != (len(self.features_) * self.n_nodes_,):
            raise ValueError(f"row must have shape ({len(self.features_) * self.n_nodes_},); "
                             f"got {row.shape}")
        maps = row.reshape(len(self.features_), self.n_nodes_)
        return {name: maps[k].copy() for k, name in enumerate(self.features_)}

    def to_nifti(self, row, masker=None) -> dict:
        """Feature maps of one row as brain images, ``feature -> Nifti1Image``.

        Parameters
        ----------
        row : array-like of shape (n_features * n_nodes,)
            A row of :meth:`transform`, or any vector laid out the same way
            (e.g. a PCA-LDA weight map).
        masker : fitted nilearn masker, optional
            Defaults to the masker used in :meth:`fit` (``masker_``, else ``masker``).
        """
        if masker is None:
            masker = getattr(self, "masker_", self.masker)
        if masker is None:
            raise ValueError("to_nifti needs a fitted masker (e.g. nilearn NiftiMasker)")
        return {name: masker.inverse_transform(values)
                for name, values in self.feature_maps(row).items()}
