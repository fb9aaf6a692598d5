"""Fine-tuning: pretrained backbones plus a new head as classifiers and regressors."""

from sktransfer.finetune._da_methods import DA_METHODS, DomainAdaptationMethod
from sktransfer.finetune._image import ImageClassifier, ImageRegressor
from sktransfer.finetune._text import TextClassifier, TextRegressor

__all__ = [
    "DA_METHODS",
    "DomainAdaptationMethod",
    "ImageClassifier",
    "ImageRegressor",
    "TextClassifier",
    "TextRegressor",
]
