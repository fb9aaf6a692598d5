"""sktransfer inside the tools that consume scikit-learn estimators.

Each tool runs for real on toy backbones: polars (through ColumnTransformer
and directly), MAPIE (conformal sets on a prefit fine-tuner), skops
(secure persistence), optuna (OptunaSearchCV over the backbone) and
imbalanced-learn (SMOTE between an embedder and a classifier).
"""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sktransfer import ImageEmbedder, TextClassifier, TextEmbedder
from sktransfer.adapt import CORALAdapter, ImportanceWeightedScorer, make_da_pipeline

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (12, 24, 24, 3), dtype=np.uint8)
TEXTS = [
    f"review {i} was {'good great fine' if i % 2 else 'bad awful poor'}"
    for i in range(24)
]
LABELS = np.arange(24) % 2


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def _classifier():
    return TextClassifier(backbone="toy-text", max_epochs=4, lr=0.05, random_state=0)


# -- polars ----------------------------------------------------------------
def test_polars_frames_through_column_transformer_and_directly(tmp_path):
    pl = pytest.importorskip("polars")
    paths = []
    for i, image in enumerate(IMAGES):
        path = tmp_path / f"{i}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    frame = pl.DataFrame(
        {"photo": paths, "review": TEXTS[:12], "price": np.arange(12.0)}
    )
    features = make_column_transformer(
        (ImageEmbedder(backbone="toy-image"), ["photo"]),
        (TextEmbedder(backbone="toy-text"), ["review"]),
        remainder="passthrough",
    ).set_output(transform="polars")
    out = features.fit_transform(frame)  # each embedder gets a polars frame
    assert isinstance(out, pl.DataFrame) and out.shape == (12, 16 + 16 + 1)
    assert out.columns[0] == "imageembedder__photo_0"
    assert out.columns[16] == "textembedder__review_0"
    reference = TextEmbedder(backbone="toy-text").fit_transform(TEXTS[:12])
    np.testing.assert_allclose(out.select(out.columns[16:32]).to_numpy(), reference)

    # a polars frame or series straight into a fine-tuner and an embedder
    reviews = pl.DataFrame({"review": TEXTS})
    clf = _classifier().fit(reviews, LABELS)
    assert list(clf.feature_names_in_) == ["review"]
    np.testing.assert_array_equal(clf.predict(reviews), clf.predict(TEXTS))
    with pytest.raises(ValueError, match="fitted on column"):
        clf.predict(reviews.rename({"review": "other"}))
    embedder = TextEmbedder(backbone="toy-text").fit(reviews["review"])
    np.testing.assert_allclose(
        embedder.transform(reviews["review"]), embedder.transform(TEXTS)
    )
    with pytest.raises(ValueError, match="one-column DataFrame"):
        TextEmbedder(backbone="toy-text").fit(frame.select("review", "photo"))


def test_pyarrow_table_is_a_one_column_frame():
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"review": TEXTS[:6]})
    embedder = TextEmbedder(backbone="toy-text").fit(table)
    assert list(embedder.get_feature_names_out()[:2]) == ["review_0", "review_1"]
    np.testing.assert_allclose(embedder.transform(table), embedder.transform(TEXTS[:6]))


# -- feature names, n_features_in_ ------------------------------------------
def test_raw_inputs_name_their_features_after_the_column_and_skip_n_features_in():
    named = TextEmbedder(backbone="toy-text").fit(pd.DataFrame({"review": TEXTS}))
    assert not hasattr(named, "n_features_in_")
    assert list(named.feature_names_in_) == ["review"]
    assert named.get_feature_names_out()[-1] == f"review_{named.embedding_dim_ - 1}"
    plain = TextEmbedder(backbone="toy-text").fit(TEXTS)
    assert plain.get_feature_names_out()[0] == "textembedder0"
    assert list(plain.get_feature_names_out(["body"])[:1]) == ["body_0"]
    numeric = TextEmbedder(backbone="toy-numeric").fit(np.ones((3, 4)))
    assert numeric.n_features_in_ == 4  # numeric input keeps n_features_in_


# -- MAPIE -----------------------------------------------------------------
def test_mapie_conformal_sets_on_a_prefit_text_classifier():
    mapie = pytest.importorskip("mapie.classification")
    texts = np.asarray(TEXTS)
    clf = _classifier().fit(texts[:12], LABELS[:12])
    conformal = mapie.SplitConformalClassifier(
        estimator=clf, confidence_level=0.8, prefit=True
    )
    conformal.conformalize(texts[12:], LABELS[12:])
    points, sets = conformal.predict_set(texts)
    np.testing.assert_array_equal(points, clf.predict(texts))
    assert sets.shape == (len(texts), 2, 1)
    coverage = sets[np.arange(len(texts)), LABELS, 0].mean()
    assert coverage >= 0.6  # the sets hold the true class (80% asked)


# -- skops ------------------------------------------------------------------
# the types to trust when loading sktransfer models with skops (documented in
# docs/user_guide/persistence.rst)
SKTRANSFER_TYPES = {
    "sktransfer.embed._image.ImageEmbedder",
    "sktransfer.embed._text.TextEmbedder",
    "sktransfer.finetune._text.TextClassifier",
    "skorch.history.History",
}


def test_skops_round_trip_with_the_documented_trusted_types():
    sio = pytest.importorskip("skops.io")
    model = make_pipeline(
        ImageEmbedder(backbone="toy-image", store_weights_in_pickle=True),
        LogisticRegression(),
    ).fit(IMAGES, LABELS[:12])
    clf = _classifier().fit(TEXTS, LABELS)
    for fitted, X in ((model, IMAGES), (clf, TEXTS)):
        data = sio.dumps(fitted)
        untrusted = set(sio.get_untrusted_types(data=data))
        assert untrusted <= SKTRANSFER_TYPES, untrusted - SKTRANSFER_TYPES
        with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
            sio.loads(data)
        loaded = sio.loads(data, trusted=sorted(untrusted))
        np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    embedder = sio.loads(sio.dumps(model), trusted=sorted(SKTRANSFER_TYPES))[0]
    assert embedder.__dict__.get("_model") is not None  # the weights travelled


# -- optuna -----------------------------------------------------------------
def test_optuna_search_over_the_backbone():
    integration = pytest.importorskip("optuna_integration")
    optuna = pytest.importorskip("optuna")
    from sktransfer.backbones import get_backbone, register_backbone

    register_backbone("toy-text-copy", get_backbone("toy-text"), overwrite=True)
    pipe = make_pipeline(TextEmbedder(backbone="toy-text"), LogisticRegression())
    search = integration.OptunaSearchCV(
        pipe,
        {
            "textembedder__backbone": optuna.distributions.CategoricalDistribution(
                ["toy-text", "toy-text-copy"]
            ),
            "logisticregression__C": optuna.distributions.FloatDistribution(
                0.01, 10, log=True
            ),
        },
        n_trials=3,
        cv=2,
        random_state=0,
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search.fit(TEXTS, LABELS)
    assert search.best_params_["textembedder__backbone"] in (
        "toy-text",
        "toy-text-copy",
    )
    assert search.predict(TEXTS[:4]).shape == (4,)


# -- imbalanced-learn ------------------------------------------------------
def test_smote_between_an_embedder_and_a_classifier():
    imblearn = pytest.importorskip("imblearn")
    y = (np.arange(24) < 6).astype(int)  # 6 positives, 18 negatives
    pipe = imblearn.pipeline.make_pipeline(
        TextEmbedder(backbone="toy-text"),
        imblearn.over_sampling.SMOTE(k_neighbors=2, random_state=0),
        LogisticRegression(),
    ).fit(TEXTS, y)
    assert pipe.predict(TEXTS).shape == (24,)
    Z = pipe[0].transform(TEXTS)
    Z_res, y_res = clone(pipe[1]).fit_resample(Z, y)
    assert np.bincount(y_res).tolist() == [18, 18]


# -- domain adaptation on raw images -----------------------------------------
def test_importance_weighted_scorer_on_raw_images_needs_an_embedder():
    X = np.concatenate([IMAGES, 255 - IMAGES])
    y = np.r_[LABELS[:12], -np.ones(12, dtype=int)]
    pipe = make_da_pipeline(
        ImageEmbedder(backbone="toy-image"), CORALAdapter(), LogisticRegression()
    ).fit(X, y)
    with pytest.raises(
        ValueError, match="pass an embedder pipeline as domain_classifier"
    ):
        ImportanceWeightedScorer()(pipe, X, y)
    domain_classifier = make_pipeline(
        ImageEmbedder(backbone="toy-image"), LogisticRegression(C=0.1)
    )
    score = ImportanceWeightedScorer(domain_classifier=domain_classifier)(pipe, X, y)
    assert 0.0 <= score <= 1.0
