"""OutlierDetector: any pyod model as a scikit-learn outlier detector."""

import difflib
import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from sktransfer._fitting import restore_on_failure
from sktransfer._optional import import_optional

__all__ = ["OutlierDetector", "list_detectors"]

# pyod class name -> module under pyod.models. Unsupervised detectors that build
# with their default arguments (DeepSVDD gets ``n_features`` from the data);
# supervised ones (XGBOD, DevNet) and those needing extra packages are left out,
# but any pyod class or instance can still be passed directly.
_DETECTORS = {
    "ABOD": "abod",
    "AE1SVM": "ae1svm",
    "ALAD": "alad",
    "AnoGAN": "anogan",
    "AutoEncoder": "auto_encoder",
    "CBLOF": "cblof",
    "COF": "cof",
    "COPOD": "copod",
    "DIF": "dif",
    "DeepSVDD": "deep_svdd",
    "ECOD": "ecod",
    "GMM": "gmm",
    "HBOS": "hbos",
    "HDBSCAN": "hdbscan",
    "IForest": "iforest",
    "INNE": "inne",
    "KDE": "kde",
    "KNN": "knn",
    "KPCA": "kpca",
    "LMDD": "lmdd",
    "LOCI": "loci",
    "LODA": "loda",
    "LOF": "lof",
    "LUNAR": "lunar",
    "MCD": "mcd",
    "MO_GAAL": "mo_gaal",
    "OCSVM": "ocsvm",
    "PCA": "pca",
    "QMCD": "qmcd",
    "RGraph": "rgraph",
    "ROD": "rod",
    "SOD": "sod",
    "SOS": "sos",
    "SO_GAAL": "so_gaal",
    "Sampling": "sampling",
    "VAE": "vae",
}

# parameters that OutlierDetector sets itself
_OWN_PARAMS = ("contamination", "random_state")


def list_detectors():
    """Return the pyod detector names that ``OutlierDetector`` accepts as strings.

    Returns
    -------
    names : list of str
        pyod class names, e.g. ``"IForest"``, ``"KNN"``, ``"ECOD"``.
    """
    return sorted(_DETECTORS)


def _detector_class(name):
    if name not in _DETECTORS:
        by_lower = {key.lower(): key for key in _DETECTORS}
        close = [by_lower[name.lower()]] if name.lower() in by_lower else []
        close = close or difflib.get_close_matches(name, list(_DETECTORS), n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown pyod detector {name!r} for OutlierDetector(detector=...).{hint} "
            f"Available names: {', '.join(list_detectors())}. A pyod detector "
            "class or instance is also accepted."
        )
    module = import_optional(f"pyod.models.{_DETECTORS[name]}")
    return getattr(module, name)


def _init_parameters(cls):
    try:
        return inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins only
        return {}


def _accepts(cls, name):
    # explicit keyword only: a **kwargs catch-all may forward it where it breaks
    param = _init_parameters(cls).get(name)
    return param is not None and param.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


class OutlierDetector(OutlierMixin, BaseEstimator):
    """Any pyod outlier detector with scikit-learn's outlier-detection API.

    Wraps a `pyod <https://pyod.readthedocs.io>`_ model so that it follows the
    conventions of :class:`sklearn.ensemble.IsolationForest` and can be used
    after an :class:`~sktransfer.ImageEmbedder` or
    :class:`~sktransfer.TextEmbedder` in a :class:`~sklearn.pipeline.Pipeline`,
    and tuned with :class:`~sklearn.model_selection.GridSearchCV`.

    pyod and scikit-learn disagree on two conventions, which this class
    converts:

    ==========  ==============================  ==============================
    quantity    pyod                            OutlierDetector (sklearn)
    ==========  ==============================  ==============================
    labels      ``predict``: 0 inlier,          ``predict``: +1 inlier,
                1 outlier                       -1 outlier
    scores      ``decision_function``:          ``score_samples``:
                higher = more anomalous         higher = more normal
    threshold   ``threshold_`` on the scores    ``decision_function`` < 0:
                                                outlier
    ==========  ==============================  ==============================

    Precisely, with ``s`` pyod's ``decision_function`` and ``t`` its
    ``threshold_`` (the ``1 - contamination`` quantile of the training
    scores): ``score_samples = -s``, ``offset_ = -t``,
    ``decision_function = score_samples - offset_ = t - s``, and ``predict``
    is -1 exactly where pyod's ``predict`` is 1 (``s > t``), +1 elsewhere.

    Parameters
    ----------
    detector : str, pyod detector class or pyod detector instance, \
            default="IForest"
        The pyod model. A string is a pyod class name (see
        :func:`list_detectors`); a class is built with ``detector_params``; an
        instance is cloned at ``fit`` (then ``detector_params`` applied to the
        clone), so the object you pass is never modified or fitted. Its
        parameters can be searched as ``detector__<param>`` when it is an
        instance.

    contamination : float in (0, 0.5] or None, default=None
        Expected proportion of outliers in the training data; sets the
        threshold of :meth:`predict`. None keeps the detector's own value
        (pyod's default of 0.1 for a name or a class).

    detector_params : dict or None, default=None
        Keyword arguments for the pyod detector, e.g. ``{"n_neighbors": 10}``
        for ``"KNN"``. ``contamination`` and ``random_state`` are set through
        this class's own parameters instead.

    random_state : int, RandomState instance or None, default=None
        Seed passed to detectors whose constructor takes ``random_state``
        (IForest, LODA, INNE, ...). None keeps the detector's own value.

    Attributes
    ----------
    detector_ : pyod.models.base.BaseDetector
        The fitted clone of the detector. Its ``decision_scores_`` and
        ``labels_`` keep pyod's conventions.

    offset_ : float
        ``-detector_.threshold_``: ``decision_function`` is
        ``score_samples - offset_``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column
        names.

    See Also
    --------
    make_outlier_scorer : ROC-AUC or average precision for a few labelled
        anomalies, whatever the label convention.
    sklearn.ensemble.IsolationForest : the scikit-learn detector whose
        conventions this class follows.

    Notes
    -----
    ``fit`` ignores ``y``: the detectors are unsupervised. Labels only serve
    model selection, where scikit-learn's ``"roc_auc"`` scorer reads
    ``decision_function`` and therefore needs ``y = +1`` for inliers and
    ``y = -1`` for outliers (its positive class is the larger label). With
    pyod's and ODDS's ``y = 1`` for outliers and ``0`` for inliers, that scorer
    returns ``1 - AUC``; use ``make_outlier_scorer("roc_auc", outlier_label=1)``
    instead. ``"average_precision"`` measures the precision of *inliers*
    under either convention; for the precision of outliers use
    ``make_outlier_scorer("average_precision")``.

    ``fit_predict`` returns the labels of the training scores
    (``detector_.labels_``). Detectors such as KNN and LOF score a training
    point without counting it as its own neighbour, so for them
    ``fit_predict(X)`` can differ from ``fit(X).predict(X)``, which scores
    ``X`` as new data.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import OutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(95, 2)), rng.normal(6, 1, size=(5, 2))])
    >>> detector = OutlierDetector("KNN", contamination=0.05).fit(X)
    >>> detector.predict(X[[0, -1]])
    array([ 1, -1])
    >>> bool(detector.decision_function(X[[-1]])[0] < 0)
    True
    """

    _estimator_type = "outlier_detector"  # scikit-learn < 1.6 and other tools

    _parameter_constraints = {
        "detector": [
            str,
            type,
            HasMethods(["fit", "decision_function"]),
        ],
        "contamination": [Interval(Real, 0, 0.5, closed="right"), None],
        "detector_params": [dict, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        detector="IForest",
        *,
        contamination=None,
        detector_params=None,
        random_state=None,
    ):
        self.detector = detector
        self.contamination = contamination
        self.detector_params = detector_params
        self.random_state = random_state

    def _build_detector(self, n_features):
        params = dict(self.detector_params or {})
        for name in _OWN_PARAMS:
            if name in params:
                raise ValueError(
                    f"detector_params must not contain {name!r}; set it with "
                    f"OutlierDetector({name}=...) instead."
                )
        if self.contamination is not None:
            params["contamination"] = self.contamination
        if self.random_state is not None:
            seed = self.random_state
            if not isinstance(seed, Integral):
                seed = check_random_state(seed).randint(np.iinfo(np.int32).max)
            params["random_state"] = seed

        if isinstance(self.detector, str):
            cls = _detector_class(self.detector)
        elif isinstance(self.detector, type):
            cls = self.detector
        else:
            detector = clone(self.detector)
            cls = type(detector)
        if not _accepts(cls, "random_state"):
            params.pop("random_state", None)
        if isinstance(self.detector, (str, type)):
            required = _init_parameters(cls).get("n_features")
            if required is not None and required.default is inspect.Parameter.empty:
                params.setdefault("n_features", n_features)  # DeepSVDD
            detector = cls(**params)
        else:
            detector.set_params(**params)
        return detector

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit a clone of the pyod detector on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, e.g. embeddings from an ``ImageEmbedder``.

        y : Ignored
            Not used: the detectors are unsupervised.

        Returns
        -------
        self : OutlierDetector
            The fitted detector.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        import_optional("pyod")
        detector = self._build_detector(X.shape[1])
        contamination = getattr(detector, "contamination", None)
        if not isinstance(contamination, Real) or not 0 < contamination <= 0.5:
            raise ValueError(
                "OutlierDetector needs a detector whose contamination is a float "
                f"in (0, 0.5]; got {contamination!r} on {type(detector).__name__}. "
                "Set OutlierDetector(contamination=...)."
            )
        detector.fit(X)
        if not hasattr(detector, "threshold_"):
            raise TypeError(
                f"{type(detector).__name__} has no threshold_ after fit; "
                "OutlierDetector wraps pyod detectors (pyod.models.base.BaseDetector)."
            )
        self.detector_ = detector
        self.offset_ = -float(detector.threshold_)
        return self

    def score_samples(self, X):
        """Normality score of each sample: the opposite of pyod's anomaly score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-detector_.decision_function(X)``: the lower, the more abnormal.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        scores = self.detector_.decision_function(X)
        return -np.asarray(scores, dtype=np.float64).ravel()

    def decision_function(self, X):
        """Shifted normality score: negative for outliers, as in scikit-learn.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``score_samples(X) - offset_``, i.e. pyod's threshold minus pyod's
            anomaly score: negative exactly where pyod predicts an outlier.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Predict +1 for inliers and -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 where pyod's ``predict`` gives 0, -1 where it gives 1.
        """
        return _to_sklearn_labels(self.decision_function(X) < 0)

    def fit_predict(self, X, y=None):
        """Fit on X and return the labels of the training samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used: the detectors are unsupervised.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers: pyod's ``labels_`` converted.
        """
        self.fit(X)
        return _to_sklearn_labels(np.asarray(self.detector_.labels_).ravel() == 1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _to_sklearn_labels(is_outlier):
    return np.where(is_outlier, -1, 1)
