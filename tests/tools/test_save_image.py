"""save_image through the in-memory client: copies, conversions, and what it refuses."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult
from PIL import Image

from imagegen_mcp.server.settings import Settings
from tests.tools.conftest import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def result_image(client: Client, size: str = "1536x1024") -> tuple[str, Path]:
    """A fresh result: its image:// URI and saved path."""
    made = await client.call_tool(
        "generate_image", {"prompt": "a boat", "size": size, "preview": "none"}
    )
    assert not made.is_error, text_of(made)
    assert made.structured_content is not None
    image = made.structured_content["images"][0]
    return image["uri"], Path(image["path"])


async def save(client: Client, image: str, path: Path | str, **args: Any) -> CallToolResult:
    return await client.call_tool("save_image", {"image": image, "path": str(path), **args})


def refusal(result: CallToolResult) -> str:
    assert result.is_error
    text = text_of(result)
    assert "\n" not in text.strip()
    return text


async def test_save_image_copies_a_result_as_saved_into_new_folders(
    client: Client, tmp_path: Path
) -> None:
    uri, saved = await result_image(client)
    target = tmp_path / "project" / "assets" / "boat.png"
    result = await save(client, uri, target)
    assert not result.is_error, text_of(result)
    assert target.read_bytes() == saved.read_bytes()  # same format, no resize: the same bytes
    assert result.structured_content == {
        "path": str(target.resolve()),
        "width": 1536,
        "height": 1024,
        "bytes": saved.stat().st_size,
        "format": "png",
    }
    assert text_of(result) == (
        f"Saved {target.resolve()} (1536x1024 png, {saved.stat().st_size} bytes)."
    )
    assert sorted(p.name for p in target.parent.iterdir()) == ["boat.png"]  # no temp file left


async def test_save_image_never_overwrites_unless_asked(client: Client, tmp_path: Path) -> None:
    uri, saved = await result_image(client)
    target = tmp_path / "boat.png"
    target.write_bytes(b"mine")
    text = refusal(await save(client, uri, target))
    assert "already exists" in text and "overwrite=true" in text
    assert target.read_bytes() == b"mine"
    replaced = await save(client, uri, target, overwrite=True)
    assert not replaced.is_error, text_of(replaced)
    assert target.read_bytes() == saved.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("name", "args", "fmt", "size"),
    [
        ("boat.jpg", {}, "JPEG", (1536, 1024)),
        ("boat.webp", {"max_side": 300}, "WEBP", (300, 200)),
        ("boat.png", {"max_side": 512}, "PNG", (512, 341)),
        ("boat", {"format": "jpeg", "max_side": 4000}, "JPEG", (1536, 1024)),  # never upscaled
    ],
)
async def test_save_image_converts_and_downscales(
    client: Client, tmp_path: Path, name: str, args: dict[str, Any], fmt: str, size: tuple[int, int]
) -> None:
    uri, _saved = await result_image(client)
    target = tmp_path / name
    result = await save(client, uri, target, **args)
    assert not result.is_error, text_of(result)
    with Image.open(io.BytesIO(target.read_bytes())) as img:
        assert img.format == fmt
        assert img.size == size
    data = result.structured_content
    assert data is not None
    assert (data["width"], data["height"]) == size
    assert data["format"] == fmt.lower()
    assert data["bytes"] == target.stat().st_size


@pytest.mark.parametrize(
    ("path", "args", "needle"),
    [
        ("out/boat.png", {}, "relative: pass an absolute path"),
        ("{tmp}/boat.png", {"format": "jpeg"}, "does not match the path's extension"),
        ("{tmp}/boat.gif", {}, "use .png, .jpg, .jpeg or .webp"),
        ("{tmp}/boat", {}, "has no extension"),
        ("{tmp}/", {}, "names a folder"),
    ],
)
async def test_save_image_refuses_unclear_targets(
    client: Client, tmp_path: Path, path: str, args: dict[str, Any], needle: str
) -> None:
    uri, _saved = await result_image(client)
    text = refusal(await save(client, uri, path.replace("{tmp}", str(tmp_path)), **args))
    assert needle in text
    assert not (tmp_path / "boat.png").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["outside", "missing_outside", "dotdot", "symlink", "root"])
async def test_save_image_refuses_paths_outside_the_allowed_folders(
    client: Client, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, case: str
) -> None:
    uri, _saved = await result_image(client)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    if case == "outside":
        target = elsewhere / "boat.png"
    elif case == "missing_outside":
        target = elsewhere / "new" / "deeper" / "boat.png"
    elif case == "dotdot":
        target = Path(f"{tmp_path}/../{elsewhere.name}/boat.png")
    elif case == "symlink":  # a folder inside that is a link out
        (tmp_path / "link").symlink_to(elsewhere, target_is_directory=True)
        target = tmp_path / "link" / "boat.png"
    else:
        target = Path("/boat.png")
    text = refusal(await save(client, uri, target))
    assert "outside the folders images may be saved to" in text
    assert list(elsewhere.iterdir()) == []  # nothing written, no folder made


@pytest.mark.parametrize(
    ("image", "needle"),
    [
        ("image://ig-nosuchtask/0", "ig-nosuchtask"),
        ("https://example.com/a.png", "not a result: pass image://<task_id>/<index>"),
        ("boat.png", "or the saved file's absolute path"),
        ("{tmp}/mine.png", "is not a saved result: pass its image:// URI"),
        ("image://{task}/7", "no saved image 7"),
    ],
)
async def test_save_image_says_what_is_wrong_with_the_image(
    client: Client, tmp_path: Path, image: str, needle: str
) -> None:
    uri, _saved = await result_image(client)
    task = uri.removeprefix("image://").split("/")[0]
    Image.new("RGB", (8, 8)).save(tmp_path / "mine.png")  # an image, but not a result
    spec = image.replace("{task}", task).replace("{tmp}", str(tmp_path))
    text = refusal(await save(client, spec, tmp_path / "boat.png"))
    assert needle in text
    assert not (tmp_path / "boat.png").exists()


async def test_save_image_takes_a_saved_path_and_never_writes_into_the_output_folder(
    client: Client, settings: Settings
) -> None:
    uri, saved = await result_image(client)
    target = settings.home.parent / "copy.webp"
    result = await save(client, str(saved), target)
    assert not result.is_error, text_of(result)
    with Image.open(target) as img:
        assert (img.format, img.size) == ("WEBP", (1536, 1024))
    # The output folder lies inside the allowed one here; still, results there stay untouched.
    for inside in (saved, saved.parent / "new.png", settings.images_dir / "sub" / "x.png"):
        text = refusal(await save(client, uri, inside, overwrite=True))
        assert "inside the output folder" in text
    assert not (settings.images_dir / "sub").exists()


async def test_save_image_is_listed_with_a_small_definition(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    tool = tools["save_image"]
    assert tool.title == "Save image"
    assert tool.annotations is not None
    # Unset hints take the protocol's defaults: not read-only, destructive.
    assert not tool.annotations.read_only_hint
    assert tool.annotations.destructive_hint is not False  # overwrite=true replaces a file
    assert tool.annotations.open_world_hint is False
    assert len(tool.description or "") <= 300
    assert tool.input_schema["additionalProperties"] is False
    assert tool.input_schema["required"] == ["image", "path"]
    assert tool.output_schema is not None
    assert set(tool.output_schema["properties"]) == {"path", "width", "height", "bytes", "format"}
