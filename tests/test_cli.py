"""The command line: embed, backbones, demo."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sktransfer import ImageEmbedder
from sktransfer.cli import main


@pytest.fixture
def image_folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "photos"
    for label in ("cats", "dogs"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            image = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(image).save(root / label / f"{i}.png")
    (root / "notes.txt").write_text("not an image")
    return root


def test_embed_folder_to_parquet_and_npy(image_folder, tmp_path, capsys):
    out = tmp_path / "out.parquet"
    assert (
        main(["embed", str(image_folder), "-o", str(out), "--backbone", "toy-image"])
        == 0
    )
    frame = pd.read_parquet(out)
    assert frame.shape == (6, 1 + 16)
    assert frame["path"].tolist()[0] == "cats/0.png"
    expected = ImageEmbedder(backbone="toy-image").fit_transform(
        [str(image_folder / p) for p in frame["path"]]
    )
    np.testing.assert_allclose(frame.iloc[:, 1:].to_numpy(), expected, atol=1e-6)
    assert "wrote 6 embeddings" in capsys.readouterr().out

    npy = tmp_path / "out.npy"
    main(["embed", str(image_folder), "-o", str(npy), "--backbone", "toy-image"])
    np.testing.assert_allclose(np.load(npy), expected, atol=1e-6)
    with pytest.raises(SystemExit, match="exists"):
        main(["embed", str(image_folder), "-o", str(npy), "--backbone", "toy-image"])


def test_embed_text_column(tmp_path):
    csv = tmp_path / "reviews.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": ["good", "bad", "good"]}).to_csv(
        csv, index=False
    )
    out = tmp_path / "reviews.parquet"
    args = [
        "embed",
        str(csv),
        "--column",
        "text",
        "-o",
        str(out),
        "--backbone",
        "toy-text",
    ]
    assert main([*args, "--keep-columns"]) == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns[:2]) == ["id", "textembedder0"] and len(frame) == 3
    with pytest.raises(SystemExit, match="column 'nope'"):
        main(["embed", str(csv), "--column", "nope", "-o", str(tmp_path / "x.npy")])


def test_embed_reports_bad_files(tmp_path, capsys):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "broken.jpg").write_bytes(b"not a jpeg")
    code = main(
        ["embed", str(root), "-o", str(tmp_path / "x.npy"), "--backbone", "toy-image"]
    )
    assert code == 2
    assert "broken.jpg" in capsys.readouterr().err


def test_backbones_lists_offline_defaults(capsys):
    main(["backbones"])
    out = capsys.readouterr().out
    assert "tf_efficientnet_lite0" in out and "all-MiniLM-L6-v2" in out


def test_demo_runs_and_prints_a_table(capsys):
    main(["demo", "--backbone", "toy-image", "--quick", "--cv", "2"])
    out = capsys.readouterr().out
    assert "raw pixels" in out and "toy-image features" in out and "accuracy" in out
    assert "accuracy over raw pixels" in out
