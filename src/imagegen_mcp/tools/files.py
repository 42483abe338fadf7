"""``save_image``: a saved result copied into the caller's folders (the allowed folders or the
client's roots), optionally converted and downscaled."""

from __future__ import annotations

import os
import re
from typing import Annotated, Literal

import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from imagegen_mcp.errors import ImagegenError, InputError
from imagegen_mcp.tools.roots import client_folders
from imagegen_mcp.tools.state import AppState

_IMAGE_URI = re.compile(r"^image://(?P<task>[A-Za-z0-9_-]{1,64})/(?P<index>\d{1,6})$")


class SavedFile(BaseModel):
    path: str
    width: int
    height: int
    bytes: int
    format: str


async def save_image(
    image: Annotated[
        str,
        Field(max_length=4096, description="A result's image:// URI or saved path."),
    ],
    path: Annotated[str, Field(max_length=4096, description="Absolute path to write.")],
    ctx: Context,
    format: Annotated[
        Literal["png", "jpeg", "webp"] | None,
        Field(description="Default: the path's extension."),
    ] = None,
    max_side: Annotated[
        int | None, Field(ge=16, le=16384, description="Longest side, px (only shrinks).")
    ] = None,
    overwrite: Annotated[bool, Field(description="Replace an existing file.")] = False,
) -> Annotated[CallToolResult, SavedFile]:
    """Copy a result to a file in the allowed folders or the client's roots, optionally
    converted and downscaled; never replaces a file unless overwrite. Free."""
    # Loaded at the first call, not at start-up (it reaches the download and decoding code).
    from imagegen_mcp.service.exports import export_image, export_target, read_saved

    state = ctx.request_context.lifespan_context
    assert isinstance(state, AppState)
    try:
        target, fmt = export_target(path, format)
        engine, inputs = await state.opening.get()
        spec = image.strip()
        match = _IMAGE_URI.match(spec)
        if match is not None:
            _saved, data = await engine.saved_image(match["task"], int(match["index"]))
        elif "://" in spec or not os.path.isabs(spec):
            shown = spec[:80] + ("..." if len(spec) > 80 else "")
            raise InputError(
                f"image {shown!r} is not a result: pass image://<task_id>/<index> "
                "(list_tasks and image://recent show them) or the saved file's absolute path."
            )
        else:
            data = await anyio.to_thread.run_sync(read_saved, spec, engine.output_dir)
        folders = tuple(dict.fromkeys((*inputs.folders, *await client_folders(ctx))))
        done = await export_image(
            data,
            target,
            fmt,
            max_side=max_side,
            overwrite=overwrite,
            folders=folders,
            output_dir=engine.output_dir,
            decoder=inputs.decoder,
        )
    except ImagegenError as exc:
        raise ToolError(str(exc)) from None
    view = SavedFile(
        path=str(done.path),
        width=done.width,
        height=done.height,
        bytes=done.bytes,
        format=done.format,
    )
    text = f"Saved {view.path} ({view.width}x{view.height} {view.format}, {view.bytes} bytes)."
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=view.model_dump(mode="json"),
    )
