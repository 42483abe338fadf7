"""The MCP App view: one self-contained HTML document for ``ui://imagegen/view.html``.

Guarantees: the document fetches nothing (the vendored ext-apps ``App`` library, our modules under
``static/app/``, the page's ``static/painter.js`` and ``static/dom.js`` they share, and the
styles are all inline; images arrive as ``data:`` URIs through the host); it is built from files
shipped in the package (no Node.js, no build step at install); and it is built once, on first
use, never at import time (the library is half a megabyte and the server's cold start does not
pay for it).
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable

from imagegen_mcp.web.inline import inline_modules, library_scope, script_safe

#: The vendored ``@modelcontextprotocol/ext-apps`` browser bundle (see vendor/README.md).
VENDOR_FILE = "ext-apps-app-with-deps-2.0.4.js"
#: The import name our modules use for it, and the names they take from it.
LIBRARY = "ext-apps"
LIBRARY_NAMES = ("App", "applyDocumentTheme", "applyHostStyleVariables", "applyHostFonts")
#: Our entry module, relative to ``static/``; the inliner follows its imports from there (the
#: playground's ``painter.js`` and ``dom.js`` among them).
ENTRY = "app/app.js"
TEMPLATE = "app/view.html"
STYLES = "app/app.css"


def _static_file(path: str) -> Traversable:
    return resources.files("imagegen_mcp.web").joinpath("static", *path.split("/"))


def _static(path: str) -> str:
    return _static_file(path).read_text(encoding="utf-8")


def _module(path: str) -> str | None:
    """A ``.js`` file under ``static/``, read when the inliner asks for it; None if absent."""
    if not path.endswith(".js") or ".." in path.split("/"):
        return None
    file = _static_file(path)
    return file.read_text(encoding="utf-8") if file.is_file() else None


def _vendor(name: str) -> str:
    return resources.files("imagegen_mcp.web").joinpath("vendor", name).read_text(encoding="utf-8")


@functools.cache
def view_html() -> str:
    """The whole document (about 0.6 MB), built on the first call and kept."""
    library_var = "__library_ext_apps"
    library = library_scope(library_var, _vendor(VENDOR_FILE), LIBRARY_NAMES)
    ours = inline_modules(_module, ENTRY, {LIBRARY: library_var})
    script = script_safe(library) + ours
    template = _static(TEMPLATE)
    if template.count("/*STYLES*/") != 1 or template.count("/*SCRIPT*/") != 1:
        raise ValueError(f"{TEMPLATE} must hold /*STYLES*/ and /*SCRIPT*/ once each")
    styles = _static(STYLES)
    if "</" in styles:
        raise ValueError(f"{STYLES} must not hold '</' (it would end its <style> element)")
    # The styles go before the script, so nothing in the script is ever taken for a marker.
    head, tail = template.split("/*SCRIPT*/")
    if "/*STYLES*/" not in head:
        raise ValueError(f"{TEMPLATE}: /*STYLES*/ must come before /*SCRIPT*/")
    return head.replace("/*STYLES*/", styles) + script + tail
