"""The MCP tools through the in-memory client, against the sandbox over real HTTP."""

from __future__ import annotations

import base64
import io
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult, ImageContent, ResourceLink
from PIL import Image

from imagegen_mcp.catalog import QUALITIES, TIERS
from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.settings import Settings
from tests.support.catalog import SIZES, size_pixels
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def call(client: Client, name: str, **args: Any) -> CallToolResult:
    return await client.call_tool(name, args)


async def test_tools_list_shows_four_tools_with_schemas(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"generate_image", "edit_image", "get_task", "list_tasks"} <= set(tools)
    for tool in tools.values():
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None
        assert tool.description
    gen = tools["generate_image"]
    props = gen.input_schema["properties"]
    # One vocabulary across models; list_models says which values each model takes.
    assert {"model", "size", "resolution", "quality", "n", "options"} <= set(props)
    assert tuple(props["resolution"]["enum"]) == TIERS
    assert tuple(props["quality"]["enum"]) == QUALITIES
    assert "CREDITS" in (gen.description or "")
    assert "ctx" not in props
    assert tools["get_task"].annotations is not None
    assert tools["get_task"].annotations.read_only_hint is True
    assert gen.annotations is not None and not gen.annotations.idempotent_hint
    assert gen.annotations.destructive_hint is False and not gen.annotations.read_only_hint


@pytest.mark.parametrize(("size", "n"), [("1:1", 1), ("2:3", 2), ("1536x1024", 4)])
async def test_generate_returns_saved_files_previews_and_links(
    client: Client, size: str, n: int
) -> None:
    result = await call(client, "generate_image", prompt=f"a kite {size}", size=size, n=n)
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None and data["status"] == "completed"
    assert len(data["images"]) == n
    previews = [c for c in result.content if isinstance(c, ImageContent)]
    links = [c for c in result.content if isinstance(c, ResourceLink)]
    assert len(previews) == n and len(links) == n
    for img, preview, link in zip(data["images"], previews, links, strict=True):
        assert (img["width"], img["height"]) == size_pixels(size)
        assert Path(img["path"]).is_absolute() and Path(img["path"]).exists()
        assert len(preview.data) <= 48 * 1024
        with Image.open(io.BytesIO(base64.b64decode(preview.data))) as thumb:
            assert max(thumb.size) <= 512
        assert link.uri == img["uri"] == f"image://{data['task_id']}/{img['index']}"
        read = await client.read_resource(link.uri)
        blob = read.contents[0]
        assert base64.b64decode(blob.blob) == Path(img["path"]).read_bytes()  # type: ignore[union-attr]
    assert "Done" in text_of(result)


async def test_every_size_gives_its_pixel_size(client: Client) -> None:
    for size in SIZES:
        result = await call(client, "generate_image", prompt="grid", size=size, preview="none")
        data = result.structured_content
        assert data is not None
        img = data["images"][0]
        assert (img["width"], img["height"]) == size_pixels(size)
        assert not any(isinstance(c, ImageContent) for c in result.content)


async def test_slow_task_returns_at_deadline_with_next_step_then_completes(
    client: Client, sandbox: Sandbox
) -> None:
    sandbox.config.task_duration = 30.0
    result = await call(client, "generate_image", prompt="slow", wait_seconds=0.2)
    data = result.structured_content
    assert data is not None and data["status"] in ("pending", "processing")
    text = text_of(result)
    assert f"get_task('{data['task_id']}')" in text and "do not call generate_image" in text
    sandbox.advance(60)
    done = await call(client, "get_task", task_id=data["task_id"], wait_seconds=20)
    assert done.structured_content is not None
    assert done.structured_content["status"] == "completed"


async def test_wait_zero_returns_at_once_with_task_id(client: Client, sandbox: Sandbox) -> None:
    sandbox.config.task_duration = 30.0
    result = await call(client, "generate_image", prompt="now", wait_seconds=0)
    assert result.structured_content is not None
    assert result.structured_content["status"] == "pending"


async def test_progress_notifications_arrive(client: Client, sandbox: Sandbox) -> None:
    sandbox.config.task_duration = 1.0
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    result = await client.call_tool(
        "generate_image", {"prompt": "progress", "n": 2}, progress_callback=on_progress
    )
    assert not result.is_error
    values = [value for value, _ in seen]
    assert len(values) >= 3
    assert all(a < b for a, b in pairwise(values)), values  # only ever up
    assert values[-1] == 100 and values.count(100) == 1  # 100 once every image is saved
    assert all(value <= 90 for value, message in seen if "upstream" in (message or ""))
    assert any("saving images" in (message or "") for _, message in seen)


async def test_edit_with_mask_through_uploads(client: Client, tmp_path: Path) -> None:
    base = tmp_path / "base.png"
    Image.new("RGB", (1024, 1024), (10, 120, 200)).save(base)
    mask = tmp_path / "mask.png"
    m = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    m.paste((0, 0, 0, 0), (0, 0, 512, 512))
    m.save(mask)
    result = await call(client, "edit_image", prompt="add a sun", image=str(base), mask=str(mask))
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data is not None and data["status"] == "completed"
    with Image.open(base) as a, Image.open(data["images"][0]["path"]) as b:
        a_rgb, b_rgb = a.convert("RGB"), b.convert("RGB")
        assert a_rgb.getpixel((900, 900)) == b_rgb.getpixel((900, 900))
        assert a_rgb.getpixel((100, 100)) != b_rgb.getpixel((100, 100))


async def test_list_tasks_counts(client: Client) -> None:
    await call(client, "generate_image", prompt="one")
    result = await call(client, "list_tasks")
    data = result.structured_content
    assert data is not None
    assert data["completed"] == 1 and data["running"] == 0
    assert data["tasks"][0]["prompt"] == "one"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"prompt": "x", "n": 3}, "n"),
        ({"prompt": "x", "size": "999x999"}, "size"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"prompt": "x", "reference_images": ["https://a.example/i.png"] * 6}, "at most 5"),
        ({"prompt": "x", "wait_seconds": 120}, "wait_seconds"),
    ],
)
async def test_bad_arguments_give_clear_errors(
    client: Client, sandbox: Sandbox, args: dict[str, Any], needle: str
) -> None:
    result = await call(client, "generate_image", **args)
    assert result.is_error
    assert needle in text_of(result)
    assert sandbox.counters.create_requests == 0


async def test_unknown_task_id_is_an_actionable_tool_error(client: Client) -> None:
    result = await call(client, "get_task", task_id="ig-doesnotexist")
    assert result.is_error
    assert "list_tasks" in text_of(result)


async def test_failed_task_is_error_with_rephrase_hint(client: Client) -> None:
    result = await call(client, "generate_image", prompt="bad [fail:content_policy_violation]")
    assert result.is_error
    assert "Rephrase" in text_of(result)
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "content_policy_violation"


async def test_out_of_credits_says_top_up(client: Client, sandbox: Sandbox) -> None:
    sandbox.faults.queue("create", 402)
    result = await call(client, "generate_image", prompt="broke")
    assert result.is_error and "credits" in text_of(result)


async def test_api_key_never_appears_in_results(client: Client, settings: Settings) -> None:
    key = settings.require_api_key()
    results = [
        await call(client, "generate_image", prompt="k"),
        await call(client, "get_task", task_id="nope"),
        await call(client, "list_tasks"),
    ]
    for r in results:
        assert key not in r.model_dump_json()


async def test_get_task_with_a_lost_file_says_so_instead_of_failing(
    client: Client, sandbox: Sandbox
) -> None:
    done = await call(client, "generate_image", prompt="short-lived", n=2)
    view = done.structured_content or {}
    images, task_id = view["images"], view["task_id"]
    Path(images[0]["path"]).unlink()
    again = await call(client, "get_task", task_id=task_id)
    assert not again.is_error and Path(images[0]["path"]).exists()  # downloaded again
    Path(images[0]["path"]).unlink()
    sandbox.advance(sandbox.config.result_ttl + 10)
    late = await call(client, "get_task", task_id=task_id)
    assert "Internal error" not in text_of(late)
    assert "is missing" in text_of(late) and "generate it again" in text_of(late)
    shown = (late.structured_content or {})["images"]
    assert [img["index"] for img in shown] == [1]
