"""The README and docs/console.md point only at files a clone has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _targets(doc: Path) -> list[str]:
    text = doc.read_text()
    links = [m for m in re.findall(r"\]\(([^)#\s]+)\)", text) if "://" not in m]
    paths = [m for m in re.findall(r"`((?:\.\./|docs/|bench/|scripts/|src/|tests/)[^`\s*]+)`", text)]
    return links + paths


def test_readme_and_console_doc_link_only_files_in_the_repo():
    missing = []
    for doc in (ROOT / "README.md", ROOT / "docs" / "console.md"):
        for target in _targets(doc):
            path = (doc.parent / target) if not target.startswith(("docs/", "bench/", "scripts/", "src/", "tests/")) \
                else ROOT / target
            if ".." in Path(target).parts and not path.resolve().is_relative_to(ROOT):
                missing.append(f"{doc.name}: {target} (outside the repo)")
            elif not path.exists() and not any(c in target for c in "<{"):
                missing.append(f"{doc.name}: {target}")
    assert missing == []
    assert len(list((ROOT / "docs" / "console").glob("page-*-1280.png"))) == 6
    assert len(list((ROOT / "docs" / "console").glob("page-*-375.png"))) == 6
