"""Beyond one machine: embed a Dask column partition by partition.

The embedders pickle small (frozen weights by reference), and a worker
process loads each named backbone once (see `sktransfer.engine._shared`), so
a fitted embedder can be shipped to every task of a Dask graph. The same holds
for ``dask_ml.wrappers.ParallelPostFit`` around a pipeline, and for
``joblib.parallel_backend("dask")`` around a grid search.
"""

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from sktransfer._optional import import_optional

__all__ = ["embed_dask_series"]


def _transform_partition(partition, embedder, columns):
    import pandas as pd

    if len(partition) == 0:
        return pd.DataFrame(np.empty((0, len(columns)), np.float32), columns=columns)
    values = embedder.transform(partition.tolist())
    return pd.DataFrame(values, index=partition.index, columns=columns)


def embed_dask_series(embedder, series):
    """Embed a Dask Series of image paths or texts into a Dask DataFrame.

    Parameters
    ----------
    embedder : ImageEmbedder or TextEmbedder
        Fitted, or unfitted (then it is cloned and fitted on the first item,
        which only loads the frozen weights).
    series : dask.dataframe.Series
        Image paths (or other image inputs) or strings.

    Returns
    -------
    embeddings : dask.dataframe.DataFrame
        One float32 column per feature (named as ``get_feature_names_out``),
        same index and partitions as ``series``. Nothing is computed until you
        ask for it.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from sktransfer import TextEmbedder
    >>> from sktransfer.parallel import embed_dask_series
    >>> texts = dd.from_pandas(pd.Series(["a", "b", "c"]), npartitions=2)
    >>> embed_dask_series(TextEmbedder(backbone="toy-text"), texts).compute().shape
    (3, 16)
    """
    import_optional("dask.dataframe")
    try:
        check_is_fitted(embedder)
        fitted = embedder
    except Exception:
        first = series.head(1, npartitions=-1).tolist()
        fitted = clone(embedder).fit(first)
    columns = list(fitted.get_feature_names_out())
    meta = {name: np.float32 for name in columns}
    return series.map_partitions(_transform_partition, fitted, columns, meta=meta)
