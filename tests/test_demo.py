"""The demo's output: 80 columns, a verdict on each difference, what next."""

import numpy as np

from sktransfer._demo import _row, _verdict, format_table, run_demo


def test_verdict_says_whether_the_difference_is_beyond_its_spread():
    raw = _row("d", "raw pixels", [0.80, 0.90, 0.85], 1.0)
    clear = _row("d", "features", [0.95, 0.97, 0.96], 1.0)
    noisy = _row("d", "features", [0.70, 1.00, 0.90], 1.0)
    assert "beyond the ±: a clear gain" in _verdict(raw, clear)
    assert "within the ±: no clear difference" in _verdict(raw, noisy)
    assert "a clear loss" in _verdict(clear, raw)


def test_demo_output_fits_in_80_columns_and_points_to_the_readme():
    lines = []
    rows = run_demo(backbone="toy-image", cv=2, quick=True, print_fn=lines.append)
    text = "\n".join(lines)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "README.md" in lines[-1]
    assert text.count("across folds") == len(rows) // 2
    table = format_table(rows)
    assert all(np.isfinite(row["accuracy"]) for row in rows)
    assert "raw pixels" in table and "toy-image features" in table
