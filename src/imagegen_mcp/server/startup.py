"""What ``serve`` checks before any transport starts, without loading the engine (which opens
behind the running server, ``server.app``): only the database connection and the files; and,
when a person runs ``serve`` over stdio in a terminal, one line saying what it waits for."""

from __future__ import annotations

import sys
from typing import TextIO

import anyio.to_thread

from imagegen_mcp.server.settings import Settings
from imagegen_mcp.storage.connect import connect
from imagegen_mcp.storage.files import ImageSaver


async def check_startup(settings: Settings) -> None:
    """Open what serving needs once and close it again, so that a damaged state database or an
    unusable image folder is one ``StorageError`` naming the fix before any transport starts
    (inside the transport's lifespan it becomes a long traceback and no answer at all)."""
    conn = await anyio.to_thread.run_sync(connect, settings.db_path)
    conn.close()
    saver = ImageSaver(settings.images_dir)
    await saver.prepare()
    # An existing folder may still refuse writes (read-only mount, permissions): try one.
    saver.new_sink().discard()


def hint_at_a_terminal(stdin: TextIO = sys.stdin) -> None:
    """Over stdio with a terminal as stdin (a person typed the command, no host started it): one
    line on stderr rather than silence. Under a host (a pipe) nothing: stderr stays quiet."""
    if stdin.isatty():
        print(
            "imagegen-mcp: serving MCP on stdin/stdout, for an MCP host to start (see the README's "
            "Host configuration); to try it by hand: imagegen-mcp ui --sandbox. Ctrl+C stops.",
            file=sys.stderr,
            flush=True,
        )
