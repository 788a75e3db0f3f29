"""Calibration of neurodyn.glm against the paper's synthetic generator (spec acceptance figures).

Setting A: 30 training sequences of 2000 bins; setting B: 3 training sequences.
Both are scored on the same 20 held-out sequences (N = 20 neurons, S = 5 states,
L = 5 lags, capped-sigmoid link). For every model it prints the Hungarian-matched
state accuracy, weight MSE under that matching, 3-class adjacency accuracy and
balanced accuracy, held-out marginal log-likelihood per bin per neuron and bits
per spike against a homogeneous Poisson model fitted on the training data.

Usage::

    python benchmarks/glm_calibration.py --setting B --seeds 0 1 2
    python benchmarks/glm_calibration.py --setting A --seeds 0 --models glm none onehot
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import PoissonGLM, StateSwitchingGLM, adjacency_classes, align_states

N_TEST = 20


def evaluate(model, data, X_train, X_test, test_states):
    pred = model.predict(X_test)
    order = align_states(test_states, pred, model.n_states)
    model.reorder_states(order)
    pred = model.predict(X_test)
    truth_adj = data.adjacency
    adj = model.adjacency_
    out = {
        "state_acc": float(np.mean(pred == test_states)),
        "weight_mse": float(np.mean((model.coupling_ - data.coupling) ** 2)),
        "adj_acc": float(np.mean(adj == truth_adj)),
        "adj_bal": float(balanced_accuracy_score(truth_adj.ravel(), adj.ravel())),
        "test_ll": model.score(X_test),
        "bits_per_spike": model.bits_per_spike(X_test),
        "em_iters": model.n_iter_,
    }
    if model.global_adjacency_prior_ is not None:
        mode = model.global_adjacency_prior_.argmax(-1) - 1
        out["prior_mode_match"] = float(np.mean(mode == data.prior_mode))
    return out


def run(seed, setting, models, adam_steps, temperature=0.2, prior_form="concrete", n_init="auto",
        onehot_update="laplace"):
    data = hmm_glm(n_neurons=20, n_states=5, n_timepoints=2000, n_trials=30 + N_TEST,
                   random_state=seed)
    n_train = 30 if setting == "A" else 3
    X_train = data.counts[:n_train]
    X_test = data.counts[30:]
    test_states = data.states[30:]
    rows = {}
    mean_rate = X_train.reshape(-1, 20).mean(0)
    oracle = StateSwitchingGLM(n_states=5, link="sigmoid", device="cpu").set_parameters(
        data.coupling, data.bias, data.transition_matrix, mean_rate=mean_rate)
    rows["oracle"] = evaluate(oracle, data, X_train, X_test, test_states)
    for name in models:
        t0 = time.perf_counter()
        if name == "glm":
            glm = PoissonGLM(link="sigmoid", device="cpu").fit(X_train)
            adj = adjacency_classes(glm.coupling_)
            rows[name] = {
                "weight_mse": float(np.mean((glm.coupling_[None] - data.coupling) ** 2)),
                "adj_acc": float(np.mean(adj[None] == data.adjacency)),
                "test_ll": glm.score(X_test),
                "bits_per_spike": glm.bits_per_spike(X_test),
            }
        else:
            model = StateSwitchingGLM(n_states=5, prior=name, link="sigmoid", random_state=seed,
                                      adam_steps=adam_steps, temperature=temperature,
                                      prior_form=prior_form, n_init=n_init,
                                      onehot_update=onehot_update,
                                      device="cpu").fit(X_train)
            rows[name] = evaluate(model, data, X_train, X_test, test_states)
        rows[name]["seconds"] = round(time.perf_counter() - t0, 1)
        print(f"seed {seed} setting {setting} {name}: {rows[name]}", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=["A", "B"], default="B")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--models", nargs="+", default=["glm", "none", "gaussian", "onehot"])
    parser.add_argument("--adam-steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--temperature", type=float, default=0.2)
    parser.add_argument("--n-init", default="auto",
                        help='starts per fit: "auto" (the estimator default) or an integer')
    parser.add_argument("--prior-form", default="concrete", choices=["concrete", "categorical"])
    parser.add_argument("--onehot-update", default="laplace", choices=["laplace", "gumbel"],
                        help="M-step of the one-hot model (gumbel = the paper's Adam scheme)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.n_init != "auto":
        args.n_init = int(args.n_init)
    results = {seed: run(seed, args.setting, args.models, args.adam_steps, args.temperature,
                         args.prior_form, args.n_init, args.onehot_update) for seed in args.seeds}
    keys = ["state_acc", "weight_mse", "adj_acc", "adj_bal", "test_ll", "bits_per_spike",
            "prior_mode_match", "em_iters", "seconds"]
    print("\nseed | model | " + " | ".join(keys))
    for seed, rows in results.items():
        for name, row in rows.items():
            cells = [f"{row[k]:.4f}" if isinstance(row.get(k), float) else str(row.get(k, "-"))
                     for k in keys]
            print(f"{seed} | {name} | " + " | ".join(cells))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
