"""Fixtures shared by the web tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.api_support import page_folder


@pytest.fixture
def static(tmp_path: Path) -> Path:
    """A page folder of the test's own (see ``page_folder``)."""
    return page_folder(tmp_path / "page")
