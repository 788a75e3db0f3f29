import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neurodyn.glm.plotting import plot_coupling, plot_model_selection, plot_states  # noqa: E402


def test_plots_draw_the_given_values():
    post = np.random.default_rng(0).dirichlet(np.ones(3), size=50)
    ax = plot_states(post, true_states=post.argmax(1), decoded=post.argmax(1), dt=0.1)
    assert len(ax.collections) == 3  # one band per state
    np.testing.assert_allclose(ax.get_xlim(), [0.0, 4.9])
    fig = plot_coupling(np.arange(8.0).reshape(2, 2, 2) - 4, titles=["a", "b"])
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), [[-4, -3], [-2, -1]])
    ax = plot_model_selection({"n_states": np.array([1, 2]), "test_log_likelihood": np.array([-1.0, -0.9]),
                               "bic": np.array([10.0, 8.0])})
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [-1.0, -0.9])
    plt.close("all")


@pytest.mark.parametrize("call,exc,match", [
    (lambda: plot_states(np.full((5, 2), np.nan)), ValueError, "posterior must be finite"),
    (lambda: plot_states(np.full((5, 2), 2.0)), ValueError, r"posterior must hold probabilities"),
    (lambda: plot_states(np.ones(5)), ValueError, "posterior must be 2-D"),
    (lambda: plot_states(np.full((5, 2), 0.5), decoded=np.zeros(4)), ValueError, "decoded must have one"),
    (lambda: plot_states(np.full((5, 2), 0.5), dt=-1.0), ValueError, "dt must be in"),
    (lambda: plot_coupling(np.full((2, 2), np.inf)), ValueError, "coupling must be finite"),
    (lambda: plot_coupling(np.ones((2, 3, 3)), titles=["a"]), ValueError, "titles must have one entry"),
    (lambda: plot_coupling(np.ones((3, 3)), vmax=0.0), ValueError, "vmax must be in"),
    (lambda: plot_model_selection([1, 2]), TypeError, "result must be the dict returned by select_n_states"),
    (lambda: plot_model_selection({"n_states": [1], "test_log_likelihood": [np.nan], "bic": [1.0]}),
     ValueError, "test_log_likelihood"),
])
def test_plot_arguments_are_checked(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
    plt.close("all")
