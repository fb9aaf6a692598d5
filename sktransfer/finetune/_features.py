"""Fine-tuned features: every fine-tuner is also a transformer."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["FeaturesMixin"]


class FeaturesMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
