"""Classification and regression on top of `BaseFineTuner`."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_y, check_is_fitted, column_or_1d

from sktransfer._fitting import restore_on_failure
from sktransfer._optional import import_optional
from sktransfer.finetune._base import STRATEGIES, BaseFineTuner
from sktransfer.finetune._runtime import FineTunedRuntimeMixin

__all__ = ["ClassifierFineTuner", "RegressorFineTuner"]


class ClassifierFineTuner(FineTunedRuntimeMixin, ClassifierMixin, BaseFineTuner):
    """A fine-tuned network with a linear softmax head over ``classes_``."""

    _parameter_constraints = {
        **BaseFineTuner._parameter_constraints,
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        # strategy="contrastive" (sktransfer.finetune._contrastive)
        "strategy": [StrOptions({*STRATEGIES, "contrastive"})],
        "contrastive_iterations": [Interval(Integral, 1, None, closed="left")],
        "contrastive_loss": [StrOptions({"auto", "cosine", "supcon"})],
        "contrastive_distance": [StrOptions({"cosine", "euclidean"})],
        "head_l2": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
    }

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Fine-tune the backbone and a new classification head.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes. With
            ``domain_adaptation``: the labelled source rows and the unlabelled
            target rows, stacked.
        y : array-like of shape (n_samples,)
            Labels of any hashable type (str, int, ...); at least two classes.
            With ``domain_adaptation``, ``-1`` (or ``None`` / ``NaN``) marks
            the unlabelled target rows; mixing ``-1`` with string labels
            needs an object array.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss (those of target rows are unused).
        sample_domain : array-like of shape (n_samples,), default=None
            With ``domain_adaptation`` only: positive for source rows,
            negative for target rows; inferred from the masked labels when
            absent, and must agree with them. Routed by scikit-learn's
            metadata routing when that is enabled.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, sample_domain)

    def _masked_rows(self, y):
        from sktransfer.io._domain import masked_labels

        if not hasattr(y, "dtype"):  # keep -1 an int next to str labels
            y = np.array(list(y), dtype=object)
        return masked_labels(y)

    def _prepare_targets(self, y, weights, warm):
        from sktransfer.io._domain import check_label_types

        y = _check_y(y, estimator=self)
        y = column_or_1d(y, warn=True)
        check_label_types(y)
        check_classification_targets(y)
        classes, encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"y has only one class ({classes[0]!r}); a classifier needs at "
                f"least two classes"
            )
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has classes {classes.tolist()} instead of "
                f"the fitted classes_ {self.classes_.tolist()}; fit a new model"
            )
        weighted = np.bincount(encoded, weights=weights, minlength=len(classes))
        if (weighted > 0).sum() < 2:
            kept = classes[weighted > 0]
            raise ValueError(
                f"sample_weight leaves only one class with positive weight "
                f"({kept.tolist()}); a classifier needs at least two classes"
            )
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=classes, y=y)
            weights = weights * per_class[encoded].astype(np.float32)
        return encoded.astype(np.int64), weights, {"classes_": classes}

    def _n_outputs(self, fitted=None):
        return len((fitted or vars(self))["classes_"])

    def _criterion(self):
        from sktransfer.engine._training import WeightedCrossEntropy

        return WeightedCrossEntropy(label_smoothing=self.label_smoothing)

    def _stratify(self, targets):
        return targets

    def _net_class(self, n_outputs):
        import functools

        from sktransfer.engine._training import TransferClassifierNet

        torch = import_optional("torch")
        return TransferClassifierNet, {
            "classes": list(range(n_outputs)),
            "predict_nonlinearity": functools.partial(torch.softmax, dim=-1),
        }

    def predict_proba(self, X):
        """Class probabilities (softmax of the head's outputs).

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        logits = self._outputs(X).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each input.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._outputs(X), axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on ``(X, y)``; labels unseen during fit are an error.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        known = set(self.classes_.tolist())
        unseen = [
            label for label in np.unique(np.asarray(y)).tolist() if label not in known
        ]
        if unseen:
            raise ValueError(
                f"y contains labels not seen during fit: {unseen[:10]}; the "
                f"classifier knows only {self.classes_.tolist()}"
            )
        return super().score(X, y, sample_weight=sample_weight)


class RegressorFineTuner(FineTunedRuntimeMixin, RegressorMixin, BaseFineTuner):
    """A fine-tuned network with a linear head for one or several targets.

    Targets are standardised for training (mean 0, variance 1 per output) and
    predictions mapped back.
    """

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Fine-tune the backbone and a new regression head.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes. With
            ``domain_adaptation``: the labelled source rows and the unlabelled
            target rows, stacked.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Finite numeric targets. With ``domain_adaptation``, ``NaN`` (in
            every output) marks the unlabelled target rows.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights of the loss (those of target rows are unused).
        sample_domain : array-like of shape (n_samples,), default=None
            With ``domain_adaptation`` only: positive for source rows,
            negative for target rows; inferred from the masked targets when
            absent, and must agree with them. Routed by scikit-learn's
            metadata routing when that is enabled.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, sample_domain)

    def _masked_rows(self, y):
        # regression: only NaN masks a row (-1 is an ordinary value)
        try:
            values = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{type(self).__name__} needs numeric targets, with NaN on the "
                f"unlabelled target rows: {error}"
            ) from None
        masked = np.isnan(values)
        return masked.reshape(len(masked), -1).all(axis=1)

    def _prepare_targets(self, y, weights, warm):
        y = _check_y(y, multi_output=True, y_numeric=True, estimator=self)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        matrix = y.reshape(len(y), -1)
        if warm and matrix.shape[1] != self.n_outputs_:
            raise ValueError(
                f"warm_start=True but y has {matrix.shape[1]} outputs instead of "
                f"the fitted {self.n_outputs_}; fit a new model"
            )
        if warm:
            fitted = {}
            mean, scale = self._y_mean, self._y_scale
        else:
            mean, scale = matrix.mean(axis=0), matrix.std(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
            fitted = {
                "n_outputs_": matrix.shape[1],
                "_y_1d": y.ndim == 1,
                "_y_mean": mean,
                "_y_scale": scale,
            }
        scaled = (matrix - mean) / scale
        return scaled.astype(np.float32), weights, fitted

    def _n_outputs(self, fitted=None):
        return (fitted or vars(self))["n_outputs_"]

    def _criterion(self):
        from sktransfer.engine._training import WeightedMSE

        return WeightedMSE()

    def _stratify(self, targets):
        return None

    def _net_class(self, n_outputs):
        from sktransfer.engine._training import TransferRegressorNet

        return TransferRegressorNet, {}

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The shape of ``y`` seen in ``fit``.
        """
        check_is_fitted(self)
        out = self._outputs(X).astype(np.float64) * self._y_scale + self._y_mean
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
