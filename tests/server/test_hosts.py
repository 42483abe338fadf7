"""Which Host and Origin headers the HTTP transport answers (DNS-rebinding protection), over
real HTTP on loopback binds."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.settings import load_settings
from tests.conftest import make_settings
from tests.server.conftest import bound_socket, initialize, serve_http

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EVIL = {"Host": "evil.example", "Origin": "http://evil.example"}
# The 2026 era is routed per request, apart from the handshake era: both must be guarded.
MODERN = {"MCP-Protocol-Version": "2026-07-28", "Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.0.0.2", "127.42.0.1", "::1", "0:0:0:0:0:0:0:1"])
async def test_a_loopback_bind_without_a_token_refuses_foreign_hosts_and_origins(
    sandbox: Sandbox, tmp_path: Path, bind: str
) -> None:
    settings = make_settings(sandbox, tmp_path / "home")
    sock = bound_socket(bind)
    port = sock.getsockname()[1]
    own = f"[{bind}]:{port}" if ":" in bind else f"{bind}:{port}"
    with anyio.fail_after(30):
        async with serve_http(settings, sock, app_host=bind) as base, httpx2.AsyncClient() as http:
            url = f"{base}/mcp"
            assert (await initialize(http, url, **EVIL)).status_code == 421
            assert (await initialize(http, url, Host="evil.example")).status_code == 421
            foreign_origin = await initialize(http, url, Host=own, Origin="http://evil.example")
            assert foreign_origin.status_code == 403
            modern = await http.post(url, json={}, headers={**MODERN, **EVIL})
            assert modern.status_code == 421
            # A rebound page never gets to read the gallery of saved images either.
            assert (
                await http.get(url, headers={**EVIL, "Accept": "text/event-stream"})
            ).status_code == 421

            for host in (own, bind if ":" not in bind else f"[{bind}]", f"localhost:{port}"):
                ok = await initialize(http, url, Host=host, Origin=f"http://{host}")
                assert ok.status_code == 200, (host, ok.text)
                assert "mcp-session-id" in ok.headers
            for host in ("127.0.0.1", f"[::1]:{port}"):
                assert (await initialize(http, url, Host=host)).status_code == 200
            # The SDK's own client (2026 era) names the bind address and is served.
            async with Client(streamable_http_client(url, http_client=http)) as client:
                tools = (await client.list_tools()).tools
            assert {t.name for t in tools} >= {"generate_image", "list_tasks"}


async def test_allowed_hosts_and_the_public_url_host_are_answered(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(
        sandbox,
        tmp_path / "home",
        allowed_hosts="mcp.example, Other.example:9000",
        public_url="https://tunnel.example/",
    )
    sock = bound_socket("127.0.0.2")
    with anyio.fail_after(30):
        async with serve_http(settings, sock) as base, httpx2.AsyncClient() as http:
            url = f"{base}/mcp"
            for host, origin in [
                ("mcp.example", "https://mcp.example"),
                ("mcp.example:8443", "http://mcp.example:8443"),
                ("other.example:9000", "https://other.example:9000"),
                ("tunnel.example", "https://tunnel.example"),
            ]:
                ok = await initialize(http, url, Host=host, Origin=origin)
                assert ok.status_code == 200, (host, ok.text)
            assert (await initialize(http, url, Host="other.example:9001")).status_code == 421
            assert (await initialize(http, url, Host="mcp.example.evil")).status_code == 421
            wrong_origin = await initialize(
                http, url, Host="mcp.example", Origin="https://x.example"
            )
            assert wrong_origin.status_code == 403
            # The upstream reaches the callback route under the public URL's name.
            callback = await http.post(
                f"{base}/callbacks/evolink/unknown", json={}, headers={"Host": "tunnel.example"}
            )
            assert callback.status_code == 404


async def test_a_token_bind_off_loopback_restricts_hosts_only_when_allowed_hosts_is_set(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    bearer = {"Authorization": "Bearer tok"}
    # Served on loopback (tests never bind elsewhere), built as it is for a 0.0.0.0 bind.
    anywhere = "0.0.0.0"  # noqa: S104  # the app is told so; the socket stays on loopback
    open_settings = make_settings(sandbox, tmp_path / "a", http_token="tok")
    with anyio.fail_after(30):
        async with (
            serve_http(open_settings, app_host=anywhere) as base,
            httpx2.AsyncClient() as http,
        ):
            named = await initialize(http, f"{base}/mcp", Host="mcp.example", **bearer)
            assert named.status_code == 200
            assert (await initialize(http, f"{base}/mcp", Host="mcp.example")).status_code == 401
        listed = make_settings(
            sandbox, tmp_path / "b", http_token="tok", allowed_hosts="mcp.example"
        )
        async with serve_http(listed, app_host=anywhere) as base, httpx2.AsyncClient() as http:
            named = await initialize(http, f"{base}/mcp", Host="mcp.example", **bearer)
            assert named.status_code == 200
            other = await initialize(http, f"{base}/mcp", Host="evil.example", **bearer)
            assert other.status_code == 421


def test_allowed_hosts_setting_is_a_comma_list_and_refuses_urls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IMAGEGEN_ALLOWED_HOSTS", "A.example, b.example:81,::1,,")
    assert load_settings().allowed_hosts == ("a.example", "b.example:81", "[::1]")
    monkeypatch.setenv("IMAGEGEN_ALLOWED_HOSTS", "https://a.example/")
    with pytest.raises(ConfigError, match="IMAGEGEN_ALLOWED_HOSTS"):
        load_settings()
