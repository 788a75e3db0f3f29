"""Figures for fitted GLMs and state-switching GLMs (matplotlib)."""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_finite, check_scalar

__all__ = ["plot_states", "plot_coupling", "plot_model_selection"]


def plot_states(posterior, true_states=None, decoded=None, ax=None, dt=None):
    """Posterior state probabilities over time, optionally with true and decoded states.

    Parameters
    ----------
    posterior : ndarray (n_timepoints, n_states)
    true_states, decoded : ndarray (n_timepoints,), optional
    ax : matplotlib Axes, optional
    dt : float, optional
        Bin width in seconds (x axis in seconds instead of bins).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    posterior = check_finite(check_array(posterior, "posterior", ndim=2,
                                         dims="(n_timepoints, n_states)"), "posterior")
    if posterior.min() < -1e-9 or posterior.max() > 1 + 1e-9:
        raise ValueError(f"posterior must hold probabilities in [0, 1]; got values in "
                         f"[{posterior.min():.3g}, {posterior.max():.3g}]")
    labels = {}
    for name, value in (("true_states", true_states), ("decoded", decoded)):
        if value is not None:
            arr = check_finite(check_array(value, name, ndim=1, dims="(n_timepoints,)"), name)
            if arr.shape[0] != posterior.shape[0]:
                raise ValueError(f"{name} must have one state per bin ({posterior.shape[0]}); got "
                                 f"{arr.shape[0]}")
            labels[name] = arr
    dt = check_scalar(dt, "dt", low=0.0, low_inclusive=False, allow_none=True)
    true_states, decoded = labels.get("true_states"), labels.get("decoded")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 2.6))
    t = np.arange(posterior.shape[0]) * (dt or 1.0)
    ax.stackplot(t, posterior.T, alpha=0.8, labels=[f"state {s}" for s in range(posterior.shape[1])])
    top = 1.0
    if true_states is not None:
        ax.plot(t, 1.02 + 0.08 * np.asarray(true_states) / max(1, posterior.shape[1] - 1), "k",
                lw=1.2, label="true state")
        top = 1.12
    if decoded is not None:
        ax.plot(t, 1.14 + 0.08 * np.asarray(decoded) / max(1, posterior.shape[1] - 1),
                color="tab:red", lw=1.2, label="Viterbi")
        top = 1.24
    ax.set_ylim(0, top)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("time (s)" if dt else "bin")
    ax.set_ylabel("p(state | spikes)")
    # outside the axes, to the right: inside, it covered the state traces drawn at the top
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7)
    return ax


def plot_coupling(coupling, titles=None, vmax=None, fig=None, label="coupling weight"):
    """One heat map per state of the coupling matrices ``[state, post, pre]``.

    The colour map is diverging and centred at 0 with symmetric limits
    (``-vmax`` to ``vmax``, default the largest absolute weight), so excitation
    and inhibition read as red and blue; rows are the postsynaptic
    (receiving) neurons, columns the presynaptic (sending) ones, and a labelled
    colour bar gives the scale.

    Parameters
    ----------
    coupling : ndarray (n_neurons, n_neurons) or (n_states, n_neurons, n_neurons)
    titles : sequence of str, optional
        One title per state.
    vmax : float, optional
        Colour limit (default: the largest absolute weight).
    fig : matplotlib Figure, optional
    label : str
        Colour bar label (say the units where they are known).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    W = check_finite(check_array(coupling, "coupling", ndim=(2, 3),
                                 dims="(n_neurons, n_neurons) or (n_states, n_neurons, n_neurons)"),
                     "coupling")
    if W.ndim == 2:
        W = W[None]
    n = W.shape[0]
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles must have one entry per state ({n}); got {len(titles)}")
    vmax = check_scalar(vmax, "vmax", low=0.0, low_inclusive=False, allow_none=True)
    vmax = vmax or float(np.abs(W).max()) or 1.0
    if fig is None:
        fig = plt.figure(figsize=(2.3 * n + 1.2, 2.9), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for s, ax in enumerate(axes):
        im = ax.imshow(W[s], cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(titles[s] if titles else f"state {s}", fontsize=9)
        ax.set_xlabel("presynaptic neuron")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.yaxis.get_major_locator().set_params(integer=True)
        if s == 0:
            ax.set_ylabel("postsynaptic neuron")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=label)
    return fig


def plot_model_selection(result, ax=None):
    """Held-out log-likelihood and BIC against the number of states (from ``select_n_states``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    keys = ("n_states", "test_log_likelihood", "bic")
    if not hasattr(result, "keys") or any(key not in result for key in keys):
        raise TypeError(f"result must be the dict returned by select_n_states (keys {list(keys)}); "
                        f"got {type(result).__name__}")
    for key in keys[1:]:
        check_finite(check_array(result[key], f"result[{key!r}]", ndim=1), f"result[{key!r}]")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3))
    k = result["n_states"]
    ax.plot(k, result["test_log_likelihood"], "o-", color="tab:blue")
    ax.set_xlabel("number of states")
    ax.set_ylabel("held-out LL (nats/bin/neuron)", color="tab:blue")
    ax.set_xticks(k)
    twin = ax.twinx()
    twin.plot(k, result["bic"], "s--", color="tab:gray")
    twin.set_ylabel("BIC", color="tab:gray")
    return ax
