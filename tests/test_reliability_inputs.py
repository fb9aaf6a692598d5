"""Inputs that used to crash or mislead: bounded memory, NaN images, failed fits,
clear errors for mixed labels, bad checkpoints and {-1, +1} labels."""

import io
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from sktransfer.backbones._spec import ImagePreprocessing  # noqa: E402
from sktransfer.engine._preprocess import ImageTransform  # noqa: E402
from sktransfer.io import decode_image  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "preprocess_reference.npz"
CONFIGS = {
    "bilinear_224_256": ImagePreprocessing(
        crop_size=(224, 224), resize_size=256, interpolation="bilinear"
    ),
    "bicubic_224_256": ImagePreprocessing(
        crop_size=(224, 224), resize_size=256, interpolation="bicubic"
    ),
}


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _blocky_images():
    """The images of tests/data/preprocess_reference.npz (random 8-px blocks)."""
    rng = np.random.default_rng(11)
    shapes = [(300, 400), (480, 640), (720, 1280), (250, 750), (640, 480), (97, 389)]
    out = []
    for h, w in shapes:
        base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
        out.append(np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))[:h, :w])
    return out


def _old_transform(image, config):
    """The preprocessing before the fix: resize the whole image, then crop."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional

    mode = InterpolationMode(config.interpolation)
    image = functional.resize(
        image, [config.resize_size], interpolation=mode, antialias=True
    )
    image = functional.center_crop(image, list(config.crop_size)).clamp(0, 1)
    mean = torch.tensor(config.mean).view(-1, 1, 1)
    return (image - mean) / torch.tensor(config.std).view(-1, 1, 1)


# -- 9. memory bounded by the crop size, whatever the aspect ratio -----------
_MEMORY_PROBE = textwrap.dedent(
    """
    import io, resource, sys, warnings
    import numpy as np, torch
    from PIL import Image
    from sktransfer import ImageEmbedder
    from sktransfer.backbones import get_backbone
    from sktransfer.backbones._spec import ImagePreprocessing
    import dataclasses

    torch.set_num_threads(1)
    spec = dataclasses.replace(
        get_backbone("toy-image"),
        preprocessing=ImagePreprocessing(crop_size=(224, 224), resize_size=256),
    )
    normal = np.full((300, 400, 3), 128, dtype=np.uint8)
    embedder = ImageEmbedder(backbone=spec).fit([normal])
    embedder.transform([normal])  # warm up every allocation of a transform
    buffer = io.BytesIO()
    Image.fromarray(np.full((1, 20000), 200, dtype=np.uint8)).save(buffer, "PNG")
    png = buffer.getvalue()
    # the old path allocated 15.7 GB here: cap the address space so that a
    # regression fails this process instead of exhausting the machine
    vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0])
    headroom = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + headroom, -1))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = embedder.transform([normal, png])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert np.isfinite(out).all() and out.shape[0] == 2
    print("PNG_BYTES", len(png))
    print("PEAK_GROWTH_KB", after - before)
    print("WARNINGS", [str(w.message) for w in caught])
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, RLIMIT_AS")
def test_1x20000_png_embeds_with_bounded_memory():
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(
        line.split(" ", 1) for line in result.stdout.splitlines() if " " in line
    )
    assert int(lines["PNG_BYTES"]) < 1000
    # peak resident memory grew by under 200 MB (the old path needed 15.7 GB)
    assert int(lines["PEAK_GROWTH_KB"]) < 200 * 1024
    assert "image at index 1 is 1x20000 pixels" in lines["WARNINGS"]


def test_resize_never_exceeds_the_stretch_limit():
    from sktransfer.engine._preprocess import MAX_STRETCH, _cut_to_crop

    config = CONFIGS["bicubic_224_256"]
    shapes = [(1, 20000), (20000, 1), (3, 20000), (7, 50000), (256, 1025), (97, 389)]
    for shape in shapes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the >20:1 ones warn
            image = decode_image(np.zeros((*shape, 3), dtype=np.uint8), 0)
        cut, size, _ = _cut_to_crop(image, config)
        resized = ImageTransform(config)(image)
        assert resized.shape == (3, 224, 224)
        assert 256 in size and max(size) <= 2 * MAX_STRETCH * 256
        assert cut.shape[-2:] != shape


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_normal_aspect_ratios_unchanged_from_the_stored_old_path(name):
    import torch

    reference = np.load(REFERENCE)
    transform = ImageTransform(CONFIGS[name])
    for i, image in enumerate(_blocky_images()[:5]):  # aspect ratios up to 3:1
        out = transform(decode_image(image, i))
        pooled = torch.nn.functional.adaptive_avg_pool2d(out[None], 16)[0]
        np.testing.assert_allclose(pooled.numpy(), reference[f"{name}_{i}"], atol=1e-5)
        np.testing.assert_allclose(
            out[:, 112, :].numpy(), reference[f"{name}_{i}_row"], atol=1e-5
        )


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("shape", [(97, 389), (60, 600), (1800, 90), (257, 2100)])
def test_elongated_images_match_the_old_path_to_resampling_precision(name, shape):
    # a smooth image: the cut crop may sit up to half an output pixel away
    config = CONFIGS[name]
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    image = np.stack(
        [
            0.5 + 0.4 * np.sin(cols / 13.0) * np.cos(rows / 17.0),
            0.5 + 0.4 * np.cos(cols / 29.0 + rows / 23.0),
            np.linspace(0.1, 0.9, shape[1])[None, :].repeat(shape[0], 0),
        ],
        axis=-1,
    ).astype(np.float32)
    decoded = decode_image(image, 0)
    new, old = ImageTransform(config)(decoded), _old_transform(decoded, config)
    # normalised units (std ~0.225): 0.05 is about 1% of the [0, 1] range
    assert float((new - old).abs().mean()) < 0.02
    assert float((new - old).abs().max()) < 0.15


def test_absurd_aspect_ratio_warns_with_its_index():
    with pytest.warns(UserWarning, match=r"image at index 3 is 1x20000 pixels"):
        decode_image(np.zeros((1, 20000), dtype=np.uint8), 3)
    with pytest.warns(UserWarning, match=r"index 0 is 900x40 pixels"):
        decode_image(np.zeros((900, 40), dtype=np.uint8), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode_image(np.zeros((40, 800), dtype=np.uint8), 0)  # 20:1 is fine


def test_augmented_training_path_is_bounded_too():
    from sktransfer.engine._augment import TrainImageTransform

    config = CONFIGS["bilinear_224_256"]
    image = decode_image(np.full((1, 20000), 9, dtype=np.uint8), 0)
    assert TrainImageTransform(config)(image).shape == (3, 224, 224)


# -- 10. mode-F PIL images: NaN / inf rejected with the index, clipping said --
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_mode_f_image_with_nan_or_inf_is_rejected_with_its_index(bad):
    from sktransfer import ImageEmbedder

    values = np.full((16, 16), 0.5, dtype=np.float32)
    values[3, 4] = bad
    image = Image.fromarray(values, mode="F")
    good = Image.fromarray(np.full((16, 16), 0.5, dtype=np.float32), mode="F")
    with pytest.raises(ValueError, match=r"PIL image at index 2.*NaN or infinite"):
        decode_image(image, 2)
    embedder = ImageEmbedder(backbone="toy-image").fit([good, good, image])
    with pytest.raises(ValueError, match=r"index 2.*NaN or infinite"):
        embedder.transform([good, good, image])
    assert np.isfinite(embedder.transform([good, good])).all()


def test_mode_f_values_are_scaled_and_clipped_as_documented():
    values = np.array([[-3.0, 0.0, 0.5, 4.0]], dtype=np.float32)
    decoded = decode_image(Image.fromarray(values, mode="F"), 0).numpy()[0, 0]
    # over 1: divided by the maximum (4); negative: clipped to 0
    np.testing.assert_allclose(decoded, [0.0, 0.0, 0.125, 1.0])
    in_range = np.array([[-0.2, 0.25, 1.0]], dtype=np.float32)
    decoded = decode_image(Image.fromarray(in_range, mode="F"), 0).numpy()[0, 0]
    np.testing.assert_allclose(decoded, [0.0, 0.25, 1.0])


# -- 11. a fit that raises leaves no half-fitted estimator ----------------------
def _discovered():
    from sktransfer.utils.discovery import all_estimators
    from tests._check_instances import CHECK_INSTANCES

    return [(name, CHECK_INSTANCES[name][0]) for name, _ in all_estimators()]


def _fit_data(estimator, n=40, bad_row=None):
    """A frame (named columns) and y for ``estimator``; NaN at ``bad_row``."""
    import pandas as pd
    from sklearn.base import is_classifier, is_regressor

    rng = np.random.default_rng(0)
    if type(estimator).__name__ == "ImplicitRecommender":
        X = pd.DataFrame(
            {0: rng.integers(0, 8, n), 1: rng.integers(0, 6, n)}, dtype=float
        )
        if bad_row is not None:
            X.iloc[bad_row, 0] = np.nan
        return X, None
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] > 0).astype(int).to_numpy()
    if is_regressor(estimator):
        y = X["a"].to_numpy() * 2.0
    elif not is_classifier(estimator):
        y = np.where(np.arange(n) < n // 2, y, -1)  # adapters: masked target
    if bad_row is not None:
        X.iloc[bad_row, 2] = np.nan
    return X, y


_AFTER_FIT = ("predict", "transform", "predict_proba", "decision_function")


def _outputs(estimator, X):
    return {
        method: np.asarray(getattr(estimator, method)(X))
        for method in _AFTER_FIT
        if hasattr(estimator, method)
    }


@pytest.mark.parametrize("name, factory", _discovered(), ids=lambda v: str(v)[:30])
def test_failed_fit_leaves_every_estimator_unfitted(name, factory, one_torch_thread):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    estimator = factory()
    X_bad, y = _fit_data(estimator, bad_row=35)  # a bad value at a late row
    with pytest.raises(ValueError):
        estimator.fit(X_bad, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    X_good, _ = _fit_data(estimator)
    called = [m for m in _AFTER_FIT if hasattr(estimator, m)]
    assert called, name
    for method in called:
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X_good)


@pytest.mark.parametrize("name, factory", _discovered(), ids=lambda v: str(v)[:30])
def test_failed_refit_keeps_the_previous_fit_intact(name, factory, one_torch_thread):
    estimator = factory()
    X_good, y = _fit_data(estimator)
    estimator.fit(X_good, y)
    before = _outputs(estimator, X_good)
    fitted = sorted(k for k in vars(estimator) if k.endswith("_"))
    X_bad, y_bad = _fit_data(estimator, bad_row=35)
    with pytest.raises(ValueError):
        estimator.fit(X_bad.rename(columns=lambda c: str(c).upper()), y_bad)
    assert sorted(k for k in vars(estimator) if k.endswith("_")) == fitted
    # the feature names are those of the previous fit, not of the failed one
    assert list(getattr(estimator, "feature_names_in_", X_good.columns)) == list(
        X_good.columns
    )
    after = _outputs(estimator, X_good)
    for method, values in before.items():
        np.testing.assert_array_equal(after[method], values, err_msg=method)


def _images_with_corrupt(n=12, corrupt=5):
    rng = np.random.default_rng(0)
    images = [_png(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)) for _ in range(n)]
    images[corrupt] = b"\x89PNG\r\n\x1a\n corrupt"
    return images, np.arange(n) % 2


def test_corrupt_image_at_index_5_leaves_the_classifier_unfitted(one_torch_thread):
    from sklearn.exceptions import NotFittedError

    from sktransfer import ImageClassifier

    images, y = _images_with_corrupt()
    clf = ImageClassifier(backbone="toy-image", max_epochs=1, random_state=0)
    with pytest.raises(ValueError, match="index 5"):
        clf.fit(images, y)
    assert not hasattr(clf, "n_features_in_")
    for method in ("predict", "predict_proba", "decision_function"):
        if not hasattr(clf, method):
            continue
        with pytest.raises(NotFittedError):
            getattr(clf, method)(images[:2])
    # a refit that fails keeps the previous fit; a warm one (which trains the
    # fitted network in place) leaves the estimator unfitted
    good = images[:5] + images[6:]
    clf.fit(good, np.delete(y, 5))
    before = clf.predict_proba(good)
    with pytest.raises(ValueError, match="index 5"):
        clf.fit(images, y)
    np.testing.assert_array_equal(clf.predict_proba(good), before)
    clf.set_params(warm_start=True)
    with pytest.raises(ValueError, match="index 5"):
        clf.fit(images, y)
    with pytest.raises(NotFittedError):
        clf.predict(good)
    assert clf.get_params()["warm_start"] is True
    assert clf.fit(good, np.delete(y, 5)).predict(good).shape == (11,)


def test_recommender_failing_after_factorising_is_left_unfitted():
    import pandas as pd
    from sklearn.exceptions import NotFittedError

    from sktransfer import ImplicitRecommender

    X, _ = _fit_data(ImplicitRecommender(user_col=0, item_col=1))
    rec = ImplicitRecommender(
        user_col=0, item_col=1, model="als", factors=4, iterations=2, random_state=0
    )
    # the content bridge fails once the factors are learned: no content id
    # occurs in the interactions
    content = pd.Series(["red shoe", "blue hat"], index=[100.0, 101.0])
    with pytest.raises(ValueError, match="No item of item_content"):
        rec.fit(X, item_content=content)
    assert not [name for name in vars(rec) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        rec.predict(X)


# -- 12. clear errors instead of library tracebacks ----------------------------
def _numeric_xy(n=24):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(int)


def test_mixed_str_and_int_labels_are_named(one_torch_thread):
    from sklearn.linear_model import LogisticRegression

    from sktransfer import ImageClassifier
    from sktransfer.adapt import SelectSource

    X, y01 = _numeric_xy()
    mixed = np.array(["cat" if v else 7 for v in y01], dtype=object)
    first_int = int(np.flatnonzero(y01 == 0)[0])
    message = rf"y mixes label types.*str \(e\.g\. 'cat'.*int \(e\.g\. 7 at index {first_int}\)"
    for estimator in (
        ImageClassifier(backbone="toy-numeric", max_epochs=1, random_state=0),
        SelectSource(LogisticRegression()),
    ):
        with pytest.raises(ValueError, match=message):
            estimator.fit(X, mixed)
        # the suggested conversion fits
        fitted = estimator.fit(X, mixed.astype(str))
        assert sorted(fitted.classes_) == ["7", "cat"]
    # string labels next to the -1 mask of target rows stay allowed
    masked = np.array(np.where(y01, "cat", "dog"), dtype=object)
    masked[-4:] = -1
    clf = SelectSource(LogisticRegression()).fit(X, masked)
    assert list(clf.classes_) == ["cat", "dog"]


def test_fine_tuned_weights_that_are_not_a_checkpoint(one_torch_thread):
    from sktransfer import ImageClassifier

    X, y = _numeric_xy()
    clf = ImageClassifier(backbone="toy-numeric", max_epochs=1, random_state=0)
    state = clf.fit(X, y).__getstate__()
    for blob, match in [
        (
            b"certainly not a torch file",
            r"weights blob \(26 bytes in the pickle\) is not a valid torch checkpoint",
        ),
        (state["_weights"][: len(state["_weights"]) // 2], "not a valid torch"),
    ]:
        broken = ImageClassifier.__new__(ImageClassifier)
        broken.__setstate__({**state, "_weights": blob})
        with pytest.raises(ValueError, match=match):
            broken.predict(X)
    intact = ImageClassifier.__new__(ImageClassifier)
    intact.__setstate__(dict(state))
    np.testing.assert_array_equal(intact.predict(X), clf.predict(X))


def test_checkpoint_file_that_is_not_a_state_dict(tmp_path):
    import torch

    from sktransfer.backbones import get_backbone, register_backbone

    garbage = tmp_path / "weights.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    cases = [
        (garbage, r"checkpoint file '.*weights\.pth' is not a valid torch checkpoint"),
        (tensor, r"checkpoint file '.*tensor\.pth' holds a Tensor; expected a state"),
    ]
    for i, (path, match) in enumerate(cases):
        register_backbone(
            f"reliability-bad-{i}",
            architecture="timm:resnet18",
            checkpoint=path,
            overwrite=True,
        )
        with pytest.raises(ValueError, match=match):
            get_backbone(f"reliability-bad-{i}").build()


@pytest.mark.parametrize("name", ["SelectSource", "ImportanceWeightingAdapter"])
def test_plus_minus_one_labels_explain_the_masking_convention(name):
    from sklearn.linear_model import LogisticRegression

    import sktransfer.adapt

    X, y01 = _numeric_xy()
    y = np.where(y01 == 1, 1, -1)
    estimator = getattr(sktransfer.adapt, name)(LogisticRegression())
    with pytest.raises(ValueError, match=r"-1 marks an unlabelled target row.*relabel"):
        estimator.fit(X, y)
    # relabelled as the message suggests, both classes are learned
    if name == "SelectSource":
        assert list(estimator.fit(X, (y > 0).astype(int)).classes_) == [0, 1]
