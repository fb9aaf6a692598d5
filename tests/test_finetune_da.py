"""Domain adaptation inside fine-tuning (DANN, Deep CORAL, AdaBN) and the
one-cycle schedule, on toy backbones (real data: benchmarks/digits_da.py and
tests/test_finetune_real.py)."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402

from sktransfer import (  # noqa: E402
    ImageClassifier,
    ImageRegressor,
    TextClassifier,
)
from sktransfer.adapt import make_da_pipeline  # noqa: E402
from sktransfer.finetune._adaptation import (  # noqa: E402
    DANNLoss,
    coral_loss,
    gradient_reversal,
)
from sktransfer.finetune._da_methods import ganin_factor  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _domains(n_source=32, n_target=24, seed=0):
    """Reddish vs bluish noise; the target is brighter and lower in contrast.

    Returns the stacked images, labels with the target rows masked (-1, object
    array so that it sits next to str labels) and the target's true labels.
    """
    rng = np.random.default_rng(seed)
    n = n_source + n_target
    images = rng.integers(0, 120, (n, 32, 32, 3)).astype(np.int64)
    labels = np.array(["red", "blue"] * (n // 2))
    images[labels == "red", :, :, 0] += 100
    images[labels == "blue", :, :, 2] += 100
    images[n_source:] = images[n_source:] // 2 + 110  # the domain shift
    y = labels.astype(object)
    y[n_source:] = -1
    return images.astype(np.uint8), y, labels[n_source:]


FAST = dict(max_epochs=3, batch_size=16, random_state=0, validation_fraction=None)


# -- each option trains and predicts --------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        dict(domain_adaptation="dann", strategy="full"),
        dict(domain_adaptation="coral", strategy="top", unfreeze=1),
        dict(domain_adaptation="coral", strategy="gradual", unfreeze=2),
        dict(domain_adaptation="adabn", strategy="head"),
        dict(domain_adaptation="adabn", strategy="full", validation_fraction=0.2),
    ],
)
def test_each_option_trains_and_predicts(params):
    X, y, target_labels = _domains()
    clf = ImageClassifier("toy-image", lr=0.02, **{**FAST, **params}).fit(X, y)
    assert list(clf.classes_) == ["blue", "red"]  # -1 is not a class
    assert clf.predict(X[32:]).shape == (24,)
    assert set(clf.predict(X[32:])) <= {"blue", "red"}
    if params["domain_adaptation"] != "adabn":
        assert len(clf.history_[:, "train_da_loss"]) == 3
        assert np.isfinite(clf.history_[:, "train_da_loss"]).all()


def test_text_and_regression_with_masked_targets():
    texts = ["a good film", "a great film", "a bad film", "an awful film"] * 6
    labels = np.array(["pos", "pos", "neg", "neg"] * 6, dtype=object)
    labels[16:] = -1
    clf = TextClassifier("toy-text", domain_adaptation="dann", strategy="full", **FAST)
    assert clf.fit(texts, labels).predict(texts[16:]).shape == (8,)
    X, _, _ = _domains()
    y = np.r_[np.linspace(0, 1, 32), np.full(24, np.nan)]
    reg = ImageRegressor("toy-image", domain_adaptation="coral", strategy="full")
    reg.set_params(**FAST).fit(X, y)
    assert np.isfinite(reg.predict(X[32:])).all()
    assert reg._y_mean == pytest.approx(0.5)  # standardised on the source only


def test_target_rows_never_reach_the_task_loss():
    # the same source rows with different target rows: the head's first
    # batches see the same labels; NaN placeholders would poison the loss
    X, y, _ = _domains()
    clf = ImageClassifier(
        "toy-image", domain_adaptation="coral", strategy="full", **FAST
    ).fit(X, y)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    assert sum(clf.history_[-1, "batches", :, "train_batch_size"]) == 32


# -- DANN ---------------------------------------------------------------------------
def test_gradient_reversal_reverses_and_scales_the_gradient():
    x = torch.randn(5, 3, requires_grad=True)
    weights = torch.randn(5, 3)
    (gradient_reversal(x, 0.7) * weights).sum().backward()
    torch.testing.assert_close(x.grad, -0.7 * weights)
    # the domain classifier's own gradient is not reversed: compared with the
    # same classifier without the reversal layer, the features' gradient flips
    torch.manual_seed(0)
    loss = DANNLoss(3)
    source = torch.randn(4, 3, requires_grad=True)
    target = torch.randn(6, 3, requires_grad=True)
    term, _ = loss(source, target, 1.0)
    term.backward()
    reversed_grad = source.grad.clone()
    classifier_grad = loss.discriminator[0].weight.grad.clone()
    source.grad = None
    loss.zero_grad()
    logits = loss.discriminator(torch.cat([source, target])).squeeze(1)
    domain = torch.cat([torch.zeros(4), torch.ones(6)])
    torch.nn.functional.binary_cross_entropy_with_logits(logits, domain).backward()
    torch.testing.assert_close(reversed_grad, -source.grad)
    torch.testing.assert_close(classifier_grad, loss.discriminator[0].weight.grad)


def test_dann_weight_follows_ganins_schedule():
    X, y, _ = _domains()
    clf = ImageClassifier(
        "toy-image", domain_adaptation="dann", da_weight=0.5, strategy="full", **FAST
    ).fit(X, y)
    # 32 source rows in batches of 16: 2 optimizer steps per epoch, 6 in all;
    # the value recorded at the end of an epoch is that of its last batch
    expected = [0.5 * ganin_factor((2 * epoch + 1) / 6) for epoch in range(3)]
    assert clf.history_[:, "da_weight"] == pytest.approx(expected)
    # the domain classifier trains (in the optimizer, at the head's rate)
    groups = clf.net_.optimizer_.param_groups
    assert len(groups[-1]["params"]) == 6 and groups[-1]["lr"] == groups[0]["lr"]


def test_the_reversed_gradient_reaches_the_backbone():
    # same seed, same batches, same domain classifier: only the coefficient of
    # the reversed gradient differs (0: the backbone sees the task loss alone)
    X, y, _ = _domains()
    params = dict(domain_adaptation="dann", strategy="full", lr=0.02, **FAST)
    off = ImageClassifier("toy-image", da_weight=0.0, **params).fit(X, y)
    again = ImageClassifier("toy-image", da_weight=0.0, **params).fit(X, y)
    on = ImageClassifier("toy-image", da_weight=1.0, **params).fit(X, y)
    key = "backbone.model.0.weight"
    torch.testing.assert_close(
        off._module.state_dict()[key], again._module.state_dict()[key]
    )
    assert not torch.allclose(
        on._module.state_dict()[key], off._module.state_dict()[key]
    )
    # the domain loss is the same function of the features in both runs: the
    # classifier learns either way
    assert off.history_[-1, "train_da_loss"] < off.history_[0, "train_da_loss"] + 0.1


# -- Deep CORAL ------------------------------------------------------------------
def test_coral_loss_matches_the_formula():
    rng = np.random.default_rng(0)
    source, target = rng.normal(size=(20, 4)), 2 * rng.normal(size=(30, 4)) + 1
    cs, ct = np.cov(source, rowvar=False), np.cov(target, rowvar=False)
    expected = ((cs - ct) ** 2).sum() / (4 * 4**2)
    value = coral_loss(torch.tensor(source), torch.tensor(target))
    assert value.item() == pytest.approx(expected, rel=1e-5)
    same = torch.tensor(source)
    assert coral_loss(same, same).item() == pytest.approx(0.0, abs=1e-7)
    assert coral_loss(same[:1], same).item() == 0.0  # no covariance from one row


# -- AdaBN -------------------------------------------------------------------------
def _first_bn_input(clf, images):
    from sktransfer.engine._data import ImageDataset
    from sktransfer.engine._preprocess import ImageTransform

    inputs = torch.stack(
        list(ImageDataset(images, ImageTransform(clf._preprocessing())))
    )
    with torch.no_grad():
        return clf._module.backbone.model[0](inputs)


@pytest.mark.parametrize("strategy", ["head", "full"])
def test_adabn_sets_the_targets_batchnorm_statistics(strategy):
    X, y, _ = _domains()
    clf = ImageClassifier(
        "toy-image",
        domain_adaptation="adabn",
        strategy=strategy,
        max_epochs=2,
        batch_size=32,  # the 24 target rows in one batch: exact statistics
        validation_fraction=None,
        random_state=0,
    ).fit(X, y)
    bn = clf._module.backbone.model[1]
    conv = _first_bn_input(clf, X[32:])
    torch.testing.assert_close(bn.running_mean, conv.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(
        bn.running_var, conv.transpose(0, 1).reshape(8, -1).var(dim=1)
    )
    assert bn.momentum == 0.1  # restored
    source_mean = _first_bn_input(clf, X[:32]).mean(dim=(0, 2, 3))
    assert not torch.allclose(bn.running_mean, source_mean, atol=1e-2)
    # the statistics are pickled with the model (a frozen layer's buffers too)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X))
    torch.testing.assert_close(
        loaded._module.backbone.model[1].running_var, bn.running_var
    )


def test_adabn_changes_predictions_on_the_target():
    X, y, _ = _domains()
    base = ImageClassifier("toy-image", strategy="head", **FAST)
    plain = base.fit(X[:32], y[:32].astype(str)).predict_proba(X[32:])
    adabn = clone(base).set_params(domain_adaptation="adabn").fit(X, y)
    assert not np.allclose(adabn.predict_proba(X[32:]), plain)


# -- sample_domain, routing, pipelines -----------------------------------------
def test_sample_domain_and_metadata_routing():
    sklearn = pytest.importorskip("sklearn")
    X, y, _ = _domains()
    domains = np.r_[np.ones(32, dtype=int), -np.ones(24, dtype=int)]
    params = dict(domain_adaptation="coral", strategy="full", **FAST)
    direct = ImageClassifier("toy-image", **params).fit(X, y, sample_domain=domains)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(ImageClassifier("toy-image", **params))
        pipe.fit(X, y, sample_domain=domains)
    np.testing.assert_allclose(pipe.predict_proba(X), direct.predict_proba(X))
    # make_da_pipeline leaves an adapting fine-tuner unwrapped (it reads the
    # masked rows itself) and wraps one that does not adapt in SelectSource
    adapting = make_da_pipeline(ImageClassifier("toy-image", **params))
    assert [name for name, _ in adapting.steps] == ["imageclassifier"]
    plain = make_da_pipeline(ImageClassifier("toy-image"))
    assert [name for name, _ in plain.steps] == ["selectsource"]


def test_parameters_survive_clone():
    clf = ImageClassifier("toy-image", domain_adaptation="dann", da_weight=0.3)
    params = clone(clf).get_params()
    assert params["domain_adaptation"] == "dann" and params["da_weight"] == 0.3


# -- errors ---------------------------------------------------------------------------
def test_clear_errors():
    X, y, _ = _domains()
    dann = ImageClassifier("toy-image", domain_adaptation="dann", **FAST)
    with pytest.raises(ValueError, match="trains no parameter.*strategy='top'"):
        dann.set_params(strategy="head").fit(X, y)
    with pytest.raises(ValueError, match="trains no parameter"):
        dann.set_params(strategy="full", freeze="*").fit(X, y)
    dann.set_params(freeze=None)
    with pytest.raises(ValueError, match="found no target row"):
        dann.fit(X[:32], y[:32])
    with pytest.raises(ValueError, match="found no labelled source row"):
        dann.fit(X[32:], y[32:])
    wrong = np.r_[np.ones(40, dtype=int), -np.ones(16, dtype=int)]
    with pytest.raises(ValueError, match="disagree.*rows \\[32, 33"):
        dann.fit(X, y, sample_domain=wrong)
    with pytest.raises(ValueError, match="has no BatchNorm layer"):
        ImageClassifier("toy-numeric", domain_adaptation="adabn", **FAST).fit(
            np.random.default_rng(0).normal(size=(56, 4)), y
        )
    with pytest.raises(InvalidParameterError, match="domain_adaptation"):
        ImageClassifier("toy-image", domain_adaptation="mmd").fit(X, y)
    with pytest.raises(ValueError, match="domain_adaptation=None"):
        ImageClassifier("toy-image", **FAST).fit(
            X[:32], y[:32].astype(str), sample_domain=np.ones(32, dtype=int)
        )
    with pytest.raises(ValueError, match="numeric targets"):
        ImageRegressor("toy-image", domain_adaptation="coral").fit(X[:4], ["a"] * 4)


def test_without_adaptation_masked_values_keep_their_meaning():
    X, y, _ = _domains()
    # -1 is an ordinary class, NaN an invalid regression target
    labels = np.r_[
        np.zeros(28, dtype=int), np.ones(14, dtype=int), -np.ones(14, dtype=int)
    ]
    clf = ImageClassifier("toy-image", **FAST).fit(X, labels)
    assert list(clf.classes_) == [-1, 0, 1]
    with pytest.raises(ValueError, match="NaN"):
        ImageRegressor("toy-image", **FAST).fit(X, np.r_[np.ones(32), [np.nan] * 24])


# -- one-cycle schedule --------------------------------------------------------------
def test_onecycle_learning_rate_shape():
    X, y, _ = _domains()
    clf = ImageClassifier(
        "toy-image",
        strategy="full",
        schedule="onecycle",
        lr=0.01,
        warmup_fraction=0.25,
        max_epochs=10,
        batch_size=8,
        validation_fraction=None,
        random_state=0,
    ).fit(X[:32], y[:32].astype(str))
    rates = np.concatenate(
        [[row["lr"] for row in epoch] for epoch in clf.history_[:, "batches"]]
    )
    assert len(rates) == 40  # 4 steps per epoch, one rate per step
    peak = int(np.argmax(rates))
    assert peak == 10 - 1 or peak == 10  # the end of the rising quarter
    assert rates[0] == pytest.approx(0.01 / 25, rel=0.05)
    assert rates[peak] == pytest.approx(0.01, rel=1e-3)
    assert (np.diff(rates[: peak + 1]) > 0).all()
    assert (np.diff(rates[peak:]) < 0).all()
    assert rates[-1] < 0.01 / 1000
    assert clf.history_[:, "lr"][-1] == rates[-1]


def test_integer_labels_in_an_object_array_stay_integers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = np.array([0, 1] * 20, dtype=object)
    y[24:] = -1
    clf = ImageClassifier("toy-numeric", domain_adaptation="coral", strategy="full")
    clf.set_params(**FAST).fit(X, y)
    assert clf.classes_.tolist() == [0, 1] and clf.classes_.dtype.kind == "i"
