"""Cache keys of embedder inputs: equal keys mean equal decoded inputs.

Every key is a blake2b digest of length-prefixed parts (so no two different
part sequences hash the same bytes), starting with a version tag that changes
whenever decoding changes. What each input kind is keyed by:

- a file, ``cache_key="content"`` (the default): its bytes, hashed like a bytes
  input of the same content, and the Pillow version that decodes them;
- a file, ``cache_key="path+stat"``: its resolved path (``os.fsencode``, so
  any file name works), size, modification and status-change times, inode and
  device, without reading it;
- bytes: the bytes and the Pillow version;
- an array: its shape, dtype (with byte order) and values;
- a PIL image: the decoded RGB pixels (after palette, transparency, EXIF
  orientation and mode conversion), i.e. exactly what the network sees;
- a text: the string, encoded losslessly (lone surrogates included).
"""

import hashlib
import os
from pathlib import Path

import numpy as np

__all__ = [
    "content_key",
    "file_token",
    "image_cache_key",
    "still_holds",
    "text_cache_key",
]

# bump when decoding (sktransfer.io) changes what an input decodes to
_VERSION = b"sktransfer-cache-key-2"
_CHUNK = 1 << 20
CACHE_KEY_MODES = ("content", "path+stat")


class _Digest:
    """blake2b over length-prefixed parts."""

    def __init__(self, kind):
        self._hash = hashlib.blake2b(digest_size=20)
        self._hash.update(_VERSION)
        self.add(kind)

    def add(self, part):
        if isinstance(part, np.ndarray):  # hashed in place, no copy
            data = memoryview(np.ascontiguousarray(part)).cast("B")
        else:
            data = _as_bytes(part)
        self._hash.update(len(data).to_bytes(8, "little"))
        self._hash.update(data)
        return self

    def add_stream(self, chunks):
        """Variable-length content, length appended (so bytes and files agree)."""
        total = 0
        for chunk in chunks:
            self._hash.update(chunk)
            total += len(chunk)
        self._hash.update(total.to_bytes(8, "little"))
        return self

    def hexdigest(self):
        return self._hash.hexdigest()


def _as_bytes(part):
    if isinstance(part, (bytes, bytearray, memoryview)):
        return bytes(part)
    if isinstance(part, os.PathLike):
        return os.fsencode(part)
    if not isinstance(part, str):
        part = repr(part)
    return part.encode("utf-8", "surrogatepass")


def content_key(kind, *parts):
    """A hex key from str / bytes / other parts (lossless for any str)."""
    digest = _Digest(kind)
    for part in parts:
        digest.add(part)
    return digest.hexdigest()


def text_cache_key(text):
    """The key of a text (lone surrogates are encoded, not rejected)."""
    return content_key("text", text)


def _pillow_version():
    try:
        import PIL
    except ImportError:  # pragma: no cover - pillow comes with the torch extra
        return "none"
    return PIL.__version__


def _read_chunks(handle):
    while chunk := handle.read(_CHUNK):
        yield chunk


def file_token(path):
    """What the file system says about ``path``: changes when the file does.

    The status-change time (``st_ctime_ns``) cannot be set by tools such as
    ``cp -p``, ``rsync -a`` or ``tar``, so a file replaced with the same size
    and modification time still gets a new token.
    """
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class FileKey(str):
    """A key of a file, carrying the file's `file_token` when it was keyed."""

    token = None


def _file_key(item, mode):
    path = Path(item).expanduser()
    try:
        token = file_token(path)
        if mode == "path+stat":
            key = content_key("file-stat", path.resolve(), *token)
        else:
            with open(path, "rb") as handle:
                digest = _Digest("encoded").add(_pillow_version())
                key = digest.add_stream(_read_chunks(handle)).hexdigest()
    except OSError:
        return None  # decoding raises the clear error (missing, a folder, ...)
    key = FileKey(key)
    key.token = token
    return key


def image_cache_key(item, mode="content"):
    """The cache key of one image input, or None when it cannot be keyed.

    Parameters
    ----------
    item : str, Path, bytes, PIL.Image.Image or ndarray
        The image, as `sktransfer.io.decode_image` takes it.
    mode : {"content", "path+stat"}, default="content"
        How files are keyed: by their bytes, or by path and file-system
        metadata without reading them.

    Returns
    -------
    key : str or None
        None for inputs that cannot be keyed (an unreadable file, an array of
        a non-numeric dtype, an undecodable PIL image): decoding them raises
        the error that names the problem, and nothing is cached.
    """
    if mode not in CACHE_KEY_MODES:
        raise ValueError(f"cache_key must be one of {CACHE_KEY_MODES}, got {mode!r}")
    if isinstance(item, (str, Path)):
        return _file_key(item, mode)
    if isinstance(item, (bytes, bytearray)):
        digest = _Digest("encoded").add(_pillow_version())
        return digest.add_stream([bytes(item)]).hexdigest()
    if isinstance(item, np.ndarray):
        if not (np.issubdtype(item.dtype, np.number) or item.dtype == np.bool_):
            return None
        array = np.ascontiguousarray(item)
        return content_key("array", array.shape, array.dtype.str, array)
    return _decoded_key(item)


def _decoded_key(image):
    """Key a PIL image by its decoded RGB pixels (what the network sees)."""
    from sktransfer.io import decode_image

    try:
        pixels = decode_image(image, 0).numpy()
    except (ValueError, OSError):
        return None
    return content_key("pixels", pixels.shape, pixels.dtype.str, pixels)


def still_holds(key, item):
    """Whether ``key`` (made from ``item``) still describes ``item``.

    Files are keyed before they are decoded: a file replaced in between must
    not have the new content's vector stored under the old content's key.
    """
    token = getattr(key, "token", None)
    if token is None or not isinstance(item, (str, Path)):
        return True
    try:
        return file_token(Path(item).expanduser()) == token
    except OSError:
        return False
