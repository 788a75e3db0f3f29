"""The comparison table's text and the compare figures: aligned columns, no empty columns,
colour scales from the data, ceilings drawn in the units of the axis."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neurodyn.compare import ComparisonTable  # noqa: E402
from neurodyn.compare.plotting import (  # noqa: E402
    plot_cka_matrix,
    plot_encoding_scores,
    plot_score_matrix,
)


def _row(model, brain, method, score, time=None, **extra):
    row = {"model": model, "brain": brain, "method": method, "time": time, "score": score,
           "kind": "distance" if method == "procrustes" else "similarity", "ci_low": np.nan,
           "ci_high": np.nan, "se": np.nan, "p_value": np.nan, "noise_ceiling": np.nan,
           "ceiled_score": np.nan, "n_conditions": 20}
    row.update(extra)
    return row


def _static_table():
    return ComparisonTable([_row("a_very_long_layer_name", "V1", "cka", 0.04828),
                            _row("l1", "V1", "procrustes", 1.339),
                            _row("l1", "IT cortex", "cka", 0.9871)])


def _columns_of(lines):
    """Start index of every header field, and the header names."""
    header = lines[0]
    names = header.split()
    starts = [header.index(n) for n in names]
    return names, starts


def test_static_table_text_has_no_time_or_empty_columns():
    text = str(_static_table())
    header = text.splitlines()[0].split()
    assert header == ["model", "brain", "method", "kind", "score"]
    assert "None" not in text and "time" not in text and "p_value" not in text


def test_table_text_columns_are_aligned():
    table = ComparisonTable([_row("a_very_long_layer_name", "V1", "cka", 0.04828, ci_low=0.01,
                                  ci_high=0.09, p_value=0.002),
                             _row("l1", "IT cortex", "procrustes", 1.339, ci_low=1.2, ci_high=1.45,
                                  p_value=0.5)])
    lines = str(table).splitlines()
    names, starts = _columns_of(lines)
    widths = {len(line) for line in lines}
    assert len(widths) == 1  # every line as long as the header: right-aligned numbers end together
    for line in lines[1:]:
        # text columns start where their header starts
        for name in ("model", "brain", "method", "kind"):
            k = names.index(name)
            assert line[starts[k]] != " " and (starts[k] == 0 or line[starts[k] - 1] == " ")
    # decimal points of a numeric column line up
    for name in ("score", "ci_low", "ci_high", "p_value"):
        k = names.index(name)
        end = starts[k] + len(name)
        cells = [line[:end].split()[-1] for line in lines[1:]]
        dots = {line[:end].rindex(".") for line in lines[1:]}
        assert len(dots) == 1, (name, cells)
        # the printed values are the table's, to the printed precision
        np.testing.assert_allclose([float(c) for c in cells], table[name], atol=5e-5)


def test_time_resolved_table_text_shows_integer_times():
    table = ComparisonTable([_row("m", "b", "cka", 0.5 + 0.1 * t, time=t) for t in range(3)])
    lines = str(table).splitlines()
    assert lines[0].split() == ["model", "brain", "method", "kind", "time", "score"]
    assert [line.split()[4] for line in lines[1:]] == ["0", "1", "2"]


def test_repr_counts_rows_and_truncates():
    table = ComparisonTable([_row(f"m{i}", "b", "cka", 0.5) for i in range(35)])
    text = repr(table)
    assert text.splitlines()[0] == "ComparisonTable (35 rows)"
    assert text.splitlines()[-1] == "... (5 more rows, 35 in all)"
    assert len(table.to_string(max_rows=None).splitlines()) == 36
    assert repr(ComparisonTable([])).startswith("ComparisonTable (0 rows)")


def test_tiny_and_huge_values_switch_the_column_to_scientific_notation():
    table = ComparisonTable([_row("m", "b", "cka", 3e-9), _row("n", "b", "cka", 0.5)])
    cells = [line.split()[-1] for line in str(table).splitlines()[1:]]
    assert [float(c) for c in cells] == pytest.approx([3e-9, 0.5], rel=1e-3)
    assert all("e" in c for c in cells)


def test_score_matrix_colour_scale_spans_the_data():
    # CKA scores in a narrow band near 1: on a fixed [0, 1] scale they would look uniform
    scores = {("l0", "V1"): 0.962, ("l1", "V1"): 0.981, ("l0", "V4"): 0.975, ("l1", "V4"): 0.958}
    table = ComparisonTable([_row(m, b, "cka", v) for (m, b), v in scores.items()])
    fig, ax = plt.subplots()
    plot_score_matrix(table, "cka", ax=ax)
    im = ax.images[0]
    assert im.get_clim() == pytest.approx((0.958, 0.981))
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(f"{v:.2f}" for v in scores.values())
    assert len(fig.axes) == 2  # the colorbar
    # the best layer per region is outlined: l1 for V1, l0 for V4
    boxes = sorted((p.get_x() + 0.5, p.get_y() + 0.5) for p in ax.patches)
    assert boxes == [(0.0, 1.0), (1.0, 0.0)]
    # annotation colour contrasts with its cell: dark text on the brightest (yellow) cell
    brightest = [t for t in ax.texts if t.get_text() == "0.98"][0]
    assert matplotlib.colors.to_rgb(brightest.get_color()) == (0.0, 0.0, 0.0)
    plt.close(fig)


def test_cka_matrix_uses_the_data_range_and_annotates():
    K = np.array([[1.0, 0.93], [0.91, 0.99]])
    fig, ax = plt.subplots()
    plot_cka_matrix(K, ax=ax)
    assert ax.images[0].get_clim() == pytest.approx((0.91, 1.0))
    assert sorted(t.get_text() for t in ax.texts) == ["0.91", "0.93", "0.99", "1.00"]
    assert len(fig.axes) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match="K must be a 2-D matrix"):
        plot_cka_matrix(np.ones(3))


def test_encoding_figure_draws_the_ceiling_on_the_r_scale():
    r = np.random.default_rng(0).uniform(0.7, 0.88, 300)
    fig, ax = plt.subplots()
    plot_encoding_scores(r, np.full(300, 0.8), ax=ax)
    xs = sorted(line.get_xdata()[0] for line in ax.lines)
    assert xs == pytest.approx(sorted([np.median(r), np.sqrt(0.8)]))
    assert ax.get_xlim()[1] > np.sqrt(0.8)
    labels = ax.get_legend_handles_labels()[1]
    assert any("sqrt(0.80) = 0.89" in lab for lab in labels)
    plt.close(fig)
