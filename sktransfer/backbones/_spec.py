"""What the registry knows about a backbone: `BackboneSpec` and `ImagePreprocessing`."""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["BackboneSpec", "ImagePreprocessing"]

MODALITIES = ("image", "text", "numeric")
# how layer outputs are pooled to one vector per input (engine/_extract.py)
POOLINGS = ("avg", "max", "avgmax", "cls")


@dataclass(frozen=True)
class ImagePreprocessing:
    """The evaluation preprocessing that matches a backbone's weights.

    Images are resized so that their shorter side is ``resize_size`` (keeping
    the aspect ratio), centre-cropped to ``crop_size``, scaled to [0, 1] and
    normalised with ``mean`` and ``std``. Built from the weights' own metadata
    (timm's data config, torchvision's weight transforms), never typed by hand
    at a call site.

    Parameters
    ----------
    crop_size : tuple of int
        ``(height, width)`` fed to the network.
    resize_size : int
        Length of the shorter side after resizing, before the crop.
    interpolation : {"bilinear", "bicubic", "nearest"}
        Resampling filter.
    mean, std : tuple of float
        Per-channel normalisation, applied to values in [0, 1].
    """

    crop_size: tuple
    resize_size: int
    interpolation: str = "bilinear"
    mean: tuple = (0.485, 0.456, 0.406)
    std: tuple = (0.229, 0.224, 0.225)

    @classmethod
    def from_timm_config(cls, config):
        """Build from a timm data config (``timm.data.resolve_data_config``)."""
        import math

        _, height, width = config["input_size"]
        crop_pct = config.get("crop_pct") or 1.0
        return cls(
            crop_size=(int(height), int(width)),
            resize_size=int(math.floor(min(height, width) / crop_pct)),
            interpolation=str(config.get("interpolation", "bilinear")),
            mean=tuple(float(v) for v in config["mean"]),
            std=tuple(float(v) for v in config["std"]),
        )

    @classmethod
    def from_torchvision_transforms(cls, transforms):
        """Build from torchvision's ``weights.transforms()`` (ImageClassification)."""
        crop = transforms.crop_size
        crop = (crop[0], crop[0]) if len(crop) == 1 else tuple(crop)
        return cls(
            crop_size=tuple(int(c) for c in crop),
            resize_size=int(transforms.resize_size[0]),
            interpolation=transforms.interpolation.value,
            mean=tuple(float(v) for v in transforms.mean),
            std=tuple(float(v) for v in transforms.std),
        )


@dataclass(frozen=True, eq=False)
class BackboneSpec:
    """A recipe for a pretrained backbone: how to build it and how to feed it.

    Parameters
    ----------
    name : str
        Registry name.
    modality : {"image", "text", "numeric"}
        What the backbone consumes.
    builder : callable
        ``builder(**kwargs)`` returns the module with its weights loaded: a
        ``torch.nn.Module`` for image and numeric backbones (numeric builders
        receive ``n_features``), a ``SentenceTransformer`` or a module mapping a
        list of strings to a tensor for text backbones.
    weights_id : str or None
        Stable identity of everything that defines the backbone's output
        beyond its name and preprocessing: the weights (a content hash, or the
        weight enum / hub id) and, for user modules, their class, buffers and
        configuration. Part of the fingerprint. ``None`` means that no stable
        identity exists: the fingerprint is then new at every call and the
        embedders do not cache (see ``cacheable``).
    preprocessing : ImagePreprocessing or None
        Image preprocessing matching the weights (image backbones only).
    output_dim : int or None
        Size of the pooled penultimate features, when known without building.
    family : str
        Where the architecture comes from: ``"timm"``, ``"torchvision"``,
        ``"sentence-transformers"``, ``"toy"`` or ``"module"``. Used to find
        blocks for fine-tuning.
    offline : bool
        Whether the weights are available with no network.
    description : str
        One line for ``list_backbones``.
    extra : dict
        Free-form details (source package, file path, ...). When
        ``weights_id`` is None, ``extra["uncacheable_reason"]`` says why.
    """

    name: str
    modality: str
    builder: Callable[..., Any]
    weights_id: str | None
    preprocessing: ImagePreprocessing | None = None
    output_dim: int | None = None
    family: str = "module"
    offline: bool = True
    description: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.modality not in MODALITIES:
            raise ValueError(
                f"BackboneSpec modality must be one of {MODALITIES}, "
                f"got {self.modality!r} for backbone {self.name!r}"
            )

    @property
    def cacheable(self):
        """Whether equal fingerprints of this spec mean equal embeddings.

        False when ``weights_id`` is None (no stable identity could be formed,
        e.g. a module whose ``repr`` holds a memory address): embedders then
        run without their cache and warn once.
        """
        return self.weights_id is not None

    @property
    def uncacheable_reason(self):
        """Why the spec is not `cacheable` (None when it is)."""
        if self.cacheable:
            return None
        return self.extra.get("uncacheable_reason", "its weights_id is None")

    def build(self, **kwargs):
        """Build the module with its pretrained weights."""
        return self.builder(**kwargs)

    def fingerprint(self, **options):
        """Stable hash of name, weights, preprocessing and extraction options.

        Parameters
        ----------
        **options
            Extraction options that change the output (layer, pooling,
            precision, ...). JSON-serialisable values.

        Returns
        -------
        fingerprint : str
            Hex digest; equal fingerprints mean equal embeddings. When the
            spec is not `cacheable`, a new random one at each call, so that
            it is never shared.
        """
        weights = self.weights_id
        if weights is None:
            weights = f"unstable:{uuid.uuid4().hex}"
        payload = {
            "name": self.name,
            "modality": self.modality,
            "weights": weights,
            "preprocessing": asdict(self.preprocessing) if self.preprocessing else None,
            "options": options,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]
