"""Public data for neurodyn: loaders, nilearn fetcher wrappers and ground-truth simulators.

- :func:`get_data_home` / :func:`dataset_status`: where data live and what is present.
- Loaders (``load_*``) read the registered data sets (``data/datasets.json``) from
  ``<data_home>/<folder>``, downloading them when the registry says how, and return
  a :class:`sklearn.utils.Bunch` of numpy arrays plus ``meta`` (a :class:`DatasetMeta`).
- ``fetch_*`` wrap nilearn's public fetchers and return the same schema.
- :mod:`neurodyn.datasets.simulate` holds each capability's ground-truth simulator.

Where data are looked for
-------------------------
``data_home`` argument, then the ``NEURODYN_DATA`` environment variable (when
set and non-empty), then ``~/neurodyn_data`` (:func:`get_data_home`). Loaders
download a registered data set's missing files with pooch when the registry
gives a URL (pass ``download_if_missing=False`` to refuse); data sets without
a URL must be copied into ``<data_home>/<folder>/`` by hand
(:func:`dataset_status` says which).

Environment variables
---------------------
``NEURODYN_DATA``
    The data folder used when no ``data_home`` is passed.
``NEURODYN_ALLOW_DOWNLOAD``
    Set to ``1`` to let the tutorials run their parts that need the network
    beyond the registered data sets (the nilearn fetchers :func:`fetch_adhd`,
    :func:`fetch_development_fmri`, :func:`fetch_haxby`, which download into
    nilearn's own cache). Unset, those parts are skipped with a message. It
    does not affect the loaders or the test suite, which never needs the network.

The metadata schema and the registry format are documented in
:mod:`neurodyn.datasets._base`.
"""

import importlib

from ._base import (
    DatasetMeta,
    dataset_status,
    fetch_dataset_files,
    file_sha256,
    get_data_home,
    load_registry,
    registry_path,
)
from .fetchers import fetch_adhd, fetch_development_fmri, fetch_haxby
from .loaders import (
    APLYSIA_PREPARATIONS,
    HCP_GROUP_FC_NAMES,
    bin_spike_times,
    load_aal2_bold,
    load_aplysia,
    load_frontal2d_adhd,
    load_fsa5_rest,
    load_hcp_group_fc,
    load_mni152_coords,
    load_rsatoolbox_demo,
    load_rsatoolbox_reference,
    load_synthetic_connectome,
)

__all__ = [
    "simulate",
    "DatasetMeta",
    "get_data_home",
    "dataset_status",
    "load_registry",
    "registry_path",
    "fetch_dataset_files",
    "file_sha256",
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
    "fetch_adhd",
    "fetch_development_fmri",
    "fetch_haxby",
]


def __getattr__(name: str):
    # imported on first use, so a simulator under construction cannot break the loaders
    if name == "simulate":
        return importlib.import_module(f"{__name__}.simulate")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
