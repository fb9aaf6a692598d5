"""``sktransfer embed``: a folder of images or a text column to a file of embeddings.

The order of work is what keeps a long job from losing it: the input and the
output are checked first (a wrong output path fails in a second, not after
the embedding), then every input is embedded (with ``--on-error skip``, bad
inputs are set aside with their reason), then the files are written
atomically.
"""

import sys
from pathlib import Path

from sktransfer.cli._errors import CommandError, UsageError
from sktransfer.cli._inputs import FolderScan, input_kind, read_table
from sktransfer.cli._names import display_name
from sktransfer.cli._outputs import OutputPlan, text_writer
from sktransfer.cli._robust import BadInputError, embed_in_chunks

__all__ = ["run_embed"]

_SHOWN_SKIPS = 50
# chunks grow until each takes about this long: small next to a long job's
# work lost on a stop, long next to a transform call's fixed cost
_CHUNK_SECONDS = 10.0


def _note(message):
    print(message, file=sys.stderr, flush=True)


class _Job:
    """The inputs of one run: what to embed, how to name each row, with what."""

    def __init__(self, args):
        from sktransfer.embed import ImageEmbedder, TextEmbedder

        common = {
            "batch_size": args.batch_size,
            "device": args.device,
            "cache": args.cache,
        }
        source = Path(args.input)
        if input_kind(source, args.column) == "folder":
            self.kind, self.noun = "folder", "image"
            scan = FolderScan(source)
            _note(scan.summary())
            self.items = [str(p) for p in scan.images]
            self.labels = [scan.relative(p) for p in scan.images]
            self.frame = None
            self.embedder = ImageEmbedder(
                num_workers=args.num_workers,
                **({"backbone": args.backbone} if args.backbone else {}),
                **common,
            )
            self.probe = self.items[:1]
        else:
            self.kind, self.noun = "table", "row"
            self.frame = read_table(source, args.column)
            if len(self.frame) == 0:
                raise CommandError(f"{str(source)!r} has no rows")
            _note(f"read {len(self.frame)} row(s) from {display_name(source)}")
            self.items = self.frame[args.column].tolist()
            self.labels = [str(i) for i in range(len(self.items))]
            self.embedder = TextEmbedder(
                **({"backbone": args.backbone} if args.backbone else {}), **common
            )
            self.probe = ["sktransfer"]  # fit checks the format; texts may be bad

    def describe(self, position):
        """How messages name one input: its path in the folder, or its row."""
        label = display_name(self.labels[position])
        return label if self.kind == "folder" else f"row {label}"


def _embed(job, args):
    """Embed every input, one progress bar for the whole job."""
    job.embedder.fit(job.probe)
    tqdm = None if args.quiet else _tqdm()
    desc = "embedding images" if job.kind == "folder" else "embedding texts"
    bar = tqdm(total=len(job.items), desc=desc, unit=job.noun) if tqdm else None
    try:
        return embed_in_chunks(
            job.embedder,
            job.items,
            chunk_size=max(64, 2 * args.batch_size),
            on_error=args.on_error,
            progress=bar and bar.update,
            target_seconds=_CHUNK_SECONDS,
        )
    except BadInputError as exc:
        raise CommandError(
            f"could not embed {job.describe(exc.position)}: {exc.reason}\n(pass "
            f"--on-error skip to embed the other {job.noun}s and list the ones "
            f"that fail)"
        ) from exc
    finally:
        if bar is not None:
            bar.close()


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the torch extra
        return None
    return tqdm


def _output_files(plan, job, result, args):
    import numpy as np
    import pandas as pd

    files = {}
    Z, kept = result.embeddings, result.kept
    if Z is not None and plan.path.suffix == ".npy":
        files[plan.path] = lambda handle: np.save(handle, Z)
        if plan.paths_file:
            files[plan.paths_file] = text_writer(job.labels[i] for i in kept)
    elif Z is not None:
        if job.kind == "folder":
            keys = pd.DataFrame({"path": [display_name(job.labels[i]) for i in kept]})
            if any(display_name(job.labels[i]) != job.labels[i] for i in kept):
                _note(
                    "note: file names that are not UTF-8 are written with \\xNN escapes"
                )
        elif args.keep_columns:
            keys = job.frame.drop(columns=[args.column]).iloc[kept]
        else:
            keys = pd.DataFrame(index=range(len(kept)))
        columns = job.embedder.get_feature_names_out()
        keys = keys.reset_index(drop=True)
        table = pd.concat([keys, pd.DataFrame(Z, columns=columns)], axis=1)
        files[plan.path] = lambda handle: table.to_parquet(handle, index=False)
    if result.skipped:
        header = "path" if job.kind == "folder" else "row"
        lines = [f"{header}\treason"]
        lines += [f"{job.labels[i]}\t{reason}" for i, reason in result.skipped]
        files[plan.skipped_file] = text_writer(lines)
    return files


def _report(plan, job, result):
    for index, reason in result.skipped[:_SHOWN_SKIPS]:
        _note(f"skipped {job.describe(index)}: {reason}")
    hidden = len(result.skipped) - _SHOWN_SKIPS
    if hidden > 0:
        _note(f"... and {hidden} more")
    skipped = len(result.skipped)
    output, sidecar = display_name(plan.path), display_name(plan.skipped_file)
    where = f" (listed in {sidecar})" if skipped else ""
    if result.embeddings is None:
        raise CommandError(
            f"none of the {len(job.items)} {job.noun}(s) could be embedded{where}; "
            f"nothing written to {output}"
        )
    Z = result.embeddings
    paths = plan.paths_file and display_name(plan.paths_file)
    extra = f" and the row paths to {paths}" if paths else ""
    print(
        f"wrote {Z.shape[0]} embeddings of dimension {Z.shape[1]} to {output}"
        f"{extra}; {len(job.items)} {job.noun}(s) found, {Z.shape[0]} embedded, "
        f"{skipped} skipped{where}"
    )


def run_embed(args):
    """Run ``sktransfer embed``; return the exit code."""
    kind = input_kind(args.input, args.column)
    if kind == "folder" and args.keep_columns:
        raise UsageError("--keep-columns applies to a CSV/Parquet input, not a folder")
    plan = OutputPlan(
        args.output, overwrite=args.overwrite, folder_input=kind == "folder"
    )
    plan.check()
    job = _Job(args)
    result = _embed(job, args)
    files = _output_files(plan, job, result, args)
    plan.write(files)
    _report(plan, job, result)
    return 0
