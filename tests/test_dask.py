"""Dask: a LocalCluster of two worker processes gives the local results."""

import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")

from distributed import Client, LocalCluster  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sktransfer import ImageEmbedder, TextEmbedder  # noqa: E402
from sktransfer.parallel import embed_dask_series  # noqa: E402

TEXTS = [f"review {i}: {'great' if i % 3 else 'poor'} value" for i in range(60)]


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def test_map_partitions_matches_local_transform(client):
    series = dd.from_pandas(pd.Series(TEXTS), npartitions=6)
    embedder = TextEmbedder(backbone="toy-text").fit(TEXTS)
    result = embed_dask_series(embedder, series).compute()
    np.testing.assert_array_equal(result.to_numpy(), embedder.transform(TEXTS))
    assert list(result.columns) == list(embedder.get_feature_names_out())


def test_image_paths_and_parallel_post_fit(client, tmp_path):
    from PIL import Image

    wrappers = pytest.importorskip("dask_ml.wrappers")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    local = ImageEmbedder(backbone="toy-image").fit_transform(paths)
    series = dd.from_pandas(pd.Series(paths), npartitions=4)
    remote = embed_dask_series(ImageEmbedder(backbone="toy-image"), series).compute()
    np.testing.assert_allclose(remote.to_numpy(), local, atol=1e-6)

    y = np.arange(len(TEXTS)) % 2
    model = wrappers.ParallelPostFit(
        make_pipeline(TextEmbedder(backbone="toy-text"), LogisticRegression()),
        predict_meta=np.array([0]),
    ).fit(pd.DataFrame({"text": TEXTS}), y)
    frame = dd.from_pandas(pd.DataFrame({"text": TEXTS}), npartitions=3)
    lazy = model.predict(frame)
    assert hasattr(lazy, "compute")  # predicted partition by partition on the workers
    np.testing.assert_array_equal(
        lazy.compute(), model.estimator.predict(frame.compute())
    )


def _slow_partition(partition):
    time.sleep(0.5)
    return partition


def test_killed_worker_loses_no_result(client):
    texts = TEXTS * 4
    embedder = TextEmbedder(backbone="toy-text").fit(texts)
    series = dd.from_pandas(pd.Series(texts), npartitions=12).map_partitions(
        _slow_partition, meta=(None, object)
    )
    pids = client.run(os.getpid)  # worker address -> process id
    future = client.compute(embed_dask_series(embedder, series))
    time.sleep(1.0)  # some partitions are running
    os.kill(pids[sorted(pids)[0]], signal.SIGKILL)  # the nanny restarts it
    result = future.result(timeout=120)
    np.testing.assert_array_equal(result.to_numpy(), embedder.transform(texts))
    assert set(client.run(os.getpid).values()) != set(pids.values())  # one was replaced


def test_grid_search_on_the_dask_joblib_backend(client):
    import joblib
    from sklearn.model_selection import GridSearchCV

    y = np.arange(len(TEXTS)) % 2
    search = GridSearchCV(
        make_pipeline(TextEmbedder(backbone="toy-text"), LogisticRegression()),
        {"logisticregression__C": [0.1, 1.0]},
        cv=2,
        n_jobs=2,
    )
    with joblib.parallel_backend("dask"):
        search.fit(TEXTS, y)
    local = GridSearchCV(search.estimator, search.param_grid, cv=2).fit(TEXTS, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
