"""The repository stands alone: what its code, tests and docs cite is in the repository."""

import re
import subprocess
from pathlib import Path

from support import ROOT


def tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


SOURCES = tracked("*.py", "*.md", "*.yaml", "*.toml", ".ci/run")


def test_nothing_cites_the_specification_outside_the_repository():
    outside = re.compile(r"\bSPEC(\.md| §)|STYLE\.md")
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in SOURCES
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if outside.search(line)]  # fmt: skip
    assert not found, found


def test_cited_docs_exist():
    cited = re.compile(r"docs/[A-Za-z0-9_/.-]+\.md")
    missing = sorted({f"{path.relative_to(ROOT)}: {match}"
                      for path in SOURCES
                      for match in cited.findall(path.read_text())
                      if not (ROOT / match).is_file()})  # fmt: skip
    assert not missing, missing


def test_cited_design_sections_exist():
    design = (ROOT / "docs" / "design.md").read_text()
    sections = set(re.findall(r"^## §(\d+) ", design, re.M))
    assert sections == {str(n) for n in range(1, 9)}
    cited = {(str(path.relative_to(ROOT)), number)
             for path in SOURCES
             for number in re.findall(r"design\.md §§?(\d+)", path.read_text())}  # fmt: skip
    assert cited, "nothing cites docs/design.md by section"
    assert not [c for c in cited if c[1] not in sections]
