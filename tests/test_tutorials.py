"""The tutorials in docs/tutorials/ run: each page's ```python blocks execute in order, in one namespace.

A page declares the optional modules it needs with an HTML comment ``<!-- requires: mod1, mod2 -->``; the page is
skipped (cleanly) where one is missing. Blocks run in a temporary working directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parents[1] / "docs" / "tutorials"
PAGES = ("time_limits", "training", "custom_obs_reward", "custom_env")
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_REQUIRES = re.compile(r"<!--\s*requires:\s*(.*?)\s*-->")


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown page, in order."""
    return [m.group(1) for m in _BLOCK.finditer(text)]


def test_block_extraction() -> None:
    page = "intro\n```python\na = 1\n```\ntext\n```bash\nls\n```\n```python\nb = a + 1\n```\n"
    assert python_blocks(page) == ["a = 1\n", "b = a + 1\n"]


def test_every_page_is_listed_and_has_code() -> None:
    assert sorted(p.stem for p in TUTORIALS.glob("*.md")) == sorted(PAGES)
    for page in PAGES:
        assert python_blocks((TUTORIALS / f"{page}.md").read_text(encoding="utf-8")), page


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("page", PAGES)
def test_tutorial_runs(page: str, tmp_path, monkeypatch) -> None:
    text = (TUTORIALS / f"{page}.md").read_text(encoding="utf-8")
    for req in _REQUIRES.findall(text):
        for module in filter(None, (r.strip() for r in req.split(","))):
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"tutorial_{page}"}
    environ = dict(os.environ)
    try:
        for i, block in enumerate(python_blocks(text)):
            code = compile(block, f"docs/tutorials/{page}.md[block {i + 1}]", "exec")
            exec(code, namespace)  # the docs' own code, run as a reader would
    finally:
        os.environ.clear()
        os.environ.update(environ)  # a page may set variables (e.g. MINARI_DATASETS_PATH)
