"""sktransfer: pretrained deep networks as scikit-learn estimators.

Importing this package is cheap: torch, timm and sentence-transformers are
imported only when an estimator first needs them.
"""

import importlib

__version__ = "0.1.0.dev0"

# public name -> module that defines it (imported on first access)
_LAZY = {
    # backbones
    "BackboneSpec": "sktransfer.backbones",
    "get_backbone": "sktransfer.backbones",
    "list_backbones": "sktransfer.backbones",
    "register_backbone": "sktransfer.backbones",
    # feature extraction
    "ImageEmbedder": "sktransfer.embed",
    "TextEmbedder": "sktransfer.embed",
    # fine-tuning
    "ImageClassifier": "sktransfer.finetune",
    "ImageRegressor": "sktransfer.finetune",
    "TextClassifier": "sktransfer.finetune",
    "TextRegressor": "sktransfer.finetune",
    # domain adaptation
    "CORALAdapter": "sktransfer.adapt",
    "DomainStandardScaler": "sktransfer.adapt",
    "ImportanceWeightedScorer": "sktransfer.adapt",
    "ImportanceWeightingAdapter": "sktransfer.adapt",
    "PredictionEntropyScorer": "sktransfer.adapt",
    "SelectSource": "sktransfer.adapt",
    "SourceTargetKFold": "sktransfer.adapt",
    "SubspaceAlignmentAdapter": "sktransfer.adapt",
    "TCAAdapter": "sktransfer.adapt",
    "make_da_pipeline": "sktransfer.adapt",
    # composition with other libraries
    "OutlierDetector": "sktransfer.integrations",
    "ImplicitRecommender": "sktransfer.integrations",
    # exceptions
    "BackboneNotAvailableError": "sktransfer.exceptions",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sktransfer' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
