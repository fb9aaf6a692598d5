"""The backbone registry: where weights come from and how to feed them.

The registry is the only place that knows where weights come from. A
`BackboneSpec` carries the modality, a builder, the preprocessing that matches
the weights, the output size and a stable fingerprint.
"""

from sktransfer.backbones._registry import (
    backbone_modality,
    describe_backbones,
    get_backbone,
    list_backbones,
    register_backbone,
)
from sktransfer.backbones._spec import BackboneSpec, ImagePreprocessing

__all__ = [
    "BackboneSpec",
    "ImagePreprocessing",
    "backbone_modality",
    "describe_backbones",
    "get_backbone",
    "list_backbones",
    "register_backbone",
]
