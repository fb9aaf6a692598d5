"""Fine-tuned features: every fine-tuner is also a transformer."""

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

__all__ = ["FeaturesMixin"]


class FeaturesMixin(TransformerMixin):
    """``transform``: the pooled features of the fitted (fine-tuned) backbone.

    The features are what the head sees (``head.in_features`` columns,
    float32), so a fine-tuned encoder can feed another estimator
    (``make_pipeline(TextClassifier(...), HistGradientBoostingClassifier())``:
    the pipeline's ``fit`` trains the network once, through ``fit_transform``).
    Output names are ``<classname><i>``; ``set_output(transform="pandas")``
    gives a DataFrame.
    """

    def transform(self, X):
        """Pooled features of the fitted backbone.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the estimator takes.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), float32
            The backbone's output that feeds the head (eval mode).
        """
        check_is_fitted(self)
        module = self._get_module()
        features = self._run(module.backbone, self._validated_inputs(X))
        return np.asarray(features, dtype=np.float32)

    def get_feature_names_out(self, input_features=None):
        """Names of the ``transform`` columns: ``<classname>0``, ``<classname>1``, ...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        width = self._get_module().head.in_features
        return np.asarray([f"{prefix}{i}" for i in range(width)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
