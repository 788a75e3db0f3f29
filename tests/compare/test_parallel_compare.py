"""n_jobs on the bootstraps and permutations of neurodyn.compare: identical to the serial run."""

import sys

import numpy as np
import pytest
from joblib import parallel_config

from neurodyn.compare import bootstrap_metric, compare_representations, linear_cka, permutation_test

try:  # joblib's loky pickles with the installed cloudpickle, or with its vendored copy
    import cloudpickle
except ImportError:  # pragma: no cover
    from joblib.externals import cloudpickle

# the metrics below travel to loky's worker processes by value (this file is not importable there)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

PARALLEL = [("loky", 2), ("threading", 2)]


def _corr(X, Y):
    """Pearson r between the condition means of X and Y (a scalar metric)."""
    return float(np.corrcoef(X.mean(1), Y.mean(1))[0, 1])


def _per_column(X, Y):
    """An array-valued metric: r between X's mean and each column of Y."""
    return np.array([np.corrcoef(X.mean(1), Y[:, j])[0, 1] for j in range(Y.shape[1])])


def _fails_on_duplicates(X, Y):
    if len(np.unique(X[:, 0])) < X.shape[0]:
        raise ValueError("X has a duplicated condition")
    return 0.0


def _data(seed=0, n=12):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 3))
    X = latent @ rng.standard_normal((3, 6))
    Y = latent @ rng.standard_normal((3, 5)) + 0.5 * rng.standard_normal((n, 5))
    Ys = Y[None] + 0.3 * rng.standard_normal((4, n, 5))
    return X, Y, Ys


def _run(backend, fn, *args, **kw):
    with parallel_config(backend=backend):
        return fn(*args, **kw)


def test_bootstrap_serial_equals_an_explicit_loop_over_the_same_draws():
    X, Y, Ys = _data()
    got = bootstrap_metric(_corr, X, Ys, n_bootstrap=15, resample="both", random_state=3)
    rng = np.random.default_rng(3)
    cond = rng.integers(0, 12, size=(15, 12))
    subj = rng.integers(0, 4, size=(15, 4))
    ref = np.array([_corr(X[c], Ys[s].mean(0)[c]) for c, s in zip(cond, subj, strict=True)])
    np.testing.assert_array_equal(got["samples"], ref)


@pytest.mark.parametrize("backend,n_jobs", PARALLEL)
@pytest.mark.parametrize("metric,resample", [(_corr, "conditions"), (_per_column, "conditions"),
                                             (_corr, "subjects"), (_corr, "both"),
                                             ("linear_cka", "both")])
def test_bootstrap_metric_n_jobs_equals_serial(backend, n_jobs, metric, resample):
    X, Y, Ys = _data()
    Yin = Y if resample == "conditions" else Ys
    kw = dict(n_bootstrap=23, resample=resample, random_state=7)
    if isinstance(metric, str):
        kw["device"] = "cpu"
    ref = bootstrap_metric(metric, X, Yin, **kw)
    got = _run(backend, bootstrap_metric, metric, X, Yin, n_jobs=n_jobs, **kw)
    assert np.isfinite(ref["samples"]).all() and ref["samples"].shape[0] == 23
    np.testing.assert_array_equal(got["samples"], ref["samples"])
    for key in ("estimate", "se", "ci_low", "ci_high"):
        np.testing.assert_array_equal(got[key], ref[key])


@pytest.mark.parametrize("backend,n_jobs", PARALLEL)
@pytest.mark.parametrize("metric", [_corr, _per_column])
def test_permutation_test_n_jobs_equals_serial_and_an_explicit_loop(backend, n_jobs, metric):
    X, Y, _ = _data()
    ref = permutation_test(metric, X, Y, n_permutations=19, random_state=5)
    got = _run(backend, permutation_test, metric, X, Y, n_permutations=19, random_state=5,
               n_jobs=n_jobs)
    rng = np.random.default_rng(5)
    loop = np.stack([np.asarray(metric(X, Y[rng.permutation(12)]), dtype=float) for _ in range(19)])
    np.testing.assert_array_equal(ref["null"], loop)
    np.testing.assert_array_equal(got["null"], ref["null"])
    np.testing.assert_array_equal(got["p_value"], ref["p_value"])


def test_bootstrap_error_names_the_block_and_keeps_its_type():
    X, Y, _ = _data()
    with pytest.raises(ValueError, match=r"bootstrap block \d+: X has a duplicated condition"):
        bootstrap_metric(_fails_on_duplicates, X, Y, n_bootstrap=5, random_state=0)
    with parallel_config(backend="threading"), pytest.raises(
            ValueError, match=r"bootstrap block \d+: X has a duplicated condition"):
        bootstrap_metric(_fails_on_duplicates, X, Y, n_bootstrap=5, random_state=0, n_jobs=2)


def test_n_jobs_is_validated_by_name():
    X, Y, _ = _data()
    with pytest.raises(ValueError, match="n_jobs must be None"):
        bootstrap_metric(_corr, X, Y, n_bootstrap=3, n_jobs=0)
    with pytest.raises(TypeError, match="n_jobs must be None or an integer"):
        permutation_test(_corr, X, Y, n_permutations=3, n_jobs=1.5)
    with pytest.raises(TypeError, match="n_jobs must be None or an integer"):
        compare_representations(X, Y, methods=("cka",), n_jobs="2")


def _table_values(table):
    keys = ("score", "ci_low", "ci_high", "se", "p_value")
    return [(r["model"], r["brain"], r["method"], r["time"]) for r in table.rows], \
        np.array([[r[k] for k in keys] for r in table.rows], dtype=float)


@pytest.mark.parametrize("backend,n_jobs", PARALLEL)
def test_compare_representations_n_jobs_equals_serial(backend, n_jobs):
    X, Y, _ = _data(n=15)
    layers = {"a": X, "b": np.random.default_rng(1).standard_normal((15, 4))}
    kw = dict(methods=("rsa", "cka", "procrustes", "encoding"), cv=3, n_bootstrap=9, n_permutations=7,
              random_state=4, device="cpu")
    ref = compare_representations(layers, {"V1": Y}, **kw)
    got = _run(backend, compare_representations, layers, {"V1": Y}, n_jobs=n_jobs, **kw)
    ref_keys, ref_vals = _table_values(ref)
    got_keys, got_vals = _table_values(got)
    assert got_keys == ref_keys
    assert np.isfinite(ref_vals).all()
    np.testing.assert_array_equal(got_vals, ref_vals)
    # the CKA interval and p-value come from the bootstrap/permutation loop over the same draws
    rng = np.random.default_rng(4)
    boot = rng.integers(0, 15, size=(9, 15))
    perms = [rng.permutation(15) for _ in range(7)]
    row = ref.select(model="a", method="cka").rows[0]
    null = np.array([linear_cka(X, Y[p], device="cpu") for p in perms])
    assert row["p_value"] == (1 + np.sum(null >= row["score"] - 1e-12)) / 8
    samples = np.array([linear_cka(X[b], Y[b], device="cpu") for b in boot])
    assert row["se"] == pytest.approx(np.std(samples, ddof=1), rel=1e-9)
