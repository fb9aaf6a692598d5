"""Contract tests for the embedders on raw inputs (images, texts)."""

import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import ImageEmbedder, TextEmbedder

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (12, 24, 24, 3), dtype=np.uint8)
TEXTS = [f"review number {i} says {'good' if i % 2 else 'bad'}" for i in range(12)]

# (embedder, inputs, another backbone of the same modality)
RAW_CONFIGS = [
    pytest.param(
        ImageEmbedder(backbone="toy-image"), IMAGES, "tf_efficientnet_lite0", id="image"
    ),
    pytest.param(
        TextEmbedder(backbone="toy-text"), TEXTS, "all-MiniLM-L6-v2", id="text"
    ),
]


# The raw-input contract every estimator meets (NotFittedError, types, pickle,
# clone, set_params, bare strings, one-column frames) is tests/test_raw_contract.py;
# what is particular to the embedders is here.
@pytest.mark.parametrize(("embedder", "X", "other"), RAW_CONFIGS)
def test_weights_by_reference_and_a_changed_backbone(embedder, X, other, tmp_path):
    est = clone(embedder).fit(X)
    Z = est.transform(X)
    assert Z.shape == (len(X), est.embedding_dim_)
    np.testing.assert_array_equal(est.fit_transform(X), Z)
    assert est.get_feature_names_out()[0] == f"{type(est).__name__.lower()}0"

    # pickle by reference: small, and the model reloads on first use
    blob = pickle.dumps(est)
    assert len(blob) < 20_000
    np.testing.assert_array_equal(pickle.loads(blob).transform(X), Z)
    path = tmp_path / "est.joblib"
    joblib.dump(clone(est).set_params(store_weights_in_pickle=True).fit(X), path)
    loaded = joblib.load(path)
    assert loaded.__dict__.get("_model") is not None  # weights travelled
    np.testing.assert_array_equal(loaded.transform(X), Z)

    # clone drops the model; a backbone changed after fit is detected
    assert "_model" not in clone(est).__dict__
    est.set_params(backbone=other)
    with pytest.raises(ValueError, match="changed since fit"):
        est.transform(X)


def test_parameter_validation_happens_at_fit():
    est = ImageEmbedder(backbone="toy-image", batch_size=0, pooling="median")
    assert est.batch_size == 0  # stored verbatim
    with pytest.raises(ValueError, match="batch_size"):
        est.fit(IMAGES)
    with pytest.raises(ValueError, match="precision"):
        TextEmbedder(backbone="toy-text", precision="int4").fit(TEXTS)


def test_duplicates_are_computed_once_and_order_is_kept():
    est = TextEmbedder(backbone="toy-text").fit(TEXTS)
    calls = []
    original = est._embed_raw

    def spy(items, positions):
        calls.append(len(positions))
        return original(items, positions)

    est._embed_raw = spy
    doubled = TEXTS[::-1] + TEXTS
    Z = est.transform(doubled)
    assert calls == [len(TEXTS)]
    np.testing.assert_array_equal(Z[: len(TEXTS)][::-1], Z[len(TEXTS) :])
    reference = TextEmbedder(backbone="toy-text").fit(TEXTS).transform(TEXTS)
    np.testing.assert_allclose(Z[len(TEXTS) :], reference, atol=1e-6)


def test_batch_size_and_workers_do_not_change_results(tmp_path):
    paths = []
    for i, image in enumerate(IMAGES[:6]):
        path = tmp_path / f"{i}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    Z = ImageEmbedder(backbone="toy-image", batch_size=1).fit_transform(IMAGES[:6])
    Z_paths = ImageEmbedder(
        backbone="toy-image", batch_size=4, num_workers=2
    ).fit_transform(paths)
    np.testing.assert_allclose(Z, Z_paths, atol=1e-5)


def test_layers_pooling_and_normalize():
    est = ImageEmbedder(backbone="toy-image", layer=["2", "4"], pooling="avgmax")
    Z = est.fit_transform(IMAGES)
    assert Z.shape == (len(IMAGES), 2 * (8 + 16))
    Z_norm = ImageEmbedder(backbone="toy-image", normalize=True).fit_transform(IMAGES)
    np.testing.assert_allclose(np.linalg.norm(Z_norm, axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="not found in the backbone"):
        ImageEmbedder(backbone="toy-image", layer="blocks.9").fit(IMAGES)


def test_real_backbone_intermediate_layers():
    est = ImageEmbedder(layer=["blocks.3", "blocks.5"]).fit(IMAGES[:2])
    assert est.embedding_dim_ == 80 + 192
    assert est.transform(IMAGES[:2]).shape == (2, 272)


def test_pipeline_gridsearch_over_backbone_and_cross_val():
    y = np.arange(len(TEXTS)) % 2
    pipe = make_pipeline(TextEmbedder(backbone="toy-text"), LogisticRegression())
    search = GridSearchCV(
        pipe,
        {"textembedder__backbone": ["toy-text", "all-MiniLM-L6-v2"]},
        cv=2,
    ).fit(TEXTS, y)
    assert search.best_estimator_[0].embedding_dim_ in (16, 384)
    dims = {params["textembedder__backbone"] for params in search.cv_results_["params"]}
    assert dims == {"toy-text", "all-MiniLM-L6-v2"}
    scores = cross_val_score(
        make_pipeline(ImageEmbedder(backbone="toy-image"), LogisticRegression()),
        IMAGES,
        y,
        cv=2,
        n_jobs=2,
    )
    assert scores.shape == (2,)


def test_column_transformer_over_image_paths_text_and_numbers(tmp_path):
    paths = []
    for i, image in enumerate(IMAGES):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    frame = pd.DataFrame(
        {"photo": paths, "review": TEXTS, "price": np.arange(12.0), "stock": 1.0}
    )
    y = np.arange(12) % 2
    features = ColumnTransformer(
        [
            ("image", ImageEmbedder(backbone="toy-image"), ["photo"]),
            ("text", TextEmbedder(backbone="toy-text"), ["review"]),
            ("numbers", StandardScaler(), ["price", "stock"]),
        ]
    )
    model = make_pipeline(features, LogisticRegression()).fit(frame, y)
    out = model[0].transform(frame)
    assert out.shape == (12, 16 + 16 + 2)
    names = model[0].get_feature_names_out()
    # embeddings are named after their input column (as skrub names them)
    assert names[0] == "image__photo_0" and names[16] == "text__review_0"
    assert names[-1] == "numbers__stock"
    assert model.predict(frame).shape == (12,)


def _failing_backend(graph_module, example_inputs):
    raise RuntimeError("this backend always fails")


def test_compile_matches_eager_shares_weights_and_stays_out_of_the_pickle():
    eager = ImageEmbedder(backbone="toy-image").fit(IMAGES)
    est = ImageEmbedder(backbone="toy-image", compile=True).fit(IMAGES)
    assert est.fingerprint_ == eager.fingerprint_  # same cache entries
    assert est._model is eager._model and est._runner is not eager._runner
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no fallback to eager
        Z = est.transform(IMAGES)
    assert est._runner._compiled_call_impl is not None  # still compiled
    np.testing.assert_allclose(Z, eager.transform(IMAGES), rtol=1e-4, atol=1e-5)
    again = clone(est).fit(IMAGES[:2])
    assert again._runner is est._runner  # compiled once per process

    blob = pickle.dumps(est)
    assert len(blob) < 20_000
    np.testing.assert_allclose(pickle.loads(blob).transform(IMAGES), Z, atol=1e-5)
    heavy = pickle.loads(
        pickle.dumps(clone(est).set_params(store_weights_in_pickle=True).fit(IMAGES))
    )
    assert type(heavy.__dict__["_model"]) is type(eager._model)  # eager weights only
    np.testing.assert_allclose(heavy.transform(IMAGES), Z, atol=1e-5)
    assert heavy._runner is not heavy._model  # compiled again after loading


def test_compile_failure_falls_back_to_eager_with_a_warning():
    eager = ImageEmbedder(backbone="toy-image", runtime="torch").fit_transform(IMAGES)
    est = ImageEmbedder(backbone="toy-image", compile={"backend": _failing_backend})
    est.fit(IMAGES)
    with pytest.warns(RuntimeWarning, match="torch.compile failed.*always fails"):
        Z = est.transform(IMAGES)
    np.testing.assert_array_equal(Z, eager)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # warned once, then eager
        np.testing.assert_array_equal(est.transform(IMAGES), eager)

    # layer outputs come from forward hooks: traced by dynamo as well
    layers = {"layer": ["2", "4"], "pooling": "avgmax"}
    hooked = ImageEmbedder(backbone="toy-image", compile={"backend": "eager"}, **layers)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        Z = hooked.fit(IMAGES).transform(IMAGES)
    assert hooked._runner._compiled_call_impl is not None
    reference = ImageEmbedder(backbone="toy-image", **layers).fit_transform(IMAGES)
    np.testing.assert_allclose(Z, reference, atol=1e-6)

    with pytest.raises(
        ValueError, match=r"unknown torch.compile option\(s\) \['mood'\]"
    ):
        TextEmbedder(backbone="toy-text", compile={"mood": "fast"}).fit(TEXTS)
    with pytest.raises(ValueError, match="'compile' parameter"):
        TextEmbedder(backbone="toy-text", compile="yes").fit(TEXTS)


def test_cls_pooling_of_a_feature_map_is_an_error():
    """'cls' takes a class token; a (N, C, H, W) map has none (no silent average)."""
    torch = pytest.importorskip("torch")
    from sktransfer.engine._extract import pool_features

    tokens = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(pool_features(tokens, "cls"), tokens[:, 0])
    with pytest.raises(ValueError, match="4-D feature map"):
        pool_features(torch.zeros(2, 3, 4, 4), "cls")
    with pytest.raises(ValueError, match="pooling must be one of"):
        pool_features(tokens, "mean")


@pytest.mark.parametrize("name", ["ImageEmbedder", "ImageClassifier"])
def test_pickling_does_not_change_the_estimator(name):
    """object.__getstate__ returns the live __dict__ on Python 3.11+: a pickle
    must be taken from a copy, so pickling (e.g. from another thread) never
    drops the loaded model of the estimator being used."""
    import sktransfer

    X = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    params = {"max_epochs": 1} if name == "ImageClassifier" else {}
    estimator = getattr(sktransfer, name)(backbone="toy-image", **params)
    estimator.fit(X, [0, 1, 0, 1]) if params else estimator.fit(X)
    before = dict(estimator.__dict__)
    pickle.dumps(estimator)
    assert estimator.__dict__.keys() == before.keys()
    assert all(estimator.__dict__[k] is v for k, v in before.items())
