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
    vals = np.array([[1.0, 0.8], [1.1, 0.7], [3.0, 0.1]])
    fig2, axes2 = plot_rich_lazy([1, 10], {"weight change": vals}, summary="median")
    ax2 = np.ravel(axes2)[0]
    centre = [ln for ln in ax2.get_lines() if ln.get_label() == "median of 3 seeds"]
    assert len(centre) == 1 and list(centre[0].get_ydata()) == list(np.median(vals, 0))
    with pytest.raises(ValueError, match="summary must be 'mean' or 'median'"):
        plot_rich_lazy([1, 10], {"weight change": vals}, summary="max")
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


# --- issue 17, item 4: a look at every demo and tutorial figure -------------------------


def _inside(fig, artist, renderer, tol=1.0):
    box = artist.get_window_extent(renderer)
    f = fig.bbox
    return (box.x0 >= f.x0 - tol and box.y0 >= f.y0 - tol and box.x1 <= f.x1 + tol
            and box.y1 <= f.y1 + tol)


def test_coupling_panels_diverge_around_zero_with_a_labelled_colour_bar():
    from neurodyn.glm.plotting import plot_coupling

    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 7, 7))
    W[1, 2, 3] = -4.0  # the largest magnitude is negative: the limits must still be symmetric
    fig = plot_coupling(W, titles=["state 0", "state 1"])
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(panels) == 2 and len(bars) == 1
    assert bars[0].get_ylabel() == "coupling weight"
    for ax in panels:
        im = ax.get_images()[0]
        lo, hi = im.get_clim()
        assert lo == -hi == -4.0
        assert im.get_cmap().name == "RdBu_r"
        assert ax.get_xlabel() == "presynaptic neuron"
    assert panels[0].get_ylabel() == "postsynaptic neuron"
    fig.canvas.draw()
    assert _integer_ticks(panels[0].xaxis, 0, 6) and _integer_ticks(panels[0].yaxis, 0, 6)
    renderer = fig.canvas.get_renderer()
    assert all(_inside(fig, a.xaxis.label, renderer) for a in panels)


def test_encoding_lines_stop_below_the_legend_and_counts_are_integers():
    from neurodyn.compare.plotting import plot_encoding_scores

    rng = np.random.default_rng(1)
    r = np.clip(rng.normal(0.75, 0.08, 40), -1, 1)
    fig, ax = plt.subplots(figsize=(4, 3.2))
    plot_encoding_scores(r, np.full(40, 0.81), ax=ax)
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    to_axes = ax.transAxes.inverted()
    legend_bottom = to_axes.transform((legend.x0, legend.y0))[1]
    vlines = [ln for ln in ax.get_lines() if ln.get_label().startswith(("median", "noise ceiling"))]
    assert len(vlines) == 2
    for ln in vlines:
        assert max(ln.get_ydata()) <= legend_bottom, ln.get_label()  # axes fraction, below the legend
    counts = [p.get_height() for p in ax.patches]
    assert max(counts) <= legend_bottom * ax.get_ylim()[1]  # no bar reaches into the legend band
    assert _integer_ticks(ax.yaxis, 0, ax.get_ylim()[1])


def test_rank_sweep_explains_its_grey_restart_dots():
    sweep = {"ranks": [1, 2, 3], "best_errors": [0.5, 0.3, 0.29],
             "errors": [[0.5, 0.51], [0.3, 0.33], [0.29, 0.3]], "stability": [1.0, 0.9, 0.8],
             "elbow_rank": 2}
    fig = plot_rank_sweep(sweep)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels[0] == "each of 2 restarts" and "best restart" in labels


def test_component_time_course_names_its_shading():
    from neurodyn.connectome.plotting import plot_components

    fig = plot_components(_fake_connectome(), schedule=[(10, 30)], schedule_label="planted windows")
    assert fig.axes[1].get_title() == "component weight 1; shaded: planted windows"
    plain = plot_component(_fake_connectome(), 0)
    assert plain.axes[1].get_title() == "component weight 1"  # nothing shaded, nothing named


def test_noise_axis_ticks_are_the_tested_levels():
    from neurodyn.rsa.plotting import plot_accuracy_vs_noise

    ax = plot_accuracy_vs_noise([0, 2, 4], {"rdm": [1.0, 0.9, 0.8]}, chance=0.2)
    assert list(ax.get_xticks()) == [0, 2, 4]


def test_accuracy_error_bars_stay_in_0_1_and_the_legend_beside_the_curves():
    from neurodyn.rsa.plotting import plot_accuracy_vs_noise

    fig, ax = plt.subplots(figsize=(6.2, 4))
    plot_accuracy_vs_noise([0, 1], {"rdm": [1.0, 0.97], "rgdm": [0.1, 0.5]}, ax=ax,
                           errors={"rdm": [0.04, 0.05], "rgdm": [0.2, 0.1]}, chance=1 / 6)
    for container in ax.containers:
        segments = container.lines[2][0].get_segments()
        lows = [seg[:, 1].min() for seg in segments]
        highs = [seg[:, 1].max() for seg in segments]
        assert min(lows) >= 0.0 and max(highs) <= 1.0, (lows, highs)
    # the bars keep their length where they can: 0.97 - 0.05 below, 1 - 0.97 above
    rdm_seg = ax.containers[0].lines[2][0].get_segments()[1]
    np.testing.assert_allclose(sorted(rdm_seg[:, 1]), [0.92, 1.0])
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1 and _inside(fig, ax.get_legend(), renderer)


def test_lu_heatmap_names_the_best_cell_in_two_decimals_and_the_empty_half():
    from neurodyn.rsa.plotting import plot_lu_heatmap

    grid_values = np.arange(21) * 0.05
    acc = np.where(grid_values[:, None] <= grid_values[None, :], 0.5, np.nan)
    acc[3, 18] = 0.9
    best = (0.15000000000000002, 0.9000000000000001)
    ax = plot_lu_heatmap({"accuracy": acc, "lower": grid_values, "upper": grid_values, "best": best})
    assert ax.get_legend_handles_labels()[1] == ["best (l, u) = (0.15, 0.90)"]
    assert "u < l: not defined" in [t.get_text() for t in ax.texts]


def test_log_axes_of_degree_triangles_use_plain_numbers():
    rng = np.random.default_rng(0)
    d = rng.integers(2, 16, 100)  # less than a decade: matplotlib labels minor ticks "2 x 10^0"
    fig = plot_degree_triangles({"degree": d, "triangles": d * (d - 1) // 4 + 1})
    fig.canvas.draw()
    ax = fig.axes[0]
    texts = [t.get_text() for axis in (ax.xaxis, ax.yaxis)
             for t in axis.get_majorticklabels() + axis.get_minorticklabels() if t.get_text()]
    assert texts and not [t for t in texts if "times" in t or "^" in t or "$" in t], texts
    assert {"2", "10"} <= set(texts)


def test_mask_legend_sits_above_the_planted_markers():
    from neurodyn.graph.plotting import plot_mask_recovery

    rng = np.random.default_rng(0)
    scores = rng.random(2 * 60)
    scores[10] = 9.0
    truth = np.zeros(60, bool)
    truth[[5, 40, 50, 55, 58]] = True  # markers under the right-hand legend
    fig = plot_mask_recovery(scores, 60, truth, scores > 0.9)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    marker_y = ax.transData.transform((0, 9.0 * 1.06))[1]
    assert legend.y0 > marker_y + 3  # pixels: the planted triangles stay clear of the legend
    assert ax.get_ylabel() == "|t| (max over features)"
    long = plot_mask_recovery(scores, 60, truth, scores > 0.9,
                              title="t-test mask (all subjects) vs 5 planted nodes:\nprecision 0.64, recall "
                                    "0.70 (chance precision 0.08)")
    long.canvas.draw()
    assert _inside(long, long.axes[0].title, long.canvas.get_renderer())


def test_cv_report_states_its_accuracy_and_keeps_the_legend_off_the_folds():
    from neurodyn.graph.plotting import plot_cv_report

    acc = np.array([0.9, 0.5, 0.6, 0.78, 0.78])
    report = SimpleNamespace(
        accuracy=acc, balanced_accuracy=acc - 0.02, sensitivity=acc, specificity=acc[::-1],
        majority_baseline=np.full(5, 0.52), confusion=np.array([[16, 7], [7, 18]]),
        classes=np.array([0, 1]), permutation_scores=None)
    fig = plot_cv_report(report, title="t")
    ax = fig.axes[0]
    assert ax.get_title() == (f"outer folds: accuracy {acc.mean():.2f} +/- {acc.std():.2f} "
                              f"(majority 0.52)")
    assert ax.get_ylabel() == "fraction correct"
    assert sorted(ax.get_legend_handles_labels()[1]) == ["majority class", "mean +/- SD", "one outer fold"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 <= ax.get_window_extent(renderer).y0  # below the data area
    assert _inside(fig, ax.get_legend(), renderer)
    ticks = min(t.get_window_extent(renderer).y0 for t in ax.get_xticklabels())
    assert legend.y1 <= ticks + 1  # and below the tick labels, not over them
    named = plot_cv_report(report, class_names=["control", "ADHD"]).axes[1]
    assert [t.get_text() for t in named.get_xticklabels()] == ["control", "ADHD"]
    with pytest.raises(ValueError, match="class_names must name the 2 classes"):
        plot_cv_report(report, class_names=["control"])


def test_permutation_panel_names_its_line_and_the_p_value_floor():
    from neurodyn.graph.plotting import plot_cv_report

    acc = np.array([1.0, 1.0, 1.0])
    report = SimpleNamespace(
        accuracy=acc, balanced_accuracy=acc, sensitivity=acc, specificity=acc,
        majority_baseline=np.full(3, 0.5), confusion=np.array([[3, 0], [0, 3]]), classes=np.array([0, 1]),
        permutation_scores=np.linspace(0.3, 0.6, 19), permutation_score=1.0, permutation_pvalue=1 / 20)
    fig = plot_cv_report(report, title="frontal2D edges: PCA(5) + LDA, permutation test")
    ax = fig.axes[2]
    assert ax.get_title() == "permutation null (19 shuffles)\np = 0.050, the smallest possible"
    assert sorted(ax.get_legend_handles_labels()[1]) == ["observed", "shuffled labels"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert _inside(fig, ax.title, renderer) and _inside(fig, ax.get_legend(), renderer)
    report.permutation_pvalue = 3 / 20
    assert plot_cv_report(report).axes[2].get_title() == "permutation null (19 shuffles)\np = 0.150"


def test_tau_trend_joins_one_point_per_n():
    hist = SimpleNamespace(epochs=[{"ns": [2], "tau_mean": 1.39}, {"ns": [2], "tau_mean": 1.36},
                                   {"ns": [2, 3], "tau_mean": 1.35}, {"ns": [2, 3], "tau_mean": 1.33}])
    fig, ax = plot_tau_trend({"run": hist})
    joined = [ln for ln in ax.get_lines() if ln.get_label() == "run (end of each N)"]
    assert len(joined) == 1
    assert list(joined[0].get_xdata()) == [2, 3] and list(joined[0].get_ydata()) == [1.36, 1.33]
    assert ax.get_ylabel() == "mean effective tau (steps)"


def test_a_single_n_gets_one_integer_tick_not_fractions():
    """Quick runs solve one N only: the axis used to read 1.900, 1.925 ... 2.100."""
    hist = SimpleNamespace(epochs=[{"ns": [2], "tau_mean": 1.39}, {"ns": [2], "tau_mean": 1.34}])
    fig, ax = plot_tau_trend({"run": hist})
    fig.canvas.draw()
    assert list(ax.get_xticks()) == [2] and ax.get_xlim() == (1.5, 2.5)
    fig, ax = plt.subplots()
    plot_retention([2], {"multi-head": [1.0]}, ax=ax)
    plot_retention([2], {"single-head": [0.9]}, ax=ax)
    fig.canvas.draw()
    assert list(ax.get_xticks()) == [2]
    fig, ax = plt.subplots()
    plot_retention(list(range(2, 40)), {"multi-head": np.linspace(1, 0.5, 38)}, ax=ax)
    fig.canvas.draw()
    assert _integer_ticks(ax.xaxis, 2, 39)


def test_identical_curricula_stay_visible():
    from neurodyn.rnn.plotting import plot_curriculum

    hist = SimpleNamespace(epochs=[{"steps": 100}, {"steps": 400}], n_reached_=[1, 2])
    fig, ax = plot_curriculum({"multi-head": hist, "single-head": hist})
    styles = [ln.get_linestyle() for ln in ax.get_lines()]
    assert len(set(styles)) == 2  # one solid, one dashed: the second does not hide the first
