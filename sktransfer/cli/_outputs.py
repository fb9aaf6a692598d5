"""Where ``sktransfer embed`` writes: checked before any work, written atomically.

Every file (the embeddings and their sidecars) is first written to a hidden
temporary file in the output's own folder, flushed to disk, and only then
renamed onto its final name with `os.replace` (atomic on one file system). A
run killed at any moment leaves either the old file or the new one under the
final name, never a half-written one; at worst a hidden ``.NAME.*.part`` file.
"""

import os
import secrets
from contextlib import suppress
from pathlib import Path

from sktransfer.cli._errors import CommandError, UsageError

__all__ = ["OUTPUT_SUFFIXES", "OutputPlan", "text_writer"]

OUTPUT_SUFFIXES = (".parquet", ".npy")


def _parquet_engine_missing():
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return False
        except ImportError:
            continue
    return True


class OutputPlan:
    """The output file and its sidecars, validated before any embedding.

    Parameters
    ----------
    output : str or Path
        The ``.parquet`` or ``.npy`` file to write.
    overwrite : bool
        Whether existing files (the output or its sidecars) may be replaced.
    folder_input : bool
        Whether the rows are files of a folder (a ``.npy`` output then gets
        its row -> path mapping in ``NAME.paths.txt``).
    """

    def __init__(self, output, *, overwrite, folder_input):
        self.path = Path(output)
        self.overwrite = overwrite
        self.folder_input = folder_input

    @property
    def paths_file(self):
        """``NAME.paths.txt``: the row -> path mapping of a ``.npy`` output."""
        if self.folder_input and self.path.suffix == ".npy":
            return self.path.with_suffix(".paths.txt")
        return None

    @property
    def skipped_file(self):
        """``NAME.skipped.tsv``: the inputs left out, with the reason."""
        return self.path.with_suffix(".skipped.tsv")

    def check(self):
        """Fail now, before any work, if the output could not be written."""
        path = self.path
        if path.suffix not in OUTPUT_SUFFIXES:
            raise UsageError(
                f"--output must end in .parquet or .npy (got {str(path)!r})"
            )
        folder = path.parent
        if not folder.exists():
            raise CommandError(f"the output folder {str(folder)!r} does not exist")
        if not folder.is_dir():
            raise CommandError(f"the output folder {str(folder)!r} is not a folder")
        if path.is_dir():
            raise CommandError(f"--output {str(path)!r} is a folder, not a file")
        existing = [
            p for p in (path, self.paths_file, self.skipped_file) if p and p.exists()
        ]
        if existing and not self.overwrite:
            names = ", ".join(repr(str(p)) for p in existing)
            verb = "exists" if len(existing) == 1 else "exist"
            raise CommandError(f"{names} {verb}; pass --overwrite to replace it")
        probe = self._temporary(path)
        try:
            probe.open("xb").close()
        except OSError as exc:
            raise CommandError(
                f"cannot write to the output folder {str(folder)!r}: {exc.strerror}"
            ) from exc
        finally:
            with suppress(OSError):
                probe.unlink()
        if path.suffix == ".parquet" and _parquet_engine_missing():
            raise CommandError(
                "writing .parquet needs pyarrow (pip install pyarrow); or write .npy"
            )

    @staticmethod
    def _temporary(final):
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        return final.with_name(f".{final.name}.{token}.part")

    def write(self, files):
        """Write ``{final_path: writer(binary_file)}`` atomically, the output last.

        Every temporary file is written and flushed to disk before the first
        rename, so a failure while writing leaves all final names untouched.
        When the output is written, sidecars that this run does not produce
        are removed (they would describe an older output).
        """
        staged = []
        try:
            for final, writer in files.items():
                temporary = self._temporary(final)
                staged.append((temporary, final))
                with temporary.open("xb") as handle:
                    writer(handle)
                    handle.flush()
                    os.fsync(handle.fileno())
            staged.sort(key=lambda pair: pair[1] == self.path)
            for temporary, final in staged:
                os.replace(temporary, final)
        except BaseException:
            for temporary, _ in staged:
                with suppress(OSError):
                    temporary.unlink()
            raise
        if self.path not in files:
            return
        for sidecar in (self.paths_file, self.skipped_file):
            if sidecar and sidecar not in files:
                with suppress(FileNotFoundError):
                    sidecar.unlink()


def text_writer(lines):
    """A writer of one line per item, UTF-8; undecodable name bytes kept as is."""

    def write(handle):
        for line in lines:
            handle.write(f"{line}\n".encode("utf-8", "surrogateescape"))

    return write
