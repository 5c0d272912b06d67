"""SECURITY.md's threat model points at code and tests that exist: every `path`, `path::name` and
`path` (`name`, ...) it names is there, so a rename cannot leave it pointing at nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
SECURITY = (ROOT / "SECURITY.md").read_text()


def references() -> list[tuple[str, str | None]]:
    """(path, name or None) for every `services/...`, `shared/...` or `tests/...` path it names, with
    `path::name`, and the names in a `(`name`, ...)` list right after a path."""
    found = []
    for match in re.finditer(r"`((?:services|shared|tests)/[\w/.-]+?)(?:::(\w+))?`( \(([^)]*)\))?", SECURITY):
        path, name, _, listed = match.groups()
        found.append((path, name))
        for item in re.findall(r"`(\w+)`", listed or ""):
            found.append((path, item))
    return found


def test_the_threat_model_names_files_and_functions_that_exist() -> None:
    found = references()
    assert len(found) > 30, "the threat model names where each rule lives and which test proves it"
    missing = []
    for path, name in found:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif name is not None and file.is_file() and not re.search(
                rf"^\s*(async def|def|class) {name}\b|^{name}\b\s*[:=]|\b{name}\b", file.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_the_readme_links_the_threat_model() -> None:
    assert "(SECURITY.md)" in (ROOT / "README.md").read_text()
