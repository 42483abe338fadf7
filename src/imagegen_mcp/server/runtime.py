"""Assembling the engine from settings: the one place that turns settings into plain values.

The whole engine stack loads with this module: ``serve`` imports it only once the server
answers (``server.app``), and checks its start-up with ``server.startup``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.ratelimit import RateLimiter
from imagegen_mcp.api.retries import install_retry_logging
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.engine import EngineConfig, TaskEngine
from imagegen_mcp.service.inputs import ImageInputs
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.files import ImageSaver


@asynccontextmanager
async def open_engine(
    settings: Settings, *, poller: PollerConfig | None = None
) -> AsyncIterator[TaskEngine]:
    """Open the store and HTTP client, run the poller, and close everything on exit.

    ``poller`` overrides the polling policy (tests and benchmarks use short intervals).
    """
    api_key = settings.require_api_key()
    install_retry_logging()
    store = await TaskStore.open(settings.db_path)
    try:
        async with EvoLinkClient(
            api_key=api_key,
            api_base=settings.api_base,
            files_base=settings.files_base,
            limiter=RateLimiter(settings.max_requests_per_second),
        ) as client:
            engine = TaskEngine(
                store,
                client,
                ImageSaver(settings.images_dir),
                EngineConfig(
                    poller=poller or PollerConfig(),
                    daily_budget=settings.max_credits_per_day,
                    public_url=settings.public_url,
                ),
            )
            async with engine.running():
                yield engine
    finally:
        await store.aclose()


def image_inputs(settings: Settings, engine: TaskEngine) -> ImageInputs:
    """The resolver for caller-supplied images (paths, data URIs, URLs, image:// URIs)."""
    hosts = {urlsplit(base).netloc for base in (settings.api_base, settings.files_base)}
    return ImageInputs(
        engine=engine,
        allowed_dirs=settings.input_dirs,
        trusted_hosts=frozenset(h for h in hosts if h),
    )
