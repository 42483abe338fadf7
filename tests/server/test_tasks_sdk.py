"""The ``mcp`` SDK shapes protocol tasks build on, pinned: the SDK ships no tasks, so
``server.tasks_core``, ``tasks_legacy`` and ``tasks_protocol`` lean on these. An SDK upgrade that
moves one breaks this test, with a message naming what to adapt, rather than a host in
production (where several would fail silently: a missing header reads as "local", a dict
answer turned model drops the ``tasks`` capability without an error).

The wire tests (``test_protocol_tasks``, ``test_tasks_spec``) pin the behaviour; these pin the
names and signatures."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import mcp_types
from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.session import ServerSession
from mcp.types import CallToolRequestParams, ClientCapabilities, PaginatedRequestParams
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

from imagegen_mcp.server.tasks_owner import creator_of, session_of


def test_the_request_context_still_has_the_fields_protocol_tasks_read() -> None:
    fields = {field.name for field in dataclasses.fields(ServerRequestContext)}
    needed = {"session", "lifespan_context", "protocol_version", "method", "params"}
    needed |= {"request_id", "request"}
    assert needed <= fields, f"ServerRequestContext lost {needed - fields}: adapt tasks_*"


def test_the_session_still_says_what_the_client_declared_and_sends_any_notification() -> None:
    # tasks_legacy/tasks_protocol read client_capabilities (the 2026 envelope's too) and send
    # notifications/tasks/status, which the SDK has no model for, through send_notification.
    assert isinstance(inspect.getattr_static(ServerSession, "client_capabilities"), property)
    assert list(inspect.signature(ServerSession.send_notification).parameters)[:2] == [
        "self",
        "notification",
    ]
    declared = ClientCapabilities.model_validate(
        {"tasks": {"list": {}}, "extensions": {"io.modelcontextprotocol/tasks": {}}}
    )
    assert declared.tasks is not None
    assert declared.extensions == {"io.modelcontextprotocol/tasks": {}}


def test_a_task_field_still_parses_so_a_client_without_tasks_has_it_ignored() -> None:
    params = CallToolRequestParams.model_validate({"name": "list_models", "task": {"ttl": 5}})
    assert params.task is not None and params.task.ttl == 5


def test_extensions_still_bind_methods_per_protocol_version_and_intercept_tool_calls() -> None:
    async def handler(ctx: Any, params: Any) -> dict[str, Any]:
        return {}

    handshake = frozenset(HANDSHAKE_PROTOCOL_VERSIONS)
    binding = MethodBinding("tasks/list", PaginatedRequestParams, handler, handshake)
    assert binding.protocol_versions == handshake and binding.method == "tasks/list"
    intercept = inspect.signature(Extension.intercept_tool_call)
    assert list(intercept.parameters) == ["self", "params", "ctx", "call_next"]
    assert "2025-11-25" in HANDSHAKE_PROTOCOL_VERSIONS
    assert "2026-07-28" in MODERN_PROTOCOL_VERSIONS


def test_errors_still_carry_their_code_and_data() -> None:
    codes = (mcp_types.INVALID_PARAMS, mcp_types.INTERNAL_ERROR, mcp_types.METHOD_NOT_FOUND)
    assert codes == (-32602, -32603, -32601)
    error = MCPError(code=-32021, message="declare it", data={"requiredCapabilities": {}})
    assert (error.code, error.message, error.data) == (
        -32021,
        "declare it",
        {"requiredCapabilities": {}},
    )


class _Request:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def test_who_made_a_handle_comes_from_the_http_request_headers_the_context_carries() -> None:
    def ctx(headers: dict[str, str] | None) -> Any:
        request = None if headers is None else _Request(headers)
        return ServerRequestContext(
            session=None,  # type: ignore[arg-type]  # not read by creator_of/session_of
            lifespan_context=None,
            protocol_version="2025-11-25",
            method="tasks/get",
            request=request,
        )

    token = ctx({"authorization": "Bearer secret", "mcp-session-id": "s1"})
    assert creator_of(token).startswith("token:") and "secret" not in creator_of(token)
    assert session_of(token) is not None and "s1" not in str(session_of(token))
    assert creator_of(ctx({})) == creator_of(ctx(None)) == "local"
