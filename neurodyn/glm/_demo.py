"""Demo part of ``neurodyn demo``: switching coupled GLMs on simulated spikes with known truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def run_demo(out_dir: Path, quick: bool = False, data_home: Path | None = None,
             verbose: bool = False) -> dict:
    """Fit a single GLM and state-switching GLMs to the paper's generator; compare with truth.

    Writes ``glm_states.png`` (posterior vs true states on a held-out trial) and
    ``glm_coupling.png`` (true and recovered coupling per state), and returns the
    recovered quantities with their chance levels. ``verbose`` shows the EM
    progress bars of the full run's fits (on stderr).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..datasets.simulate import hmm_glm
    from . import PoissonGLM, StateSwitchingGLM, align_states
    from .plotting import plot_coupling, plot_states

    out_dir = Path(out_dir)
    if quick:
        cfg = dict(n_neurons=6, n_states=2, n_timepoints=600, n_trials=4, sparsity=0.5)
        n_train, priors, fit_kw = 3, ("none",), dict(max_iter=8, m_step_max_iter=30)
    else:
        cfg = dict(n_neurons=10, n_states=3, n_timepoints=2000, n_trials=8, sparsity=0.4)
        n_train, priors, fit_kw = 6, ("none", "onehot"), dict(max_iter=30, adam_steps=100)
    data = hmm_glm(random_state=0, **cfg)
    X_train, X_test = data.counts[:n_train], data.counts[n_train:]
    states_test = data.states[n_train:]
    S = cfg["n_states"]

    glm = PoissonGLM(link="sigmoid", device="cpu").fit(X_train)
    truth = StateSwitchingGLM(n_states=S, link="sigmoid", device="cpu").set_parameters(
        data.coupling, data.bias, data.transition_matrix, mean_rate=X_train.reshape(-1, cfg["n_neurons"]).mean(0))
    result = {
        "figures": [],
        "truth": {"test_log_likelihood": truth.score(X_test),
                  "state_accuracy": float(np.mean(truth.predict(X_test) == states_test))},
        "single_glm": {"test_log_likelihood": glm.score(X_test),
                       "bits_per_spike": glm.bits_per_spike(X_test)},
        "chance": {"state_accuracy": float(np.bincount(states_test.ravel()).max() / states_test.size),
                   "adjacency_accuracy": float(np.mean(data.adjacency == 0))},
    }
    models = {}
    for prior in priors:
        model = StateSwitchingGLM(n_states=S, prior=prior, link="sigmoid", random_state=0,
                                  device="cpu", verbose=verbose and not quick, **fit_kw).fit(X_train)
        model.reorder_states(align_states(states_test, model.predict(X_test), S))
        models[prior] = model
        result[f"prior_{prior}"] = {
            "state_accuracy": float(np.mean(model.predict(X_test) == states_test)),
            "adjacency_accuracy": float(np.mean(model.adjacency_ == data.adjacency)),
            "weight_mse": float(np.mean((model.coupling_ - data.coupling) ** 2)),
            "test_log_likelihood": model.score(X_test),
            "bits_per_spike": model.bits_per_spike(X_test),
            "em_iterations": int(model.n_iter_),
        }

    best = models[priors[-1]]
    post = best.predict_proba(X_test[0])
    ax = plot_states(post, true_states=states_test[0], decoded=best.predict(X_test[0]))
    acc = result[f"prior_{priors[-1]}"]["state_accuracy"]
    ax.set_title(f"held-out trials, prior='{priors[-1]}': state accuracy {acc:.2f} "
                 f"(chance {result['chance']['state_accuracy']:.2f}); trial 0 shown", fontsize=10)
    ax.figure.tight_layout()
    ax.figure.savefig(out_dir / "glm_states.png", dpi=110)
    plt.close(ax.figure)
    result["figures"].append("glm_states.png")

    W = np.concatenate([data.coupling, best.coupling_])
    titles = [f"true {s}" for s in range(S)] + [f"fitted {s}" for s in range(S)]
    fig = plot_coupling(W, titles=titles)
    r = float(np.corrcoef(data.coupling.ravel(), best.coupling_.ravel())[0, 1])
    adj = result[f"prior_{priors[-1]}"]["adjacency_accuracy"]
    fig.suptitle(f"coupling: r(true, fitted) = {r:.2f}; edge class (-/0/+) right for {adj:.0%} "
                 f"(all-'no edge' baseline {result['chance']['adjacency_accuracy']:.0%})", fontsize=9)
    result[f"prior_{priors[-1]}"]["coupling_correlation"] = r
    fig.savefig(out_dir / "glm_coupling.png", dpi=110)
    plt.close(fig)
    result["figures"].append("glm_coupling.png")
    return result
