"""A content-addressed embedding cache on disk, shared across folds, processes and sessions."""

import hashlib
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from sktransfer.engine._keys import content_key  # noqa: F401 (its former home)

__all__ = ["EmbeddingCache", "as_cache"]

_MAGIC = b"SKTE1"
_HEADER = (
    len(_MAGIC) + 16 + 8
)  # magic, blake2b-128 digest of the payload, payload length
_TMP_GLOB = ".tmp-*.part"
TMP_GRACE_SECONDS = 3600.0


class EmbeddingCache:
    """Embeddings stored on disk, keyed by backbone fingerprint and input content.

    One small file per (fingerprint, input): ``<folder>/<fingerprint>/<k[:2]>/<k>.emb``
    holding a checksummed float32 vector. Safe with concurrent writers (each
    entry is written to a temporary file, then atomically renamed into place)
    and with processes killed mid-write (an unfinished temporary file is never
    read; a damaged entry fails its checksum, is ignored, recomputed and
    replaced). A write that fails (disk full, read-only folder, permissions,
    any ``OSError``) never fails the caller: the vectors are returned, a
    ``RuntimeWarning`` naming the error and the folder is shown once per cache
    object, and existing entries are still read. Temporary files left by killed
    writers are deleted by `clear` and `prune` once older than a grace period.

    Parameters
    ----------
    folder : str or Path
        Where entries live. Created on first write.
    max_bytes : int, optional
        Approximate size limit. After writes that exceed it, the least
        recently written entries are deleted until the cache is under 90 % of
        the limit.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sktransfer.engine import EmbeddingCache
    >>> cache = EmbeddingCache(tempfile.mkdtemp())
    >>> cache.put("fp", ["a"], np.ones((1, 3), "float32"))
    >>> cache.get("fp", ["a", "b"])[0].tolist()
    [[1.0, 1.0, 1.0]]
    """

    def __init__(self, folder, max_bytes=None):
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._warned = False

    def __repr__(self):
        return f"EmbeddingCache({str(self.folder)!r}, max_bytes={self.max_bytes})"

    def _path(self, fingerprint, key):
        return self.folder / fingerprint / key[:2] / f"{key}.emb"

    def get(self, fingerprint, keys):
        """Look up ``keys``; return ``(vectors, found_mask)``.

        ``vectors`` has one row per key (rows of missing keys are undefined) or
        is None when nothing was found.
        """
        found = np.zeros(len(keys), dtype=bool)
        rows = [None] * len(keys)
        for i, key in enumerate(keys):
            vector = self._read(self._path(fingerprint, key))
            if vector is not None:
                rows[i], found[i] = vector, True
        if not found.any():
            return None, found
        dim = next(r for r in rows if r is not None).shape[0]
        out = np.empty((len(keys), dim), dtype=np.float32)
        for i, row in enumerate(rows):
            if row is not None and row.shape[0] == dim:
                out[i] = row
            else:
                found[i] = False
        return out, found

    def put(self, fingerprint, keys, vectors):
        """Store one vector per key (atomic per entry).

        Never raises ``OSError``: when a write fails, the remaining entries of
        this call are skipped and a warning is shown (once per cache object).
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        written = 0
        try:
            for key, vector in zip(keys, vectors, strict=True):
                written += self._write(self._path(fingerprint, key), vector)
            if self.max_bytes is not None and written:
                self.prune(self.max_bytes)
        except OSError as exc:
            self._warn_write_failed(exc)

    def _warn_write_failed(self, exc):
        if getattr(self, "_warned", False):
            return
        self._warned = True
        warnings.warn(
            f"could not write to the embedding cache in {str(self.folder)!r} "
            f"({type(exc).__name__}: {exc}); the embeddings are returned but not "
            f"stored, and entries already there are still read (this warning is "
            f"shown once per cache)",
            RuntimeWarning,
            stacklevel=4,
        )

    @staticmethod
    def _read(path):
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) < _HEADER or not data.startswith(_MAGIC):
            return None
        digest = data[len(_MAGIC) : len(_MAGIC) + 16]
        length = int.from_bytes(data[len(_MAGIC) + 16 : _HEADER], "little")
        payload = data[_HEADER:]
        if len(payload) != length or length % 4:
            return None
        if hashlib.blake2b(payload, digest_size=16).digest() != digest:
            return None
        return np.frombuffer(payload, dtype=np.float32).copy()

    @staticmethod
    def _write(path, vector):
        payload = vector.tobytes()
        digest = hashlib.blake2b(payload, digest_size=16).digest()
        blob = _MAGIC + digest + len(payload).to_bytes(8, "little") + payload
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(blob)
            os.replace(tmp, path)
        except BaseException:
            try:
                Path(tmp).unlink(missing_ok=True)
            except OSError:
                pass
            raise
        return len(blob)

    def size_bytes(self):
        """Total size of the entries on disk."""
        return sum(p.stat().st_size for p in self.folder.rglob("*.emb"))

    def prune(self, max_bytes, tmp_grace=TMP_GRACE_SECONDS):
        """Delete the oldest entries until the cache is under 90 % of ``max_bytes``.

        Also deletes the temporary files of killed writers (``.tmp-*.part``)
        older than ``tmp_grace`` seconds; younger ones may belong to a live
        writer and are kept.

        Parameters
        ----------
        max_bytes : int
            Size limit of the entries.
        tmp_grace : float, default=3600
            Age in seconds beyond which a temporary file is deleted.
        """
        self.remove_stale_temporary_files(tmp_grace)
        entries = []
        for path in self.folder.rglob("*.emb"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        if total <= max_bytes:
            return
        for _, size, path in sorted(entries):
            path.unlink(missing_ok=True)
            total -= size
            if total <= 0.9 * max_bytes:
                break

    def clear(self, tmp_grace=TMP_GRACE_SECONDS):
        """Delete every entry, and temporary files older than ``tmp_grace`` seconds.

        Parameters
        ----------
        tmp_grace : float, default=3600
            Age in seconds beyond which a temporary file of a writer
            (``.tmp-*.part``, left behind when it was killed) is deleted.
        """
        for path in self.folder.rglob("*.emb"):
            path.unlink(missing_ok=True)
        self.remove_stale_temporary_files(tmp_grace)

    def remove_stale_temporary_files(self, tmp_grace=TMP_GRACE_SECONDS):
        """Delete ``.tmp-*.part`` files last modified over ``tmp_grace`` seconds ago.

        A writer killed between creating its temporary file and renaming it
        leaves the file behind; it is never read. A live writer holds its file
        for milliseconds, so any grace period of seconds or more is safe.

        Parameters
        ----------
        tmp_grace : float, default=3600
            Age in seconds beyond which a temporary file is deleted.

        Returns
        -------
        removed : int
            How many files were deleted.
        """
        cutoff = time.time() - tmp_grace
        removed = 0
        for path in self.folder.rglob(_TMP_GLOB):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue  # renamed by its writer meanwhile, or not ours to delete
        return removed


def as_cache(cache):
    """A `cache` parameter value -> an `EmbeddingCache` (or None).

    Accepts None, a folder (str or Path), a ``joblib.Memory`` (its location is
    used, under ``sktransfer-embeddings/``) or an `EmbeddingCache`.
    """
    if cache is None or isinstance(cache, EmbeddingCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return EmbeddingCache(cache)
    location = getattr(cache, "location", None)
    if location is None:
        raise ValueError(
            f"cache must be None, a folder path, a joblib.Memory with a location or "
            f"an EmbeddingCache; got {cache!r}"
        )
    return EmbeddingCache(Path(location) / "sktransfer-embeddings")
