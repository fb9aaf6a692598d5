"""Which rows are source and which are target (skada's convention).

Source and target rows are stacked in one ``X``. A row is *target* when its
label is masked (``-1`` for classification, ``NaN`` for regression) or when
``sample_domain`` gives it a negative value; positive ``sample_domain`` values
are source domains. When neither ``y`` nor ``sample_domain`` says anything (at
``transform`` / ``predict`` time), rows are target rows.
"""

from dataclasses import dataclass, fields
from numbers import Number

import numpy as np
from sklearn.utils import Tags, get_tags
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array

# domain labels given to rows when sample_domain is inferred (skada uses the same)
SOURCE_LABEL = 1
TARGET_LABEL = -2
# domain label of rows at transform / predict time when nothing is said
DEFAULT_TARGET_LABEL = -1


def masked_labels(y):
    """Return a boolean mask of the rows whose label is masked.

    A label is masked when it is ``NaN`` (or ``None``), or when it is ``-1``
    and ``y`` holds class labels. Continuous targets without ``NaN`` have no
    masked rows (``-1.0`` is then an ordinary regression value). For 2-D
    ``y``, a row is masked when all its entries are masked.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Labels, with unlabelled target rows masked.

    Returns
    -------
    mask : ndarray of bool, shape (n_samples,)
        True for the masked (unlabelled) rows.
    """
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("y must be 1-D or 2-D, got a scalar.")
    if y.dtype.kind in "OUS":
        flat = np.array(
            [
                v is None
                or (isinstance(v, float) and np.isnan(v))
                or (isinstance(v, (int, float, np.number)) and v == -1)
                for v in y.ravel()
            ],
            dtype=bool,
        ).reshape(y.shape)
    elif y.dtype.kind in "fc" and np.isnan(y).any():
        flat = np.isnan(y)
    elif y.dtype.kind in "biuf" and y.size and _is_class_labels(y):
        flat = y == -1
    else:
        flat = np.zeros(y.shape, dtype=bool)
    return flat.all(axis=1) if flat.ndim == 2 else flat


def check_label_types(y, name="y"):
    """Raise a clear ValueError when the labels mix strings and numbers.

    numpy cannot sort strings with numbers (``'<' not supported between
    instances of 'int' and 'str'``), so no class list can be made: the error
    names the types found, with an example of each and its index. Masked
    rows must be left out by the caller (``-1`` next to string labels is the
    domain adaptation mask, not a label).

    Parameters
    ----------
    y : array-like
        Labels.
    name : str, default="y"
        What to call them in the message.
    """
    y = np.asarray(y)
    if y.dtype.kind != "O":
        return
    examples = {}  # kind -> {type name: (index, value)}
    for index, value in enumerate(y.ravel()):
        if isinstance(value, (str, bytes, np.str_, np.bytes_)):
            kind = "string"
        elif isinstance(value, (Number, np.number)):
            kind = "number"
        else:
            kind = type(value).__name__
        examples.setdefault(kind, {}).setdefault(type(value).__name__, (index, value))
    if len(examples) < 2:
        return
    found = "; ".join(
        f"{type_name} (e.g. {value!r} at index {index})"
        for kinds in examples.values()
        for type_name, (index, value) in kinds.items()
    )
    raise ValueError(
        f"{name} mixes label types that cannot be compared: {found}. Labels must "
        f"be all strings or all numbers: convert them first, e.g. "
        f"np.asarray({name}).astype(str)"
    )


def refuse_plus_minus_one(name, y, masked):
    """Labels {-1, +1}: -1 would silently mean "unlabelled target row"."""
    if y.ndim != 1 or not masked.any() or masked.all():
        return
    try:
        labelled = set(np.unique(y[~masked]).tolist())
    except TypeError:  # mixed label types: reported where the classes are made
        return
    if labelled == {1} and bool(np.all(y[masked] == -1)):
        raise ValueError(
            f"{name}.fit got the labels {{-1, 1}}: under the domain adaptation "
            f"masking convention (skada's), y = -1 marks an unlabelled target "
            f"row, so {int(masked.sum())} rows would be dropped as target rows "
            f"and only class 1 would be left to learn from. If -1 is a class, "
            f"relabel it, e.g. y = (y > 0).astype(int) for 0/1 labels."
        )


def _is_class_labels(y):
    kind = type_of_target(y)
    return kind in ("binary", "multiclass", "multiclass-multioutput")


def check_sample_domain(sample_domain, n_samples):
    """Validate ``sample_domain``: non-zero integers, one per row."""
    sample_domain = np.asarray(sample_domain)
    if sample_domain.ndim == 0:
        sample_domain = np.full(n_samples, sample_domain)
    sample_domain = check_array(
        sample_domain, ensure_2d=False, dtype=None, input_name="sample_domain"
    )
    if sample_domain.ndim != 1 or sample_domain.shape[0] != n_samples:
        raise ValueError(
            f"sample_domain must have one entry per row of X ({n_samples}), got "
            f"shape {sample_domain.shape}."
        )
    if sample_domain.dtype.kind not in "iu":
        as_int = sample_domain.astype(np.int64)
        if not np.array_equal(as_int, sample_domain):
            raise ValueError(
                "sample_domain must hold integers (positive = source, negative = "
                f"target), got values such as {sample_domain[:3].tolist()}."
            )
        sample_domain = as_int
    if np.any(sample_domain == 0):
        pos = np.flatnonzero(sample_domain == 0)[:5].tolist()
        raise ValueError(
            "sample_domain must be positive for source rows and negative for "
            f"target rows; got 0 at rows {pos}."
        )
    return sample_domain.astype(np.int64)


def infer_sample_domain(y, sample_domain, n_samples):
    """Domain label of every row, from ``sample_domain`` and/or the masked labels.

    Parameters
    ----------
    y : array-like or None
        Labels with the target rows masked, or None.
    sample_domain : array-like or None
        Domain labels, positive for source and negative for target rows.
    n_samples : int
        Number of rows.

    Returns
    -------
    sample_domain : ndarray of int, shape (n_samples,) or None
        None when neither ``y`` nor ``sample_domain`` was given.

    Raises
    ------
    ValueError
        When ``sample_domain`` and the masked labels disagree: a source row
        with a masked label, or a target row with a label.
    """
    if sample_domain is None and y is None:
        return None
    masked = None if y is None else masked_labels(y)
    if masked is not None and masked.shape[0] != n_samples:
        raise ValueError(
            f"y has {masked.shape[0]} rows but X has {n_samples}; they must match."
        )
    if sample_domain is None:
        return np.where(masked, TARGET_LABEL, SOURCE_LABEL).astype(np.int64)
    sample_domain = check_sample_domain(sample_domain, n_samples)
    if masked is not None:
        bad_source = np.flatnonzero((sample_domain > 0) & masked)
        if bad_source.size:
            raise ValueError(
                "sample_domain and y disagree: rows "
                f"{bad_source[:5].tolist()} are source rows (sample_domain > 0) "
                "but their label is masked (-1 or NaN). Source rows must be "
                "labelled; give unlabelled rows a negative sample_domain."
            )
        bad_target = np.flatnonzero((sample_domain < 0) & ~masked)
        if bad_target.size:
            raise ValueError(
                "sample_domain and y disagree: rows "
                f"{bad_target[:5].tolist()} are target rows (sample_domain < 0) "
                "but carry a label. Mask target labels (y = -1 for classes, NaN "
                "for regression) so that it is clear they are not trained on."
            )
    return sample_domain


def transform_sample_domain(sample_domain, n_samples):
    """Domain labels at transform / predict time: target unless told otherwise."""
    if sample_domain is None:
        return np.full(n_samples, DEFAULT_TARGET_LABEL, dtype=np.int64)
    return check_sample_domain(sample_domain, n_samples)


@dataclass(slots=True)
class DomainTags(Tags):
    """scikit-learn's estimator tags, plus what domain adaptation needs to know.

    Attributes
    ----------
    handles_masked_labels : bool, default=False
        Whether the estimator's ``fit`` takes source and target rows stacked,
        with the target rows' labels masked, and deals with them itself (a
        fine-tuner with ``domain_adaptation``, ``SelectSource``, ...). The
        domain adaptation pipelines (``make_da_pipeline``) then leave it
        unwrapped; otherwise they train it on the labelled source rows only.
    """

    handles_masked_labels: bool = False


def with_masked_labels(tags, handles=True):
    """``tags`` (from ``super().__sklearn_tags__()``) as `DomainTags`.

    Parameters
    ----------
    tags : sklearn.utils.Tags
    handles : bool, default=True
        The value of ``handles_masked_labels``.

    Returns
    -------
    tags : DomainTags
        The same tags (copied into a `DomainTags` when they are plain ones).
    """
    if not isinstance(tags, DomainTags):
        tags = DomainTags(**{f.name: getattr(tags, f.name) for f in fields(Tags)})
    tags.handles_masked_labels = bool(handles)
    return tags


def handles_masked_labels(estimator):
    """Whether ``estimator`` takes the masked target rows itself (its tag).

    False for estimators whose tags do not say (any estimator outside
    sktransfer); for a :class:`~sklearn.pipeline.Pipeline`, the answer of its
    last step.

    Parameters
    ----------
    estimator : estimator instance

    Returns
    -------
    handles : bool
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return bool(estimator.steps) and handles_masked_labels(estimator.steps[-1][1])
    if not hasattr(estimator, "__sklearn_tags__"):  # None, "passthrough", ...
        return False
    return bool(getattr(get_tags(estimator), "handles_masked_labels", False))
