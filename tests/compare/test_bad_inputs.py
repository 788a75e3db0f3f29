"""Bad input to every public function of neurodyn.compare gets an error that names the argument."""

import numpy as np
import pytest
import torch

import neurodyn.compare as C

rng = np.random.default_rng(0)
X = rng.standard_normal((20, 5))
Y = X @ rng.standard_normal((5, 4)) + rng.standard_normal((20, 4))
NAN = X.copy()
NAN[3, 1] = np.nan
INF = X.copy()
INF[0, 0] = np.inf

# (label, call, exception, message) -- the message must name the argument
CASES = [
    ("cka nan", lambda: C.linear_cka(NAN, Y), ValueError, "X must be finite"),
    ("cka inf Y", lambda: C.linear_cka(X, INF), ValueError, "Y must be finite"),
    ("cka complex", lambda: C.linear_cka(X + 1j, Y), TypeError, "X must be real-valued"),
    ("cka complex tensor", lambda: C.linear_cka(torch.ones(5, 3, dtype=torch.complex64), Y),
     TypeError, "X must be a real numeric tensor"),
    ("cka strings", lambda: C.linear_cka(X.astype(str), Y), TypeError, "X must be a numeric array"),
    ("cka 1-D", lambda: C.linear_cka(X[:, 0], Y), ValueError, "X must be 2-D or 3-D"),
    ("cka empty", lambda: C.linear_cka(np.zeros((0, 3)), Y), ValueError, "X is empty"),
    ("cka None", lambda: C.linear_cka(X, None), TypeError, "Y must be an array"),
    ("cka rows", lambda: C.linear_cka(X, Y[:10]), ValueError, "same number of conditions"),
    ("cka constant", lambda: C.linear_cka(np.ones((20, 3)), Y), ValueError, "X has no variance"),
    ("cka dtype", lambda: C.linear_cka(X, Y, dtype="float16"), ValueError, "dtype must be float32"),
    ("rbf sigma", lambda: C.rbf_cka(X, Y, sigma=-1.0), ValueError, "sigma must be in"),
    ("rbf sigma nan", lambda: C.rbf_cka(X, Y, sigma=np.nan), ValueError, "sigma must be a number"),
    ("rbf sigma str", lambda: C.rbf_cka(X, Y, sigma="wide"), TypeError, "sigma must be a real number"),
    ("rbf sigma_scale inf", lambda: C.rbf_cka(X, Y, sigma_scale=np.inf), ValueError, "sigma_scale must be in"),
    ("rbf huge sigma_scale", lambda: C.rbf_cka(X, Y, sigma_scale=1e300), ValueError,
     "sigma or sigma_scale may be far too large"),
    ("cka_matrix kernel", lambda: C.cka_matrix([X], kernel="poly"), ValueError, "kernel must be one of"),
    ("cka_matrix type", lambda: C.cka_matrix(X), TypeError, "Xs must be a list or dict"),
    ("cka_matrix nan", lambda: C.cka_matrix([X, NAN]), ValueError, r"Xs\[1\] must be finite"),
    ("hsic shape", lambda: C.hsic(np.eye(4), np.eye(5)), ValueError, "K and L must have the same shape"),
    ("hsic small", lambda: C.hsic(np.eye(3), np.eye(3), unbiased=True), ValueError, "K must be at least 4"),
    ("hsic complex", lambda: C.hsic(np.eye(4) + 1j, np.eye(4)), TypeError, "K must be real-valued"),
    ("LinearCKA Y None", lambda: C.LinearCKA().fit(X, None), TypeError, "Y must be an array"),
    ("shape alpha", lambda: C.shape_distance(X, Y, alpha=1.5), ValueError, "alpha must be in"),
    ("shape alpha str", lambda: C.shape_distance(X, Y, alpha="cca"), TypeError, "alpha must be a real"),
    ("shape method", lambda: C.shape_distance(X, Y, score_method="cos"), ValueError, "score_method must be one of"),
    ("shape constant", lambda: C.shape_distance(np.ones((20, 3)), Y), ValueError, "X has no variance"),
    ("pairwise 3-D", lambda: C.pairwise_shape_distances([X[:, None, :]]), ValueError, r"Xs\[0\] must be 2-D"),
    ("ShapeMetric Y None", lambda: C.ShapeMetric().fit(X, None), TypeError, "Y must be an array"),
    ("ShapeMetric features", lambda: C.ShapeMetric().fit(X, Y).score(X[:, :3], Y), ValueError,
     "X has 3 features; the metric was fitted with 5"),
    ("ShapeMetric layout", lambda: C.ShapeMetric().fit(X, Y).score(X[:, None, :], Y), ValueError,
     "X must have the layout of the data given to fit"),
    ("cv shape None", lambda: C.cross_validated_shape_distance(None, Y), TypeError, "X must be an array"),
    ("cv shape scalar", lambda: C.cross_validated_shape_distance(X, 3.0), ValueError, "Y must be 2-D or 3-D"),
    ("cv shape cv", lambda: C.cross_validated_shape_distance(X, Y, cv=1), ValueError, "cv must be >= 2"),
    ("encoding y None", lambda: C.EncodingModel().fit(X, None), TypeError,
     "y must be an array of targets.*supervised"),
    ("encoding alphas", lambda: C.EncodingModel(alphas=[1.0, -1.0]).fit(X, Y), ValueError,
     "alphas must be finite and positive"),
    ("encoding alphas complex", lambda: C.ridge_cv(X, Y, alphas=[1 + 1j]), TypeError, "alphas must be real-valued"),
    ("encoding alphas None", lambda: C.ridge_cv(X, Y, alphas=None), TypeError, "alphas must be 'auto'"),
    ("encoding predict features", lambda: C.EncodingModel().fit(X, Y).predict(X[:, :2]), ValueError,
     "X has 2 features, but EncodingModel is expecting 5"),
    ("ridge rows", lambda: C.ridge_cv(X, Y[:5]), ValueError, "X and Y must have the same number of samples"),
    ("ridge cv", lambda: C.ridge_cv(X, Y, cv=1), ValueError, "cv must be >= 2"),
    ("cv encoding constant X", lambda: C.cross_validated_encoding(np.ones((20, 3)), Y), ValueError,
     "X has no variance"),
    ("cv encoding alpha_cv", lambda: C.cross_validated_encoding(X, Y, alpha_cv=1), ValueError,
     "alpha_cv must be >= 2"),
    ("cv encoding ceiling inf", lambda: C.cross_validated_encoding(X, Y, noise_ceiling=np.inf), ValueError,
     "noise_ceiling must be finite"),
    ("cv encoding ceiling > 1", lambda: C.cross_validated_encoding(X, Y, noise_ceiling=3.0), ValueError,
     r"noise_ceiling must be a reliability in \(0, 1\]"),
    ("score ceiling str", lambda: C.EncodingModel().fit(X, Y).score(X, Y, noise_ceiling="high"), TypeError,
     "noise_ceiling must be a numeric array"),
    ("noise ceiling constant", lambda: C.split_half_noise_ceiling(np.ones((4, 10, 2))), ValueError,
     "repeats: every target is constant"),
    ("noise ceiling 2-D", lambda: C.split_half_noise_ceiling(X), ValueError, "repeats must be 3-D"),
    ("pearson shape", lambda: C.pearson_r_columns(X, Y), ValueError, "A and B must have the same shape"),
    ("pearson strings", lambda: C.pearson_r_columns(X.astype(str), X), TypeError, "A must be a numeric array"),
    ("pearson complex", lambda: C.pearson_r_columns(X, X + 1j), TypeError, "B must be real-valued"),
    ("bootstrap None", lambda: C.bootstrap_metric("linear_cka", None, Y), TypeError, "X must be an array"),
    ("bootstrap scalar", lambda: C.bootstrap_metric("linear_cka", X, 2.0), ValueError,
     "Y must be an array with conditions on its first axis"),
    ("bootstrap confidence", lambda: C.bootstrap_metric("linear_cka", X, Y, confidence=1.0), ValueError,
     "confidence must be in"),
    ("bootstrap metric", lambda: C.bootstrap_metric("mse", X, Y), ValueError, "metric must be one of"),
    ("bootstrap_interval inf", lambda: C.bootstrap_interval(0.5, [0.1, np.inf]), ValueError,
     "samples must not contain Inf"),
    ("bootstrap_interval one", lambda: C.bootstrap_interval(0.5, [0.1]), ValueError,
     "samples needs at least 2"),
    ("bootstrap_interval shape", lambda: C.bootstrap_interval([0.5, 0.2], np.ones((5, 3))), ValueError,
     "samples must have shape"),
    ("bootstrap_interval estimate", lambda: C.bootstrap_interval(np.nan, [0.1, 0.2]), ValueError,
     "estimate must be finite"),
    ("permutation alternative", lambda: C.permutation_test("linear_cka", X, Y, alternative="two"), ValueError,
     "alternative must be one of"),
    ("permutation strings", lambda: C.permutation_test("linear_cka", X.astype(str), Y), TypeError,
     "X must be a numeric array"),
    ("compare methods", lambda: C.compare_representations(X, Y, methods=None), TypeError,
     "methods must be a method name"),
    ("compare confidence", lambda: C.compare_representations(X, Y, confidence="95%"), TypeError,
     "confidence must be a real number"),
    ("compare shape_alpha", lambda: C.compare_representations(X, Y, methods=("procrustes",), shape_alpha=2),
     ValueError, "shape_alpha must be in"),
    ("compare encoding_alphas", lambda: C.compare_representations(X, Y, methods=("encoding",),
                                                                  encoding_alphas=[0.0]),
     ValueError, "encoding_alphas must be finite and positive"),
    ("compare noise_ceiling", lambda: C.compare_representations(X, Y, methods=("encoding",),
                                                                noise_ceiling={"brain": np.inf}),
     ValueError, r"noise_ceiling\['brain'\] must be finite"),
    ("compare rdm_method", lambda: C.compare_representations(X, Y, methods=("rsa",), rdm_method="l1"),
     ValueError, "rdm_method must be one of"),
    ("compare trsa_bounds", lambda: C.compare_representations(X, Y, methods=("trsa",), trsa_bounds=None),
     ValueError, "trsa_bounds must be a pair"),
    ("compare trsa_bounds order", lambda: C.compare_representations(X, Y, methods=("trsa",),
                                                                    trsa_bounds=(0.9, 0.1)),
     ValueError, "trsa_bounds must satisfy lower <= upper"),
    ("compare constant", lambda: C.compare_representations(np.ones((20, 3)), Y, methods=("cka",)),
     ValueError, "model_activity has no variance"),
    ("method_range", lambda: C.method_range("l2"), ValueError, "method must be one of"),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_the_argument_named(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_public_api_is_covered():
    # every public callable of neurodyn.compare is exercised above or in the property tests
    covered = {"linear_cka", "rbf_cka", "cka_matrix", "hsic", "LinearCKA", "RBFCKA", "ShapeMetric",
               "shape_distance", "pairwise_shape_distances", "cross_validated_shape_distance",
               "EncodingModel", "ridge_cv", "cross_validated_encoding", "split_half_noise_ceiling",
               "pearson_r_columns", "bootstrap_metric", "bootstrap_interval", "permutation_test",
               "compare_representations", "method_range",
               # refused bad inputs of the alignment objective are tested by its owner in
               # test_alignment.py (alignment_loss); train_aligned has no refusal test there yet
               "alignment_loss", "train_aligned"}
    public = {n for n in C.__all__ if callable(getattr(C, n)) and not isinstance(getattr(C, n), type(C))
              and n != "ComparisonTable"}
    assert public <= covered, public - covered


def test_constant_targets_give_documented_nan_not_an_error():
    # one constant target: its r is NaN (documented); the others are scored
    Yc = Y.copy()
    Yc[:, 0] = 7.0
    r = C.EncodingModel().fit(X[:15], Yc[:15]).score_targets(X[15:], Yc[15:])
    assert np.isnan(r[0]) and np.all(np.isfinite(r[1:]))


def test_shape_metric_is_not_a_transformer_and_transform_points_to_align():
    m = C.ShapeMetric().fit(X, Y)
    assert not hasattr(m, "transform") and not hasattr(C.ShapeMetric, "transform")
    with pytest.raises(AttributeError, match=r"renamed ShapeMetric.align\(X, Y\)"):
        m.transform(X, Y)
    with pytest.raises(AttributeError, match="no attribute 'fit_transform'"):
        m.fit_transform(X, Y)
    Xa, Ya = m.align(X, Y)
    assert Xa.shape == Ya.shape == (20, 5)


def test_sparse_input_is_refused_with_a_message_saying_so():
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="sparse input is not supported"):
        C.EncodingModel().fit(sp.csr_matrix(X), Y)
    with pytest.raises(TypeError, match="sparse input is not supported"):
        C.linear_cka(sp.csr_array(X), Y)
    with pytest.raises(ValueError, match="X has 2 features, but EncodingModel is expecting 5 features"):
        C.EncodingModel().fit(X, Y).predict(X[:, :2])
