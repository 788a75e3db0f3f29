"""Thin wrappers over nilearn's public fMRI fetchers, returning neurodyn's data schema.

Each wrapper calls the nilearn fetcher of the same name (which downloads into
nilearn's data folder, ``data_dir``), then returns a
:class:`sklearn.utils.Bunch` with

``func``
    list of paths to 4-D NIfTI images, one per subject;
``confounds``
    list of paths to confound tables (same order), or None;
``phenotypic``
    the participants table (pandas DataFrame) or None;
``subjects``
    list of subject ids, aligned with ``func``;
``labels``
    per-subject labels aligned with ``func`` (per-volume labels for Haxby);
``t_r``
    repetition time in seconds;
``meta``
    a :class:`~neurodyn.datasets.DatasetMeta`.

When the network is unreachable the wrappers raise ``FileNotFoundError`` with
advice instead of nilearn's network error.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_positive_int
from ._base import DatasetMeta

__all__ = ["fetch_adhd", "fetch_development_fmri", "fetch_haxby"]


def _call_nilearn(fetcher_name: str, **kwargs: Any) -> Bunch:
    import nilearn.datasets

    fetcher = getattr(nilearn.datasets, fetcher_name)
    try:
        return fetcher(**kwargs)
    except OSError as exc:  # network errors (urllib, requests) are OSErrors
        where = kwargs.get("data_dir") or os.environ.get("NILEARN_DATA") or "~/nilearn_data"
        raise FileNotFoundError(
            f"nilearn.datasets.{fetcher_name} could not get its files ({type(exc).__name__}: {exc}). "
            f"Connect to the network once, or put nilearn's files for this data set under {where} "
            "(pass data_dir= or set the NILEARN_DATA environment variable)."
        ) from exc


def _check_n_subjects(n_subjects: Any, maximum: int) -> int | None:
    """``n_subjects`` is None (all) or an integer in ``1..maximum``, checked before any download."""
    if n_subjects is None:
        return None
    n = check_positive_int(n_subjects, "n_subjects")
    if n > maximum:
        raise ValueError(f"n_subjects must be at most {maximum} (the subjects this data set has); got {n}")
    return n


def _check_haxby_subjects(subjects: Any) -> Any:
    """``subjects`` is None, an int n (subjects 1..n) or a sequence of subject numbers in 1..6."""
    if subjects is None:
        return None
    if isinstance(subjects, (int, np.integer)) and not isinstance(subjects, bool):
        n = check_positive_int(subjects, "subjects")
        if n > 6:
            raise ValueError(f"subjects must be at most 6 (Haxby has 6 subjects); got {n}")
        return n
    if isinstance(subjects, (str, bytes)) or not hasattr(subjects, "__iter__"):
        raise TypeError(f"subjects must be None, an int or a sequence of subject numbers 1..6; "
                        f"got {subjects!r} ({type(subjects).__name__})")
    items = list(subjects)
    if not items:
        raise ValueError("subjects is empty; pass None for all 6 subjects")
    for v in items:
        check_positive_int(v, "subjects")
    bad = sorted({int(v) for v in items if not 1 <= int(v) <= 6})
    if bad:
        raise ValueError(f"subjects must be numbers among 1..6; got {bad}")
    return [int(v) for v in items]


def _paths(items: Any) -> list[str] | None:
    if items is None:
        return None
    return [str(p) if p is not None else None for p in items]


def _description(bunch: Bunch) -> str:
    text = str(bunch.get("description", "") or "").strip()
    return text.split("\n\n")[0][:600]


def fetch_adhd(n_subjects: int | None = 30, data_dir: str | os.PathLike | None = None,
               verbose: int = 0, **kwargs: Any) -> Bunch:
    """Resting-state fMRI of up to 40 ADHD-200 subjects (nilearn ``fetch_adhd``).

    Parameters
    ----------
    n_subjects : int or None
        Number of subjects (at most 40; None for all).
    data_dir : str or path-like, optional
        nilearn's data folder.
    verbose : int
        nilearn's verbosity.
    **kwargs
        Passed to :func:`nilearn.datasets.fetch_adhd` (``url``, ``resume``).

    Returns
    -------
    sklearn.utils.Bunch
        See the module docstring. ``labels``: (n_subjects,) int, 1 = ADHD,
        0 = control, -1 where the phenotypic table has no row for the subject
        (joined on the zero-padded 7-digit subject id); ``t_r`` = 2.0.

    References
    ----------
    ADHD-200 Consortium (2012). The ADHD-200 Consortium: a model to advance the
    translational potential of neuroimaging in clinical neuroscience.
    Front Syst Neurosci 6:62.
    """
    n_subjects = _check_n_subjects(n_subjects, 40)
    raw = _call_nilearn("fetch_adhd", n_subjects=n_subjects, data_dir=data_dir, verbose=verbose, **kwargs)
    func = _paths(raw.func)
    subjects = [Path(f).parent.name for f in func]
    pheno = raw.get("phenotypic")
    labels = np.full(len(func), -1, dtype=np.int64)
    if pheno is not None and len(pheno):
        ids = [str(s).strip() for s in pheno["Subject"]]
        ids = [s.zfill(7) if s.isdigit() else s for s in ids]
        by_id = dict(zip(ids, (int(v) if v == v else -1 for v in pheno["adhd"]), strict=True))  # NaN -> -1
        for k, s in enumerate(subjects):
            labels[k] = by_id.get(s.zfill(7) if s.isdigit() else s, -1)
    unknown = [s for s, lab in zip(subjects, labels, strict=True) if lab == -1]
    if unknown:
        warnings.warn(f"no phenotypic row for subjects {unknown}; their label is -1", stacklevel=2)
    t_r = float(raw.get("t_r", 2.0))
    meta = DatasetMeta(
        name="nilearn_adhd",
        description=_description(raw) or "Resting-state fMRI of ADHD-200 subjects (nilearn subset of 40).",
        licence="ADHD-200 Consortium data-use terms (see the ADHD-200 pages on NITRC)",
        citation="ADHD-200 Consortium (2012). Front Syst Neurosci 6:62.",
        source=["https://www.nitrc.org/frs/?group_id=383"],
        files=[Path(f) for f in func] + [Path(c) for c in _paths(raw.get("confounds")) or []],
        extra={"t_r": t_r, "label_meaning": {"1": "ADHD", "0": "control", "-1": "unknown"}},
    )
    return Bunch(func=func, confounds=_paths(raw.get("confounds")), phenotypic=pheno,
                 subjects=subjects, labels=labels, t_r=t_r, meta=meta)


_SUB_RE = re.compile(r"(sub-[A-Za-z0-9]+)")


def fetch_development_fmri(n_subjects: int | None = None, data_dir: str | os.PathLike | None = None,
                           verbose: int = 0, **kwargs: Any) -> Bunch:
    """Movie-watching fMRI of children and adults (nilearn ``fetch_development_fmri``).

    Parameters
    ----------
    n_subjects : int or None
        Number of subjects (None for all 155).
    data_dir : str or path-like, optional
        nilearn's data folder.
    verbose : int
        nilearn's verbosity.
    **kwargs
        Passed to :func:`nilearn.datasets.fetch_development_fmri`
        (``reduce_confounds``, ``age_group``, ``resume``).

    Returns
    -------
    sklearn.utils.Bunch
        See the module docstring. ``labels``: (n_subjects,) ``"child"`` or
        ``"adult"`` (empty string where the participants table has no row);
        ``t_r`` = 2.0.

    References
    ----------
    Richardson H, Lisandrelli G, Riobueno-Naylor A, Saxe R (2018). Development
    of the social brain from age three to twelve years. Nat Commun 9:1027.
    """
    n_subjects = _check_n_subjects(n_subjects, 155)
    raw = _call_nilearn("fetch_development_fmri", n_subjects=n_subjects, data_dir=data_dir,
                        verbose=verbose, **kwargs)
    func = _paths(raw.func)
    subjects = []
    for f in func:
        m = _SUB_RE.search(Path(f).name)
        subjects.append(m.group(1) if m else Path(f).name)
    pheno = raw.get("phenotypic")
    labels = np.array([""] * len(func), dtype=object)
    if pheno is not None and len(pheno):
        by_id = dict(zip((str(s) for s in pheno["participant_id"]),
                         (str(v) for v in pheno["Child_Adult"]), strict=True))
        labels = np.array([by_id.get(s, "") for s in subjects], dtype=object)
    labels = labels.astype(str)
    t_r = float(raw.get("t_r", 2.0))
    meta = DatasetMeta(
        name="nilearn_development_fmri",
        description=_description(raw) or "Movie-watching fMRI of 122 children and 33 adults (OpenNeuro ds000228).",
        licence="CC0 (OpenNeuro ds000228)",
        citation="Richardson H et al. (2018). Development of the social brain from age three to twelve years. "
                 "Nat Commun 9:1027.",
        source=["https://openneuro.org/datasets/ds000228/versions/1.0.0", "https://osf.io/5hju4/files/"],
        files=[Path(f) for f in func] + [Path(c) for c in _paths(raw.get("confounds")) or []],
        extra={"t_r": t_r, "label_meaning": {"child": "3-12 years", "adult": "18-39 years"}},
    )
    return Bunch(func=func, confounds=_paths(raw.get("confounds")), phenotypic=pheno,
                 subjects=subjects, labels=labels, t_r=t_r, meta=meta)


def _read_session_target(path: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh, delimiter=" ") if r]
    header, body = rows[0], rows[1:]
    if header[:2] != ["labels", "chunks"]:
        raise ValueError(f"{path} must start with the header 'labels chunks'; got {' '.join(header)!r}")
    labels = np.array([r[0] for r in body])
    runs = np.array([int(r[1]) for r in body], dtype=np.int64)
    return labels, runs


def fetch_haxby(subjects: int | list[int] | tuple[int, ...] | None = (2,),
                data_dir: str | os.PathLike | None = None, verbose: int = 0, **kwargs: Any) -> Bunch:
    """Object-category fMRI of Haxby et al. (2001) (nilearn ``fetch_haxby``).

    Parameters
    ----------
    subjects : int, list of int or None
        Subject numbers among 1..6 (an int n means subjects 1..n).
    data_dir : str or path-like, optional
        nilearn's data folder.
    verbose : int
        nilearn's verbosity.
    **kwargs
        Passed to :func:`nilearn.datasets.fetch_haxby` (``fetch_stimuli``, ``url``, ``resume``).

    Returns
    -------
    sklearn.utils.Bunch
        See the module docstring; here ``labels`` is a list (per subject) of
        (n_volumes,) condition names (``"rest"``, ``"face"``, ``"house"``, ...),
        ``runs`` the matching run index per volume, ``confounds`` is None, and
        ``mask_vt``, ``anat`` (None for subject 6), ``mask`` hold the extra
        images; ``t_r`` = 2.5.

    References
    ----------
    Haxby JV et al. (2001). Distributed and overlapping representations of
    faces and objects in ventral temporal cortex. Science 293:2425-2430.
    """
    subjects = _check_haxby_subjects(subjects)
    raw = _call_nilearn("fetch_haxby", subjects=subjects, data_dir=data_dir, verbose=verbose, **kwargs)
    func = _paths(raw.func)
    targets = _paths(raw.session_target)
    labels, runs = [], []
    for t in targets:
        lab, run = _read_session_target(t)
        labels.append(lab)
        runs.append(run)
    subj = [Path(f).parent.name for f in func]
    t_r = float(raw.get("t_r", 2.5))
    meta = DatasetMeta(
        name="nilearn_haxby",
        description=_description(raw) or "Block-design fMRI of 6 subjects viewing 8 object categories.",
        licence="terms of the PyMVPA data distribution (see its README)",
        citation="Haxby JV et al. (2001). Distributed and overlapping representations of faces and objects "
                 "in ventral temporal cortex. Science 293:2425.",
        source=["http://data.pymvpa.org/datasets/haxby2001/"],
        files=[Path(f) for f in func] + [Path(t) for t in targets],
        extra={"t_r": t_r, "conditions": sorted({c for lab in labels for c in lab})},
    )
    return Bunch(func=func, confounds=None, phenotypic=None, subjects=subj, labels=labels, runs=runs,
                 mask_vt=_paths(raw.get("mask_vt")), anat=_paths(raw.get("anat")), mask=raw.get("mask"),
                 t_r=t_r, meta=meta)
