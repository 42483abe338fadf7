"""The upstream client's error mapping, on both error envelopes."""

from __future__ import annotations

import httpx2
import pytest

from imagegen_mcp.api.client import EvoLinkClient, error_for_response
from imagegen_mcp.errors import (
    AuthError,
    InsufficientCredits,
    RateLimited,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from imagegen_mcp.sandbox import Sandbox, SandboxConfig


def response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "code", "etype", "expected"),
    [
        (400, 400, "invalid_request_error", UpstreamRejected),
        (400, "invalid_request", None, UpstreamRejected),
        (401, "unauthorized", None, AuthError),
        (402, "insufficient_quota", None, InsufficientCredits),
        (403, 403, "permission_error", AuthError),
        (404, "task_not_found", None, UpstreamNotFound),
        (429, 429, "rate_limit_error", RateLimited),
        (500, "internal_error", None, UpstreamUnavailable),
        (502, 502, "upstream_error", UpstreamUnavailable),
        (503, 503, "service_unavailable_error", UpstreamUnavailable),
    ],
)
def test_both_envelopes_map_to_our_types(
    status: int, code: object, etype: str | None, expected: type[Exception]
) -> None:
    err = error_for_response(
        response(status, {"error": {"code": code, "message": "boom", "type": etype}}), "Doing"
    )
    assert isinstance(err, expected)
    assert err.status == status and err.code == str(code)
    assert "boom" in str(err)


def test_rejections_say_what_to_do() -> None:
    quota = error_for_response(
        response(403, {"error": {"code": 403, "message": "File quota exceeded: at most 100"}}),
        "Uploading",
    )
    assert isinstance(quota, UpstreamRejected) and "dashboard" in str(quota)
    assert "EVOLINK_API_KEY" not in str(quota)
    bad = error_for_response(response(400, {"error": {"message": "size is wrong."}}), "Creating")
    assert str(bad).endswith(
        "size is wrong. EvoLink refused this request: change it before trying again."
    )


def test_retry_after_is_honoured_and_non_json_bodies_tolerated() -> None:
    err = error_for_response(response(429, {}, {"Retry-After": "7"}), "x")
    assert isinstance(err, RateLimited) and err.retry_after == 7.0
    plain = error_for_response(httpx2.Response(502, text="<html>bad gateway</html>"), "x")
    assert isinstance(plain, UpstreamUnavailable)


async def test_old_style_sandbox_errors_are_understood() -> None:
    async with Sandbox(SandboxConfig(error_style="old")) as sb:
        async with EvoLinkClient(
            api_key=sb.api_key, api_base=sb.base_url, files_base=sb.base_url
        ) as client:
            with pytest.raises(UpstreamRejected) as info:
                await client.create_task({"model": "gpt-4o-image", "prompt": "x", "n": 3})
            assert info.value.code == "400"
            with pytest.raises(UpstreamNotFound):
                await client.get_task("task-unified-0-missing")
        async with EvoLinkClient(
            api_key="sk-wrong", api_base=sb.base_url, files_base=sb.base_url
        ) as client:
            with pytest.raises(AuthError, match="EVOLINK_API_KEY"):
                await client.credits()
        assert sb.counters.creates == 0


async def test_api_key_is_not_sent_to_download_hosts(sandbox: Sandbox) -> None:
    async with EvoLinkClient(
        api_key=sandbox.api_key, api_base=sandbox.base_url, files_base=sandbox.base_url
    ) as client:
        assert "authorization" not in {k.lower() for k in client._downloads.headers}
