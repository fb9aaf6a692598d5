"""The README's Python code blocks run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_blocks_run():
    blocks = _python_blocks()
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:  # blocks build on each other, as a reader runs them
        exec(compile(block, str(README), "exec"), namespace)


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1)
    lines = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert lines[0].endswith("sktransfer demo")
    assert lines[1] == 'pip install -e ".[test]" && python -m pytest'
