"""The docs stay true: every test ARCHITECTURE.md names exists, the README links it, and the
host configurations in the README and in examples/ are valid and agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "ARCHITECTURE.md"
NAMED = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_test_the_architecture_names_exists() -> None:
    named = NAMED.findall(DOC.read_text(encoding="utf-8"))
    assert len(named) >= 15, "ARCHITECTURE.md should name the tests that pin each guarantee"
    missing = []
    for path, name in named:
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(rf"^(async )?def {name}\(", source.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert not missing, f"ARCHITECTURE.md names tests that do not exist: {missing}"


def test_the_readme_links_the_architecture() -> None:
    assert "(ARCHITECTURE.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_host_configurations_parse_and_match_the_examples() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.S)]
    assert len(blocks) >= 2
    examples = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((ROOT / "examples").glob("*.json"))
    ]
    for config in examples:
        assert config in blocks, "an examples/ file differs from the README's configuration"
    # Not on PyPI yet: every configuration starts the installed script by its absolute path.
    for config in blocks:
        servers = config.get("mcpServers") or config.get("servers")
        for server in servers.values():
            assert server["command"].endswith("/.venv/bin/imagegen-mcp"), server
