"""Shared-precision crossnobis: the one-product whitening of all subjects equals per-subject whitening
and a direct numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

import neurodyn.rsa.rdm as rdm_module
from neurodyn.rsa import compute_rdm, noise_precision


def _direct(x, cond, run, prec):
    """Leave-one-run-out crossnobis straight from its definition (mean over run pairs r != s)."""
    K = cond.max() + 1
    R = run.max() + 1
    P = x.shape[1]
    means = np.stack([[x[(run == r) & (cond == k)].mean(0) for k in range(K)] for r in range(R)])
    iu = np.triu_indices(K, 1)
    out = np.zeros(len(iu[0]))
    for n, (i, j) in enumerate(zip(*iu, strict=True)):
        acc = 0.0
        for r in range(R):
            for s in range(R):
                if r != s:
                    acc += (means[r, i] - means[r, j]) @ prec @ (means[s, i] - means[s, j])
        out[n] = acc / (R * (R - 1)) / P
    return out


@pytest.mark.parametrize("block_subjects", [None, 3])  # whole batch at once / blocks of 3 and 1
def test_shared_precision_batch_equals_per_subject_and_definition(monkeypatch, block_subjects):
    rng = np.random.default_rng(3)
    S, K, R, P = 4, 6, 4, 30
    x = rng.normal(size=(S, K * R, P))
    cond = np.tile(np.arange(K), R)
    run = np.repeat(np.arange(R), K)
    prec = noise_precision(rng.normal(size=(80, P)), "shrinkage_diag")
    x0 = x.copy()
    if block_subjects is not None:
        monkeypatch.setattr(rdm_module, "_WHITEN_BLOCK_BYTES", block_subjects * R * K * P * 8)
    whiten = rdm_module._whiten
    blocks = []
    monkeypatch.setattr(rdm_module, "_whiten", lambda w, c: blocks.append(w.shape) or whiten(w, c))
    batch = compute_rdm(x, "crossnobis", conditions=cond, folds=run, noise=prec, device="cpu",
                        dtype="float64")
    single = np.vstack([compute_rdm(x[s:s + 1], "crossnobis", conditions=cond, folds=run, noise=prec,
                                    device="cpu", dtype="float64") for s in range(S)])
    # the shared-precision branch ran: blocks of subjects, then one subject at a time for `single`
    expected = [(S, R, K, P)] if block_subjects is None else [(3, R, K, P), (1, R, K, P)]
    assert blocks[:len(expected)] == expected and blocks[len(expected):] == [(R, K, P)] * S
    np.testing.assert_allclose(batch, single, rtol=1e-12, atol=1e-14)
    direct = np.stack([_direct(x[s], cond, run, prec) for s in range(S)])
    np.testing.assert_allclose(batch, direct, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(x, x0)
