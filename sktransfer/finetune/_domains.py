"""Which rows of a domain adaptation fit are source and which are target."""

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples, validate_data

from sktransfer.io._domain import infer_sample_domain

__all__ = ["validate_domains"]


def validate_domains(estimator, X, y, sample_domain, spec, reset=True):
    """Domain adaptation: validated inputs, the source rows' y and the source mask.

    Target rows are those with a masked label (``-1`` for classes, ``NaN``
    for regression) or a negative ``sample_domain`` (skada's convention).
    """
    name, method = type(estimator).__name__, estimator.domain_adaptation
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None: give "
            f"the source labels, masked (-1 for classes, NaN for regression) "
            f"on the unlabelled target rows"
        )
    if spec.modality == "numeric":
        data = validate_data(estimator, X, dtype=np.float32, reset=reset)
        data = np.array(data, dtype=np.float32, order="C")
    else:
        data = estimator._validate_raw(X)
        if reset:
            estimator._record_column(X)
        else:
            estimator._check_column(X)
    n_y = _num_samples(y)
    if n_y != len(data):
        raise ValueError(
            f"X and y have different lengths: X has {len(data)} samples, y has "
            f"{n_y}; give one target per input (masked on the target rows)"
        )
    masked = estimator._masked_rows(y)
    domains = infer_sample_domain(
        np.where(masked, np.nan, 0.0), sample_domain, len(data)
    )
    source = domains > 0
    if not source.any():
        raise ValueError(
            f"{name}.fit with domain_adaptation={method!r} found no labelled "
            f"source row: every label is masked (-1 / NaN) or every "
            f"sample_domain is negative. Stack the labelled source rows with "
            f"the unlabelled target rows in X."
        )
    if source.all():
        raise ValueError(
            f"{name}.fit with domain_adaptation={method!r} found no target "
            f"row: mark the unlabelled target rows with y = -1 (classes) or "
            f"NaN (regression), or give them a negative sample_domain; or set "
            f"domain_adaptation=None to train without adaptation."
        )
    y_source = _safe_indexing(y, np.flatnonzero(source))
    if getattr(getattr(y_source, "dtype", None), "kind", None) == "O":
        # an object array only held -1 next to the labels: give the labels
        # their own dtype back (ints stay ints for type_of_target)
        y_source = np.asarray(y_source.tolist())
    return data, y_source, source
