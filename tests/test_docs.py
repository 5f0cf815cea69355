"""The docs a newcomer reads: every relative link leads to a file of this repository, and the
README's quick start shows the two commands. Pure unit tests (no servers)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^[ ]{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, …


def doc_files() -> list[Path]:
    """README.md, every page under docs/ and every service's README."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted((ROOT / "services").glob("*/README.md"))
    return files


def links(text: str) -> list[str]:
    """Link targets of a Markdown text, outside code blocks and code spans."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def broken_links(page: Path, text: str | None = None) -> list[str]:
    """What is wrong with each relative link of ``page`` (or of ``text`` placed there)."""
    problems = []
    for target in links(page.read_text(encoding="utf-8") if text is None else text):
        if EXTERNAL.match(target):
            continue
        if "#" in target:
            problems.append(f"{target}: anchors break silently when a heading changes")
            continue
        if target.startswith("/"):
            problems.append(f"{target}: absolute path; use a path relative to the page")
            continue
        resolved = (page.parent / target).resolve()
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not resolved.is_file():
            problems.append(f"{target}: no such file")
    return problems


def test_the_pages_checked_include_the_docs_and_every_service_readme() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in doc_files()}
    assert {"README.md", "docs/architecture.md", "docs/adding-a-service.md"} <= names
    services = {p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file()}
    assert {f"services/{s}/README.md" for s in services} <= names


@pytest.mark.parametrize("page", doc_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_at_a_file_of_the_repository(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_finds_what_is_broken() -> None:
    page = ROOT / "docs" / "probe.md"  # never written: links resolve against the real tree
    text = (
        "[ok](architecture.md) [gone](missing.md) [anchor](testing.md#fixtures) "
        "[out](../../elsewhere/guide.md) [web](https://example.org) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n[ref]: also-missing.md\n"
    )
    assert links(text) == [
        "architecture.md",
        "missing.md",
        "testing.md#fixtures",
        "../../elsewhere/guide.md",
        "https://example.org",
        "also-missing.md",
    ]
    assert [problem.split(":")[0] for problem in broken_links(page, text)] == [
        "missing.md",
        "testing.md#fixtures",
        "../../elsewhere/guide.md",
        "also-missing.md",
    ]


def test_readme_quick_start_has_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = "\n".join(m.group(0) for m in FENCE.finditer(text))
    commands = {line.split("#")[0].strip() for line in blocks.splitlines()}
    assert {"make run", "make test"} <= commands
