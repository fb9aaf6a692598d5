"""How the fine-tuning estimators read images and texts.

What they share with the embedders (spec, column, preprocessing at
``image_size``, the feature-width probe, the length-sorted text loop) is in
`sktransfer.engine._raw_inputs` and `sktransfer.engine._text_inference`.
"""

from sktransfer.io import check_image_input, check_text_input

__all__ = ["ImageInputMixin", "TextInputMixin"]


class _AugmentThenPreprocess:
    """A user's augmentation on the decoded image, then the eval preprocessing."""

    def __init__(self, augment, transform):
        self.augment = augment
        self.transform = transform

    def __call__(self, image):
        return self.transform(self.augment(image))


class ImageInputMixin:
    """Images: decoding, preprocessing, augmentation and batched inference."""

    _modality = "image"

    def _validate_raw(self, X):
        items, _ = check_image_input(X)
        return items

    def _augment_enabled(self, backbone_trains):
        if self.augment == "auto":
            return backbone_trains
        return bool(self.augment)

    def _input_dataset(self, data, positions, augmented, spec):
        from sktransfer.engine._augment import TrainImageTransform
        from sktransfer.engine._data import ImageDataset
        from sktransfer.engine._preprocess import ImageTransform

        config = self._preprocessing()
        if spec.modality == "numeric":
            from sktransfer.engine._data import TensorRowsDataset

            return TensorRowsDataset(data, list(positions))
        if not augmented:
            transform = ImageTransform(config)
        elif callable(self.augment):
            transform = _AugmentThenPreprocess(self.augment, ImageTransform(config))
        else:
            transform = TrainImageTransform(config)
        return ImageDataset(data, transform, list(positions))

    def _collate(self, module, spec):
        return None

    def _wrap_body(self, body, spec):
        from sktransfer.engine._extract import FeatureExtractor
        from sktransfer.finetune._module import PlainBackbone

        if spec.modality == "numeric":
            return PlainBackbone(body)
        return FeatureExtractor(body)

    def _run_raw(self, part, data, positions, device, precision, verbose):
        from sktransfer.engine._data import ImageDataset
        from sktransfer.engine._inference import run_inference
        from sktransfer.engine._preprocess import ImageTransform

        return run_inference(
            part,
            ImageDataset(data, ImageTransform(self._preprocessing()), positions),
            batch_size=self.batch_size,
            device=device,
            precision=precision,
            num_workers=self.num_workers,
            verbose=verbose,
            desc="embedding images",
        )


class TextInputMixin:
    """Texts: tokenisation with the sentence-transformer, length-sorted inference."""

    _modality = "text"

    def _validate_raw(self, X):
        texts, _ = check_text_input(X)
        return texts

    def _augment_enabled(self, backbone_trains):
        return False

    def _input_dataset(self, data, positions, augmented, spec):
        if spec.modality == "numeric":
            from sktransfer.engine._data import TensorRowsDataset

            return TensorRowsDataset(data, list(positions))
        return [data[p] for p in positions]

    def _tokenizer(self, module):
        """Texts -> the backbone's batch, ``prompt`` included (None: the texts).

        ``module`` is the whole network or its backbone. A sentence-transformer
        tokenizes with its own ``preprocess(texts, prompt=prompt)``, as its
        ``encode`` does (a pooling that leaves the prompt's tokens out is told
        how many there are); a module that takes strings gets
        ``prompt + text``.
        """
        from sktransfer.finetune._module import (
            PromptedTexts,
            SentenceEmbedding,
            tokenizer_of,
        )

        backbone = getattr(module, "backbone", module)
        if isinstance(backbone, SentenceEmbedding):
            return tokenizer_of(backbone.model, self.prompt)
        return PromptedTexts(self.prompt) if self.prompt else None

    def _collate(self, module, spec):
        from sktransfer.finetune._module import TextCollate

        if spec.modality == "numeric":
            return None
        return TextCollate(self._tokenizer(module), with_targets=True)

    def _wrap_body(self, body, spec):
        from sktransfer.finetune._module import PlainBackbone, SentenceEmbedding

        if hasattr(body, "encode") and hasattr(body, "max_seq_length"):
            if self.max_length is not None:
                body.max_seq_length = self.max_length
            return SentenceEmbedding(body)
        return PlainBackbone(body)

    def _run_raw(self, part, data, positions, device, precision, verbose):
        from sktransfer.engine._text_inference import run_text_inference
        from sktransfer.finetune._module import TextCollate

        texts = list(data) if positions is None else [data[p] for p in positions]
        return run_text_inference(
            part,
            texts,
            batch_size=self.batch_size,
            device=device,
            precision=precision,
            collate_fn=TextCollate(self._tokenizer(part), with_targets=False),
            verbose=verbose,
        )
