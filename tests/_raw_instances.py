"""Raw-input configurations under which each public estimator runs the contract tests.

Every public estimator found by ``sktransfer.utils.discovery.all_estimators``
has an entry in RAW_INSTANCES (raw inputs: image arrays, texts, ids) or a
written reason in NUMERIC_ONLY; tests/test_raw_contract.py fails otherwise, so
none can silently opt out of the raw-input contract (the numeric counterpart
is tests/_check_instances.py, run by tests/test_common.py).

Configurations use the toy backbones, so that the whole contract runs in
seconds; ``swap`` mostly names a real offline backbone, fitted on four rows,
to show that ``set_params`` really changes the model.
"""

from dataclasses import dataclass, field

import numpy as np

_RNG = np.random.default_rng(0)
IMAGES = _RNG.integers(0, 256, (12, 24, 24, 3), dtype=np.uint8)
TEXTS = [f"review number {i} says {'good' if i % 2 else 'bad'}" for i in range(12)]
CLASSES = np.arange(12) % 2
TARGETS = np.linspace(0.0, 1.0, 12)
# domain adaptation: the last four rows are unlabelled target rows
MASKED_CLASSES = np.where(np.arange(12) < 8, CLASSES, -1)


@dataclass(frozen=True)
class RawCase:
    """One raw-input configuration of an estimator.

    make : zero-argument callable returning the unfitted estimator.
    X, y : training inputs and labels (y None for a transformer).
    fit_params : extra keyword arguments of ``fit``.
    X_test : inputs of predict / transform (None: X).
    swap : parameters for ``set_params`` that must change the refitted
        estimator's output (a model swapped as GridSearchCV would).
    swap_rows : the rows both estimators of the swap test are fitted on
        (few, since the swapped model is a real one; None: all of X). Rows 0,
        1 (labelled) and 8, 9 (target rows where labels are masked) cover both
        classes and both domains.
    one_column : X is a 1-D collection, so a Series and a one-column frame of
        it must give the same result and the column name is checked.
    """

    make: object
    X: object
    y: object = None
    fit_params: dict = field(default_factory=dict)
    X_test: object = None
    swap: dict = field(default_factory=dict)
    one_column: bool = True
    swap_rows: tuple = (0, 1, 8, 9)


def _sktransfer(name, **params):
    def make():
        import sktransfer

        return getattr(sktransfer, name)(**params)

    return make


def _text_pipeline(final):
    """A pipeline from texts to ``final`` (a scikit-learn estimator's name)."""

    def make():
        import sklearn.linear_model
        from sklearn.pipeline import make_pipeline

        from sktransfer import TextEmbedder

        estimator = getattr(sklearn.linear_model, final)()
        return make_pipeline(TextEmbedder(backbone="toy-text"), estimator)

    return make


def _adapt(name, *factories, **params):
    def make():
        import sktransfer.adapt

        # factories (inner estimators) are called here: one per instance
        args = [factory() for factory in factories]
        kwargs = {k: v() if callable(v) else v for k, v in params.items()}
        return getattr(sktransfer.adapt, name)(*args, **kwargs)

    return make


def _recommender():
    from sktransfer import ImplicitRecommender, TextEmbedder

    return ImplicitRecommender(
        factors=4,
        iterations=3,
        random_state=0,
        content_embedder=TextEmbedder(backbone="toy-text"),
    )


def _interactions():
    import pandas as pd

    return pd.DataFrame(
        {"user": ["ann", "ann", "bob", "bob", "cy", "cy"], "item": list("abbcac")}
    )


def _item_content():
    import pandas as pd

    return pd.Series(
        {"a": "a red apple", "b": "a blue boat", "c": "a car", "d": "a dog"}
    )


def _pairs():
    import pandas as pd

    # the cold item "d" scores from its content embedding
    return pd.DataFrame({"user": ["ann", "bob", "cy", "cy"], "item": list("abdd")})


# a head with a fixed L2 (head_l2="auto" cross-validates it: slower, and
# tested with the fine-tuners' own tests)
_HEAD = dict(head_l2=1.0)
_IMAGE = dict(backbone="toy-image", **_HEAD)
_TEXT = dict(backbone="toy-text", **_HEAD)
_LITE0 = {"backbone": "tf_efficientnet_lite0"}
_MINILM = {"backbone": "all-MiniLM-L6-v2"}

RAW_INSTANCES = {
    "ImageEmbedder": [
        RawCase(_sktransfer("ImageEmbedder", backbone="toy-image"), IMAGES, swap=_LITE0)
    ],
    "TextEmbedder": [
        RawCase(_sktransfer("TextEmbedder", backbone="toy-text"), TEXTS, swap=_MINILM)
    ],
    "ImageClassifier": [
        RawCase(_sktransfer("ImageClassifier", **_IMAGE), IMAGES, CLASSES, swap=_LITE0),
        # a trained network (not only a solved head) through the same contract
        RawCase(
            _sktransfer(
                "ImageClassifier",
                backbone="toy-image",
                strategy="full",
                max_epochs=1,
                validation_fraction=None,
                random_state=0,
            ),
            IMAGES,
            CLASSES,
            swap={"lr": 0.5},
        ),
    ],
    "ImageRegressor": [
        RawCase(_sktransfer("ImageRegressor", **_IMAGE), IMAGES, TARGETS, swap=_LITE0)
    ],
    "TextClassifier": [
        RawCase(_sktransfer("TextClassifier", **_TEXT), TEXTS, CLASSES, swap=_MINILM)
    ],
    "TextRegressor": [
        RawCase(_sktransfer("TextRegressor", **_TEXT), TEXTS, TARGETS, swap=_MINILM)
    ],
    # meta-estimators take what their inner estimators take: texts here
    "SelectSource": [
        RawCase(
            _adapt("SelectSource", _text_pipeline("LogisticRegression")),
            TEXTS,
            MASKED_CLASSES,
            swap={"estimator__textembedder__normalize": True},
        )
    ],
    "ImportanceWeightingAdapter": [
        RawCase(
            _adapt(
                "ImportanceWeightingAdapter",
                _sktransfer("TextClassifier", **_TEXT),
                domain_classifier=_text_pipeline("LogisticRegression"),
            ),
            TEXTS,
            MASKED_CLASSES,
            swap={"estimator__backbone": "all-MiniLM-L6-v2"},
        )
    ],
    # interactions between string ids, item content as text
    "ImplicitRecommender": [
        RawCase(
            _recommender,
            _interactions(),
            fit_params={"item_content": _item_content()},
            X_test=_pairs(),
            swap={"content_embedder__backbone": "all-MiniLM-L6-v2"},
            one_column=False,
            swap_rows=None,
        )
    ],
}

_ALIGNS = (
    "aligns numeric feature matrices (embeddings) of the source and target "
    "domains; raw inputs reach it through an embedder earlier in the pipeline "
    "(make_da_pipeline(TextEmbedder(), {name}(), LogisticRegression()))"
)
NUMERIC_ONLY = {
    name: _ALIGNS.format(name=name)
    for name in (
        "CORALAdapter",
        "DomainStandardScaler",
        "SubspaceAlignmentAdapter",
        "TCAAdapter",
    )
}
NUMERIC_ONLY["OutlierDetector"] = (
    "pyod's detectors score numeric feature matrices; raw inputs reach it "
    "through an embedder earlier in the pipeline "
    "(make_pipeline(ImageEmbedder(), OutlierDetector()))"
)
