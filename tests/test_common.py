"""scikit-learn's estimator checks over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sktransfer.utils.discovery import all_estimators
from tests._check_instances import CHECK_INSTANCES, expected_failed_checks

ESTIMATORS = all_estimators()


def _instances():
    out = []
    for name, _ in ESTIMATORS:
        for factory in CHECK_INSTANCES.get(name, []):
            out.append(factory())
    return out


@pytest.mark.parametrize("name", [name for name, _ in ESTIMATORS])
def test_every_estimator_has_a_check_configuration(name):
    assert CHECK_INSTANCES.get(name), (
        f"{name} has no numeric configuration in tests/_check_instances.py; "
        "every public estimator must run scikit-learn's checks"
    )


@parametrize_with_checks(
    _instances(), expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
