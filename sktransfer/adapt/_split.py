"""Cross-validation splits for domain adaptation data."""

from numbers import Integral

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.metadata_routing import MetadataRequest
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import _num_samples

from sktransfer.io._domain import infer_sample_domain


class SourceTargetKFold:
    """K-fold splits of stacked source and target rows for domain adaptation.

    The labelled source rows are split in ``n_splits`` folds (stratified by
    class for classification): each source row is scored exactly once and is
    never in the training part of the split that scores it. The unlabelled
    target rows are handled by ``target``:

    - ``"split"`` (default): target rows are split in ``n_splits`` folds too;
      each split trains on the other folds' target rows and hands its own
      held-out target rows to the scorer, unlabelled. No row, source or
      target, is both trained on and scored in one split (inductive: the
      score measures how the model does on target rows it has not seen).
    - ``"shared"``: every split trains on all target rows and scores all of
      them (transductive: the setting where a model is adapted to exactly the
      target rows it must label; their labels are still never used).

    Either way every training part and every scored fold hold both domains,
    which a plain ``KFold`` on stacked data does not guarantee, and the
    masked target labels are never scored as labels: pair this splitter with
    :class:`ImportanceWeightedScorer` or :class:`PredictionEntropyScorer` in
    :class:`~sklearn.model_selection.GridSearchCV` to tune adaptation
    parameters honestly.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    target : {"split", "shared"}, default="split"
        How target rows are shared between training parts and scored folds.
    shuffle : bool, default=False
        Shuffle each domain's rows before splitting.
    random_state : int, RandomState instance or None, default=None
        Seed used when ``shuffle`` is True.

    See Also
    --------
    ImportanceWeightedScorer : Target-free score on the source rows.
    PredictionEntropyScorer : Target-free score on the target rows.

    Notes
    -----
    Domains come from ``sample_domain`` when it is routed to ``split``
    (metadata routing enabled), else from the masked labels in ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.adapt import SourceTargetKFold
    >>> y = np.array([0, 1, 0, 1, 0, 1, -1, -1, -1, -1])
    >>> for train, test in SourceTargetKFold(n_splits=2).split(np.zeros((10, 1)), y):
    ...     print(train, test)
    [3 4 5 8 9] [0 1 2 6 7]
    [0 1 2 6 7] [3 4 5 8 9]
    """

    def __init__(self, n_splits=5, *, target="split", shuffle=False, random_state=None):
        self.n_splits = n_splits
        self.target = target
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None, sample_domain=None):
        """Number of splits.

        Parameters
        ----------
        X, y, groups, sample_domain : object
            Ignored, for API compatibility.

        Returns
        -------
        n_splits : int
            ``n_splits``.
        """
        return self.n_splits

    def split(self, X, y=None, groups=None, sample_domain=None):
        """Generate (train, test) row indices.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Source and target rows.
        y : array-like of shape (n_samples,), default=None
            Labels, masked on the target rows.
        groups : object
            Ignored.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Yields
        ------
        train : ndarray of int
            Training rows of the split.
        test : ndarray of int
            Scored rows of the split.
        """
        if not (isinstance(self.n_splits, Integral) and self.n_splits >= 2):
            raise ValueError(
                f"n_splits must be an integer >= 2, got {self.n_splits!r}."
            )
        if self.target not in ("split", "shared"):
            raise ValueError(
                f"target must be 'split' or 'shared', got {self.target!r}."
            )
        n = _num_samples(X)
        domains = infer_sample_domain(y, sample_domain, n)
        if domains is None:
            raise ValueError(
                "SourceTargetKFold.split needs y with the target labels masked "
                "(-1 / NaN) or sample_domain to tell source from target rows."
            )
        source = np.flatnonzero(domains > 0)
        target = np.flatnonzero(domains < 0)
        if source.size < self.n_splits:
            raise ValueError(
                f"SourceTargetKFold needs at least n_splits={self.n_splits} source "
                f"rows, got {source.size}."
            )
        min_target = 1 if self.target == "shared" else self.n_splits
        if target.size < min_target:
            raise ValueError(
                f"SourceTargetKFold(target={self.target!r}) needs at least "
                f"{min_target} target rows, got {target.size}: mark the unlabelled "
                "target rows with y = -1 / NaN or a negative sample_domain."
            )
        seed = self.random_state if self.shuffle else None
        y_source = None if y is None else np.asarray(y)[source]
        if y_source is not None and type_of_target(y_source) in (
            "binary",
            "multiclass",
        ):
            source_cv = StratifiedKFold(
                self.n_splits, shuffle=self.shuffle, random_state=seed
            )
            source_folds = source_cv.split(source, y_source)
        else:
            source_cv = KFold(self.n_splits, shuffle=self.shuffle, random_state=seed)
            source_folds = source_cv.split(source)
        if self.target == "split":
            target_cv = KFold(self.n_splits, shuffle=self.shuffle, random_state=seed)
            target_folds = target_cv.split(target)
        else:
            everything = np.arange(target.size)
            target_folds = ((everything, everything) for _ in range(self.n_splits))
        for (s_train, s_test), (t_train, t_test) in zip(
            source_folds, target_folds, strict=True
        ):
            train = np.sort(np.r_[source[s_train], target[t_train]])
            test = np.sort(np.r_[source[s_test], target[t_test]])
            yield train, test

    def get_metadata_routing(self):
        """Request ``sample_domain`` for ``split`` (used when routing is on).

        Returns
        -------
        request : MetadataRequest
            The request.
        """
        request = MetadataRequest(owner=type(self).__name__)
        request.split.add_request(param="sample_domain", alias=True)
        return request

    def __repr__(self):
        return (
            f"SourceTargetKFold(n_splits={self.n_splits}, target={self.target!r}, "
            f"shuffle={self.shuffle}, random_state={self.random_state!r})"
        )
