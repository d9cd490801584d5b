"""The README is a landing page and every link in it and under docs/ leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors: headings lowercased, punctuation dropped, spaces to hyphens."""
    anchors, fenced = set(), False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def local_links(page: Path) -> list[str]:
    return [target for target in LINK.findall(page.read_text()) if not target.startswith(("http://", "https://", "mailto:"))]


def test_the_anchor_rule_follows_github() -> None:
    assert heading_anchors("## The pipelines, one command each\n```\n# not a heading\n```\n### torch") == {
        "the-pipelines-one-command-each",
        "torch",
    }


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(REPO).as_posix())
def test_every_local_link_names_an_existing_file_and_heading(page: Path) -> None:
    links = local_links(page)
    assert page.name != "README.md" or len(links) >= 10  # the landing page links its pages
    for target in links:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(REPO)} links to {target}, which does not exist"
        if anchor:
            assert anchor in heading_anchors(resolved.read_text()), f"{page.relative_to(REPO)}: no heading for #{anchor}"


def test_the_readme_is_a_landing_page_that_links_every_docs_page() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme and "assets/app-screenshot.png" in readme
    assert len(readme.splitlines()) < 120
    linked = {target.partition("#")[0] for target in local_links(REPO / "README.md")}
    assert {f"docs/{page.name}" for page in PAGES[1:]} <= linked
    assert len(PAGES) > 5
