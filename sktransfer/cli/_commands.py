"""``sktransfer backbones`` and ``sktransfer demo``."""

import inspect

__all__ = ["default_backbones", "run_backbones", "run_demo"]


def default_backbones():
    """``{modality: name}`` of the embedders' default backbones (they work offline)."""
    from sktransfer.embed import ImageEmbedder, TextEmbedder

    return {
        modality: inspect.signature(cls).parameters["backbone"].default
        for modality, cls in (("image", ImageEmbedder), ("text", TextEmbedder))
    }


def run_backbones(args):
    """Run ``sktransfer backbones``: the registry, the defaults marked."""
    from sktransfer.backbones import describe_backbones

    defaults = default_backbones()
    for name, modality, description in describe_backbones():
        if args.modality in (None, modality):
            mark = "*" if defaults.get(modality) == name else " "
            print(f"{mark} {name:<24} {modality:<8} {description}")
    print(
        "\n* the default of its modality (used when --backbone is not given)."
        "\nAlso accepted (downloaded when online): torchvision names ('resnet50',"
        "\n'resnet50:IMAGENET1K_V2'), timm names ('timm:convnext_tiny'),"
        "\nsentence-transformers ids or folders."
    )
    return 0


def run_demo(args):
    """Run ``sktransfer demo``."""
    from sktransfer._demo import run_demo as demo

    demo(backbone=args.backbone, cv=args.cv, quick=args.quick)
    return 0
