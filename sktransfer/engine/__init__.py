"""The engine: device and precision, the batched inference loop, the embedding cache."""

from sktransfer.engine._cache import EmbeddingCache

__all__ = ["EmbeddingCache"]
