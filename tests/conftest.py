"""Shared fixtures: a sandbox over real loopback HTTP, settings in a temp home, a running engine."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import stamina

from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.engine import TaskEngine
from tests.support.settings import FAST_POLLER, make_settings

__all__ = ["FAST_POLLER", "make_settings"]  # tests import them from here too


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    # Every async test runs under anyio's plugin, which keeps an async fixture's setup and
    # teardown in one task: the sandbox and the engine hold task groups across the yield.
    # Marking here, before collection, lets the plugin parametrize the backend.
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    # No backoff sleeps in tests, but keep up to four attempts so retry behaviour is exercised.
    with stamina.set_testing(True, attempts=4, cap=True):
        yield


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(task_duration=0.05, seed=1)


@pytest.fixture
async def sandbox(sandbox_config: SandboxConfig) -> AsyncIterator[Sandbox]:
    async with Sandbox(sandbox_config) as sb:
        yield sb


@pytest.fixture
def settings(sandbox: Sandbox, tmp_path: Path) -> Settings:
    return make_settings(sandbox, tmp_path / "home")


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[TaskEngine]:
    async with open_engine(settings, poller=FAST_POLLER) as eng:
        yield eng
