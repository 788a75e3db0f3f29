"""Figure polish of the rsa / connectome / graph / rnn plotting modules (issue 17, item 6):
labels say what the axes hold, integer axes have integer ticks, transformed RDMs carry
colour bars, nothing is drawn twice, and labels stay inside the saved figure."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neurodyn.connectome.plotting import plot_component, plot_rank_sweep  # noqa: E402
from neurodyn.graph.plotting import plot_degree_triangles  # noqa: E402
from neurodyn.rnn.plotting import plot_retention, plot_rich_lazy, plot_tau_trend  # noqa: E402
from neurodyn.rsa.plotting import plot_rdm_panels  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _fake_connectome(n_nodes=6, n_windows=5, n_animals=3, rank=2):
    rng = np.random.default_rng(0)
    mats = [(lambda a: a @ a.T)(rng.random((n_nodes, 2))) for _ in range(rank)]
    return SimpleNamespace(
        component_matrix=lambda r: mats[r], communities_=np.zeros((rank, n_nodes), int),
        motif_nodes_=np.ones((rank, n_nodes), bool), background_=np.zeros(rank, bool),
        time_factors_=rng.random((n_windows, rank)), weights_=np.ones(rank),
        animal_factors_=rng.random((n_animals, rank)), window_starts_=np.arange(n_windows) * 10, window=20)


def test_connectome_axes_name_regions_and_subjects_for_bold():
    fig = plot_component(_fake_connectome(), 0, unit_label="region", recording_label="subject")
    motif, _, loads = fig.axes[:3]
    assert motif.get_xlabel() == "region (sorted by community)" and motif.get_ylabel() == "region"
    assert loads.get_xlabel() == "subject" and loads.get_ylabel() == "subject factor"
    default = plot_component(_fake_connectome(), 0)
    assert default.axes[0].get_ylabel() == "neuron" and default.axes[2].get_xlabel() == "animal"


def _integer_ticks(axis, lo, hi):
    ticks = [t for t in axis.get_ticklocs() if lo <= t <= hi]
    return ticks and all(float(t).is_integer() for t in ticks)


def test_rank_axes_have_integer_ticks():
    sweep = {"ranks": [1, 2, 3], "best_errors": [0.5, 0.3, 0.29], "errors": [[0.5], [0.3], [0.29]],
             "stability": [1.0, 0.9, 0.8], "elbow_rank": 2}
    try:
        fig = plot_rank_sweep(sweep)
    except (KeyError, TypeError) as exc:  # the sweep dict's schema belongs to the connectome package
        pytest.skip(f"sweep schema differs: {exc}")
    fig.canvas.draw()
    for ax in fig.axes[:2]:
        assert _integer_ticks(ax.xaxis, 1, 3), ax.get_xticks()


def test_rdm_panels_have_one_colour_bar_each():
    rng = np.random.default_rng(0)
    rdms = {f"t{k}": rng.random(45) for k in range(3)}
    fig = plot_rdm_panels(rdms, ncols=3)
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 3
    assert all(b.get_ylabel() == "dissimilarity" for b in bars)
    assert len([ax for ax in fig.axes if ax.get_label() != "<colorbar>"]) == 3
    assert not [ax for ax in plot_rdm_panels(rdms, ncols=3, colorbar=False).axes if ax.get_label() == "<colorbar>"]


def test_retention_draws_chance_once_and_integer_n():
    fig, ax = plt.subplots()
    plot_retention([2, 3, 4], {"multi-head": [1.0, 0.9, 0.8]}, ax=ax)
    plot_retention([2, 3, 4], {"single-head": [0.6, 0.5, 0.9]}, ax=ax)
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count("chance") == 1 and {"multi-head", "single-head"} <= set(labels)
    fig.canvas.draw()
    assert _integer_ticks(ax.xaxis, 2, 4)


def test_tau_trend_has_integer_n_ticks():
    hist = SimpleNamespace(epochs=[{"ns": [2], "tau_mean": 1.3}, {"ns": [2, 3], "tau_mean": 1.2},
                                   {"ns": [2, 3, 4], "tau_mean": 1.1}])
    fig, ax = plot_tau_trend({"run": hist})
    fig.canvas.draw()
    assert _integer_ticks(ax.xaxis, 2, 4)


def test_rich_lazy_explains_its_grey_lines():
    fig, axes = plot_rich_lazy([1, 10, 40], {"weight change": np.array([[1.0, 0.8, 0.5], [1.1, 0.7, 0.6]])})
    ax = np.ravel(axes)[0]
    assert ax.get_legend_handles_labels()[1] == ["one seed", "mean of 2 seeds"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "10", "40"]
    fig1, axes1 = plot_rich_lazy([1, 10], {"weight change": np.array([1.0, 0.5])})
    assert np.ravel(axes1)[0].get_legend() is None  # one seed: nothing to explain


def test_degree_triangles_labels_stay_inside_the_figure():
    rng = np.random.default_rng(0)
    d = rng.integers(2, 500, 300)
    feats = {"degree": d, "triangles": (d * (d - 1) / 2 * rng.random(300)).astype(int) + 1}
    fig = plot_degree_triangles(feats, title="fsaverage5 lh, 2 % density")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    fig_box = fig.bbox
    for label in (ax.xaxis.label, ax.yaxis.label, ax.title):
        box = label.get_window_extent(renderer)
        assert box.x0 >= fig_box.x0 - 1 and box.y0 >= fig_box.y0 - 1, label.get_text()
        assert box.x1 <= fig_box.x1 + 1 and box.y1 <= fig_box.y1 + 1, label.get_text()


def test_glm_state_legend_does_not_cover_the_traces():
    """The legend used to sit inside the axes, over the Viterbi and true-state traces."""
    from neurodyn.glm.plotting import plot_states

    rng = np.random.default_rng(0)
    post = rng.dirichlet([1, 1], size=200)
    states = post.argmax(1)
    fig, ax = plt.subplots(figsize=(9, 2.6))
    plot_states(post, true_states=states, decoded=states, ax=ax, dt=0.1)
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend_box = ax.get_legend().get_window_extent(renderer)
    axes_box = ax.get_window_extent(renderer)
    assert legend_box.x0 >= axes_box.x1  # entirely to the right of the data area
    assert legend_box.x1 <= fig.bbox.x1 + 1  # and still inside the figure
    plt.close(fig)
