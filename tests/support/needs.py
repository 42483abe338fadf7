"""What a test needs from the machine beyond Python (a browser, Node's Tasks requester): on a
developer machine a missing one skips the test with one line saying how to install it; under
``.ci/run``, which installs both and exports ``IMAGEGEN_REQUIRE_BROWSER=1`` and
``IMAGEGEN_REQUIRE_NODE=1``, it fails instead, so CI can never pass by skipping them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

#: Set to 1 by .ci/run: a missing chromium fails the browser tests instead of skipping them.
REQUIRE_BROWSER = "IMAGEGEN_REQUIRE_BROWSER"
#: Set to 1 by .ci/run: a missing Node or requester fails the protocol-task test.
REQUIRE_NODE = "IMAGEGEN_REQUIRE_NODE"


def missing(reason: str, *, required_by: str) -> NoReturn:
    """Skip with ``reason``, or fail with it when ``required_by`` is set to 1."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{reason} ({required_by}=1: required here)", pytrace=False)
    pytest.skip(reason)


def node_with_requester(requester: Path) -> str:
    """Node, once the official Tasks requester is installed in ``requester``; else ``missing``."""
    install = f"npm ci --prefix {os.path.relpath(requester)}"
    node = shutil.which("node")
    if node is None:
        missing(
            f"no Node.js for the Tasks requester test: install Node 20 or later, then run "
            f"`{install}` (.ci/run does both).",
            required_by=REQUIRE_NODE,
        )
    if not (requester / "node_modules").is_dir():
        missing(
            f"the Tasks requester is not installed: run `{install}` (.ci/run does).",
            required_by=REQUIRE_NODE,
        )
    return node
