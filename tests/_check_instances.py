"""Numeric configurations under which each public estimator runs sklearn's checks.

Every public estimator found by ``sktransfer.utils.discovery.all_estimators``
must have an entry here (tests/test_common.py fails otherwise), so none can
silently opt out of the scikit-learn checks.

CHECK_INSTANCES: class name -> list of zero-argument factories returning an
instance configured for plain 2-D numeric input (toy backbones etc.).
EXPECTED_FAILED_CHECKS: class name -> {check name: written reason}.
"""

CHECK_INSTANCES = {}

EXPECTED_FAILED_CHECKS = {}
