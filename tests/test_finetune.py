"""Fine-tuning estimators on toy backbones: strategies, training, persistence, errors."""

import io
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sktransfer import (  # noqa: E402
    ImageClassifier,
    ImageRegressor,
    TextClassifier,
    TextRegressor,
    get_backbone,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _images(n=40, seed=0):
    """Two visibly different classes: reddish and bluish noise (a difference
    that survives pooling, crops and flips)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 120, (n, 32, 32, 3), dtype=np.uint8)
    labels = np.array(["red", "blue"] * (n // 2))
    images[labels == "red", :, :, 0] += 100
    images[labels == "blue", :, :, 2] += 100
    return images, labels


def _pretrained_state(name="toy-image"):
    return {k: v.clone() for k, v in get_backbone(name).build().state_dict().items()}


def _body_state(estimator):
    return estimator._module.backbone.model.state_dict()


def _changed(estimator, name="toy-image"):
    before = _pretrained_state(name)
    after = _body_state(estimator)
    return {k for k in before if not torch.equal(before[k], after[k])}


FAST = dict(max_epochs=3, random_state=0, batch_size=16)


# -- labels, targets, shapes ----------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [
        np.array(["red", "blue"] * 20),
        np.array([3, 7] * 20),
        np.array(["a", "b", "c", "d"] * 10, dtype=object),
    ],
)
def test_classifier_any_label_type(labels):
    images, _ = _images()
    clf = ImageClassifier("toy-image", lr=0.05, **FAST).fit(images, labels)
    assert list(clf.classes_) == sorted(set(labels.tolist()))
    assert set(clf.predict(images)) <= set(labels.tolist())
    proba = clf.predict_proba(images)
    assert proba.shape == (40, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_classifier_learns_a_visible_difference():
    images, labels = _images(64)
    clf = ImageClassifier(
        "toy-image",
        strategy="full",
        lr=0.02,
        max_epochs=8,
        random_state=0,
        batch_size=16,
        validation_fraction=None,
    )
    clf.fit(images, labels)
    test_images, test_labels = _images(40, seed=1)
    assert clf.score(test_images, test_labels) >= 0.9


@pytest.mark.parametrize("shape", [(40,), (40, 3)])
def test_regressor_one_and_several_outputs(shape):
    images, _ = _images()
    y = np.random.default_rng(0).normal(5.0, 2.0, shape)
    reg = ImageRegressor("toy-image", **FAST).fit(images, y)
    pred = reg.predict(images)
    assert pred.shape == shape and pred.dtype == np.float64
    assert reg.n_outputs_ == (1 if len(shape) == 1 else 3)
    # targets are standardised for training and mapped back
    assert abs(pred.mean() - 5.0) < 2.0


def test_text_toy_backbone_head_and_full():
    texts = ["a good film", "a great film", "a bad film", "an awful film"] * 6
    labels = ["pos", "pos", "neg", "neg"] * 6
    for strategy in ("head", "full"):
        clf = TextClassifier("toy-text", strategy=strategy, lr=0.05, **FAST)
        assert clf.fit(texts, labels).predict(texts).shape == (24,)
    reg = TextRegressor("toy-text", **FAST).fit(texts, np.arange(24.0))
    assert reg.predict(["a good film"]).shape == (1,)


def test_one_column_dataframe_records_its_name():
    pd = pytest.importorskip("pandas")
    texts = pd.DataFrame({"review": ["good", "bad", "fine", "awful"] * 5})
    labels = [1, 0, 1, 0] * 5
    clf = TextClassifier("toy-text", **FAST).fit(texts, labels)
    assert list(clf.feature_names_in_) == ["review"]
    with pytest.raises(ValueError, match="column"):
        clf.predict(texts.rename(columns={"review": "other"}))


# -- strategies ---------------------------------------------------------------
def test_head_strategy_leaves_the_backbone_unchanged():
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="head", **FAST).fit(images, labels)
    assert _changed(clf) == set()


def test_top_strategy_trains_only_the_last_blocks():
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="top", unfreeze=1, **FAST)
    clf.fit(images, labels)
    # toy-image blocks: [conv 0 + batch norm 1], [conv 3]
    assert _changed(clf) == {"3.weight", "3.bias"}


def test_full_strategy_trains_every_block():
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="full", **FAST).fit(images, labels)
    assert {"0.weight", "1.weight", "3.weight", "1.running_mean"} <= _changed(clf)


def test_gradual_unfreezes_one_block_per_epoch_after_the_head():
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image", strategy="gradual", unfreeze=2, freeze_epochs=1, **FAST
    ).fit(images, labels)
    assert clf.history_[:, "blocks"] == [0, 1, 2]
    assert {"0.weight", "3.weight"} <= _changed(clf)


def test_top_with_all_blocks_and_decoding_workers():
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image", strategy="top", unfreeze="all", num_workers=1, **FAST
    ).fit(images, labels)
    assert {"0.weight", "3.weight"} <= _changed(clf)


def test_freeze_patterns_keep_matching_parameters_fixed():
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="full", freeze=["0.*", "1.*"], **FAST)
    clf.fit(images, labels)
    assert _changed(clf) == {"3.weight", "3.bias"}


def test_discriminative_learning_rates():
    images, labels = _images()
    params = dict(strategy="full", schedule="constant", warmup_fraction=0.0, **FAST)
    clf = ImageClassifier("toy-image", lr=0.01, lr_decay=0.5, **params)
    clf.fit(images, labels)
    rates = [group["lr"] for group in clf.net_.optimizer_.param_groups]
    assert rates == pytest.approx([0.01, 0.005, 0.0025])  # head, top, bottom
    clf = ImageClassifier(
        "toy-image", lr=0.01, backbone_lr=1e-4, lr_decay=0.1, **params
    )
    rates = [g["lr"] for g in clf.fit(images, labels).net_.optimizer_.param_groups]
    assert rates == pytest.approx([0.01, 1e-4, 1e-5])


def test_warmup_cosine_schedule_recorded_in_history():
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image",
        strategy="full",
        lr=0.01,
        max_epochs=4,
        random_state=0,
        batch_size=16,
        validation_fraction=None,
    ).fit(images, labels)
    rates = clf.history_[:, "lr"]
    assert rates[0] == pytest.approx(0.01, rel=0.2)  # end of warm-up
    assert rates == sorted(rates, reverse=True) and rates[-1] < 0.002


# -- frozen batch norm, fast path --------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        dict(strategy="head", augment=True),  # full forward, backbone frozen
        dict(strategy="top", unfreeze=1),  # the batch norm's block stays frozen
    ],
)
def test_frozen_batchnorm_running_statistics_do_not_change(params):
    images, labels = _images()
    before = _pretrained_state()
    clf = ImageClassifier("toy-image", **params, **FAST).fit(images, labels)
    after = _body_state(clf)
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        assert torch.equal(before[key], after[key]), key


class _CountingNet(torch.nn.Sequential):
    calls = 0

    def forward(self, x):
        type(self).calls += len(x)
        return super().forward(x)


def _counting_backbone():
    torch.manual_seed(0)
    return _CountingNet(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
    )


@pytest.mark.parametrize("augment, expected", [(False, 40), (True, 4 * 40)])
def test_fast_path_computes_backbone_features_once(augment, expected):
    images, labels = _images()
    clf = ImageClassifier(
        _counting_backbone(),
        strategy="head",
        augment=augment,
        image_size=16,
        max_epochs=4,
        runtime="torch",  # counts training's forward passes, not the export's
        random_state=0,
    )
    _CountingNet.calls = 0
    clf.fit(images, labels)
    # one probe image to size the head, then either one pass over the data or
    # four epochs of training (36 images) and validation (4 images)
    assert _CountingNet.calls == 1 + expected


# -- training options ------------------------------------------------------------
def test_same_seed_gives_identical_predictions():
    images, labels = _images()
    params = dict(strategy="full", augment=True, **FAST)
    first = ImageClassifier("toy-image", **params).fit(images, labels)
    second = ImageClassifier("toy-image", **params).fit(images, labels)
    np.testing.assert_array_equal(
        first.predict_proba(images), second.predict_proba(images)
    )
    other = ImageClassifier("toy-image", **{**params, "random_state": 1})
    assert not np.array_equal(
        other.fit(images, labels).predict_proba(images), first.predict_proba(images)
    )


def test_early_stopping_restores_the_best_weights():
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image",
        strategy="full",
        lr=0.5,
        n_iter_no_change=2,
        max_epochs=20,
        random_state=0,
        batch_size=16,
    )
    clf.fit(images, labels)
    losses = clf.history_[:, "valid_loss"]
    assert len(losses) < 20  # stopped early
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    assert stopper.best_epoch_ == int(np.argmin(losses)) + 1
    state = clf.net_.module_.state_dict()
    for key, value in stopper.best_model_weights_.items():
        assert torch.equal(state[key], value), key


def test_class_weight_balanced_helps_the_minority_class():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (200, 2)), rng.normal(1.5, 1, (20, 2))]
    y = np.r_[np.zeros(200), np.ones(20)]
    scores = {}
    for weight in (None, "balanced"):
        clf = ImageClassifier(
            "toy-numeric",
            class_weight=weight,
            lr=0.05,
            max_epochs=10,
            random_state=0,
            validation_fraction=None,
        )
        scores[weight] = balanced_accuracy_score(y, clf.fit(X, y).predict(X))
    # the solved head (L-BFGS to convergence): 0.82 -> 0.86 here
    assert scores["balanced"] > scores[None] + 0.03


def test_sample_weight_of_ones_equals_none_and_weights_matter():
    images, labels = _images()
    params = dict(strategy="full", **FAST)
    plain = ImageClassifier("toy-image", **params).fit(images, labels)
    ones = ImageClassifier("toy-image", **params).fit(images, labels, np.ones(40))
    np.testing.assert_array_equal(
        plain.predict_proba(images), ones.predict_proba(images)
    )
    weights = np.where(labels == "red", 10.0, 0.1)
    skewed = ImageClassifier("toy-image", **params).fit(images, labels, weights)
    red = list(plain.classes_).index("red")
    assert (
        skewed.predict_proba(images)[:, red].mean()
        > plain.predict_proba(images)[:, red].mean()
    )


def test_label_smoothing_and_gradient_accumulation():
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image",
        strategy="full",
        label_smoothing=0.1,
        accumulation_steps=2,
        validation_fraction=None,
        max_epochs=3,
        batch_size=8,
        random_state=0,
    )
    clf.fit(images, labels)
    # 5 batches per epoch -> 3 optimizer steps (the last one on 1 batch)
    assert clf.net_.optimizer_steps_ == 9
    assert clf.net_.criterion_.label_smoothing == 0.1


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_paths_run_on_cpu(precision):
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image", strategy="full", precision=precision, device="cpu", **FAST
    ).fit(images, labels)
    assert clf.net_.scaler_.is_enabled() == (precision == "fp16")
    assert clf.predict_proba(images).shape == (40, 2)


def test_verbose_prints_the_epoch_table(capsys):
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="top", verbose=1, **FAST)
    clf.fit(images, labels)
    out = capsys.readouterr().out
    assert "strategy='top'): head solved" in out  # the LP-FT probe
    assert "train_loss" in out and "valid_acc" in out
    assert {"train_loss", "valid_loss", "valid_acc", "lr", "dur"} <= set(
        clf.history_[-1]
    )
    ImageClassifier("toy-image", **FAST).fit(images, labels)
    assert capsys.readouterr().out == ""


def test_warm_start_continues_training():
    images, labels = _images()
    clf = ImageClassifier(
        "toy-image", strategy="full", warm_start=True, validation_fraction=None, **FAST
    )
    clf.fit(images, labels)
    first = {k: v.clone() for k, v in clf._module.state_dict().items()}
    clf.fit(images, labels)
    assert len(clf.history_) == 6
    assert not torch.equal(
        first["head.weight"], clf._module.state_dict()["head.weight"]
    )
    with pytest.raises(ValueError, match="classes"):
        clf.fit(images, np.where(labels == "red", "a", "b"))


def test_routed_parameters_reach_skorch_and_survive_clone():
    from sklearn.base import clone

    images, labels = _images()
    clf = ImageClassifier("toy-image", optimizer__betas=(0.8, 0.9), **FAST)
    clf.set_params(callbacks__early_stopping__patience=1, iterator_valid__batch_size=7)
    params = clone(clf).get_params()
    assert params["optimizer__betas"] == (0.8, 0.9)
    assert params["callbacks__early_stopping__patience"] == 1
    clf.fit(images, labels)
    assert clf.net_.optimizer_.param_groups[0]["betas"] == (0.8, 0.9)
    assert dict(clf.net_.callbacks_)["early_stopping"].patience == 1
    with pytest.raises(ValueError, match="unexpected parameter 'lr_head'"):
        ImageClassifier("toy-image", lr_head=0.1, **FAST).fit(images, labels)


def test_user_callbacks_are_used_but_not_mutated():
    skorch = pytest.importorskip("skorch")
    images, labels = _images()
    scoring = skorch.callbacks.EpochScoring("accuracy", name="train_acc", on_train=True)
    clf = ImageClassifier("toy-image", strategy="full", callbacks=[scoring], **FAST)
    clf.fit(images, labels)
    assert "train_acc" in clf.history_[-1]
    assert not hasattr(scoring, "best_score_")  # the estimator's copy was used


def test_image_size_and_augmentation_callable():
    images, labels = _images()
    seen = []

    def augment(image):
        seen.append(tuple(image.shape))
        return image.flip(-1)

    clf = ImageClassifier(
        "toy-image", strategy="full", augment=augment, image_size=16, **FAST
    ).fit(images, labels)
    assert seen and seen[0] == (3, 32, 32)  # the decoded image, before resizing
    assert clf.predict(images[:2]).shape == (2,)


# -- persistence -----------------------------------------------------------------
def test_pickle_keeps_only_changed_weights_and_loads_safely():
    images, labels = _images()
    head = ImageClassifier("toy-image", strategy="head", **FAST).fit(images, labels)
    assert set(head._stored_keys) == {"head.weight", "head.bias"}
    top = ImageClassifier("toy-image", strategy="top", unfreeze=1, **FAST)
    top.fit(images, labels)
    assert set(top._stored_keys) == {
        "head.weight",
        "head.bias",
        "backbone.model.3.weight",
        "backbone.model.3.bias",
    }
    for clf in (head, top):
        state = clf.__getstate__()
        assert "_module" not in state and "_net" not in state
        tensors = torch.load(io.BytesIO(state["_weights"]), weights_only=True)
        assert set(tensors) == set(clf._stored_keys)
        assert all(t.device.type == "cpu" for t in tensors.values())
        loaded = pickle.loads(pickle.dumps(clf))
        np.testing.assert_allclose(
            loaded.predict_proba(images), clf.predict_proba(images)
        )
        assert loaded.history_[-1]["epoch"] == (1 if clf is head else 3)
        with pytest.raises(AttributeError, match="not pickled"):
            _ = loaded.net_


def test_pickle_of_a_from_scratch_model_stores_everything():
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="full", pretrained=False, **FAST)
    clf.fit(images, labels)
    assert set(clf._stored_keys) == set(clf._module.state_dict())
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(images), clf.predict_proba(images))


# -- errors ---------------------------------------------------------------------
def test_clear_errors_on_bad_targets():
    images, labels = _images()
    clf = ImageClassifier("toy-image", **FAST)
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(images, np.array(["cat"] * 40))
    with pytest.raises(ValueError, match="different lengths"):
        clf.fit(images, labels[:-1])
    with pytest.raises(ValueError, match="NaN"):
        ImageRegressor("toy-image", **FAST).fit(images, np.r_[np.nan, np.ones(39)])
    with pytest.raises(ValueError, match="infinity"):
        ImageRegressor("toy-image", **FAST).fit(images, np.r_[np.inf, np.ones(39)])
    with pytest.raises(ValueError, match="only one class with positive weight"):
        clf.fit(images, labels, sample_weight=(labels == "red").astype(float))
    clf.fit(images, labels)
    with pytest.raises(ValueError, match=r"labels not seen during fit: \['up'\]"):
        clf.score(images[:2], ["red", "up"])


def test_clear_errors_on_bad_strategies():
    images, labels = _images()
    clf = ImageClassifier("toy-image", strategy="top", unfreeze=3, **FAST)
    with pytest.raises(
        ValueError, match="unfreeze=3 but backbone 'toy-image' has only"
    ):
        clf.fit(images, labels)
    assert not hasattr(clf, "classes_")  # a failed fit leaves no fitted attribute
    texts, text_labels = ["good", "bad"] * 10, [1, 0] * 10
    with pytest.raises(ValueError, match="no block structure"):
        TextClassifier("toy-text", strategy="top", **FAST).fit(texts, text_labels)
    with pytest.raises(ValueError, match="matches no parameter"):
        ImageClassifier("toy-image", freeze="blocks.*", **FAST).fit(images, labels)
    with pytest.raises(ValueError, match="image backbone"):
        TextClassifier("toy-image", **FAST).fit(texts, text_labels)


# -- scikit-learn composition ---------------------------------------------------
def test_pipeline_grid_search_and_cross_val_score():
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    images, labels = _images(48)
    search = GridSearchCV(
        ImageClassifier("toy-image", lr=0.05, max_epochs=2, random_state=0),
        {"strategy": ["head", "top"], "lr": [0.01, 0.05], "unfreeze": [1, 2]},
        cv=2,
    ).fit(images, labels)
    assert search.best_params_["strategy"] in ("head", "top")
    assert len(search.cv_results_["params"]) == 8
    scores = cross_val_score(
        ImageClassifier("toy-image", strategy="full", **FAST), images, labels, cv=2
    )
    assert scores.shape == (2,)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.repeat([0, 1, 2], 20)
    X[y == 1] += 2
    pipe = make_pipeline(StandardScaler(), ImageClassifier("toy-numeric", **FAST))
    assert pipe.fit(X, y).predict(X).shape == (60,)
