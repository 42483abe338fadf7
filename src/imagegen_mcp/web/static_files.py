"""The page's files: ``/`` is ``index.html`` and ``/static/<path>`` a file under the static
folder (``web/static/``, shipped in the package), nothing else.

A path is served only if each of its parts is a plain name (no ``..``, ``.``, empty part,
hidden name, backslash or NUL; the server has already decoded ``%2e%2e`` into ``..``) and the
file it resolves to, links followed, lies inside the folder. No directory is ever listed.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from starlette.responses import FileResponse, Response

from imagegen_mcp.web.errors import WebError

#: Where the page lives in the package.
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Types by extension: ``.js`` must be ``text/javascript`` for module scripts, whatever the
#: system's MIME table says.
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

#: The page's policy: its own files only (no inline script or style, no eval, nothing from
#: another origin), images also from ``blob:`` (a chosen reference's thumbnail before it is
#: uploaded); no plugin, no <base>, no form sent anywhere. Text that slips into the markup still
#: cannot run.
PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        # The page is never framed by another site (clickjacking a "Generate" button).
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": PAGE_CSP,
    # A page that opened ours (window.open) keeps no handle on it, nor it on that page.
    "Cross-Origin-Opener-Policy": "same-origin",
}


def static_path(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root``, or None."""
    if not relative or "\\" in relative or "\x00" in relative or relative.startswith("/"):
        return None
    parts = relative.split("/")
    if any(not part or part.startswith(".") for part in parts):
        return None
    base = root.resolve()
    try:
        path = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


async def static_response(root: Path, relative: str) -> Response:
    # Resolving the path stats the disk: off the event loop, like FileResponse's own reads.
    path = await anyio.to_thread.run_sync(static_path, root, relative)
    if path is None:
        raise WebError(404, f"No file /static/{relative[:80]} here: reload the page.")
    media_type = TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=HEADERS)
