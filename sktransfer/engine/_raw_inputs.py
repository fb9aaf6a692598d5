"""The raw-input core that the embedders and the fine-tuners share.

Both families take a backbone of one modality (images or texts, or a numeric
toy backbone for the scikit-learn checks) and raw inputs as one column.
`RawInputMixin` holds what they do alike: resolving the backbone with its
modality check, recording and checking the input column, the image
preprocessing at an optional ``image_size``, the probe of the output width,
and the input tags. The length-sorted text loop they share is
`sktransfer.engine._text_inference`.
"""

import dataclasses
import math

import numpy as np

from sktransfer.backbones import backbone_modality, get_backbone
from sktransfer.io._sequence import check_column, record_column

__all__ = ["RawInputMixin", "at_image_size", "sentence_dim"]


def at_image_size(config, image_size):
    """``config`` (an `ImagePreprocessing`) for square inputs of ``image_size``.

    The resize keeps the backbone's crop ratio (``crop / resize``); None (or
    no preprocessing, as for numeric backbones) leaves ``config`` as it is.

    Parameters
    ----------
    config : ImagePreprocessing or None
    image_size : int or None

    Returns
    -------
    config : ImagePreprocessing or None
    """
    if image_size is None or config is None:
        return config
    crop_pct = config.crop_size[0] / config.resize_size
    return dataclasses.replace(
        config,
        crop_size=(image_size, image_size),
        resize_size=int(math.floor(image_size / crop_pct)),
    )


def sentence_dim(model):
    """The output width a sentence-transformers model declares, or None.

    The first of ``get_embedding_dimension`` (sentence-transformers >= 5.3)
    and ``get_sentence_embedding_dimension`` the model has is asked, never
    both (the older name is deprecated where the newer exists).
    """
    for method in ("get_embedding_dimension", "get_sentence_embedding_dimension"):
        if hasattr(model, method):
            dim = getattr(model, method)()
            return int(dim) if dim else None
    return None


class RawInputMixin:
    """What every estimator on raw inputs (images, texts) shares.

    Subclasses set ``_modality`` (``"image"`` or ``"text"``); an image
    estimator may have an ``image_size`` parameter. Put before
    ``BaseEstimator`` in the bases.
    """

    _modality = None

    def _resolve_spec(self):
        """The `BackboneSpec` of ``backbone``, of this modality (or numeric)."""
        spec = get_backbone(self.backbone, modality=self._modality)
        if spec.modality not in (self._modality, "numeric"):
            raise ValueError(
                f"backbone {spec.name!r} is a {spec.modality} backbone; "
                f"{type(self).__name__} needs a {self._modality} backbone "
                f"(or a numeric toy backbone)"
            )
        return spec

    def _record_column(self, X):
        record_column(self, X)

    def _check_column(self, X):
        check_column(self, X)

    def _preprocessing(self):
        """The image preprocessing in use: the backbone's, at ``image_size``."""
        spec = getattr(self, "_spec", None) or self._resolve_spec()
        return at_image_size(spec.preprocessing, getattr(self, "image_size", None))

    def _probe_input(self, spec):
        """One input of ``spec``'s modality: a zero row, a black image, a word."""
        if spec.modality == "numeric":
            return np.zeros((1, self.n_features_in_), dtype=np.float32)
        if spec.modality == "image":
            height, width = self._preprocessing().crop_size
            return np.zeros((1, height, width, 3), dtype=np.uint8)
        return ["probe"]

    def _output_dim(self, spec, model, run, declared=None):
        """The width of the features ``run`` computes with ``model``.

        ``declared`` (the spec's ``output_dim``, when the features are the
        backbone's own) or what a sentence-transformers model declares, else
        the width of ``run`` (inputs -> 2-D array) on `_probe_input`.
        """
        if declared:
            return int(declared)
        dim = sentence_dim(model)
        if dim:
            return dim
        return run(self._probe_input(spec)).shape[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if backbone_modality(self.backbone, default=self._modality) != "numeric":
            tags.input_tags.two_d_array = False
            tags.input_tags.string = self._modality == "text"
        return tags
