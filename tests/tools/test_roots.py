"""MCP roots: a client's file:// roots are folders images may be read from and saved to, per
session, re-read when the client says they changed; a client without roots gets only the
configured folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.client.session import ListRootsFnT
from mcp.types import INTERNAL_ERROR, CallToolResult, ErrorData, ListRootsResult, Root
from PIL import Image

from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.tools import roots as roots_module
from imagegen_mcp.tools.roots import folders_of
from tests.support.settings import FAST_POLLER, WAIT
from tests.tools.conftest import text_of

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    # Roots are deprecated from protocol 2026-07-28 on; 2025-11-25 clients still use them.
    pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning"),
]


class Roots:
    """A client's roots, as its list_roots callback answers them; counts the questions."""

    def __init__(self, *folders: Path | str) -> None:
        self.uris = [f.as_uri() if isinstance(f, Path) else f for f in folders]
        self.asked = 0

    async def __call__(self, context: ClientRequestContext) -> ListRootsResult:
        self.asked += 1
        return ListRootsResult(roots=[Root(uri=uri) for uri in self.uris])


Legacy = Callable[[ListRootsFnT | None], Client]


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the configured allowed folder (the tests' tmp_path)."""
    return tmp_path_factory.mktemp("project")


async def result_uri(client: Client) -> str:
    made = await client.call_tool(
        "generate_image", {"prompt": "a boat", "size": "1:1", "preview": "none"}
    )
    assert made.structured_content is not None, text_of(made)
    uri: str = made.structured_content["images"][0]["uri"]
    return uri


async def save(client: Client, uri: str, path: Path) -> CallToolResult:
    return await client.call_tool("save_image", {"image": uri, "path": str(path)})


async def reference(client: Client, path: Path) -> CallToolResult:
    return await client.call_tool(
        "generate_image",
        {"prompt": "like this", "reference_images": [str(path)], "preview": "none"},
    )


def picture(path: Path) -> Path:
    Image.linear_gradient("L").convert("RGB").save(path, format="PNG")
    return path


@pytest.fixture
def legacy(settings: Settings) -> Legacy:
    """Opens a 2025-11-25 (handshake) client on the server, with the given roots callback."""

    def open_client(roots: ListRootsFnT | None) -> Client:
        return Client(
            build_server(settings, poller=FAST_POLLER), mode="legacy", list_roots_callback=roots
        )

    return open_client


async def test_roots_given_are_folders_to_save_to_and_read_from(
    legacy: Legacy, project: Path, tmp_path: Path
) -> None:
    roots = Roots(project)
    async with legacy(roots) as client:
        uri = await result_uri(client)
        saved = await save(client, uri, project / "art" / "boat.png")
        assert not saved.is_error, text_of(saved)
        assert (project / "art" / "boat.png").is_file()
        used = await reference(client, picture(project / "ref.png"))
        assert not used.is_error, text_of(used)
        # The configured folder still counts; the roots were asked once for the session.
        assert not (await save(client, uri, tmp_path / "boat.png")).is_error
        assert roots.asked == 1


async def test_roots_changed_are_asked_again_and_the_old_ones_refused(
    legacy: Legacy, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    roots = Roots(first)
    async with legacy(roots) as client:
        uri = await result_uri(client)
        assert not (await save(client, uri, first / "a.png")).is_error
        refused = await save(client, uri, second / "a.png")
        assert refused.is_error and "outside" in text_of(refused)
        roots.uris = [second.as_uri()]
        await client.send_roots_list_changed()
        # The notification is handled concurrently with calls: wait until the server asks.
        with anyio.fail_after(WAIT):
            while roots.asked < 2:
                result = await save(client, uri, second / "b.png")
                await anyio.sleep(0.01)
        assert not result.is_error, text_of(result)
        assert (second / "b.png").is_file()
        old = await save(client, uri, first / "c.png")
        assert old.is_error and "outside" in text_of(old)
        assert not (first / "c.png").exists()


async def test_without_roots_only_the_configured_folders_count(
    legacy: Legacy, project: Path, tmp_path: Path
) -> None:
    async with legacy(None) as client:
        uri = await result_uri(client)
        refused = await save(client, uri, project / "boat.png")
        assert refused.is_error and "IMAGEGEN_ALLOWED_DIRS" in text_of(refused)
        read = await reference(client, picture(project / "ref.png"))
        assert read.is_error and "outside" in text_of(read)
        assert not (await save(client, uri, tmp_path / "boat.png")).is_error
    assert list(project.iterdir()) == [project / "ref.png"]


async def test_roots_are_per_session(legacy: Legacy, project: Path) -> None:
    async with legacy(Roots(project)) as with_roots, legacy(None) as without:
        uri = await result_uri(with_roots)
        assert not (await save(with_roots, uri, project / "a.png")).is_error
        assert (await save(without, uri, project / "b.png")).is_error


async def test_a_modern_protocol_client_gets_only_the_configured_folders(
    settings: Settings, project: Path
) -> None:
    # 2026-07-28 has no server-to-client requests within a call (and deprecates roots).
    roots = Roots(project)
    async with Client(build_server(settings, poller=FAST_POLLER), list_roots_callback=roots) as c:
        refused = await save(c, await result_uri(c), project / "boat.png")
        assert refused.is_error and "outside" in text_of(refused)
    assert roots.asked == 0


@pytest.mark.parametrize("answer", ["error", "silence"])
async def test_a_client_whose_roots_cannot_be_had_gets_the_configured_folders(
    legacy: Legacy,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
) -> None:
    monkeypatch.setattr(roots_module, "ASK_SECONDS", 0.2)
    asked = 0

    async def broken(context: ClientRequestContext) -> ListRootsResult | ErrorData:
        nonlocal asked
        asked += 1
        if answer == "silence":
            await anyio.sleep_forever()
        return ErrorData(code=INTERNAL_ERROR, message="no roots today")

    async with legacy(broken) as client:
        uri = await result_uri(client)
        assert (await save(client, uri, project / "boat.png")).is_error
        assert not (await save(client, uri, tmp_path / "boat.png")).is_error
    assert asked == 1  # not asked again on every call


def test_only_existing_file_folders_count_as_roots(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "with space").mkdir()
    roots = [
        Root(uri=tmp_path.as_uri()),
        Root(uri=(tmp_path / "with space").as_uri()),
        Root(uri=(tmp_path / "missing").as_uri()),
        Root(uri=(tmp_path / "file.txt").as_uri()),
        # Another scheme (the SDK refuses it in an answer; folders_of ignores it anyway).
        Root(uri="file:///").model_copy(update={"uri": "https://example.com/p"}),
        Root(uri=f"file://otherhost{tmp_path}"),
        Root(uri=tmp_path.as_uri()),  # a duplicate
    ]
    assert folders_of(roots) == (tmp_path.resolve(), (tmp_path / "with space").resolve())


async def test_roots_of_a_client_on_another_machine_open_nothing(
    settings: Settings, project: Path
) -> None:
    # A non-loopback HTTP bind: the client's roots name folders on its own disk, not ours.
    roots = Roots(project)
    server = build_server(settings, poller=FAST_POLLER, trust_roots=False)
    async with Client(server, mode="legacy", list_roots_callback=roots) as client:
        uri = await result_uri(client)
        refused = await save(client, uri, project / "boat.png")
        assert refused.is_error and "outside" in text_of(refused)
        read = await reference(client, picture(project / "ref.png"))
        assert read.is_error
    assert roots.asked == 0
    assert not (project / "boat.png").exists()
