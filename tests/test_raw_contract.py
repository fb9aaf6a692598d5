"""The raw-input contract, run for every public estimator.

Each configuration of tests/_raw_instances.py goes through the same tests:
unfitted methods raise NotFittedError, fit returns self, outputs have the
documented types (transformers: float32, named features, pandas output),
pickle and joblib round trips give identical outputs, clone is cheap and
unfitted, ``set_params`` really swaps the model, a bare string is an error,
and a 1-D collection, a Series and a one-column frame are one input. Embedder
specifics (weights stored by reference, ``store_weights_in_pickle``, a
changed backbone detected at transform) stay in tests/test_embedders.py.
"""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import _safe_indexing, get_tags

from sktransfer.utils.discovery import all_estimators
from tests._raw_instances import NUMERIC_ONLY, RAW_INSTANCES

ESTIMATORS = [name for name, _ in all_estimators()]
CASES = [
    pytest.param(case, id=f"{name}-{index}")
    for name, cases in RAW_INSTANCES.items()
    for index, case in enumerate(cases)
]
OUTPUT_METHODS = ("predict", "predict_proba", "transform")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", ESTIMATORS)
def test_every_estimator_has_a_raw_configuration_or_a_reason(name):
    assert bool(RAW_INSTANCES.get(name)) != bool(NUMERIC_ONLY.get(name)), (
        f"{name} needs a raw-input configuration in tests/_raw_instances.py "
        "(RAW_INSTANCES) or a written reason in NUMERIC_ONLY why it takes only "
        "numeric input"
    )


def test_no_configuration_for_a_name_that_is_not_public():
    assert set(RAW_INSTANCES) | set(NUMERIC_ONLY) <= set(ESTIMATORS)


def _fit(case, estimator=None, X=None, y=None):
    estimator = case.make() if estimator is None else estimator
    X = case.X if X is None else X
    y = case.y if y is None else y
    args = () if y is None else (y,)
    return estimator.fit(X, *args, **case.fit_params)


def _outputs(estimator, X):
    """{method: output} of the output methods the estimator has."""
    return {
        method: getattr(estimator, method)(X)
        for method in OUTPUT_METHODS
        if hasattr(estimator, method)
    }


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for method in a:
        np.testing.assert_array_equal(np.asarray(a[method]), np.asarray(b[method]))


_FITTED = {}


@pytest.fixture
def fitted(request):
    """(case, fitted estimator, its outputs), fitted once per configuration."""
    case = request.param
    key = id(case)
    if key not in _FITTED:
        estimator = _fit(case)
        _FITTED[key] = (estimator, _outputs(estimator, _test_inputs(case)))
    estimator, outputs = _FITTED[key]
    return case, estimator, outputs


def _test_inputs(case):
    return case.X if case.X_test is None else case.X_test


def _with_cases(test):
    return pytest.mark.parametrize("fitted", CASES, indirect=True)(test)


@pytest.mark.parametrize("case", CASES)
def test_unfitted_methods_raise_and_fit_returns_self(case):
    estimator = case.make()
    methods = [m for m in OUTPUT_METHODS if hasattr(estimator, m)]
    assert methods, "no predict, predict_proba or transform"
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(_test_inputs(case))
    assert _fit(case, estimator) is estimator


@_with_cases
def test_outputs_have_the_documented_types(fitted):
    case, estimator, outputs = fitted
    n = len(_test_inputs(case))
    if "predict" in outputs:
        assert outputs["predict"].shape == (n,)
    if "predict_proba" in outputs:
        proba = outputs["predict_proba"]
        assert proba.shape == (n, len(estimator.classes_))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    if get_tags(estimator).transformer_tags is not None:  # a transformer
        Z = outputs["transform"]
        assert Z.dtype == np.float32 and Z.ndim == 2 and Z.shape[0] == n
        names = estimator.get_feature_names_out()
        assert len(names) == Z.shape[1]
        if not hasattr(estimator, "set_output"):
            # SelectSource / ImportanceWeightingAdapter delegate transform and
            # its feature names; set_output goes on their inner estimator
            return
        pandas_out = clone(estimator).set_output(transform="pandas")
        frame = _fit(case, pandas_out).transform(_test_inputs(case))
        assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(names)


@_with_cases
def test_pickle_and_joblib_give_the_same_outputs(fitted, tmp_path):
    case, estimator, outputs = fitted
    X = _test_inputs(case)
    _assert_same(_outputs(pickle.loads(pickle.dumps(estimator)), X), outputs)
    joblib.dump(estimator, tmp_path / "estimator.joblib")
    _assert_same(_outputs(joblib.load(tmp_path / "estimator.joblib"), X), outputs)


@_with_cases
def test_clone_is_unfitted_and_small(fitted):
    case, estimator, _ = fitted
    cloned = clone(estimator)
    state = vars(cloned)
    assert not [k for k in state if k.endswith("_") and not k.startswith("__")]
    assert len(pickle.dumps(cloned)) < 20_000  # no weights in an unfitted pickle


@_with_cases
def test_set_params_really_swaps_the_model(fitted):
    case, estimator, outputs = fitted
    X, y = case.X, case.y
    if case.swap_rows is not None:
        rows = list(case.swap_rows)
        X = _safe_indexing(X, rows)
        y = None if y is None else _safe_indexing(y, rows)
        outputs = _outputs(_fit(case, clone(estimator), X, y), _test_inputs(case))
    swapped = _fit(case, clone(estimator).set_params(**case.swap), X, y)
    new = _outputs(swapped, _test_inputs(case))
    changed = [
        method
        for method in outputs
        if np.shape(new[method]) != np.shape(outputs[method])
        or not np.array_equal(new[method], outputs[method])
    ]
    assert changed, f"set_params(**{case.swap}) changed no output"


@pytest.mark.parametrize("case", CASES)
def test_a_bare_string_is_an_error(case):
    with pytest.raises(ValueError, match="bare str" if case.one_column else None):
        _fit(case, X="just one string")


@_with_cases
def test_a_series_and_a_one_column_frame_are_the_same_input(fitted):
    case, estimator, outputs = fitted
    if not case.one_column:
        pytest.skip("X is a table of several columns")
    column = pd.Series(list(case.X), name="content")
    from_frame = _fit(case, clone(estimator), column.to_frame())
    from_series = _fit(case, clone(estimator), column)
    assert list(from_frame.feature_names_in_) == ["content"]
    frame_outputs = _outputs(from_frame, column.to_frame())
    _assert_same(frame_outputs, _outputs(from_series, column))
    _assert_same(frame_outputs, outputs)  # and the same as the plain list
    with pytest.raises(ValueError, match="fitted on column"):
        _outputs(from_frame, column.rename("other").to_frame())
