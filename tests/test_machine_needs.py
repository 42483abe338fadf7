"""A fresh machine without chromium or Node's Tasks requester skips those tests with one line
saying how to install them; ``.ci/run`` (IMAGEGEN_REQUIRE_BROWSER=1, IMAGEGEN_REQUIRE_NODE=1)
turns the same skip into a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import chromium_path
from tests.support.needs import REQUIRE_BROWSER, REQUIRE_NODE, node_with_requester


@pytest.fixture
def bare_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A PATH with nothing on it, and neither requirement set."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("IMAGEGEN_CHROMIUM", raising=False)
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    monkeypatch.delenv(REQUIRE_NODE, raising=False)
    return tmp_path


def test_without_chromium_the_browser_tests_skip_saying_how_to_install_it(
    bare_machine: Path,
) -> None:
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_path()


def test_a_chromium_setting_that_names_no_program_skips_naming_the_setting(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGEGEN_CHROMIUM", str(bare_machine / "nowhere"))
    with pytest.raises(pytest.skip.Exception, match=r"IMAGEGEN_CHROMIUM=.*not an executable"):
        chromium_path()


def test_under_ci_a_missing_chromium_fails_instead_of_skipping(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUIRE_BROWSER, "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        chromium_path()


def test_without_node_the_requester_test_skips_and_under_ci_fails(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(pytest.skip.Exception, match="install Node 20 or later"):
        node_with_requester(bare_machine)
    monkeypatch.setenv(REQUIRE_NODE, "1")
    with pytest.raises(pytest.fail.Exception, match="install Node 20 or later"):
        node_with_requester(bare_machine)


def test_without_the_installed_requester_its_test_skips_saying_to_run_npm_ci(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (bare_machine / "node").write_text("#!/bin/sh\n")
    (bare_machine / "node").chmod(0o755)
    with pytest.raises(pytest.skip.Exception, match="run `npm ci --prefix "):
        node_with_requester(bare_machine / "requester")
    monkeypatch.setenv(REQUIRE_NODE, "1")
    with pytest.raises(pytest.fail.Exception, match="run `npm ci --prefix "):
        node_with_requester(bare_machine / "requester")
