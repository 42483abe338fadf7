"""The fuzz harness: a sandbox, a server and an MCP client in one event loop; calls checked here.

``Harness.open`` starts the in-process sandbox (which accepts only the canary key), builds the
server on it with the tests' fast poller and connects an in-memory ``mcp.Client``.
``Harness.execute`` makes one call, checks every property on its answer, then checks the server
still answers ``list_tasks``. ``run_in_portal`` keeps a harness open in a blocking portal, so a
synchronous hypothesis test (or script) calls into one event loop and tasks made by earlier
calls feed later ones.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.app import build_server
from tests.support.fuzz.calls import TOOLS, CallRecord, CallSpec
from tests.support.fuzz.corpus import corpus
from tests.support.fuzz.files import Files, make_files
from tests.support.fuzz.properties import (
    KEY,
    check_alive,
    check_error_text,
    check_tool_result,
    leaks_key,
    unquiet_loggers,
)
from tests.support.fuzz.strategies import Strategies
from tests.support.settings import FAST_POLLER, make_settings


def sandbox_config(task_duration: float, seed: int) -> SandboxConfig:
    return SandboxConfig(
        api_keys=frozenset({KEY}),
        task_duration=task_duration,
        credits=1e12,
        max_files=1_000_000,
        seed=seed,
    )


class Harness:
    """Makes fuzzed calls and keeps a record of each, with the properties it failed."""

    def __init__(
        self, sb: Sandbox, client: Client, strategies: Strategies, *, call_timeout: float
    ) -> None:
        self.sb = sb
        self.client = client
        self.strategies = strategies
        self.call_timeout = call_timeout
        self.records: list[CallRecord] = []
        self.alive_calls = 0

    @property
    def files(self) -> Files:
        return self.strategies.files

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        root: Path,
        *,
        task_duration: float = 0.05,
        max_wait: float = 1.0,
        wait_seconds: float = 1.0,
        call_timeout: float = 60.0,
        seed: int = 0,
    ) -> AsyncIterator[Harness]:
        files = make_files(root)
        async with Sandbox(sandbox_config(task_duration, seed)) as sb:
            settings = make_settings(
                sb, files.allowed / "home", api_key=KEY, wait_seconds=wait_seconds
            )
            server = build_server(settings, poller=FAST_POLLER)
            unquiet_loggers()
            async with Client(server) as client:
                listed = (await client.list_tools()).tools
                schemas = {t.name: t.input_schema for t in listed}
                missing = set(TOOLS) - set(schemas)
                assert not missing, f"tools missing from list_tools: {missing}"
                strategies = Strategies(schemas, files, sb.base_url, max_wait=max_wait)
                yield cls(sb, client, strategies, call_timeout=call_timeout)

    def corpus(self) -> list[CallSpec]:
        """Every hand-written hostile value once, in the slot it targets."""
        return corpus(self.files, self.sb.base_url)

    @property
    def specs(self) -> st.SearchStrategy[CallSpec]:
        return self.strategies.call_specs()

    def _group(self, spec: CallSpec) -> str:
        if spec.kind == "resource":
            if spec.target == "image://recent":
                return "resource:image://recent"
            return "resource:image://{task_id}/{index}"
        return spec.target if spec.target in self.strategies.schemas else "unknown-tool"

    def _arm_fault(self, spec: CallSpec) -> None:
        if spec.fault is None:
            return
        if spec.fault[0] == "task":
            self.sb.config.faults.fail_tasks = 1
        else:
            self.sb.config.faults.queue(*spec.fault)

    async def execute(self, spec: CallSpec) -> CallRecord:
        """Make one call, check every property, then check the server still answers."""
        record = CallRecord(
            index=len(self.records),
            group=self._group(spec),
            category=spec.category,
            outcome="?",
            seconds=0.0,
        )
        started = time.perf_counter()
        dumped = ""
        self._arm_fault(spec)
        try:
            with anyio.fail_after(self.call_timeout):
                if spec.kind == "tool":
                    result = await self.client.call_tool(spec.target, spec.args)
                    dumped = result.model_dump_json()
                    record.outcome, record.error, failures = check_tool_result(result, record.group)
                    record.failures += failures
                    self._remember(result.structured_content)
                else:
                    read = await self.client.read_resource(spec.target, cache_mode="bypass")
                    dumped = read.model_dump_json()
                    record.outcome = "ok"
                    if not read.contents:
                        record.failures.append("answered: a resource read with no contents")
        except MCPError as exc:
            record.outcome = "protocol_error"
            dumped = f"{exc} {exc.error.model_dump_json()}"
            record.error = str(exc)[:300]
            if spec.kind == "tool":
                record.failures.append(f"answered: tool call raised MCPError {exc.error.code}")
            record.failures += check_error_text(str(exc))
        except TimeoutError:
            record.outcome = "timeout"
            record.failures.append(f"answered: no answer within {self.call_timeout:g} s")
        except Exception as exc:
            record.outcome = "exception"
            dumped = repr(exc)
            record.error = repr(exc)[:300]
            record.failures.append(f"answered: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            self.sb.config.faults.clear()
        record.seconds = time.perf_counter() - started
        if leaks_key(dumped):
            record.failures.append("no_key: the API key is in the result")
        record.failures += await self._check_alive()
        if record.failures:
            record.spec = spec.short(2000)
        self.records.append(record)
        return record

    def _remember(self, data: dict[str, Any] | None) -> None:
        """Tasks made so far feed later draws (task ids, ``image://`` URIs)."""
        if isinstance(data, dict) and data.get("task_id"):
            self.strategies.known[str(data["task_id"])] = len(data.get("images") or [])

    async def _check_alive(self) -> list[str]:
        self.alive_calls += 1
        try:
            with anyio.fail_after(30):
                alive = await self.client.call_tool("list_tasks", {"limit": 30})
        except Exception as exc:
            return [f"alive: list_tasks raised {type(exc).__name__}: {exc}"]
        failures = check_alive(alive)
        if not failures and isinstance(alive.structured_content, dict):
            for task in alive.structured_content["tasks"]:
                self.strategies.known[task["task_id"]] = task["images_saved"]
        return failures

    async def final_checks(self) -> dict[str, str | None]:
        """Run-level properties that need the server: list_tools at the end."""
        try:
            with anyio.fail_after(30):
                names = {t.name for t in (await self.client.list_tools()).tools}
            missing = set(TOOLS) - names
            listed = f"missing tools {sorted(missing)}" if missing else None
        except Exception as exc:
            listed = f"list_tools raised {type(exc).__name__}: {exc}"
        return {"tools_listed_at_end": listed}


class PortalRunner:
    """Keeps a ``Harness`` open in a blocking portal, for sync hypothesis tests to call into."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, harness: Harness) -> None:
        self.portal = portal
        self.harness = harness

    def call(self, spec: CallSpec) -> CallRecord:
        return self.portal.call(self.harness.execute, spec)

    def final_checks(self) -> dict[str, str | None]:
        return self.portal.call(self.harness.final_checks)


@contextlib.contextmanager
def run_in_portal(root: Path, **options: Any) -> Iterator[PortalRunner]:
    """``Harness.open(root, **options)`` in a blocking portal, for synchronous callers."""
    with anyio.from_thread.start_blocking_portal(backend="asyncio") as portal:
        cm = Harness.open(root, **options)
        with portal.wrap_async_context_manager(cm) as harness:
            yield PortalRunner(portal, harness)
