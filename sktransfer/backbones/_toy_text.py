"""A tiny text module: hashed character trigrams into a random embedding bag."""

import zlib

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = ["HashingTextModule"]


class HashingTextModule(torch.nn.Module):
    """Map a list of strings to vectors by averaging hashed trigram embeddings.

    Deterministic (CRC32 hashing, seeded weights) and fast: for tests of the
    text plumbing, not for real use.

    Parameters
    ----------
    dim : int
        Output dimension.
    n_buckets : int
        Number of hash buckets.
    seed : int
        Seed of the embedding weights.
    """

    def __init__(self, dim=16, n_buckets=4096, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.n_buckets = n_buckets
        self.embedding = torch.nn.EmbeddingBag(n_buckets, dim, mode="mean")
        with torch.no_grad():
            self.embedding.weight.copy_(
                torch.randn(n_buckets, dim, generator=generator)
            )

    def tokenize(self, texts):
        """Trigram bucket ids and offsets for ``EmbeddingBag``."""
        ids, offsets = [], []
        for text in texts:
            offsets.append(len(ids))
            padded = f"  {text.lower()}  "
            ids.extend(
                zlib.crc32(padded[i : i + 3].encode()) % self.n_buckets
                for i in range(len(padded) - 2)
            )
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets)

    def forward(self, texts):
        ids, offsets = self.tokenize(texts)
        device = self.embedding.weight.device
        return self.embedding(ids.to(device), offsets.to(device))
