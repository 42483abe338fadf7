"""The upstream client against the sandbox: real HTTP for what needs a server (the error mapping
itself is tested without one in ``test_errors.py``)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import anyio
import pytest
from PIL import Image

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.errors import AuthError, DownloadTooLarge, UpstreamNotFound, UpstreamRejected
from imagegen_mcp.sandbox import Sandbox, SandboxConfig

BODY = {"model": "gpt-4o-image", "prompt": "a red fox", "size": "1:1", "n": 1}


class MemorySink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1
        self.data.clear()

    def write(self, chunk: bytes) -> None:
        self.data.extend(chunk)


def client_for(sb: Sandbox, api_key: str | None = None) -> EvoLinkClient:
    return EvoLinkClient(
        api_key=api_key or sb.api_key, api_base=sb.base_url, files_base=sb.base_url
    )


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[EvoLinkClient]:
    async with client_for(sandbox) as c:
        yield c


async def completed(sb: Sandbox, client: EvoLinkClient) -> UpstreamTask:
    created = await client.create_task(BODY)
    sb.advance(sb.config.task_duration + 0.01)
    done = await client.get_task(created.id)
    assert done.status == "completed" and done.results
    return done


async def test_old_style_sandbox_errors_are_understood() -> None:
    async with Sandbox(SandboxConfig(error_style="old")) as sb:
        async with client_for(sb) as client:
            with pytest.raises(UpstreamRejected) as info:
                await client.create_task({"model": "gpt-4o-image", "prompt": "x", "n": 3})
            assert info.value.code == "400"
            with pytest.raises(UpstreamNotFound):
                await client.get_task("task-unified-0-missing")
        async with client_for(sb, "sk-wrong") as client:
            with pytest.raises(AuthError, match="EVOLINK_API_KEY"):
                await client.get_task("task-unified-0-missing")
        assert sb.counters.creates == 0


async def test_api_key_is_not_sent_to_download_hosts(client: EvoLinkClient) -> None:
    session = client._session
    assert "authorization" in {k.lower() for k in session.api.headers}
    assert "authorization" not in {k.lower() for k in session.downloads.headers}


async def test_a_truncated_download_is_retried_from_the_start(
    sandbox: Sandbox, client: EvoLinkClient
) -> None:
    done = await completed(sandbox, client)
    sandbox.faults.queue("download", "truncate")
    sink = MemorySink()
    with anyio.fail_after(10):
        content_type = await client.download(done.results[0], sink)
    assert content_type == "image/png" and sink.data.startswith(b"\x89PNG")
    assert sink.resets == 2 and sandbox.counters.downloads == 2


async def test_a_result_over_the_size_cap_is_refused_and_not_downloaded_again(
    sandbox: Sandbox, client: EvoLinkClient
) -> None:
    done = await completed(sandbox, client)
    with pytest.raises(DownloadTooLarge, match="larger than 100 bytes") as info:
        await client.download(done.results[0], MemorySink(), max_bytes=100)
    assert not info.value.retryable
    assert sandbox.counters.downloads == 1


async def test_an_upload_answers_with_the_hosted_file_url(
    sandbox: Sandbox, client: EvoLinkClient
) -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    uploaded = await client.upload_base64(png.getvalue(), "image/png", file_name="a.png")
    assert uploaded.file_url.startswith(sandbox.base_url) and uploaded.file_name == "a.png"
    assert sandbox.counters.uploads == 1


async def test_a_closed_client_refuses_before_anything_is_marked_sent(
    sandbox: Sandbox, client: EvoLinkClient
) -> None:
    marked: list[bool] = []

    async def mark_sent() -> None:
        marked.append(True)

    await completed(sandbox, client)  # both HTTP clients exist before the close
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.create_task(BODY, before_send=mark_sent)
    assert marked == [] and sandbox.counters.create_requests == 1


@pytest.mark.parametrize(("retry_after", "held"), [(0, 0.0), (3, 3.0), (None, 1.0)])
async def test_a_429_holds_every_request_back_as_long_as_it_asks(
    sandbox: Sandbox, retry_after: int | None, held: float
) -> None:
    """Retry-After: 0 means now; a missing one costs a second; any other is honoured."""
    from imagegen_mcp.api.ratelimit import RateLimiter
    from tests.api.test_ratelimit import VirtualTime

    vt = VirtualTime()
    sandbox.faults.retry_after = retry_after
    sandbox.faults.queue("create", 429)
    limiter = RateLimiter(1000.0, clock=vt.clock, sleep=vt.sleep)
    async with EvoLinkClient(
        api_key=sandbox.api_key,
        api_base=sandbox.base_url,
        files_base=sandbox.base_url,
        limiter=limiter,
    ) as client:
        await client.create_task(BODY)
    assert sum(vt.sleeps) == pytest.approx(held, abs=0.01)
    assert sandbox.counters.creates == 1
