"""Input images and masks end to end through the MCP tools, against the sandbox."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult
from PIL import Image

from imagegen_mcp.netaddr import is_public
from imagegen_mcp.sandbox import Sandbox
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def edit(client: Client, **args: Any) -> CallToolResult:
    return await client.call_tool("edit_image", {"prompt": "paint it", **args})


def photo(path: Path, size: tuple[int, int] = (1024, 1024), fmt: str = "JPEG") -> Path:
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    img.save(path, format=fmt, quality=90)
    return path


def output(result: CallToolResult) -> Image.Image:
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None and data["status"] == "completed"
    return Image.open(data["images"][0]["path"]).convert("RGB")


async def test_local_jpeg_with_mask_region_keeps_outside_pixels(
    client: Client, tmp_path: Path, sandbox: Sandbox
) -> None:
    base = photo(tmp_path / "base.jpg")
    region = {"shape": "rectangle", "x": 0.25, "y": 0.25, "width": 0.5, "height": 0.5}
    out = output(await edit(client, image=str(base), mask_region=[region]))
    original = Image.open(base).convert("RGB")
    assert out.size == original.size
    for xy in [(10, 10), (1000, 20), (100, 900), (1010, 1010), (200, 512)]:
        assert out.getpixel(xy) == original.getpixel(xy), xy
    for xy in [(300, 300), (512, 512), (700, 700)]:
        assert out.getpixel(xy) != original.getpixel(xy), xy
    assert sandbox.counters.uploads == 2  # the base (as PNG) and the canonical mask


async def test_black_and_white_mask_and_its_inverse(client: Client, tmp_path: Path) -> None:
    base = photo(tmp_path / "base.png", fmt="PNG")
    bw = Image.new("L", (512, 512), 0)  # half the size, same aspect: scaled up
    bw.paste(255, (0, 0, 256, 512))  # white left half = change
    bw.save(tmp_path / "bw.png")
    original = Image.open(base).convert("RGB")

    out = output(await edit(client, image=str(base), mask=str(tmp_path / "bw.png")))
    assert out.getpixel((100, 500)) != original.getpixel((100, 500))
    assert out.getpixel((900, 500)) == original.getpixel((900, 500))

    inv = output(
        await edit(client, image=str(base), mask=str(tmp_path / "bw.png"), mask_invert=True)
    )
    assert inv.getpixel((100, 500)) == original.getpixel((100, 500))
    assert inv.getpixel((900, 500)) != original.getpixel((900, 500))


async def test_ellipse_region_and_data_uri_base(client: Client, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (1024, 1024), (30, 60, 90)).save(buf, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    region = {"shape": "ellipse", "x": 0.0, "y": 0.0, "width": 0.5, "height": 0.5}
    out = output(await edit(client, image=uri, mask_region=[region]))
    assert out.getpixel((256, 256)) != (30, 60, 90)
    assert out.getpixel((5, 5)) == (30, 60, 90)  # a corner outside the ellipse
    assert out.getpixel((800, 800)) == (30, 60, 90)


async def test_image_uri_reference_and_upload_cache(
    client: Client, tmp_path: Path, sandbox: Sandbox
) -> None:
    first = await client.call_tool("generate_image", {"prompt": "seed image"})
    assert first.structured_content is not None
    uri = first.structured_content["images"][0]["uri"]
    for _ in range(2):
        again = await client.call_tool(
            "generate_image", {"prompt": "variation", "reference_images": [uri]}
        )
        assert not again.is_error, text_of(again)
    assert sandbox.counters.uploads == 1  # the same bytes are uploaded once


@pytest.mark.parametrize(
    "case",
    ["outside", "dotdot", "symlink", "text_as_png", "oversize", "bad_base64", "relative"],
)
async def test_refused_inputs_upload_nothing(
    client: Client,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    sandbox: Sandbox,
    case: str,
) -> None:
    outside_dir = tmp_path_factory.mktemp("outside")
    secret = photo(outside_dir / "secret.jpg")
    inside = tmp_path / "in"
    inside.mkdir()
    if case == "outside":
        ref, needle = str(secret), "IMAGEGEN_ALLOWED_DIRS"
    elif case == "dotdot":
        ref, needle = str(inside / ".." / ".." / outside_dir.name / "secret.jpg"), "outside"
    elif case == "symlink":
        (inside / "link.jpg").symlink_to(secret)
        ref, needle = str(inside / "link.jpg"), "outside"
    elif case == "text_as_png":
        (inside / "key.png").write_text("EVOLINK_API_KEY=sk-evo-very-secret\n")
        ref, needle = str(inside / "key.png"), "not a usable image"
    elif case == "oversize":
        (inside / "big.png").write_bytes(b"\x89PNG" + bytes(11 * 1024 * 1024))
        ref, needle = str(inside / "big.png"), "10 MB"
    elif case == "bad_base64":
        ref, needle = "data:image/png;base64,@@@not-base64@@@", "base64"
    else:
        ref, needle = "images/cat.png", "absolute"
    result = await client.call_tool("generate_image", {"prompt": "x", "reference_images": [ref]})
    assert result.is_error
    assert needle in text_of(result)
    assert sandbox.counters.uploads == 0
    assert sandbox.counters.create_requests == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/base.png",
        "http://169.254.169.254/latest/meta-data/image.png",
        "http://[::ffff:127.0.0.1]:9/base.png",
        "http://10.0.0.8/base.png",
    ],
)
async def test_internal_urls_are_not_fetched_for_mask_measurement(
    client: Client, tmp_path: Path, sandbox: Sandbox, url: str
) -> None:
    region = {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}
    result = await edit(client, image=url, mask_region=[region])
    assert result.is_error
    assert "non-public" in text_of(result)
    assert sandbox.counters.uploads == 0 and sandbox.counters.create_requests == 0


@pytest.mark.parametrize(
    ("mask_size", "fill", "needle"),
    [((800, 600), 0, "aspect ratio"), ((1024, 1024), 0, "nothing"), ((1024, 1024), 255, "whole")],
)
async def test_masks_that_cannot_work_are_refused_before_paying(
    client: Client,
    tmp_path: Path,
    sandbox: Sandbox,
    mask_size: tuple[int, int],
    fill: int,
    needle: str,
) -> None:
    base = photo(tmp_path / "base.png", fmt="PNG")
    mask = tmp_path / "mask.png"
    img = Image.new("L", mask_size, fill)
    if needle == "aspect ratio":
        img.paste(255, (0, 0, 100, 100))
    img.save(mask)
    result = await edit(client, image=str(base), mask=str(mask))
    assert result.is_error
    assert needle in text_of(result)
    assert sandbox.counters.uploads == 0 and sandbox.counters.create_requests == 0


def test_public_address_check_covers_embedded_ipv4() -> None:
    import ipaddress

    for bad in [
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",
        "169.254.169.254",
        "::1",
        "::ffff:10.0.0.1",
        "2002:0a00:0001::",
        "64:ff9b::7f00:1",
        "fe80::1",
        "0.0.0.0",  # noqa: S104  # an address that must be refused, not a bind
    ]:
        assert not is_public(ipaddress.ip_address(bad)), bad
    for good in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]:
        assert is_public(ipaddress.ip_address(good)), good


async def test_a_blank_prompt_is_refused_before_anything_is_sent(
    client: Client, sandbox: Sandbox
) -> None:
    for blank in (" \n\t ", "\x00\x00", "\x01\x1b\x7f \u200b\n"):
        result = await client.call_tool("generate_image", {"prompt": blank})
        assert result.is_error and "prompt is empty" in text_of(result)
    assert sandbox.counters.create_requests == 0


async def test_an_image_not_saved_yet_says_to_wait(client: Client, sandbox: Sandbox) -> None:
    from mcp import MCPError

    sandbox.config.task_duration = 30.0
    started = await client.call_tool("generate_image", {"prompt": "slow", "wait_seconds": 0})
    task_id = (started.structured_content or {})["task_id"]
    with pytest.raises(MCPError, match="not saved yet: call get_task"):
        await client.read_resource(f"image://{task_id}/0")


async def test_an_image_uri_whose_file_became_a_link_outside_never_yields_its_bytes(
    client: Client, tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox
) -> None:
    from mcp import MCPError

    first = await client.call_tool("generate_image", {"prompt": "seed image"})
    image = (first.structured_content or {})["images"][0]
    saved = Path(image["path"])
    original = saved.read_bytes()
    secret = photo(tmp_path_factory.mktemp("outside") / "secret.jpg")
    saved.unlink()
    saved.symlink_to(secret)
    # While its link is valid, the saved image is downloaded again over the planted link.
    again = await client.call_tool(
        "generate_image", {"prompt": "x", "reference_images": [image["uri"]]}
    )
    assert not again.is_error, text_of(again)
    assert not saved.is_symlink() and saved.read_bytes() == original
    assert sandbox.counters.uploads == 1
    # Once the link has expired, it is refused: by the tools and by resources/read.
    saved.unlink()
    saved.symlink_to(secret)
    sandbox.advance(sandbox.config.result_ttl + 10)
    refused = await client.call_tool(
        "generate_image", {"prompt": "y", "reference_images": [image["uri"]]}
    )
    assert refused.is_error and "cannot be downloaded again" in text_of(refused)
    assert sandbox.counters.uploads == 1
    assert sandbox.counters.create_requests == 2
    with pytest.raises(MCPError, match="cannot be downloaded again"):
        await client.read_resource(image["uri"])


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/image.png",
        "http://10.0.0.1/a.png",
        "http://[::1]/a.png",
        "http://localhost:9/a.png",
        "https://[::ffff:192.168.1.1]/a.png",
    ],
)
async def test_private_reference_urls_are_refused_before_paying(
    client: Client, sandbox: Sandbox, url: str
) -> None:
    result = await client.call_tool("generate_image", {"prompt": "x", "reference_images": [url]})
    assert result.is_error and "non-public address" in text_of(result)
    assert sandbox.counters.create_requests == 0


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("image://ig-000000000000/0", "list_tasks"),
        ("image://recent/extra", "image://<task_id>/<index>"),
        ("image://{task}/7", "saved indexes: 0"),
    ],
)
async def test_missing_images_are_resource_not_found_saying_what_exists(
    client: Client, uri: str, says: str
) -> None:
    from mcp import MCPError

    done = await client.call_tool("generate_image", {"prompt": "one"})
    task_id = (done.structured_content or {})["task_id"]
    with pytest.raises(MCPError) as missing:
        await client.read_resource(uri.replace("{task}", task_id))
    assert missing.value.error.code == -32602
    assert says in missing.value.error.message


async def test_an_opaque_rgba_black_and_white_mask_marks_its_white_pixels(
    client: Client, tmp_path: Path
) -> None:
    # What a browser's canvas exports: RGBA with every pixel opaque, white = change.
    base = photo(tmp_path / "base.png", fmt="PNG")
    painted = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    painted.paste((255, 255, 255, 255), (0, 0, 512, 1024))
    buf = io.BytesIO()
    painted.save(buf, format="PNG")
    mask = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    original = Image.open(base).convert("RGB")
    out = output(await edit(client, image=str(base), mask=mask))
    assert out.getpixel((100, 500)) != original.getpixel((100, 500))
    assert out.getpixel((900, 500)) == original.getpixel((900, 500))
