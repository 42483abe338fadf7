"""The playground's guard and page folder, rule by rule (the HTTP tests show them served)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen_mcp.web.guard import cookie_value, is_web_path, matches
from imagegen_mcp.web.static_files import static_path
from tests.web.api_support import page_folder

ALLOWED = ["127.0.0.1", "127.0.0.1:*", "http://127.0.0.1:*", "[::1]:*", "mcp.example:8443"]


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:8000", True),
        ("http://127.0.0.1:8000", True),
        ("[::1]:9", True),
        ("mcp.example:8443", True),
        ("mcp.example:8444", False),
        ("127.0.0.1:", False),
        ("127.0.0.1:80.evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("http://127.0.0.1.evil.example:80", False),
        ("https://127.0.0.1:8000", False),
        ("", False),
    ],
)
def test_hosts_and_origins_match_exactly_or_with_any_numeric_port(
    value: str, allowed: bool
) -> None:
    assert matches(value, ALLOWED) is allowed


def test_only_the_page_s_paths_are_guarded_here() -> None:
    assert all(is_web_path(p) for p in ("/", "/static/app.js", "/api/tasks"))
    assert not any(is_web_path(p) for p in ("/mcp", "/callbacks/evolink/x", "/apix", "/static"))


def test_the_cookie_is_not_the_token_and_differs_per_token() -> None:
    assert cookie_value("tok") != "tok" and "tok" not in cookie_value("tok")
    assert cookie_value("tok") == cookie_value("tok") != cookie_value("tok2")


def test_static_paths_resolve_only_to_files_inside_the_folder(tmp_path: Path) -> None:
    static = page_folder(tmp_path / "page")
    (static / "out").symlink_to(tmp_path / "page")
    assert static_path(static, "app.js") == (static / "app.js").resolve()
    assert static_path(static, "sub/style.css") == (static / "sub" / "style.css").resolve()
    for relative in [
        "",
        "..",
        "../secret.txt",
        "sub/../../secret.txt",
        "sub/../app.js",  # fine in itself, but no path with dot parts is taken
        "./app.js",
        "/etc/passwd",
        str(static / "app.js"),
        "sub\\..\\..\\secret.txt",
        "app.js\x00.png",
        ".hidden",
        "sub",
        "sub/",
        "out/secret.txt",
        "missing.js",
    ]:
        assert static_path(static, relative) is None, relative
