"""Bad-input sweep over neurodyn's whole public API (issue 13, "no silent wrong answers").

The public callables come from each subpackage's ``__all__``; a registry
(``_api_registry.py``) gives each one small valid arguments. From them this file
derives, for every array argument, NaN / +Inf / empty / wrong-ndim / complex /
string / object variants (and the transpose of a time series), and for every
numeric parameter NaN, -1 and the listed out-of-range values. Each case must
either raise a ``ValueError``/``TypeError`` (``MemoryError`` for size guards,
``FileNotFoundError`` for missing data) whose message names the argument, or
return a correct result: finite, in range, input not modified.

A public callable that is neither registered nor in ``EXEMPT`` fails
``test_registry_covers_public_api``, so a new function is swept automatically or
must be declared. Cases failing today because their subpackage is not fixed yet
are listed in ``KNOWN_FAILURES`` and marked ``xfail(strict=True)``: a fix makes
them XPASS, which fails, prompting removal from the list.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import math
import os
import re
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

_spec = importlib.util.spec_from_file_location("_api_registry", Path(__file__).with_name("_api_registry.py"))
reg = sys.modules.get("_api_registry") or importlib.util.module_from_spec(_spec)
if "_api_registry" not in sys.modules:
    sys.modules["_api_registry"] = reg
    _spec.loader.exec_module(reg)

from neurodyn._validation import LayoutWarning  # noqa: E402

CASE_TIMEOUT_S = 20
PATH_ARGS = {"data_home", "data_dir", "path"}
MUST_FAIL_VARIANTS = {"nan", "inf", "empty", "complex", "str", "object"}

# Cases that fail today because the owning subpackage is being fixed (issue 13).
# Each id is "<callable>[#k]|<where>|<argument>|<variant>"; see ``_case_id``.
KNOWN_FAILURES: dict[str, str] = {}


# ------------------------------------------------------------------------------ helpers
class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer within {CASE_TIMEOUT_S} s")


def _run_with_timeout(fn):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT_S)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def nonfinite_path(obj, where: str = "result", depth: int = 0) -> str | None:
    """Where ``obj`` holds a NaN or Inf (None if nowhere)."""
    if depth > 4:
        return None
    if isinstance(obj, torch.nn.Module):
        for n, p in obj.named_parameters():
            if not torch.isfinite(p).all():
                return f"{where}.{n}"
        return None
    if isinstance(obj, torch.Tensor):
        obj = obj.detach().cpu().numpy()
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc" and obj.size and not np.isfinite(obj).all():
            return where
        if obj.dtype == object and obj.size < 100:
            for i, v in enumerate(obj.ravel()):
                bad = nonfinite_path(v, f"{where}[{i}]", depth + 1)
                if bad:
                    return bad
        return None
    if isinstance(obj, (float, np.floating, complex)):
        return None if np.isfinite(obj) else where
    if isinstance(obj, dict):
        for k, v in list(obj.items())[:100]:
            bad = nonfinite_path(v, f"{where}[{k!r}]", depth + 1)
            if bad:
                return bad
        return None
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj[:100]):
            bad = nonfinite_path(v, f"{where}[{i}]", depth + 1)
            if bad:
                return bad
        return None
    if hasattr(obj, "get_params"):  # fitted estimator: its learned attributes
        for k, v in vars(obj).items():
            if k.endswith("_") and not k.startswith("_"):
                bad = nonfinite_path(v, f"{where}.{k}", depth + 1)
                if bad:
                    return bad
        return None
    if hasattr(obj, "__dataclass_fields__"):
        for k in obj.__dataclass_fields__:
            bad = nonfinite_path(getattr(obj, k, None), f"{where}.{k}", depth + 1)
            if bad:
                return bad
    return None


def _inf_path(obj) -> str | None:
    arrays = []

    def collect(o, where, depth=0):
        if depth > 4:
            return
        if isinstance(o, torch.Tensor):
            o = o.detach().cpu().numpy()
        if isinstance(o, np.ndarray) and o.dtype.kind in "fc":
            arrays.append((where, o))
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o[:100]):
                collect(v, f"{where}[{i}]", depth + 1)
        elif isinstance(o, dict):
            for k, v in list(o.items())[:100]:
                collect(v, f"{where}[{k!r}]", depth + 1)
    collect(obj, "result")
    for where, a in arrays:
        if np.isinf(a).any():
            return where
    return None


def names_argument(message: str, name: str, value=None) -> bool:
    if name in ("Y", "y") and name.swapcase() in message.split():  # fit(X, Y) or fit(X, y)
        return True
    if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message):
        return True
    return name in PATH_ARGS and isinstance(value, str) and value in message


def _snapshot(kwargs: dict) -> dict:
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, np.ndarray):
            out[k] = v.copy()
        elif isinstance(v, torch.Tensor):
            out[k] = v.detach().clone()
        elif isinstance(v, list) and v and all(isinstance(a, np.ndarray) for a in v):
            out[k] = [a.copy() for a in v]
    return out


def _assert_unchanged(kwargs: dict, snap: dict) -> None:
    for k, before in snap.items():
        now = kwargs[k]
        if isinstance(before, list):
            for a, b in zip(now, before, strict=True):
                np.testing.assert_array_equal(a, b, err_msg=f"{k} was modified in place")
        elif isinstance(before, torch.Tensor):
            assert torch.equal(now, before), f"{k} was modified in place"
        else:
            np.testing.assert_array_equal(now, before, err_msg=f"{k} was modified in place")


# -------------------------------------------------------------------------- variants
def _as_numpy(v):
    if isinstance(v, torch.Tensor):
        return v.detach().cpu().numpy(), "torch"
    return v, "numpy"


def array_arguments(entry, kwargs) -> list[str]:
    out = []
    for k, v in kwargs.items():
        if k in entry.skip_arrays:
            continue
        if isinstance(v, (np.ndarray, torch.Tensor)) and np.asarray(_as_numpy(v)[0]).dtype != object:
            if np.asarray(_as_numpy(v)[0]).ndim >= 1:
                out.append(k)
        elif isinstance(v, list) and v and all(isinstance(a, np.ndarray) for a in v):
            out.append(k)
    return out


def make_variant(value, variant: str, *, is_timeseries: bool):
    """The bad version of one array argument (element 0 of a list of arrays)."""
    if isinstance(value, list):
        out = list(value)
        out[0] = make_variant(value[0], variant, is_timeseries=is_timeseries)
        return out
    x, kind = _as_numpy(value)
    x = np.array(x)
    if variant == "nan":
        y = x.astype(float)
        y.flat[0] = np.nan
    elif variant == "inf":
        y = x.astype(float)
        y.flat[-1] = np.inf
    elif variant == "empty":
        y = np.empty((0,) + x.shape[1:], dtype=x.dtype)
    elif variant == "ndim":
        y = x[None, :, None] if x.ndim == 1 else x.ravel()
    elif variant == "one_of_stack":  # one recording/subject where a stack is expected
        y = np.ascontiguousarray(x[0])
    elif variant == "complex":
        y = x.astype(complex) + 1j
    elif variant == "str":
        return x.astype(str)
    elif variant == "object":
        y = x.astype(object)
        y.flat[0] = None
        return y
    elif variant == "transposed":
        y = np.ascontiguousarray(np.swapaxes(x, -1, -2))
    else:  # pragma: no cover
        raise AssertionError(variant)
    if kind == "torch":
        return torch.as_tensor(y)
    return y


def array_variants(entry, kwargs, arg) -> list[str]:
    v = ["nan", "inf", "empty", "ndim", "complex", "str", "object"]
    if arg in entry.timeseries:
        v.append("transposed")
    first = kwargs[arg][0] if isinstance(kwargs[arg], list) else kwargs[arg]
    if np.asarray(_as_numpy(first)[0]).ndim >= 3:
        v.append("one_of_stack")
    return v


def numeric_parameters(obj, entry, kwargs) -> list[str]:
    """Parameters with a numeric (non-bool) value in the valid call or as default."""
    if not entry.numeric:
        return []
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    base = dict(kwargs if not reg.is_estimator(obj) else entry.params)
    out = []
    for name, p in sig.parameters.items():
        if name in reg.NOT_NUMERIC or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        val = base.get(name, p.default)
        if isinstance(val, (bool, np.bool_)) or not isinstance(val, (int, float, np.integer, np.floating)):
            continue
        out.append(name)
    return out


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        return f"array{list(v.shape)}:{np.ravel(v)[:2].tolist()}"
    s = repr(v)
    return s if len(s) <= 30 else s[:27] + "..."


# ------------------------------------------------------------------------ case table
def _case_id(case: str, where: str, arg: str, variant: str) -> str:
    return f"{case}|{where}|{arg}|{variant}"


def _collect():
    callables = reg.public_callables()
    registry = reg.registry()
    valid, arrays, params, after = [], [], [], []
    for name, entries in registry.items():
        obj = callables.get(name)
        if obj is None:
            continue
        for i, entry in enumerate(entries):
            case = reg.case_name(name, i)
            if entry.valid:
                valid.append((case, name, i))
            try:
                kwargs = entry.make()
            except Exception:  # a broken factory shows up in test_valid_call
                continue
            est = reg.is_estimator(obj)
            if entry.valid:
                for arg in array_arguments(entry, kwargs):
                    for var in array_variants(entry, kwargs, arg):
                        arrays.append((_case_id(case, "fit" if est else "call", arg, var), name, i, arg, var))
            # explicit invalid values first: an auto value with the same id is then dropped
            rows = {}
            for pname, vals in entry.bad.items():
                for val in vals:
                    rows.setdefault(_case_id(case, "param", pname, _short(val)), (pname, val, "bad"))
            for pname, vals in entry.odd.items():
                for val in vals:
                    rows.setdefault(_case_id(case, "param", pname, _short(val)), (pname, val, "odd"))
            for pname in numeric_parameters(obj, entry, kwargs):
                for val, kind in ((math.nan, "bad"), (-1, "odd")):
                    rows.setdefault(_case_id(case, "param", pname, _short(val)), (pname, val, kind))
            params.extend((cid, name, i, *row) for cid, row in rows.items())
            if est and entry.valid:
                for meth in [m for m in entry.methods if hasattr(obj, m)]:  # test_registry_methods_exist
                    taken = reg.method_kwargs(getattr(obj, meth), {a: None for a in kwargs})
                    margs = [a for a in array_arguments(entry, kwargs)
                             if a in taken or (a in ("Y", "y") and a.swapcase() in taken)]
                    for arg in margs:
                        for var in array_variants(entry, kwargs, arg):
                            after.append((_case_id(case, meth, arg, var), name, i, meth, arg, var))
    return valid, arrays, params, after


VALID, ARRAYS, PARAMS, AFTER = _collect()


def _marks(case_id: str):
    # NEURODYN_SWEEP_NO_XFAIL=1 runs every case unmarked (to list today's failures)
    if case_id in KNOWN_FAILURES and not os.environ.get("NEURODYN_SWEEP_NO_XFAIL"):
        return [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[case_id])]
    return []


def _params(rows):
    return [pytest.param(*row[1:], id=row[0], marks=_marks(row[0])) for row in rows]


def _entry(name: str, i: int):
    return reg.public_callables()[name], reg.registry()[name][i]


def _call(obj, entry, kwargs, params=None):
    """Run the entry's call; for an estimator, fit it and return it."""
    if reg.is_estimator(obj):
        est = obj(**dict(entry.params, **(params or {})))
        return est.fit(**reg.method_kwargs(est.fit, kwargs))
    if entry.invoke is not None:
        return entry.invoke(obj, kwargs)
    return obj(**kwargs)


def _check_result(result, entry, kwargs, what: str, method: bool = False,
                  nan_passes: bool = False) -> None:
    if nan_passes:  # missing entries stay missing (NaN), but nothing may become Inf
        bad = _inf_path(result)
        assert bad is None, f"{what}: silent Inf in {bad}"
    elif not entry.nonfinite_ok:
        bad = nonfinite_path(result)
        assert bad is None, f"{what}: silent NaN/Inf in {bad}"
    if entry.check is not None and not method:  # an estimator's check applies to the fitted estimator
        entry.check(result, kwargs)


def _must_fail(entry, arg: str, variant: str) -> bool:
    if variant in ("nan", "object") and arg in entry.nan_ok:  # NaN (None) marks missing data
        return False
    if variant == "inf" and arg in entry.inf_ok:
        return False
    if variant == "str" and arg in entry.label_args:  # string class labels are legal
        return False
    if variant == "empty" and arg in entry.empty_ok:  # an empty selection of units is legal
        return False
    return variant in MUST_FAIL_VARIANTS


def _expect_clear(fn, arg: str, *, must_fail: bool, value=None, transposed: bool = False,
                  entry=None, kwargs=None, what: str = "", method: bool = False,
                  nan_passes: bool = False):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = _run_with_timeout(fn)
        except Hang as exc:
            pytest.fail(f"{what}: hang ({exc})")
        except np.linalg.LinAlgError as exc:
            pytest.fail(f"{what}: raw LinAlgError: {exc}")
        except (ValueError, TypeError, MemoryError, FileNotFoundError) as exc:
            msg = str(exc)
            if transposed and any(names_argument(msg, k) for k in (kwargs or {})):
                return  # a transposed series refused through the argument it clashes with
            assert names_argument(msg, arg, value), (
                f"{what}: {type(exc).__name__} does not name {arg!r}: {msg}")
            return
    if transposed:
        assert any(issubclass(w.category, LayoutWarning) for w in caught), (
            f"{what}: a transposed {arg} was accepted without a LayoutWarning")
        return
    if must_fail:
        pytest.fail(f"{what}: accepted silently")
    _check_result(result, entry, kwargs, what, method=method, nan_passes=nan_passes)


# ---------------------------------------------------------------------------- tests
def test_registry_covers_public_api():
    public = set(reg.public_callables())
    registered = set(reg.registry())
    exempt = set(reg.EXEMPT)
    missing = sorted(public - registered - exempt)
    assert not missing, (f"public callables neither in the sweep registry nor EXEMPT: {missing}; "
                         "add a factory of valid arguments to tests/core/_api_registry.py")
    stale = sorted((registered | exempt) - public)
    assert not stale, f"registry/EXEMPT names that are no longer public: {stale}"
    assert not registered & exempt
    assert all(reason.strip() for reason in reg.EXEMPT.values())


def test_registry_methods_exist():
    callables = reg.public_callables()
    missing = [f"{name}.{m}" for name, entries in reg.registry().items() for e in entries
               for m in e.methods if not hasattr(callables[name], m)]
    assert not missing, f"registry methods the estimators do not have: {missing}"


def test_known_failures_are_real_cases():
    ids = {r[0] for r in ARRAYS + PARAMS + AFTER} | {f"{c}|valid" for c, *_ in VALID}
    unknown = sorted(set(KNOWN_FAILURES) - ids)
    assert not unknown, f"KNOWN_FAILURES ids that match no case: {unknown}"


@pytest.mark.parametrize(("name", "i"), [pytest.param(n, i, id=c, marks=_marks(f"{c}|valid"))
                                         for c, n, i in VALID])
def test_valid_call(name, i):
    """The registry's valid arguments give a finite, in-range result and stay unmodified."""
    obj, entry = _entry(name, i)
    kwargs = entry.make()
    snap = _snapshot(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = _run_with_timeout(lambda: _call(obj, entry, kwargs))
        except (ValueError, TypeError) as exc:
            if not any(names_argument(str(exc), a) for a in entry.may_refuse):
                raise
            return  # a borderline input refused clearly
        _check_result(result, entry, kwargs, name)
        if reg.is_estimator(obj):
            for meth in [m for m in entry.methods if hasattr(obj, m)]:
                margs = reg.method_kwargs(getattr(obj, meth), kwargs)
                _check_result(getattr(result, meth)(**margs), entry, kwargs, f"{name}.{meth}", method=True)
    _assert_unchanged(kwargs, snap)


@pytest.mark.parametrize(("name", "i", "arg", "variant"), _params(ARRAYS))
def test_bad_array(name, i, arg, variant):
    obj, entry = _entry(name, i)
    kwargs = entry.make()
    kwargs[arg] = make_variant(kwargs[arg], variant, is_timeseries=arg in entry.timeseries)
    must_fail = _must_fail(entry, arg, variant)
    nan_passes = entry.nan_passthrough and arg in entry.nan_ok and variant in ("nan", "object")
    _expect_clear(lambda: _call(obj, entry, kwargs), arg, must_fail=must_fail,
                  transposed=variant == "transposed", entry=entry, kwargs=kwargs,
                  what=f"{name}({arg}={variant})", nan_passes=nan_passes)


@pytest.mark.parametrize(("name", "i", "param", "value", "kind"), _params(PARAMS))
def test_bad_parameter(name, i, param, value, kind):
    obj, entry = _entry(name, i)
    kwargs = entry.make()
    if reg.is_estimator(obj):
        fn = lambda: _call(obj, entry, kwargs, params={param: value})  # noqa: E731
    else:
        kwargs[param] = value
        fn = lambda: _call(obj, entry, kwargs)  # noqa: E731
    _expect_clear(fn, param, must_fail=kind == "bad", value=value, entry=entry, kwargs=kwargs,
                  what=f"{name}({param}={_short(value)})")


_FITTED: dict = {}


def _fitted(name, i):
    if (name, i) not in _FITTED:
        obj, entry = _entry(name, i)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITTED[(name, i)] = _call(obj, entry, entry.make())
    return _FITTED[(name, i)]


@pytest.mark.parametrize(("name", "i", "method", "arg", "variant"), _params(AFTER))
def test_bad_input_after_fit(name, i, method, arg, variant):
    """transform / predict / score of a fitted estimator refuse bad input clearly."""
    obj, entry = _entry(name, i)
    est = copy.deepcopy(_fitted(name, i))
    kwargs = entry.make()
    margs = reg.method_kwargs(getattr(obj, method), kwargs)
    arg = arg if arg in margs else arg.swapcase()
    margs[arg] = make_variant(margs[arg], variant, is_timeseries=arg in entry.timeseries)
    must_fail = _must_fail(entry, arg, variant)
    _expect_clear(lambda: getattr(est, method)(**margs), arg, must_fail=must_fail,
                  transposed=variant == "transposed", entry=entry, kwargs=margs,
                  what=f"{name}.{method}({arg}={variant})", method=True)
