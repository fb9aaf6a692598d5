"""A backbone's blocks, found per family, and the plan of what trains when.

Blocks are ordered from the input to the output. Parameters before the first
block form the *stem* (embeddings, first convolution); parameters after the
last block (a final norm, a pooler) belong to the last block.

* timm models: the model's own ``group_matcher(coarse=True)`` (the grouping
  timm uses for layer-wise learning-rate decay): stages for CNNs, transformer
  blocks for ViTs.
* torchvision models: ``layer1`` ... ``layerN`` (ResNets), else the children
  of the sequential container holding most parameters (``features`` of
  VGG / MobileNet / EfficientNet / ConvNeXt, ``encoder.layers`` of ViT ...).
* sentence-transformers models: the transformer layers
  (``encoder.layer.<i>``, ``layers.<i>``, ``h.<i>``, ``block.<i>``).
* Keras models: their layers with weights, in order.
* any ``nn.Sequential`` (toy backbones, user modules): its children with
  parameters, each normalisation layer joining the block before it.
"""

import fnmatch
import re
from dataclasses import dataclass, field

from sktransfer._optional import import_optional

__all__ = ["Blocks", "TrainingPlan", "find_blocks", "make_plan"]

_LAYER_INDEX = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")
_NORM_TYPES = ("BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RMSNorm")


@dataclass
class Blocks:
    """A backbone's structure: stem names and blocks (bottom to top)."""

    stem: list
    labels: list
    names: list  # one list of parameter names per block


def _assemble(names, label_of):
    """Group ordered parameter names by ``label_of(name)`` (None: not a block)."""
    stem, labels, blocks = [], [], []
    for name in names:
        label = label_of(name)
        if label is None:
            (blocks[-1] if blocks else stem).append(name)
        elif labels and labels[-1] == label:
            blocks[-1].append(name)
        else:
            labels.append(label)
            blocks.append([name])
    return Blocks(stem=stem, labels=labels, names=blocks) if blocks else None


def _timm_blocks(body):
    models = import_optional("timm.models")
    matcher = body.group_matcher(coarse=True)
    groups = [list(names) for names in models.group_parameters(body, matcher).values()]
    stem = []
    if isinstance(matcher, dict) and next(iter(matcher), None) == "stem":
        stem = groups.pop(0) if groups else []
    if not groups:
        return None
    labels = [_group_label(names) for names in groups]
    return Blocks(stem=stem, labels=labels, names=groups)


def _group_label(names):
    """A readable name for a group of parameters: ``blocks.3``, ``blocks.6+bn2``."""
    heads = []
    for name in names:
        parts = name.split(".")
        head = (
            ".".join(parts[:2]) if len(parts) > 2 and parts[1].isdigit() else parts[0]
        )
        if head not in heads:
            heads.append(head)
    return "+".join(heads)


def _is_norm(module):
    return any(kind in type(module).__name__ for kind in _NORM_TYPES)


def _sequential_labels(container, prefix):
    """name -> block label for the children of a sequential container."""
    label_of_child, label = {}, None
    for child_name, child in container.named_children():
        if not any(True for _ in child.parameters()):
            continue
        if label is None or not _is_norm(child):
            label = f"{prefix}{child_name}"
        label_of_child[f"{prefix}{child_name}"] = label
    return label_of_child


def _child_label(labels_by_child, name):
    for child, label in labels_by_child.items():
        if name.startswith(child + "."):
            return label
    return None


def _sequential_blocks(body, container=None, prefix=""):
    container = body if container is None else container
    labels_by_child = _sequential_labels(container, prefix)
    if not labels_by_child:
        return None
    names = [name for name, _ in body.named_parameters()]
    return _assemble(names, lambda name: _child_label(labels_by_child, name))


def _torchvision_blocks(body):
    torch = import_optional("torch")
    names = [name for name, _ in body.named_parameters()]
    layers = [n for n, _ in body.named_children() if re.fullmatch(r"layer\d+", n)]
    if len(layers) >= 2:
        return _assemble(
            names,
            lambda name: name.split(".")[0] if name.split(".")[0] in layers else None,
        )
    total = sum(p.numel() for p in body.parameters())
    best, best_size = None, 0
    for module_name, module in body.named_modules():
        if module_name.count(".") > 1 or not isinstance(
            module, (torch.nn.Sequential, torch.nn.ModuleList)
        ):
            continue
        size = sum(p.numel() for p in module.parameters())
        with_params = [
            c for c in module.children() if any(True for _ in c.parameters())
        ]
        if len(with_params) >= 2 and size > best_size:
            best, best_size = (module_name, module), size
    if best is None or best_size < 0.5 * total:
        return None
    module_name, module = best
    return _sequential_blocks(body, module, f"{module_name}." if module_name else "")


def _indexed_blocks(body):
    names = [name for name, _ in body.named_parameters()]

    def label_of(name):
        match = _LAYER_INDEX.search(name)
        return name[: match.end() - 1] if match else None

    return _assemble(names, label_of)


def _keras_blocks(body):
    """Keras layers with weights, in the model's order; normalisation joins the
    layer before it (the parameters' own order is alphabetical)."""
    by_path = {
        name.rpartition("_torch_params.")[2]: name
        for name, _ in body.named_parameters()
    }
    norm = import_optional("keras").layers
    norms = (norm.BatchNormalization, norm.LayerNormalization, norm.GroupNormalization)
    labels, blocks = [], []
    for layer in body.keras._flatten_layers(include_self=False, recursive=True):
        names = [by_path[v.path] for v in layer.weights if v.path in by_path]
        if not names or getattr(layer, "_layers", None):  # a nested model: its layers
            continue
        if isinstance(layer, norms) and blocks:
            blocks[-1].extend(names)
        else:
            labels.append(layer.name)
            blocks.append(names)
    return Blocks(stem=[], labels=labels, names=blocks) if blocks else None


def find_blocks(body, family):
    """The block structure of a (headless) backbone, or None when unknown.

    Parameters
    ----------
    body : torch.nn.Module
        The backbone as built by its spec.
    family : str
        ``spec.family``.

    Returns
    -------
    blocks : Blocks or None
    """
    torch = import_optional("torch")
    if family == "timm" and hasattr(body, "group_matcher"):
        return _timm_blocks(body)
    if family == "torchvision":
        return _torchvision_blocks(body)
    if family == "sentence-transformers":
        return _indexed_blocks(body)
    if family == "keras":
        return _keras_blocks(body)
    if isinstance(body, torch.nn.Sequential):
        return _sequential_blocks(body)
    return None


@dataclass
class TrainingPlan:
    """What trains when, at which learning rate (names relative to the body).

    Attributes
    ----------
    groups : list of (list of str, float)
        Backbone optimizer groups ``(names, lr)``, top block first; only
        parameters that train at some point.
    stages : list of (int, set of str)
        ``(first epoch, backbone names training from then on)``.
    n_blocks : int or None
        Number of blocks found (None when the structure is unknown).
    """

    groups: list = field(default_factory=list)
    stages: list = field(default_factory=list)
    n_blocks: int | None = None

    @property
    def trained(self):
        """Every backbone parameter name that trains at some point."""
        return set().union(*(names for _, names in self.stages))


def _pattern_frozen(names, freeze, backbone_name):
    if freeze is None:
        return set()
    patterns = [freeze] if isinstance(freeze, str) else list(freeze)
    frozen = set()
    for pattern in patterns:
        matched = {name for name in names if fnmatch.fnmatchcase(name, pattern)}
        if not matched:
            examples = ", ".join(names[:3] + names[-2:])
            raise ValueError(
                f"freeze pattern {pattern!r} matches no parameter of backbone "
                f"{backbone_name!r}; parameter names look like: {examples}"
            )
        frozen |= matched
    return frozen


def _blocks_needed(structure, strategy, backbone_name, family):
    if structure is None:
        raise ValueError(
            f"strategy={strategy!r} unfreezes the last blocks of the backbone, but "
            f"backbone {backbone_name!r} (family {family!r}) has no block structure "
            f"that sktransfer recognises (timm, torchvision, sentence-transformers "
            f"or nn.Sequential). Use strategy='full' or 'head', optionally with "
            f"freeze=[glob patterns over parameter names]."
        )


def _check_trainable(names, family, strategy, backbone_name):
    if family == "keras" and not names and strategy != "head":
        raise ValueError(
            f"strategy={strategy!r} trains the layers of the Keras model "
            f"{backbone_name!r}, which needs Keras' torch backend; this Keras runs "
            "on another one. Set KERAS_BACKEND=torch before importing keras, or "
            "use strategy='head' (frozen features)."
        )


def make_plan(
    body,
    family,
    *,
    strategy,
    unfreeze,
    freeze,
    freeze_epochs,
    lr,
    backbone_lr,
    lr_decay,
    backbone_name,
):
    """Decide which backbone parameters train in which epochs, at which rate.

    The top block trains at ``backbone_lr`` (default ``lr * lr_decay``) and
    each block below at ``lr_decay`` times the rate of the block above; the
    stem comes below the bottom block. Parameters matching a ``freeze`` glob
    pattern never train.

    Returns
    -------
    plan : TrainingPlan
    """
    names = [name for name, _ in body.named_parameters()]
    _check_trainable(names, family, strategy, backbone_name)
    never = _pattern_frozen(names, freeze, backbone_name)
    untrainable = getattr(body, "untrainable_parameters", None)  # Keras' moving stats
    if untrainable is not None:
        never |= set(untrainable())
    structure = find_blocks(body, family)
    plan = TrainingPlan(n_blocks=None if structure is None else len(structure.labels))
    top_lr = lr * lr_decay if backbone_lr is None else backbone_lr
    if strategy in ("top", "gradual"):
        _blocks_needed(structure, strategy, backbone_name, family)
        n_blocks = len(structure.labels)
        if unfreeze != "all" and unfreeze > n_blocks:
            raise ValueError(
                f"unfreeze={unfreeze} but backbone {backbone_name!r} has only "
                f"{n_blocks} blocks ({structure.labels}); use unfreeze <= "
                f"{n_blocks}, unfreeze='all', or strategy='full'"
            )

    if structure is None:
        ordered = [(names, top_lr)]  # one group: the whole backbone
    else:
        ordered = [
            (block, top_lr * lr_decay**depth)
            for depth, block in enumerate(reversed(structure.names))
        ]
        if structure.stem:
            ordered.append((structure.stem, top_lr * lr_decay ** len(ordered)))

    if strategy == "head":
        steps = []
    elif strategy == "full":
        steps = [len(ordered)]
    else:
        count = len(ordered) if unfreeze == "all" else unfreeze
        steps = [count] if strategy == "top" else list(range(1, count + 1))

    def trainable(count):
        chosen = set().union(*(set(group) for group, _ in ordered[:count]))
        return chosen - never

    if strategy == "gradual":
        plan.stages = [(0, set())] + [
            (freeze_epochs + i, trainable(count)) for i, count in enumerate(steps)
        ]
    else:
        plan.stages = [(0, trainable(steps[0]) if steps else set())]
    trained = plan.trained
    plan.groups = [
        ([name for name in group if name in trained], rate)
        for group, rate in ordered
        if any(name in trained for name in group)
    ]
    return plan
