"""The README's Python code blocks run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_the_first_contact_blocks():
    text = README.read_text()
    blocks = _python_blocks()
    assert len(blocks) >= 9
    for name in ("ImageClassifier", "CORALAdapter", "OutlierDetector", "Implicit"):
        assert any(name in block for block in blocks), name
    assert "| I want to ... | use ... |" in text


# slow: the blocks run the real offline models (EfficientNet-Lite0, MiniLM), as
# a reader would. Measured alone on 2 loaded cores: 60 s for the ten blocks, 28 s
# of it in the first (the torch / timm imports and the first model load, which
# a full-suite run pays once anyway; the 3-fold cross-validation itself ~7 s),
# 9 s the few-shot contrastive block. `-m "not slow"` leaves them out.
@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_block_runs_on_its_own(index):
    # every block is self-contained: a reader can copy any one of them
    block = _python_blocks()[index]
    exec(compile(block, f"{README} (block {index})", "exec"), {"__name__": "__main__"})


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    lines = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert lines[0].endswith("sktransfer demo")
    assert lines[1] == 'pip install -e ".[test]" && python -m pytest'
