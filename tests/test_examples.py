"""Every gallery example runs to the end, offline, and draws its figures.

Each ``examples/**/plot_*.py`` runs in a fresh Python process, in the
conditions of the documentation build (``docs/conf.py``): matplotlib's
non-interactive Agg backend, one torch thread unless the environment says
otherwise, and no network (``SKTRANSFER_DOCS_OFFLINE``, plus Hugging Face's
offline switches, so that a model that would need a download fails here
instead of fetching it). At the end the process saves every open figure as
a PNG, which also checks that each one can be drawn. The examples' own
temporary folders go to the test's temporary folder.

The examples are meant to take about a minute or less each on two CPU cores
(``docs/install.rst``, "Example run times", records measured times); nothing here checks a
duration. The docs build (``tests/test_docs.py``) renders the same scripts
as the gallery.
"""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("**/plot_*.py"))

pytestmark = pytest.mark.slow

_RUN_EXAMPLE = """
import runpy, sys, warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
runpy.run_path(sys.argv[1], run_name="__main__")
out = Path(sys.argv[2])
for number in plt.get_fignums():
    plt.figure(number).savefig(out / f"figure_{number:02d}.png")
print(f"figures drawn: {len(plt.get_fignums())}")
"""


def test_every_example_is_collected():
    folders = {p.parent.name for p in EXAMPLES}
    assert {"feature_extraction", "composition", "adaptation"} <= folders
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[p.relative_to(ROOT / "examples").as_posix() for p in EXAMPLES],
)
def test_example_runs_and_draws_a_figure(example, tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir()
    env = {
        "OMP_NUM_THREADS": "1",  # as tests/test_docs.py: see the note there
        **os.environ,
        "MPLBACKEND": "Agg",
        "SKTRANSFER_DOCS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TMPDIR": str(tmp_path),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _RUN_EXAMPLE, str(example), str(figures)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=1800,  # a guard against a hang, not a performance check
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # shown with `pytest -rP`: measured, never asserted
    print(
        f"{example.name}: wall {time.perf_counter() - start:.1f} s, "
        f"CPU {cpu:.1f} s, load average {os.getloadavg()[0]:.2f}"
    )
    assert result.returncode == 0, (
        f"{example.name} failed (exit {result.returncode}).\n"
        f"--- stderr (end) ---\n{result.stderr[-6000:]}\n"
        f"--- stdout (end) ---\n{result.stdout[-2000:]}"
    )
    drawn = sorted(figures.glob("figure_*.png"))
    assert drawn, f"{example.name} drew no figure"
    assert all(p.stat().st_size > 0 for p in drawn)
