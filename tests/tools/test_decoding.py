"""How input images are decoded: off the event loop, two at a time; large and line-wrapped data
URIs; multi-picture JPEGs; EXIF-rotated bases and masks. Through the MCP tools, against the
sandbox."""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult
from PIL import Image, ImageOps

from imagegen_mcp.imaging import ImageInfo, probe
from imagegen_mcp.sandbox import FileRecord, Sandbox
from tests.support.settings import WAIT
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

_ORIENTATION = 0x0112


def png_bytes(img: Image.Image, **params: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **params)
    return buf.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


async def reference(client: Client, ref: str) -> CallToolResult:
    return await client.call_tool("generate_image", {"prompt": "x", "reference_images": [ref]})


def uploads(sandbox: Sandbox) -> list[FileRecord]:
    return list(sandbox.files.values())


async def test_decodes_run_off_the_event_loop_at_most_two_at_a_time(
    client: Client, tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    lock = threading.Lock()
    threads: list[int] = []
    running = peak = 0

    def recording_probe(source: bytes | Path) -> ImageInfo:
        nonlocal running, peak
        with lock:
            threads.append(threading.get_ident())
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.05)  # stands for a long decode, so that decodes allowed to overlap do
            return probe(source)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr("imagegen_mcp.service.inputs.probe", recording_probe)
    refs: list[str] = []
    for i in range(3):
        colour = (40 * i, 90, 200 - 40 * i)
        refs.append(data_uri(png_bytes(Image.new("RGB", (64, 64), colour))))
        path = tmp_path / f"ref{i}.png"
        path.write_bytes(png_bytes(Image.new("RGB", (64, 64), colour[::-1])))
        refs.append(str(path))
    results: list[CallToolResult] = []

    async def call(ref: str) -> None:
        results.append(await reference(client, ref))

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as tg:
            for ref in refs:
                tg.start_soon(call, ref)
    assert all(not r.is_error for r in results), [text_of(r) for r in results if r.is_error]
    assert len(threads) == len(refs)
    assert loop_thread not in threads  # data URIs included
    assert peak <= 2


async def test_an_8_mb_data_uri_is_accepted_and_uploaded(client: Client, sandbox: Sandbox) -> None:
    side = 1640  # noise does not compress: about 8.07 MB as PNG, under the 10 MB limit
    data = png_bytes(
        Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)), compress_level=1
    )
    assert 8_000_000 < len(data) < 10 * 1024 * 1024
    result = await reference(client, data_uri(data))
    assert not result.is_error, text_of(result)
    assert sandbox.counters.uploads == 1 and sandbox.counters.create_requests == 1
    assert [f.data for f in uploads(sandbox)] == [data]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
async def test_line_wrapped_base64_is_accepted(
    client: Client, sandbox: Sandbox, newline: str
) -> None:
    data = png_bytes(Image.linear_gradient("L").convert("RGB"))
    wrapped = base64.encodebytes(data).decode().replace("\n", newline)  # 76-character lines
    result = await reference(client, f"data:image/png;base64,{newline}{wrapped}")
    assert not result.is_error, text_of(result)
    assert [f.data for f in uploads(sandbox)] == [data]


async def test_a_multi_picture_jpeg_is_sent_as_its_first_picture_as_jpeg(
    client: Client, tmp_path: Path, sandbox: Sandbox
) -> None:
    first = Image.linear_gradient("L").convert("RGB")
    path = tmp_path / "camera.jpg"
    first.save(path, format="MPO", save_all=True, append_images=[Image.new("RGB", (256, 256))])
    assert Image.open(path).format == "MPO"
    result = await reference(client, str(path))
    assert not result.is_error, text_of(result)
    [sent] = uploads(sandbox)
    assert sent.mime_type == "image/jpeg" and sent.file_name.endswith(".jpg")
    assert len(sent.data) < path.stat().st_size  # the second picture is not sent
    with Image.open(io.BytesIO(sent.data)) as img:
        assert img.format == "JPEG"
        assert list(img.convert("RGB").getdata()) == list(Image.open(path).convert("RGB").getdata())


def rotated_jpeg(path: Path) -> Image.Image:
    """A JPEG stored 1536x1024 with EXIF orientation 6: shown upright as 1024x1536. Returns the
    image as shown."""
    stored = Image.new("RGB", (1536, 1024), (20, 120, 220))
    stored.paste((230, 40, 40), (0, 0, 200, 1024))  # the stored left edge: the shown top
    exif = Image.Exif()
    exif[_ORIENTATION] = 6
    stored.save(path, format="JPEG", quality=95, exif=exif)
    shown = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    assert shown.size == (1024, 1536)
    return shown


def uploaded_images(sandbox: Sandbox) -> dict[str, Image.Image]:
    return {f.file_name: Image.open(io.BytesIO(f.data)) for f in uploads(sandbox)}


def edited(result: CallToolResult) -> Image.Image:
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None and data["status"] == "completed", data
    return Image.open(data["images"][0]["path"]).convert("RGB")


async def test_an_exif_rotated_base_takes_a_mask_of_its_shown_size(
    client: Client, tmp_path: Path, sandbox: Sandbox
) -> None:
    base = tmp_path / "portrait.jpg"
    shown = rotated_jpeg(base)
    mask = Image.new("L", shown.size, 0)
    mask.paste(255, (0, 0, 1024, 384))  # the top quarter as shown
    mask.save(tmp_path / "mask.png")
    result = await client.call_tool(
        "edit_image",
        {
            "prompt": "paint",
            "image": str(base),
            "mask": str(tmp_path / "mask.png"),
            "size": "1024x1536",
        },
    )
    out = edited(result)
    sent = [img for img in uploaded_images(sandbox).values() if img.mode != "RGBA"]
    assert [img.size for img in sent] == [shown.size]
    assert list(sent[0].convert("RGB").getdata()) == list(shown.getdata())
    assert out.size == shown.size
    assert out.getpixel((500, 100)) != shown.getpixel((500, 100))
    assert out.getpixel((500, 1000)) == shown.getpixel((500, 1000))


async def test_mask_region_on_an_exif_rotated_base_refers_to_the_image_as_shown(
    client: Client, tmp_path: Path
) -> None:
    base = tmp_path / "portrait.jpg"
    shown = rotated_jpeg(base)
    region = {"x": 0.0, "y": 0.0, "width": 1.0, "height": 0.25}  # the top quarter as shown
    out = edited(
        await client.call_tool(
            "edit_image",
            {"prompt": "paint", "image": str(base), "mask_region": [region], "size": "1024x1536"},
        )
    )
    assert out.size == shown.size
    for xy in [(10, 10), (500, 100), (1000, 370)]:
        assert out.getpixel(xy) != shown.getpixel(xy), xy
    for xy in [(10, 400), (500, 1000), (1000, 1500)]:
        assert out.getpixel(xy) == shown.getpixel(xy), xy


async def test_a_mask_with_exif_orientation_is_read_as_shown(
    client: Client, tmp_path: Path
) -> None:
    base = tmp_path / "base.png"
    original = Image.new("RGB", (1024, 1536), (20, 120, 220))
    original.save(base)
    stored = Image.new("RGB", (1536, 1024), (0, 0, 0))
    stored.paste((255, 255, 255), (0, 0, 384, 1024))  # white stored left edge = shown top
    exif = Image.Exif()
    exif[_ORIENTATION] = 6
    stored.save(tmp_path / "mask.jpg", format="JPEG", quality=95, exif=exif)
    out = edited(
        await client.call_tool(
            "edit_image",
            {
                "prompt": "paint",
                "image": str(base),
                "mask": str(tmp_path / "mask.jpg"),
                "size": "1024x1536",
            },
        )
    )
    assert out.getpixel((500, 100)) != (20, 120, 220)
    assert out.getpixel((500, 1000)) == (20, 120, 220)
