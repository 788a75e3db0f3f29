"""HMM-GLM EM workload: neurodyn (batched torch) against per-sequence anchors.

Workload: the paper's generator (spec section 5): B trials of 2000 bins, N neurons,
S states, 5 history lags, capped-sigmoid link. Three comparisons, each run on the
same data in this one process, outputs checked for agreement before timing:

1. E-step: neurodyn's forward-backward batched over trials against the paper
   code's scheme (scaled recursion, Python loop over time, one sequence at a
   time, pairwise posteriors stored per step).
2. EM iteration with a fixed schedule (E-step, transitions in closed form,
   M-step = L-BFGS with at most 50 iterations): time per iteration, E and M apart.
3. dynamax 1.0.3 (when installed; JAX) with a Poisson-GLM emission class written
   here: log-likelihood at identical parameters, E-step (smoother vmapped over
   trials) and one EM iteration (generic M-step = 50 Adam steps, lr 1e-2), first
   (JIT) call timed apart from warm calls.

Usage::

    python benchmarks/glm_hmm.py            # N=20, S=5, B=30 (the issue's E-step case)
    python benchmarks/glm_hmm.py --full     # spec grid N in {20,50,100}, S in {2,5,8}, B in {30,150}
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import timed

from neurodyn.datasets.simulate import hmm_glm
from neurodyn.glm import StateSwitchingGLM, forward_backward


def paper_scheme_e_step(model, trials, logA, logpi):
    """The paper code's scheme: one sequence at a time, emissions for that sequence,
    then a scaled forward-backward with a Python loop over time steps and the
    pairwise posteriors stored per step."""
    A = torch.exp(logA)
    pi = torch.exp(logpi)
    total_ll = 0.0
    gammas = []
    xi_sum = torch.zeros_like(A)
    for x in trials:
        one = model._batch(x[None])
        log_em = model._log_emission(one, model._params)[0]
        T = log_em.shape[0]
        shift = log_em.max(dim=1, keepdim=True).values
        em = torch.exp(log_em - shift)
        alpha = torch.zeros(T, A.shape[0], dtype=A.dtype)
        scale = torch.zeros(T, dtype=A.dtype)
        a = pi * em[0]
        scale[0] = a.sum()
        alpha[0] = a / scale[0]
        for t in range(1, T):
            a = (alpha[t - 1] @ A) * em[t]
            scale[t] = a.sum()
            alpha[t] = a / scale[t]
        beta = torch.ones(T, A.shape[0], dtype=A.dtype)
        for t in range(T - 2, -1, -1):
            beta[t] = (A @ (em[t + 1] * beta[t + 1])) / scale[t + 1]
        gamma = alpha * beta
        xi = torch.zeros(T - 1, A.shape[0], A.shape[0], dtype=A.dtype)
        for t in range(T - 1):
            xi[t] = alpha[t][:, None] * A * (em[t + 1] * beta[t + 1])[None, :] / scale[t + 1]
        xi_sum += xi.sum(0)
        gammas.append(gamma)
        total_ll += float(torch.log(scale).sum() + shift.sum())
    return total_ll, gammas, xi_sum


def neurodyn_e_step(model, batch):
    log_em = model._log_emission(batch, model._params)
    return log_em, forward_backward(log_em, model._params["logA"], model._params["logpi"],
                                    batch.mask)


def bench_case(n_neurons, n_states, n_trials, n_iter, seed=0, dynamax=True):
    print(f"\n== N={n_neurons} S={n_states} B={n_trials} x 2000 bins "
          f"(torch threads {torch.get_num_threads()})")
    data = hmm_glm(n_neurons=n_neurons, n_states=n_states, n_timepoints=2000,
                   n_trials=n_trials, random_state=seed)
    X = data.counts
    model = StateSwitchingGLM(n_states=n_states, link="sigmoid", device="cpu",
                              m_step_max_iter=50, random_state=seed).set_parameters(
        data.coupling, data.bias, data.transition_matrix)
    batch = model._batch(X)

    # 1. E-step agreement, then timing
    (log_em, (ll, post, trans)), t_nd = timed(lambda: neurodyn_e_step(model, batch), repeat=2)
    (ll_ref, gammas, xi_ref), t_ref = timed(
        lambda: paper_scheme_e_step(model, list(X), model._params["logA"],
                                    model._params["logpi"]))
    rel = abs(float(ll.sum()) - ll_ref) / abs(ll_ref)
    post_err = max(float((post[b] - g).abs().max()) for b, g in enumerate(gammas))
    xi_err = float((trans - xi_ref).abs().max() / xi_ref.abs().max())
    assert rel < 1e-10 and post_err < 1e-8 and xi_err < 1e-10, (rel, post_err, xi_err)
    print(f"E-step agreement: |dLL|/|LL| = {rel:.1e}, max |d posterior| = {post_err:.1e}, "
          f"transition counts rel {xi_err:.1e}")
    _, t_em_only = timed(lambda: model._log_emission(batch, model._params), repeat=2)
    print(f"E-step (emissions + forward-backward)  neurodyn batched: {t_nd:8.3f} s "
          f"(emissions {t_em_only:.3f} s) | paper scheme, per sequence and time step: "
          f"{t_ref:8.3f} s | speed-up {t_ref / t_nd:6.1f}x")

    # 2. fixed-schedule EM iterations from a noisy start (E and M timed apart)
    fit = StateSwitchingGLM(n_states=n_states, link="sigmoid", device="cpu", m_step_max_iter=50,
                            random_state=seed)
    fit._check_params()
    fit._setup_torch()
    fit.basis_ = model.basis_
    flat = batch.flat()
    n_bins = batch.n_bins
    from neurodyn.glm._poisson_glm import fit_glm_parameters
    W0, b0 = fit_glm_parameters(flat[0], flat[1], "sigmoid", max_iter=50)
    params = fit._initial_params(W0, b0, n_neurons)
    t_e, t_m = [np.nan], [np.nan]
    if n_iter > 0:
        t_e, t_m = [], []
    for _ in range(n_iter):
        t0 = time.perf_counter()
        log_em = fit._log_emission(batch, params)
        ll_it, gamma, tr = fit._e_step(log_em, params, batch.mask)
        t1 = time.perf_counter()
        fit._update_transitions(params, tr)
        fit._m_step_lbfgs(params, flat, gamma[batch.mask], n_bins)
        t_m.append(time.perf_counter() - t1)
        t_e.append(t1 - t0)
    t_adam = [np.nan]
    if n_iter > 0:
        print(f"EM ({n_iter} iterations, L-BFGS <= 50): E {np.mean(t_e):.3f} s + M "
              f"{np.mean(t_m):.3f} s per iteration; train LL/bin/neuron "
              f"{float(ll_it.sum()) / (n_bins * n_neurons):.4f}")
        # the anchor's M-step: 50 Adam steps (lr 1e-2) on the expected log-likelihood
        params = fit._initial_params(W0, b0, n_neurons)
        t_adam = []
        for _ in range(n_iter):
            t0 = time.perf_counter()
            log_em = fit._log_emission(batch, params)
            _, gamma, tr = fit._e_step(log_em, params, batch.mask)
            fit._update_transitions(params, tr)
            adam_m_step(params, flat, gamma[batch.mask], n_bins, "sigmoid")
            t_adam.append(time.perf_counter() - t0)
        print(f"EM iteration with the anchor's M-step (50 Adam steps): {np.mean(t_adam):.3f} s")
    if dynamax:
        bench_dynamax(model, batch, log_em_true=neurodyn_e_step(model, batch)[0], data=data,
                      t_e_neurodyn=t_nd, t_em_neurodyn=np.mean(t_e) + np.mean(t_m),
                      t_em_adam=np.mean(t_adam))


def adam_m_step(params, flat, gamma, n_bins, link, steps=50, lr=1e-2):
    """M-step of the anchor's fixed schedule: Adam on (W, b), hand-written gradients,
    each state evaluated on its own bins only (posterior weight above 1e-10)."""
    from neurodyn.glm._emission import state_subsets, subset_glm_grad

    counts, feats, _ = flat
    subsets = state_subsets(counts, feats, gamma)
    W = params["W"].clone()
    b = params["b"].clone()
    opt = torch.optim.Adam([W, b], lr=lr)
    for _ in range(steps):
        gW, gb = subset_glm_grad(subsets, W, b, link)
        W.grad = -gW / n_bins
        b.grad = -gb / n_bins
        opt.step()
    params["W"], params["b"] = W, b


def _dynamax_glm_hmm(n_states, n_neurons):
    """dynamax 1.0.3 HMM with a Poisson-GLM emission class written here (capped-sigmoid
    link, inputs = history features), M-step = 50 Adam steps (lr 1e-2); None when dynamax
    is not installed."""
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import optax
        import tensorflow_probability.substrates.jax.distributions as tfd
        from dynamax.hidden_markov_model.models.abstractions import HMM, HMMEmissions
        from dynamax.hidden_markov_model.models.initial import StandardHMMInitialState
        from dynamax.hidden_markov_model.models.transitions import StandardHMMTransitions
        from dynamax.parameters import ParameterProperties
    except Exception as exc:  # pragma: no cover - optional anchor
        print(f"dynamax: not available ({type(exc).__name__}: {exc}); skipped")
        return None

    from typing import NamedTuple

    S = n_states
    N = n_neurons

    class EmissionParams(NamedTuple):
        weights: object
        bias: object

    class GLMHMMParams(NamedTuple):
        initial: object
        transitions: object
        emissions: object

    class PoissonGLMEmissions(HMMEmissions):
        """Coupled Poisson GLM per state; inputs = history features (N,)."""

        def __init__(self, num_states, n_neurons, m_step_optimizer, m_step_num_iters):
            super().__init__(m_step_optimizer=m_step_optimizer, m_step_num_iters=m_step_num_iters)
            self.num_states = num_states
            self.n = n_neurons

        @property
        def emission_shape(self):
            return (self.n,)

        @property
        def inputs_shape(self):
            return (self.n,)

        def distribution(self, params, state, inputs=None):
            u = params.bias + params.weights[state] @ inputs
            rate = (1 - 1e-8) * jax.nn.sigmoid(u) + 1e-8
            return tfd.Independent(tfd.Poisson(rate=rate), reinterpreted_batch_ndims=1)

        def log_prior(self, params):
            return 0.0

        def initialize(self, key=None, method="prior", emission_weights=None, emission_bias=None):
            return (EmissionParams(emission_weights, emission_bias),
                    EmissionParams(ParameterProperties(), ParameterProperties()))

    class PoissonGLMHMM(HMM):
        def __init__(self, num_states, n_neurons):
            init = StandardHMMInitialState(num_states, initial_probs_concentration=1.1)
            trans = StandardHMMTransitions(num_states, concentration=1.1)
            emis = PoissonGLMEmissions(num_states, n_neurons, optax.adam(1e-2), 50)
            super().__init__(num_states, init, trans, emis)

        @property
        def inputs_shape(self):
            return (self.emission_component.n,)

        def initialize(self, key=None, initial_probs=None, transition_matrix=None,
                       emission_weights=None, emission_bias=None):
            params, props = dict(), dict()
            params["initial"], props["initial"] = self.initial_component.initialize(
                key, method="prior", initial_probs=initial_probs)
            params["transitions"], props["transitions"] = self.transition_component.initialize(
                key, method="prior", transition_matrix=transition_matrix)
            params["emissions"], props["emissions"] = self.emission_component.initialize(
                key, emission_weights=emission_weights, emission_bias=emission_bias)
            return GLMHMMParams(**params), GLMHMMParams(**props)

    return PoissonGLMHMM(S, N)


def bench_dynamax(model, batch, log_em_true, data, t_e_neurodyn, t_em_neurodyn, t_em_adam=np.nan):
    hmm = _dynamax_glm_hmm(model.n_states, model.n_features_in_)
    if hmm is None:
        return
    import jax
    import jax.numpy as jnp

    S = model.n_states
    try:
        params, props = hmm.initialize(
            initial_probs=jnp.full(S, 1.0 / S), transition_matrix=jnp.asarray(data.transition_matrix),
            emission_weights=jnp.asarray(data.coupling), emission_bias=jnp.asarray(data.bias))
        counts = jnp.asarray(batch.counts.numpy())
        feats = jnp.asarray(batch.features.numpy())
        marginal = jax.jit(jax.vmap(lambda y, x: hmm.marginal_log_prob(params, y, inputs=x)))
        t0 = time.perf_counter()
        ll_dx = float(marginal(counts, feats).sum())
        t_jit = time.perf_counter() - t0
        ll_nd = float(forward_backward(log_em_true, model._params["logA"], model._params["logpi"],
                                       batch.mask)[0].sum())
        print(f"dynamax: LL at identical parameters {ll_dx:.6f} vs neurodyn {ll_nd:.6f} "
              f"(rel diff {abs(ll_dx - ll_nd) / abs(ll_nd):.1e}); first call {t_jit:.2f} s")
        smoother = jax.jit(jax.vmap(lambda y, x: hmm.smoother(params, y, inputs=x).smoothed_probs))
        smoother(counts, feats).block_until_ready()
        _, t_sm = timed(lambda: smoother(counts, feats).block_until_ready(), repeat=2)
        print(f"E-step  neurodyn batched: {t_e_neurodyn:8.3f} s | dynamax (jit, warm): {t_sm:8.3f} s "
              f"| ratio dynamax/neurodyn {t_sm / t_e_neurodyn:6.2f}")
        if not np.isfinite(t_em_neurodyn):
            return
        t0 = time.perf_counter()
        hmm.fit_em(params, props, counts, inputs=feats, num_iters=1, verbose=False)
        t_first = time.perf_counter() - t0
        _, t_em = timed(lambda: hmm.fit_em(params, props, counts, inputs=feats, num_iters=1,
                                           verbose=False), repeat=1)
        print(f"EM iteration neurodyn (L-BFGS <= 50): {t_em_neurodyn:8.3f} s | dynamax (50 Adam "
              f"steps, warm): {t_em:8.3f} s (first call {t_first:.2f} s) | ratio {t_em / t_em_neurodyn:6.2f}")
        if np.isfinite(t_em_adam):
            print(f"EM iteration, same M-step on both sides (50 Adam steps): neurodyn {t_em_adam:8.3f} s | "
                  f"dynamax {t_em:8.3f} s | ratio dynamax/neurodyn {t_em / t_em_adam:6.2f}")
    except Exception as exc:  # pragma: no cover - optional anchor
        print(f"dynamax: failed ({type(exc).__name__}: {exc})")


def _as_estimator(params, n_states, like):
    """A StateSwitchingGLM holding given (W, b, A, pi), for held-out scoring."""
    W = np.asarray(params["W"], dtype=float)
    b = np.asarray(params["b"], dtype=float)
    return StateSwitchingGLM(n_states=n_states, link="sigmoid", device="cpu").set_parameters(
        W, b, np.asarray(params["A"], dtype=float), np.asarray(params["pi"], dtype=float),
        mean_rate=like.mean_rate_)


def _held_out(est, X_test, states_test, n_states):
    from neurodyn.glm import align_states

    pred = est.predict(X_test)
    est.reorder_states(align_states(states_test, pred, n_states))
    return float(est.score(X_test)), float(np.mean(est.predict(X_test) == states_test))


def bench_full_fit(n_neurons, n_states, n_trials, seed=0, max_iter=100, tol=1e-6):  # noqa: PLR0915
    """Full fits to the same tolerance from the same start: neurodyn's EM (Newton M-step,
    generalised EM) against dynamax's EM (50 Adam steps per M-step), then neurodyn's default
    fit (its own screened starts). Convergence on both sides: relative change of the EM
    objective per bin below ``tol`` (dynamax's iteration is read from ``fit_em``'s log
    probabilities of a ``max_iter`` run, then dynamax is run again for that many iterations
    and timed, JIT included). Training and held-out log-likelihoods of both end points are
    computed by the same function (neurodyn's forward algorithm)."""
    print(f"\n== full fit to tol {tol:g}: N={n_neurons} S={n_states} {n_trials} training trials x "
          f"2000 bins (held-out: as many), at most {max_iter} EM iterations")
    data = hmm_glm(n_neurons=n_neurons, n_states=n_states, n_timepoints=2000,
                   n_trials=2 * n_trials, random_state=seed)
    X, X_test, s_test = data.counts[:n_trials], data.counts[n_trials:], data.states[n_trials:]
    truth = StateSwitchingGLM(n_states=n_states, link="sigmoid", device="cpu").set_parameters(
        data.coupling, data.bias, data.transition_matrix,
        mean_rate=X.reshape(-1, n_neurons).mean(0))
    ll_truth, acc_truth = _held_out(truth, X_test, s_test, n_states)
    print(f"generating parameters: held-out LL {ll_truth:.5f} nats/bin/neuron, state accuracy "
          f"{acc_truth:.4f}")
    fit = StateSwitchingGLM(n_states=n_states, link="sigmoid", device="cpu", tol=tol,
                            max_iter=max_iter, random_state=seed)
    fit._check_params()
    fit._setup_torch()
    fit.basis_ = truth.basis_
    batch = truth._batch(X)
    flat = batch.flat()
    from neurodyn.glm._poisson_glm import fit_glm_parameters
    W0, b0 = fit_glm_parameters(flat[0], flat[1], "sigmoid", max_iter=50)
    start = fit._initial_params(W0, b0, n_neurons)
    as_np = {"W": start["W"].numpy(), "b": start["b"].numpy()[0],
             "A": np.exp(start["logA"].numpy()), "pi": np.exp(start["logpi"].numpy())}

    def run_em(tol_):
        """neurodyn's EM from the shared start to ``tol_``: time, the fit as an estimator, ..."""
        fit.tol = tol_
        params = {k: v.clone() for k, v in start.items()}
        fit._newton = None
        t0 = time.perf_counter()
        params, losses, n_iter, converged = fit._run_em(batch, flat, params, batch.n_bins, max_iter)
        elapsed = time.perf_counter() - t0
        est = _as_estimator({"W": params["W"].numpy(), "b": params["b"].numpy()[0],
                             "A": np.exp(params["logA"].numpy()),
                             "pi": np.exp(params["logpi"].numpy())}, n_states, truth)
        return elapsed, est, losses, n_iter, converged

    t_nd, nd, losses, n_iter, converged = run_em(tol)
    ll_nd, acc_nd = _held_out(nd, X_test, s_test, n_states)
    print(f"neurodyn EM from the shared start: {t_nd:7.1f} s, {n_iter} iterations "
          f"({'converged' if converged else 'NOT converged'}), train objective/bin/neuron "
          f"{-losses[-1] / n_neurons:.6f}, held-out LL {ll_nd:.5f}, state accuracy {acc_nd:.4f}")
    t_tight, tight, _, n_tight, _ = run_em(tol * 1e-2)
    print(f"neurodyn EM from the shared start to tol {tol * 1e-2:g}: {t_tight:7.1f} s, {n_tight} "
          f"iterations, train LL {float(tight.score(X)):.6f}, held-out LL "
          f"{_held_out(tight, X_test, s_test, n_states)[0]:.5f}")

    t0 = time.perf_counter()
    default = StateSwitchingGLM(n_states=n_states, link="sigmoid", device="cpu",
                                random_state=seed).fit(X)
    t_def = time.perf_counter() - t0
    ll_def, acc_def = _held_out(default, X_test, s_test, n_states)
    print(f"neurodyn default fit (n_init='auto'): {t_def:7.1f} s, held-out LL {ll_def:.5f}, "
          f"state accuracy {acc_def:.4f}")

    hmm = _dynamax_glm_hmm(n_states, n_neurons)
    if hmm is None:
        return
    import jax.numpy as jnp
    dparams, props = hmm.initialize(
        initial_probs=jnp.asarray(as_np["pi"]), transition_matrix=jnp.asarray(as_np["A"]),
        emission_weights=jnp.asarray(as_np["W"]), emission_bias=jnp.asarray(as_np["b"]))
    counts = jnp.asarray(batch.counts.numpy())
    feats = jnp.asarray(batch.features.numpy())
    t0 = time.perf_counter()
    dfit, log_probs = hmm.fit_em(dparams, props, counts, inputs=feats, num_iters=max_iter,
                                 verbose=False)
    np.asarray(log_probs)
    t_dx = time.perf_counter() - t0
    per_bin = np.asarray(log_probs) / batch.n_bins
    change = np.abs(np.diff(per_bin)) / np.maximum(1.0, np.abs(per_bin[1:]))
    hit = np.flatnonzero(change < tol)
    k = int(hit[0]) + 2 if hit.size else None
    def as_est(fitted):
        return _as_estimator({"W": np.asarray(fitted.emissions.weights),
                              "b": np.asarray(fitted.emissions.bias),
                              "A": np.asarray(fitted.transitions.transition_matrix),
                              "pi": np.asarray(fitted.initial.probs)}, n_states, truth)

    dx = as_est(dfit)
    train_dx = float(dx.score(X))
    ll_dx, acc_dx = _held_out(dx, X_test, s_test, n_states)
    print(f"dynamax EM (50 Adam steps per M-step) from the shared start: {max_iter} iterations "
          f"in {t_dx:7.1f} s (incl. JIT); its objective's relative change fell below tol at "
          f"iteration {k if k else 'never'}; after {max_iter} iterations: train LL "
          f"{train_dx:.6f}, held-out LL {ll_dx:.5f}, state accuracy {acc_dx:.4f}")
    print(f"neurodyn at its tol: train LL {float(nd.score(X)):.6f} (same function, "
          f"nats/bin/neuron)")
    if not k:
        print(f"time to tol: neurodyn {t_nd:.1f} s | dynamax did not reach it in {max_iter} "
              f"iterations ({t_dx:.1f} s) | ratio > {t_dx / t_nd:.2f}")
        return
    t0 = time.perf_counter()
    dfit_k, _ = hmm.fit_em(dparams, props, counts, inputs=feats, num_iters=k, verbose=False)
    np.asarray(dfit_k.emissions.weights)
    t_k = time.perf_counter() - t0
    dk = as_est(dfit_k)
    train_k = float(dk.score(X))
    ll_k, acc_k = _held_out(dk, X_test, s_test, n_states)
    print(f"dynamax run again for {k} iterations (its time to tol, incl. JIT): {t_k:.1f} s; "
          f"train LL {train_k:.6f}, held-out LL {ll_k:.5f}, state accuracy {acc_k:.4f}")
    # dynamax also learns the initial-state distribution, which neurodyn keeps uniform (as the
    # paper does): worth at most n_trials * log(S) nats in training; its end point with uniform
    # initial probabilities is neurodyn's model
    uni = _as_estimator({"W": np.asarray(dfit_k.emissions.weights),
                         "b": np.asarray(dfit_k.emissions.bias),
                         "A": np.asarray(dfit_k.transitions.transition_matrix),
                         "pi": np.full(n_states, 1.0 / n_states)}, n_states, truth)
    print(f"dynamax's end point with uniform initial probabilities (neurodyn's model): train LL "
          f"{float(uni.score(X)):.6f} (learned initial probabilities are worth at most "
          f"{n_trials * np.log(n_states) / (batch.n_bins * n_neurons):.2e} nats/bin/neuron here)")
    print(f"time to tol: neurodyn {t_nd:.1f} s | dynamax {t_k:.1f} s | ratio dynamax/neurodyn "
          f"{t_k / t_nd:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the spec's grid")
    parser.add_argument("--iters", type=int, default=2,
                        help="EM iterations timed per case (0: E-step comparisons only)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-dynamax", action="store_true")
    parser.add_argument("--neurons", type=int, default=20)
    parser.add_argument("--states", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--fit", action="store_true",
                        help="full fits to the same tolerance from the same start vs dynamax")
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.fit:
        bench_full_fit(args.neurons, args.states, args.trials, max_iter=args.max_iter)
    elif args.full:
        for n in (20, 50, 100):
            for s in (2, 5, 8):
                for b in (30, 150):
                    bench_case(n, s, b, max(args.iters, 20), dynamax=not args.no_dynamax)
    else:
        bench_case(args.neurons, args.states, args.trials, args.iters,
                   dynamax=not args.no_dynamax)


if __name__ == "__main__":
    main()
