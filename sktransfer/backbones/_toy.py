"""Tiny deterministic backbones for fast tests of the plumbing (no real weights)."""

from sktransfer._optional import import_optional
from sktransfer.backbones._spec import BackboneSpec, ImagePreprocessing

__all__ = ["toy_specs"]

_SEED = 0
_DIM = 16


def _numeric_builder(n_features):
    torch = import_optional("torch")
    nn = torch.nn
    generator = torch.Generator().manual_seed(_SEED)
    linear = nn.Linear(n_features, _DIM)
    with torch.no_grad():
        linear.weight.copy_(
            torch.randn(_DIM, n_features, generator=generator) / n_features**0.5
        )
        linear.bias.copy_(torch.randn(_DIM, generator=generator) * 0.1)
    return nn.Sequential(linear, nn.Tanh())


def _image_builder():
    torch = import_optional("torch")
    nn = torch.nn
    torch_state = torch.random.get_rng_state()
    torch.manual_seed(_SEED)
    try:
        module = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, _DIM, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
    finally:
        torch.random.set_rng_state(torch_state)
    return module


def _text_builder():
    from sktransfer.backbones._toy_text import HashingTextModule

    return HashingTextModule(dim=_DIM, seed=_SEED)


def toy_specs():
    """The toy backbones: ``toy-numeric``, ``toy-image`` and ``toy-text``."""
    return [
        BackboneSpec(
            name="toy-numeric",
            modality="numeric",
            builder=_numeric_builder,
            weights_id=f"toy-numeric-seed{_SEED}",
            output_dim=_DIM,
            family="toy",
            description="tiny random projection + tanh of numeric features (tests)",
        ),
        BackboneSpec(
            name="toy-image",
            modality="image",
            builder=_image_builder,
            weights_id=f"toy-image-seed{_SEED}",
            preprocessing=ImagePreprocessing(
                crop_size=(32, 32),
                resize_size=32,
                interpolation="bilinear",
                mean=(0.5, 0.5, 0.5),
                std=(0.5, 0.5, 0.5),
            ),
            output_dim=_DIM,
            family="toy",
            description="two random conv layers + average pooling, 32 px (tests)",
        ),
        BackboneSpec(
            name="toy-text",
            modality="text",
            builder=_text_builder,
            weights_id=f"toy-text-seed{_SEED}",
            output_dim=_DIM,
            family="toy",
            description="hashed character trigrams + random embedding bag (tests)",
        ),
    ]
