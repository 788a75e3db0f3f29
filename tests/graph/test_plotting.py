"""Figures of neurodyn.graph show the numbers they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402

from neurodyn.graph import cross_validate_report  # noqa: E402
from neurodyn.graph.plotting import (  # noqa: E402
    plot_cv_report,
    plot_degree_triangles,
    plot_mask_recovery,
)


def test_degree_triangles_points():
    feats = {"degree": np.array([0, 1, 3, 5, 4]), "triangles": np.array([0, 0, 2, 7, 0])}
    fig = plot_degree_triangles(feats)
    x, y = fig.axes[0].lines[0].get_data()
    assert np.array_equal(x, [3, 5]) and np.array_equal(y, [2, 7])  # d > 1 and t > 0 only


def test_mask_recovery_bars_are_per_node_maxima():
    scores = np.array([1.0, 5.0, 2.0, 0.5, 3.0, 4.0])  # 2 features x 3 nodes
    support = np.array([False, True, False, False, False, True])
    fig = plot_mask_recovery(scores, 3, truth_mask=np.array([False, True, True]), support=support)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.containers[0]]
    assert np.allclose(heights, [1.0, 5.0, 4.0])
    assert [p.get_x() + p.get_width() / 2 for p in ax.containers[1]] == [1.0, 2.0]


def test_cv_report_panels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    y = np.repeat([0, 1], 15)
    rep = cross_validate_report(LinearDiscriminantAnalysis(), X, y, n_permutations=9, random_state=0)
    fig = plot_cv_report(rep)
    assert len(fig.axes) == 3  # folds, confusion matrix, permutation histogram
    confusion_ax = fig.axes[1]
    texts = sorted(int(t.get_text()) for t in confusion_ax.texts)
    assert texts == sorted(rep.confusion.ravel().tolist())
    heights = [p.get_height() for p in fig.axes[2].patches]
    assert sum(heights) == 9  # one histogram count per permutation
