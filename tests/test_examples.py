"""Every gallery example runs to the end, offline, and draws its figures.

Each ``examples/**/plot_*.py`` runs in a fresh Python process, in the
conditions of the documentation build (``docs/conf.py``): matplotlib's
non-interactive Agg backend, one torch thread unless the environment says
otherwise, and no network (``SKTRANSFER_DOCS_OFFLINE``, plus Hugging Face's
offline switches, so that a model that would need a download fails here
instead of fetching it). At the end the process saves every open figure as
a PNG, which also checks that each one can be drawn. The examples' own
temporary folders go to the test's temporary folder. Two examples run at a
time, one thread each, so that both cores of a CI machine work.

The examples are meant to take about a minute or less each on two CPU cores
(``docs/install.rst``, "Example run times", records measured times);
nothing here checks a duration. The docs build (``tests/test_docs.py``) renders the same scripts
as the gallery.
"""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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


# Two examples run at a time (each with one thread, as above), so the two
# cores of a CI machine both work; every test waits for its own example.
PARALLEL = 2


def _run_example(example, work):
    """Run one example in a fresh process; its outputs, wall and CPU time."""
    figures = work / "figures"
    figures.mkdir(parents=True)
    env = {
        "OMP_NUM_THREADS": "1",  # as tests/test_docs.py: see the note there
        **os.environ,
        "MPLBACKEND": "Agg",
        "SKTRANSFER_DOCS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TMPDIR": str(work),
    }
    start = time.perf_counter()
    with open(work / "stdout", "w") as out, open(work / "stderr", "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", _RUN_EXAMPLE, str(example), str(figures)],
            stdout=out,
            stderr=err,
            env=env,
            cwd=work,
        )
        # a guard against a hang, not a performance check
        guard = threading.Timer(1800, process.kill)
        guard.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)  # this child's own CPU
        finally:
            guard.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": process.returncode,
        "stdout": (work / "stdout").read_text(),
        "stderr": (work / "stderr").read_text(),
        "figures": sorted(figures.glob("figure_*.png")),
        "wall": time.perf_counter() - start,
        "cpu": usage.ru_utime + usage.ru_stime,
        "load": os.getloadavg()[0],
    }


@pytest.fixture(scope="module")
def example_runs(tmp_path_factory):
    """Futures of every example's run, started together on a small pool."""
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    runs = {
        example: pool.submit(
            _run_example, example, tmp_path_factory.mktemp(example.stem)
        )
        for example in EXAMPLES
    }
    yield runs
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[p.relative_to(ROOT / "examples").as_posix() for p in EXAMPLES],
)
def test_example_runs_and_draws_a_figure(example, example_runs):
    run = example_runs[example].result()
    # shown with `pytest -rP`: measured, never asserted
    print(
        f"{example.name}: wall {run['wall']:.1f} s, CPU {run['cpu']:.1f} s, "
        f"load average {run['load']:.2f} ({PARALLEL} examples at a time)"
    )
    assert run["returncode"] == 0, (
        f"{example.name} failed (exit {run['returncode']}).\n"
        f"--- stderr (end) ---\n{run['stderr'][-6000:]}\n"
        f"--- stdout (end) ---\n{run['stdout'][-2000:]}"
    )
    assert run["figures"], f"{example.name} drew no figure"
    assert all(p.stat().st_size > 0 for p in run["figures"])
