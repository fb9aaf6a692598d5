"""Feature extraction: frozen pretrained backbones as scikit-learn transformers."""

from sktransfer.embed._image import ImageEmbedder
from sktransfer.embed._text import TextEmbedder

__all__ = ["ImageEmbedder", "TextEmbedder"]
