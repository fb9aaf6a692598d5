"""The command line: embed, backbones, demo; a long job never loses work."""

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.cli import build_parser, main
from sktransfer.cli._outputs import OutputPlan
from sktransfer.cli._robust import BadInputError, embed_in_chunks

ROOT = Path(__file__).resolve().parents[1]


def _png(path, seed=0, size=(20, 20)):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
    Image.fromarray(image).save(path)


def _truncated_jpeg(path):
    """A corrupt JPEG: the first 200 bytes of a valid one."""
    buffer = io.BytesIO()
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(
        buffer, "JPEG"
    )
    path.write_bytes(buffer.getvalue()[:200])


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "photos"
    for label in ("cats", "dogs"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            _png(root / label / f"{i}.png", seed=10 * len(label) + i)
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def bad_folder(tmp_path):
    """3 good PNGs, a truncated JPEG, an empty PNG and a text file."""
    root = tmp_path / "mixed"
    root.mkdir()
    for i in range(3):
        _png(root / f"good{i}.png", seed=i)
    _truncated_jpeg(root / "broken.jpg")
    (root / "empty.png").write_bytes(b"")
    (root / "readme.txt").write_text("hello")
    return root


def _embed(*args):
    return main(["embed", *map(str, args), "--backbone", "toy-image", "-q"])


def test_embed_folder_to_parquet_and_npy(image_folder, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    assert _embed(image_folder, "-o", out) == 0
    frame = pd.read_parquet(out)
    assert frame.shape == (6, 1 + 16)
    assert frame["path"].tolist()[0] == str(Path("cats", "0.png"))
    expected = ImageEmbedder(backbone="toy-image").fit_transform(
        [str(image_folder / p) for p in frame["path"]]
    )
    np.testing.assert_allclose(frame.iloc[:, 1:].to_numpy(), expected, atol=1e-6)
    captured = capsys.readouterr()
    assert "wrote 6 embeddings" in captured.out
    # the text file is counted and named, not silently ignored
    assert "found 7 file(s)" in captured.err and "notes.txt" in captured.err

    npy = tmp_path / "out.npy"
    assert _embed(image_folder, "-o", npy) == 0
    np.testing.assert_allclose(np.load(npy), expected, atol=1e-6)
    # the row -> path mapping of a .npy output sits beside it
    paths = (tmp_path / "out.paths.txt").read_text("utf-8").splitlines()
    assert paths == frame["path"].tolist()


def test_embed_text_column(tmp_path, capsys):
    csv = tmp_path / "reviews.csv"
    frame = pd.DataFrame({"id": [1, 2, 3], "text": ["good", "bad", "good"]})
    frame.to_csv(csv, index=False)
    out = tmp_path / "reviews.parquet"
    args = ["embed", str(csv), "--column", "text", "-o", str(out)]
    assert main([*args, "--backbone", "toy-text", "--keep-columns", "-q"]) == 0
    written = pd.read_parquet(out)
    assert list(written.columns[:2]) == ["id", "textembedder0"] and len(written) == 3
    expected = TextEmbedder(backbone="toy-text").fit_transform(frame["text"])
    np.testing.assert_allclose(written.iloc[:, 1:].to_numpy(), expected, atol=1e-6)
    capsys.readouterr()
    code = main(["embed", str(csv), "--column", "nope", "-o", str(tmp_path / "x.npy")])
    assert code == 1 and "column 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "output, code, message",
    [
        ("missing/out.parquet", 1, "output folder"),
        ("out.csv", 2, "must end in .parquet or .npy"),
        ("exists.npy", 1, "pass --overwrite"),
        ("afile.txt/out.npy", 1, "is not a folder"),
    ],
)
def test_output_is_checked_before_any_work(
    bad_folder, tmp_path, capsys, output, code, message
):
    """A bad output fails first: the corrupt image is never reached."""
    (tmp_path / "exists.npy").write_bytes(b"keep me")
    (tmp_path / "afile.txt").write_text("x")
    assert _embed(bad_folder, "-o", tmp_path / output) == code
    err = capsys.readouterr().err
    assert message in err and "broken.jpg" not in err and "found" not in err
    assert (tmp_path / "exists.npy").read_bytes() == b"keep me"


def test_unwritable_output_folder_fails_before_work(bad_folder, tmp_path, capsys):
    if os.geteuid() == 0:  # root writes anywhere a normal file system allows
        if not Path("/proc").is_dir():
            pytest.skip("no folder that root cannot write to")
        folder = Path("/proc")
    else:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o500)
    assert _embed(bad_folder, "-o", folder / "out.npy") == 1
    err = capsys.readouterr().err
    assert "cannot write to the output folder" in err and "broken.jpg" not in err


def test_overwrite_replaces_output_and_removes_stale_sidecars(bad_folder, tmp_path):
    out = tmp_path / "out.npy"
    cache = tmp_path / "cache"
    assert _embed(bad_folder, "-o", out, "--on-error", "skip", "--cache", cache) == 0
    assert (tmp_path / "out.skipped.tsv").exists()
    assert any(p.is_file() for p in cache.rglob("*"))  # --cache reaches the embedder
    for name in ("broken.jpg", "empty.png"):
        (bad_folder / name).unlink()
    assert _embed(bad_folder, "-o", out) == 1  # exists: refused
    assert _embed(bad_folder, "-o", out, "--overwrite") == 0
    assert np.load(out).shape == (3, 16)
    assert not (tmp_path / "out.skipped.tsv").exists()  # described the old output
    assert not list(tmp_path.glob(".*.part"))


def test_on_error_raise_stops_names_the_file_and_writes_nothing(
    bad_folder, tmp_path, capsys
):
    out = tmp_path / "out.npy"
    assert _embed(bad_folder, "-o", out) == 1
    err = capsys.readouterr().err
    assert "could not embed broken.jpg: could not decode" in err
    assert "--on-error skip" in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("out*")) and not list(tmp_path.glob(".*.part"))


def test_on_error_skip_writes_good_rows_and_lists_the_rest(
    bad_folder, tmp_path, capsys
):
    out = tmp_path / "out.npy"
    assert _embed(bad_folder, "-o", out, "--on-error", "skip") == 0
    captured = capsys.readouterr()
    Z = np.load(out)
    paths = (tmp_path / "out.paths.txt").read_text("utf-8").splitlines()
    assert paths == ["good0.png", "good1.png", "good2.png"]
    expected = ImageEmbedder(backbone="toy-image").fit_transform(
        [str(bad_folder / p) for p in paths]
    )
    np.testing.assert_allclose(Z, expected, atol=1e-6)
    skipped = pd.read_csv(tmp_path / "out.skipped.tsv", sep="\t")
    assert skipped["path"].tolist() == ["broken.jpg", "empty.png"]
    assert "decode" in skipped["reason"][0] and "empty" in skipped["reason"][1]
    assert (
        "skipped broken.jpg:" in captured.err and "skipped empty.png:" in captured.err
    )
    assert "readme.txt" in captured.err  # the non-image file is mentioned
    assert "5 image(s) found, 3 embedded, 2 skipped" in captured.out


def test_on_error_skip_with_nothing_good_fails(tmp_path, capsys):
    root = tmp_path / "all-bad"
    root.mkdir()
    _truncated_jpeg(root / "a.jpg")
    out = tmp_path / "out.parquet"
    assert _embed(root, "-o", out, "--on-error", "skip") == 1
    assert "none of the 1 image(s) could be embedded" in capsys.readouterr().err
    assert not out.exists() and (tmp_path / "out.skipped.tsv").exists()


def test_on_error_skip_for_text_rows(tmp_path, capsys):
    csv = tmp_path / "t.csv"
    csv.write_text("id,text\n1,hello\n2,\n3,world\n")
    out = tmp_path / "t.parquet"
    args = ["embed", str(csv), "--column", "text", "-o", str(out), "-q"]
    assert main([*args, "--backbone", "toy-text", "--keep-columns"]) == 1
    assert "could not embed row 1: text input is missing" in capsys.readouterr().err
    assert (
        main([*args, "--backbone", "toy-text", "--keep-columns", "--on-error", "skip"])
        == 0
    )
    assert pd.read_parquet(out)["id"].tolist() == [1, 3]
    assert pd.read_csv(tmp_path / "t.skipped.tsv", sep="\t")["row"].tolist() == [1]


@pytest.mark.parametrize("bad", [[], [0], [4], [1, 2, 6], list(range(7))])
def test_skipping_finds_every_bad_input_in_any_chunk(tmp_path, bad):
    """Halving a failing chunk keeps every good row, in order, and only those."""
    paths = []
    for i in range(7):
        path = tmp_path / f"{i}.png"
        _truncated_jpeg(path) if i in bad else _png(path, seed=i)
        paths.append(str(path))
    embedder = ImageEmbedder(backbone="toy-image").fit(paths[:1])
    result = embed_in_chunks(embedder, paths, chunk_size=3, on_error="skip")
    good = [i for i in range(7) if i not in bad]
    assert result.kept == good and [i for i, _ in result.skipped] == bad
    if good:
        expected = embedder.transform([paths[i] for i in good])
        np.testing.assert_allclose(result.embeddings, expected, atol=1e-6)
    else:
        assert result.embeddings is None


def test_chunks_grow_towards_the_target_time_up_to_the_cap():
    """With a target far above any chunk's time, chunks grow 16x a step, up to
    the cap; with none, they keep their size. Rows stay in input order."""
    texts = [f"text {i}" for i in range(100)]
    embedder = TextEmbedder(backbone="toy-text").fit(texts[:1])
    for target, cap, sizes in [
        (None, 16384, [8] * 12 + [4]),
        (1e9, 16384, [8, 92]),
        (1e9, 16, [8, 16, 16, 16, 16, 16, 12]),
    ]:
        seen = []
        result = embed_in_chunks(
            embedder,
            texts,
            chunk_size=8,
            progress=seen.append,
            target_seconds=target,
            max_chunk_size=cap,
        )
        assert seen == sizes and result.kept == list(range(100))
        np.testing.assert_allclose(
            result.embeddings, embedder.transform(texts), atol=1e-6
        )


def test_raise_stops_at_the_first_bad_input_and_the_cache_keeps_the_rest(tmp_path):
    """Chunks done before the bad input are in the cache: a rerun resumes."""
    paths = []
    for i in range(7):
        path = tmp_path / f"{i}.png"
        _truncated_jpeg(path) if i in (4, 6) else _png(path, seed=i)
        paths.append(str(path))
    cache = tmp_path / "cache"
    embedder = ImageEmbedder(backbone="toy-image", cache=str(cache)).fit(paths[:1])
    with pytest.raises(BadInputError) as caught:
        embed_in_chunks(embedder, paths, chunk_size=2, on_error="raise")
    assert caught.value.position == 4 and "4.png" in caught.value.reason
    assert cache.is_dir() and any(p.is_file() for p in cache.rglob("*"))


def test_non_utf8_file_names_round_trip_in_paths_file(tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    name = os.fsdecode(b"caf\xe9.png")  # Latin-1 bytes, not UTF-8
    try:
        _png(root / name)
    except (OSError, UnicodeError):
        pytest.skip("the file system refuses non-UTF-8 names")
    assert _embed(root, "-o", tmp_path / "out.npy") == 0
    assert (tmp_path / "out.paths.txt").read_bytes() == b"caf\xe9.png\n"
    assert _embed(root, "-o", tmp_path / "out.parquet") == 0
    assert pd.read_parquet(tmp_path / "out.parquet")["path"][0] == "caf\\xe9.png"


def test_missing_inputs_and_usage_errors(tmp_path, capsys):
    out = str(tmp_path / "x.npy")
    assert (
        main(["embed", str(tmp_path / "reviews.csv"), "--column", "t", "-o", out]) == 1
    )
    assert "no such file: " in capsys.readouterr().err
    assert main(["embed", str(tmp_path / "nothing"), "-o", out]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    csv = tmp_path / "t.csv"
    csv.write_text("text\nhi\n")
    assert main(["embed", str(csv), "-o", out]) == 2  # --column is needed
    assert "needs --column" in capsys.readouterr().err
    assert main(["embed", str(csv), "--column", "text"]) == 2  # argparse: no -o
    assert main(["embed", str(csv), "-o", out, "--batch-size", "0"]) == 2
    assert main(["embed", str(tmp_path), "-o", out, "--keep-columns"]) == 2
    assert main(["--help"]) == 0


def test_debug_prints_the_traceback(bad_folder, tmp_path, capsys):
    assert _embed(bad_folder, "-o", tmp_path / "o.npy", "--debug") == 1
    assert "Traceback" in capsys.readouterr().err


def test_exit_codes_and_offline_backbone_message_in_a_process(tmp_path):
    """The real process: 2 for usage, 1 and the message alone for a backbone
    that is not cached offline (and its traceback only with --debug)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env["HF_HOME"] = str(tmp_path / "hf")  # nothing cached
    command = [sys.executable, "-m", "sktransfer.cli", "embed"]
    usage = subprocess.run(
        [*command, "--bogus"], capture_output=True, text=True, env=env
    )
    assert usage.returncode == 2 and "error: the following arguments" in usage.stderr
    csv = tmp_path / "t.csv"
    csv.write_text("text\nhello\n")
    args = [str(csv), "--column", "text", "-o", str(tmp_path / "t.npy")]
    offline = subprocess.run(
        [
            *command,
            *args,
            "--backbone",
            "sentence-transformers/paraphrase-MiniLM-L3-v2",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert offline.returncode == 1
    assert "Traceback" not in offline.stderr
    assert "error: could not load the weights" in offline.stderr
    assert "all-MiniLM-L6-v2" in offline.stderr  # names the offline alternatives
    assert len(offline.stderr.strip().splitlines()) < 10


_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from sktransfer.cli._outputs import OutputPlan

    plan = OutputPlan(sys.argv[1], overwrite=True, folder_input=True)
    plan.check()

    def slow(handle):
        for _ in range(10_000):
            handle.write(b"x" * 1_000_000)
            handle.flush()
            print("writing", flush=True)
            time.sleep(0.01)

    plan.write({plan.path: slow})
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL here")
def test_a_killed_write_leaves_no_file_under_the_final_name(tmp_path):
    out = tmp_path / "out.npy"
    out.write_bytes(b"old")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(out)],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        for _ in range(3):  # 3 MB written to the temporary file
            assert process.stdout.readline() == b"writing\n"
        assert list(tmp_path.glob(".out.npy.*.part"))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.stdout.close()
    assert out.read_bytes() == b"old"  # never a half-written file


def test_a_failed_write_keeps_the_old_files_and_cleans_up(tmp_path):
    out = tmp_path / "out.npy"
    out.write_bytes(b"old")
    plan = OutputPlan(out, overwrite=True, folder_input=True)

    def broken(handle):
        handle.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        plan.write({plan.paths_file: lambda h: h.write(b"a\n"), out: broken})
    assert out.read_bytes() == b"old" and not plan.paths_file.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]


@pytest.mark.slow
def test_real_photos_with_a_corrupt_one_default_backbone(tmp_path, capsys):
    """Real photos (scikit-image's), the offline default backbone, one broken
    JPEG: the good rows equal ImageEmbedder's, the broken file is listed."""
    from skimage import data

    root = tmp_path / "photos"
    for label, names in {
        "animals": ["chelsea", "cat"],
        "things": ["coffee", "rocket"],
    }.items():
        (root / label).mkdir(parents=True)
        for name in names:
            Image.fromarray(getattr(data, name)()).save(root / label / f"{name}.jpg")
    good = sorted(str(p.relative_to(root)) for p in root.rglob("*.jpg"))
    whole = (root / "things" / "rocket.jpg").read_bytes()
    (root / "things" / "rocket-cut.jpg").write_bytes(whole[: len(whole) // 3])
    out = tmp_path / "photos.parquet"
    code = main(["embed", str(root), "-o", str(out), "--on-error", "skip", "-q"])
    assert code == 0
    frame = pd.read_parquet(out)
    assert frame["path"].tolist() == good and frame.shape == (4, 1 + 1280)
    expected = ImageEmbedder().fit_transform([str(root / p) for p in good])
    np.testing.assert_allclose(frame.iloc[:, 1:].to_numpy(), expected, atol=1e-5)
    skipped = pd.read_csv(tmp_path / "photos.skipped.tsv", sep="\t")
    assert skipped["path"].tolist() == [str(Path("things", "rocket-cut.jpg"))]
    assert "5 image(s) found, 4 embedded, 1 skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_real_reviews_with_missing_texts_default_backbone(shared_data, tmp_path):
    """Real reviews, all-MiniLM-L6-v2, two missing texts skipped by row."""
    lines = (shared_data / "sentiment" / "amazon_cells_labelled.txt").read_text(
        encoding="utf-8"
    )
    rows = [line.split("\t") for line in lines.splitlines()[:30]]
    frame = pd.DataFrame({"text": [r[0] for r in rows], "label": [r[1] for r in rows]})
    frame.loc[[3, 17], "text"] = None
    csv = tmp_path / "reviews.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "reviews.parquet"
    args = ["embed", str(csv), "--column", "text", "-o", str(out), "-q"]
    assert main([*args, "--keep-columns", "--on-error", "skip"]) == 0
    written = pd.read_parquet(out)
    kept = frame.drop(index=[3, 17])
    assert written["label"].tolist() == kept["label"].astype(int).tolist()
    expected = TextEmbedder().fit_transform(kept["text"].tolist())
    np.testing.assert_allclose(written.iloc[:, 1:].to_numpy(), expected, atol=1e-5)
    skipped = pd.read_csv(tmp_path / "reviews.skipped.tsv", sep="\t")
    assert skipped["row"].tolist() == [3, 17]


def _all_actions(parser):
    for action in parser._actions:
        yield parser, action
        for sub in getattr(action, "choices", None) or {}:
            if isinstance(action.choices, dict):
                yield from _all_actions(action.choices[sub])


def test_help_is_plain_text_and_every_option_is_explained(capsys):
    parser = build_parser()
    for owner, action in _all_actions(parser):
        if action.option_strings or action.dest not in ("command",):
            assert action.help, f"{owner.prog} {action.option_strings or action.dest}"
    for command in ([], ["embed"], ["backbones"], ["demo"]):
        assert main([*command, "--help"]) == 0
        out = capsys.readouterr().out
        assert "``" not in out and ":func:" not in out and "usage:" in out


def test_backbones_marks_the_defaults(capsys):
    assert main(["backbones"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line[:2] in ("* ", "  ")]
    rows = [row for row in rows if len(row) > 2 and row[2] in ("image", "text")]
    marked = {row[1] for row in rows if row[0] == "*"}
    assert marked == {"tf_efficientnet_lite0", "all-MiniLM-L6-v2"}
    assert any("toy-image" in line and not line.startswith("*") for line in lines)


def test_demo_runs_and_prints_a_table(capsys):
    main(["demo", "--backbone", "toy-image", "--quick", "--cv", "2"])
    out = capsys.readouterr().out
    assert "raw pixels" in out and "toy-image features" in out and "accuracy" in out
    assert "accuracy over raw pixels" in out
