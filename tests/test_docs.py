"""The README and docs/*.md: every ```python block runs, and the README is the render of nbs/index.ipynb."""
import subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
def python_blocks(text: str) -> list[str]:
    "The python blocks of a markdown text (```python, or bare ``` as nbconvert writes code cells)."
    blocks, lang, lines = [], None, []
    for line in text.splitlines(keepends=True):
        if lang is None and line.startswith("```"):
            lang, lines = line[3:].strip() or "python", []
        elif lang is not None and line.rstrip() == "```":
            if lang == "python": blocks.append("".join(lines))
            lang = None
        elif lang is not None: lines.append(line)
    return blocks

def test_python_blocks_found():
    assert python_blocks("a\n```python\nx = 1\n```\nb\n```bash\nls\n```\n```\ny\n```\n") == ["x = 1\n", "y\n"]

@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_code_blocks_run(path, tmp_path, monkeypatch):
    "Each file's python blocks run in order in one namespace, from a scratch folder."
    blocks = python_blocks(path.read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WT_WORK", str(tmp_path / "work"))
    ns = {"__name__": f"doc_{path.stem}"}
    for i, code in enumerate(blocks):
        try: exec(compile(code, f"{path.name} block {i + 1}", "exec"), ns)
        except Exception as e:
            raise AssertionError(f"{path.name}: python block {i + 1} fails: {e!r}\n{code}") from e

def render_index() -> str:
    "nbs/index.ipynb as markdown, the way `make readme` writes README.md."
    out = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "markdown", "--stdout",
                          str(ROOT / "nbs" / "index.ipynb")], capture_output=True, text=True,
                         check=True)
    return out.stdout

def test_readme_is_index():
    "README.md is nbs/index.ipynb rendered (`make readme`), so the two cannot drift apart."
    readme = (ROOT / "README.md").read_text()
    assert readme == render_index(), "README.md differs from nbs/index.ipynb: run `make readme`"
    assert len(readme.splitlines()) <= 200, "the front page should stay under about 200 lines"
