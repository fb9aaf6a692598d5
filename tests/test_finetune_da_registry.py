"""Deep domain adaptation as a registry of method classes, the trainer's explicit
input, and the masked-labels estimator tag (issue 12, items 2, 4 and 5)."""

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402
from sklearn.utils import Tags, get_tags  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import check_valid_tag_types  # noqa: E402

from sktransfer import ImageClassifier  # noqa: E402
from sktransfer.adapt import CORALAdapter, SelectSource, make_da_pipeline  # noqa: E402
from sktransfer.finetune import DA_METHODS, DomainAdaptationMethod  # noqa: E402
from sktransfer.finetune._config import TrainingConfig, training_config  # noqa: E402
from sktransfer.io._domain import DomainTags, handles_masked_labels  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FINETUNE = Path(__file__).resolve().parents[1] / "sktransfer" / "finetune"
FAST = dict(
    strategy="full", max_epochs=3, batch_size=16, lr=0.02, random_state=0,
    validation_fraction=None,
)  # fmt: skip


def _domains(n_source=32, n_target=24, seed=0):
    """Reddish vs bluish noise; the target brighter and lower in contrast."""
    rng = np.random.default_rng(seed)
    n = n_source + n_target
    images = rng.integers(0, 120, (n, 32, 32, 3)).astype(np.int64)
    labels = np.array(["red", "blue"] * (n // 2))
    images[labels == "red", :, :, 0] += 100
    images[labels == "blue", :, :, 2] += 100
    images[n_source:] = images[n_source:] // 2 + 110
    y = labels.astype(object)
    y[n_source:] = -1
    return images.astype(np.uint8), y


class _GaussianMMD(torch.nn.Module):
    def __init__(self, bandwidth):
        super().__init__()
        self.bandwidth = bandwidth

    def forward(self, source, target, coefficient):
        source, target = source.float(), target.float()

        def kernel(a, b):
            return torch.exp(-(torch.cdist(a, b) ** 2) / (2 * self.bandwidth**2))

        mmd = (
            kernel(source, source).mean()
            + kernel(target, target).mean()
            - 2 * kernel(source, target).mean()
        )
        return coefficient * mmd, mmd.detach()


class MMD(DomainAdaptationMethod):
    """A method written by a user: Gaussian-kernel MMD, weight rising linearly."""

    name = "mmd"

    def __init__(self, bandwidth=1.0):
        self.bandwidth = bandwidth

    def build_loss(self, n_features):
        self.built = n_features  # on fit's copy, never on the user's object
        return _GaussianMMD(self.bandwidth)

    def coefficient(self, progress, weight):
        return weight * progress


# -- a user's method --------------------------------------------------------------
def test_a_users_method_instance_trains_and_changes_the_result():
    X, y = _domains()
    method = MMD(bandwidth=2.0)
    clf = ImageClassifier("toy-image", domain_adaptation=method, **FAST).fit(X, y)
    assert not hasattr(method, "built")  # fit worked on a copy
    assert clf.get_params()["domain_adaptation"] is method
    assert list(clf.classes_) == ["blue", "red"]
    losses = clf.history_[:, "train_da_loss"]
    assert len(losses) == 3 and np.isfinite(losses).all()
    # the schedule is the method's: weight * progress, 2 steps an epoch
    assert clf.history_[:, "da_weight"] == pytest.approx([1 / 6, 3 / 6, 5 / 6])
    # the same fit without adaptation (source rows only) predicts otherwise
    plain = ImageClassifier("toy-image", **FAST).fit(X[:32], y[:32].astype(str))
    assert not np.allclose(clf.predict_proba(X[32:]), plain.predict_proba(X[32:]))
    # and so does the same fit with the loss switched off
    off = clone(clf).set_params(da_weight=0.0).fit(X, y)
    assert not np.allclose(clf.predict_proba(X[32:]), off.predict_proba(X[32:]))
    # clone copies the method (sklearn deep-copies non-estimator parameters)
    copied = clone(clf).get_params()["domain_adaptation"]
    assert isinstance(copied, MMD) and copied is not method
    assert copied.bandwidth == 2.0


def test_a_registered_method_is_accepted_by_name(monkeypatch):
    X, y = _domains()
    with pytest.raises(InvalidParameterError, match="'mmd'"):
        ImageClassifier("toy-image", domain_adaptation="mmd", **FAST).fit(X, y)
    monkeypatch.setitem(DA_METHODS, "mmd", MMD)
    by_name = ImageClassifier("toy-image", domain_adaptation="mmd", **FAST).fit(X, y)
    by_instance = ImageClassifier("toy-image", domain_adaptation=MMD(), **FAST)
    np.testing.assert_array_equal(
        by_name.predict_proba(X), by_instance.fit(X, y).predict_proba(X)
    )


def test_bad_values_name_the_value_and_the_registered_methods():
    X, y = _domains()
    with pytest.raises(InvalidParameterError) as error:
        ImageClassifier("toy-image", domain_adaptation="nope").fit(X, y)
    message = str(error.value)
    assert "'nope'" in message and "DomainAdaptationMethod" in message
    assert all(repr(name) in message for name in ("dann", "coral", "adabn"))
    with pytest.raises(InvalidParameterError, match="domain_adaptation"):
        ImageClassifier("toy-image", domain_adaptation=MMD).fit(X, y)  # a class


def test_requirements_are_checked_for_any_method():
    X, y = _domains()
    head = dict(FAST, strategy="head")
    with pytest.raises(ValueError, match=r"MMD\(\) aligns.*trains no parameter"):
        ImageClassifier("toy-image", domain_adaptation=MMD(), **head).fit(X, y)

    class Frozen(MMD):
        requires_trainable_backbone = False

    with pytest.raises(ValueError, match="adds a loss on the backbone's features"):
        ImageClassifier("toy-image", domain_adaptation=Frozen(), **head).fit(X, y)


def test_documentation_comes_from_the_registry():
    doc = ImageClassifier.__doc__
    assert (
        'domain_adaptation : {"dann", "coral", "adabn"}, DomainAdaptationMethod' in doc
    )
    for cls in DA_METHODS.values():
        assert " ".join(cls.description.split()[:6]) in " ".join(doc.split())


# -- the trainer's explicit input ---------------------------------------------------
@pytest.mark.parametrize("module", ["_trainer.py", "_contrastive.py", "_probe.py"])
def test_the_trainers_never_read_the_estimator(module):
    tree = ast.parse((FINETUNE / module).read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "estimator" not in names
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert "sktransfer.finetune._base" not in imported


def test_the_training_config_is_frozen_and_built_from_the_parameters():
    clf = ImageClassifier("toy-image", lr=0.5, domain_adaptation="coral", num_workers=0)
    config = training_config(clf, clf._resolve_spec(), 2)
    assert isinstance(config, TrainingConfig)
    assert config.lr == 0.5 and config.task == "classification"
    assert type(config.adaptation).__name__ == "DeepCORAL"
    assert config.adaptation is not training_config(clf, config.spec, 2).adaptation
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0


# -- the masked-labels tag ------------------------------------------------------------
def test_the_masked_labels_tag():
    adapting = ImageClassifier("toy-image", domain_adaptation="dann")
    plain = ImageClassifier("toy-image")
    tags = get_tags(adapting)
    assert isinstance(tags, Tags) and isinstance(tags, DomainTags)
    assert tags.handles_masked_labels and tags.estimator_type == "classifier"
    assert not get_tags(plain).handles_masked_labels
    assert handles_masked_labels(adapting) and not handles_masked_labels(plain)
    assert handles_masked_labels(SelectSource(LogisticRegression()))
    assert not handles_masked_labels(LogisticRegression())  # plain sklearn tags
    assert not handles_masked_labels("passthrough")
    # a pipeline: the answer of its last step
    assert handles_masked_labels(make_pipeline(FunctionTransformer(), adapting))
    assert not handles_masked_labels(make_pipeline(FunctionTransformer(), plain))
    for estimator in (adapting, plain, SelectSource(LogisticRegression())):
        check_valid_tag_types(type(estimator).__name__, estimator)


def test_make_da_pipeline_reads_the_tag():
    inner = make_pipeline(
        FunctionTransformer(), ImageClassifier("toy-image", domain_adaptation="dann")
    )
    pipe = make_da_pipeline(FunctionTransformer(), inner)
    assert pipe.steps[-1][1] is inner  # left unwrapped
    wrapped = make_da_pipeline(CORALAdapter(), make_pipeline(LogisticRegression()))
    assert isinstance(wrapped.steps[-1][1], SelectSource)
    assert [
        name for name, _ in make_da_pipeline(SelectSource(LogisticRegression())).steps
    ] == ["selectsource"]
