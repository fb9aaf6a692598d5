"""`ImageEmbedder`: a frozen pretrained image backbone as a transformer."""

import hashlib
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from sktransfer.backbones._spec import POOLINGS
from sktransfer.embed._base import BaseEmbedder
from sktransfer.embed._fast import FastStartMixin
from sktransfer.embed._runtime import (
    RUNTIME_CONSTRAINTS,
    RuntimeMixin,
    with_runtime_doc,
)
from sktransfer.engine._keys import CACHE_KEY_MODES, image_cache_key
from sktransfer.io import check_image_input

__all__ = ["ImageEmbedder"]


@with_runtime_doc
class ImageEmbedder(FastStartMixin, RuntimeMixin, BaseEmbedder):
    """Embed images with a frozen pretrained backbone.

    Each image is decoded, preprocessed exactly as the backbone's weights
    expect (resize, centre crop, normalisation, taken from the weights'
    metadata) and passed through the network; the output is the pooled
    penultimate features, or pooled features of chosen intermediate layers.
    Images are decoded batch by batch, so memory holds one batch at a time.

    Parameters
    ----------
    backbone : str, BackboneSpec or torch.nn.Module, default="tf_efficientnet_lite0"
        A registry name (see `sktransfer.list_backbones`), a torchvision or
        timm name, a spec, or a module. The default works offline.
    layer : str or list of str, default=None
        ``None``: the pooled penultimate features. Otherwise the name(s) of
        modules in the backbone (``model.named_modules()``, e.g.
        ``"blocks.4"`` for timm EfficientNets, ``"layer3"`` for torchvision
        ResNets) whose outputs are pooled and concatenated in order.
    pooling : {"avg", "max", "avgmax", "cls"}, default="avg"
        How layer outputs are pooled over space (or tokens); ``"avgmax"``
        concatenates both. The penultimate features are pooled by the
        backbone itself.
    image_size : int, default=None
        Embed at this square input size instead of the backbone's own (the
        resize keeps the backbone's crop ratio), as the image fine-tuners'
        ``image_size``. Smaller is faster; convnets take any size, models
        with a fixed input size (vision transformers) may not. Part of the
        fingerprint, so the cache keeps the sizes apart.
    batch_size : int or "auto", default="auto"
        Images per forward pass. ``"auto"``: 32 on CUDA; on the CPU the size
        measured fastest for EfficientNet-Lite0 on the runtime in use (8 on
        torch, 4 on OpenVINO and ONNX Runtime; small batches keep the
        activations in the CPU caches; see
        ``benchmarks/results/batch_size.md``). ``batch_size_`` gives the
        value used.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    <runtime and precision>
    num_workers : int, default=0
        DataLoader worker processes decoding images in parallel with the
        forward pass. 0 decodes in one background thread of this process,
        which also overlaps the forward pass (Pillow releases the GIL), with
        no start-up cost; the preprocessing (resize, crop) runs in the main
        thread.
    jpeg_draft : bool, default=False
        Decode JPEG files and bytes whose shorter side is at least four
        times the resize size at a reduced scale (``PIL.Image.draft``: 1/2,
        1/4 or 1/8, in the DCT) keeping a shorter side of at least twice the
        resize size, then preprocess as usual. Much faster for photos far
        larger than the network's input, close to the full decode but not
        equal to it (see ``benchmarks/results/runtimes.md``), so it gives
        another fingerprint (cache key); ``False`` keeps the fingerprints of
        before. Other formats, smaller JPEGs, PIL images and arrays are
        unaffected.
    normalize : bool, default=False
        L2-normalise each embedding.
    cache : str, Path, joblib.Memory or EmbeddingCache, default=None
        Keep embeddings on disk, keyed by the backbone fingerprint and each
        image's content, so repeated CV folds, grid points, processes and
        sessions never recompute a forward pass. A changed file, backbone,
        layer, pooling or precision gets a new key. Read at every transform:
        ``set_params(cache=...)`` takes effect without refitting. A failed
        write (disk full, read-only folder) warns once and returns the
        embeddings.
    cache_key : {"content", "path+stat"}, default="content"
        How image files are keyed in the cache. ``"content"``: a hash of the
        file's bytes (read once more per transform; a file replaced with
        another keeps no stale vector, whatever its name, size or times).
        ``"path+stat"``: the resolved path, size, modification and
        status-change times, inode and device, without reading the file:
        faster for huge files on slow disks, but it trusts the file system
        (a file rewritten in place on a file system without reliable change
        times could return its old vector). Whatever ``cache_key``, bytes
        are keyed by their content, arrays by shape, dtype and values, PIL
        images by their decoded RGB pixels (palette and EXIF orientation
        applied).
    compile : bool or dict, default=False
        Run the forward pass through :func:`torch.compile` (``True``: its
        defaults; a dict: its keyword arguments, e.g. ``{"mode":
        "max-autotune", "dynamic": True}``). The first transform pays the
        compilation (about a minute for EfficientNet-Lite0 on 2 CPU cores,
        and again for new input shapes); later ones run the compiled code,
        shared by every estimator with the same backbone and options in the
        process (measured on 2 CPU cores: 1.5x the eager speed for
        EfficientNet-Lite0, no gain for MiniLM; see
        ``benchmarks/results/compile_check.md``). Outputs equal the
        eager ones up to float rounding, so the fingerprint and cache entries
        are the same. If compilation fails (e.g. no C compiler for the
        inductor backend), a ``RuntimeWarning`` says why and the model runs
        uncompiled. Never stored in a pickle: compiled again after loading.
    store_weights_in_pickle : bool, default=False
        By default a pickle stores the backbone by reference (its name) and
        reloads the weights on first use; ``True`` embeds the weights.
    verbose : "auto", bool or int, default="auto"
        Progress bar ("embedding images"). With "auto", shown when the job is
        long (8 batches or more) and someone watches (a terminal or a
        notebook; never in joblib or Dask workers, nor when the ``CI``
        variable is set); 0 or False never, True or any other int always.

    Attributes
    ----------
    embedding_dim_ : int
        Number of output features.
    runtime_ : {"torch", "onnx", "openvino"}
        The runtime that runs the forward pass.
    batch_size_ : int
        The batch size used (``batch_size``, or what ``"auto"`` resolved
        to at fit).
    fingerprint_ : str
        Hash of backbone, weights, preprocessing (``image_size`` included),
        layers, pooling and precision: equal fingerprints mean equal
        embeddings.
    n_features_in_ : int
        The width of numeric input, for numeric toy backbones only: raw
        images are one column of non-numeric values, so it is not set for
        them (as for scikit-learn's text vectorizers).
    feature_names_in_ : ndarray of str
        The column name, when fitted on a one-column DataFrame.

    See Also
    --------
    TextEmbedder : The same for text.

    Notes
    -----
    ``fit`` learns nothing from the data: it validates the parameters and the
    input format and loads the frozen weights. Images may be file paths (str or
    Path), bytes, PIL images, or arrays: uint8/uint16 or floats in [0, 1],
    shaped ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` with C in
    (1, 3, 4). Grayscale, alpha (composited on white), palette, CMYK, 16-bit
    and EXIF-rotated images are converted to RGB. Mode-F PIL images are read
    as intensities in [0, 1] (divided by their maximum when it exceeds 1),
    negative values clipped to 0; NaN or infinite values raise an error naming
    the index. Images more than 20 times longer than wide (or the reverse)
    warn; any aspect ratio is preprocessed in memory bounded by the crop
    size. Identical inputs (same path,
    same bytes, same pixels) are computed once per call.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import ImageEmbedder
    >>> images = np.random.default_rng(0).integers(0, 255, (4, 40, 40, 3), "uint8")
    >>> embedder = ImageEmbedder(backbone="toy-image").fit(images)
    >>> embedder.transform(images).shape
    (4, 16)
    >>> embedder.get_feature_names_out()[:2]
    array(['imageembedder0', 'imageembedder1'], dtype=object)
    """

    _modality = "image"
    _fast_start = True  # see sktransfer.embed._fast (not inherited)
    _model_params = ("backbone", "layer", "pooling", "image_size", "jpeg_draft")

    _parameter_constraints = {
        **BaseEmbedder._parameter_constraints,
        **RUNTIME_CONSTRAINTS,
        "layer": [None, str, list],
        "pooling": [StrOptions(set(POOLINGS))],
        "image_size": [None, Interval(Integral, 8, None, closed="left")],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "jpeg_draft": ["boolean"],
        "cache_key": [StrOptions(set(CACHE_KEY_MODES))],
    }

    def __init__(
        self,
        backbone="tf_efficientnet_lite0",
        *,
        layer=None,
        pooling="avg",
        image_size=None,
        batch_size="auto",
        device="auto",
        runtime="auto",
        precision="auto",
        num_workers=0,
        jpeg_draft=False,
        normalize=False,
        cache=None,
        cache_key="content",
        compile=False,
        store_weights_in_pickle=False,
        verbose="auto",
    ):
        self.backbone = backbone
        self.layer = layer
        self.pooling = pooling
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device
        self.runtime = runtime
        self.precision = precision
        self.num_workers = num_workers
        self.jpeg_draft = jpeg_draft
        self.normalize = normalize
        self.cache = cache
        self.cache_key = cache_key
        self.compile = compile
        self.store_weights_in_pickle = store_weights_in_pickle
        self.verbose = verbose

    def _layers(self):
        if self.layer is None:
            return []
        return [self.layer] if isinstance(self.layer, str) else list(self.layer)

    def _fingerprint_options(self):
        options = {
            **super()._fingerprint_options(),
            "layers": self._layers(),
            "pooling": self.pooling,
        }
        if self.image_size is not None:  # None: the fingerprints of before
            options["image_size"] = self.image_size
        return options

    def _load_model(self):
        """The fingerprint, marked when large JPEGs are decoded at reduced scale.

        Kept out of ``_fingerprint_options``: the network, its shared copy
        and its runtime export are the same with and without the draft, and
        without it the fingerprint is that of before (old cache entries stay
        valid).
        """
        from sktransfer.engine._preprocess import DRAFT_MARGIN

        fingerprint = super()._load_model()
        self._jpeg_draft = bool(self.jpeg_draft)  # as fingerprinted
        if not self._jpeg_draft:
            return fingerprint
        marked = f"{fingerprint}:jpeg_draft:{DRAFT_MARGIN}".encode()
        return hashlib.sha256(marked).hexdigest()[:32]

    def _wrap_model(self, model, spec):
        from sktransfer.engine._extract import FeatureExtractor

        if spec.modality == "numeric":
            return model
        return FeatureExtractor(model, layers=self._layers(), pooling=self.pooling)

    def _check_raw(self, X):
        items, _ = check_image_input(X)
        return items

    def _transform_fn(self):
        from sktransfer.engine._preprocess import ImageTransform

        draft = getattr(self, "_jpeg_draft", False)  # as fingerprinted at fit
        return ImageTransform(self._preprocessing(), jpeg_draft=draft)

    def _item_key(self, items, index):
        """Identical inputs of one call are computed once (same path, bytes, pixels)."""
        item = items[index]
        if isinstance(item, (str, Path)):
            return ("path", str(item))
        if isinstance(item, (bytes, bytearray, np.ndarray)):
            key = image_cache_key(item)
            return ("object", index) if key is None else ("content", key)
        return ("object", index)

    def _cache_key(self, items, index):
        return image_cache_key(items[index], self.cache_key)

    def _embed_raw(self, items, positions, verbose=None):
        if self.__dict__.get("_fast") is not None:
            return self._fast_embed(items, positions, verbose)
        from sktransfer.engine._data import ImageDataset
        from sktransfer.engine._inference import run_inference

        return run_inference(
            self._runner,
            ImageDataset(items, self._transform_fn(), positions),
            batch_size=self._batch_size(),
            device=self._device,
            precision=self._precision,
            num_workers=self.num_workers,
            verbose=self.verbose if verbose is None else verbose,
            desc="embedding images",
            channels_last=True,
        )
