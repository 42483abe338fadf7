"""image://{task_id}/{index}: each read declares the saved file's own MIME type."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from mcp import Client
from PIL import Image

from imagegen_mcp.models import SavedImage
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.storage.db import TaskStore
from tests.support.settings import FAST_POLLER

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def _saved_as_jpeg(settings: Settings, task_id: str, png: Path) -> bytes:
    """The task's image 0 re-saved as a JPEG and recorded so, as a JPEG result would be."""
    out = io.BytesIO()
    with Image.open(png) as image:
        image.convert("RGB").save(out, format="JPEG", quality=80)
        size = image.size
    data = out.getvalue()
    jpeg = png.with_suffix(".jpg")
    jpeg.write_bytes(data)
    store = await TaskStore.open(settings.db_path)
    try:
        await store.add_image(
            task_id,
            SavedImage(
                index=0,
                path=str(jpeg),
                sha256=hashlib.sha256(data).hexdigest(),
                width=size[0],
                height=size[1],
                bytes=len(data),
                mime_type="image/jpeg",
            ),
        )
    finally:
        await store.aclose()
    return data


async def test_each_read_declares_the_saved_image_s_own_mime_type(settings: Settings) -> None:
    async with Client(build_server(settings, poller=FAST_POLLER)) as client:
        result = await client.call_tool("generate_image", {"prompt": "a jug", "preview": "none"})
        assert result.structured_content is not None, result.content
        task_id = result.structured_content["task_id"]
        png = Path(result.structured_content["images"][0]["path"])
        uri = f"image://{task_id}/0"

        first = (await client.read_resource(uri)).contents[0]
        assert first.mime_type == "image/png"
        assert base64.b64decode(first.blob) == png.read_bytes()  # type: ignore[union-attr]

        jpeg = await _saved_as_jpeg(settings, task_id, png)
        read = (await client.read_resource(uri)).contents[0]
        assert read.mime_type == "image/jpeg"
        assert str(read.uri) == uri
        assert base64.b64decode(read.blob) == jpeg  # type: ignore[union-attr]

        # The template itself claims no single type: it differs from image to image.
        templates = (await client.list_resource_templates()).resource_templates
        image_template = next(t for t in templates if t.uri_template == "image://{task_id}/{index}")
        assert image_template.mime_type is None
