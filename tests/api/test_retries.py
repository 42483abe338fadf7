"""Which failures are retried, and the one INFO line the application logs for each retry."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from stamina.instrumentation import (
    LoggingOnRetryHook,
    RetryDetails,
    get_on_retry_hooks,
    set_on_retry_hooks,
)

from imagegen_mcp.api import retries
from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.retries import NotSent, install_retry_logging, never_sent, transient
from imagegen_mcp.errors import (
    AmbiguousCreate,
    DownloadTooLarge,
    RateLimited,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from imagegen_mcp.sandbox import Sandbox


def test_transient_failures_and_429_are_retried_with_the_retry_after_as_the_wait() -> None:
    assert transient(UpstreamUnavailable("x")) is True
    assert transient(NotSent("x")) is True
    assert transient(RateLimited("x", retry_after=3.0)) == 3.0
    assert transient(RateLimited("x")) is True
    for final in (UpstreamRejected("x"), DownloadTooLarge("x"), ValueError("x")):
        assert transient(final) is False


def test_a_create_is_retried_only_when_it_certainly_created_nothing() -> None:
    assert never_sent(NotSent("x")) is True
    assert never_sent(RateLimited("x", retry_after=2.0)) == 2.0
    assert never_sent(RateLimited("x")) is True
    for maybe_sent in (UpstreamUnavailable("x"), AmbiguousCreate("x"), UpstreamRejected("x")):
        assert never_sent(maybe_sent) is False


class HostHook:
    """A retry hook of the host application's own (metrics, say)."""

    def __init__(self) -> None:
        self.seen: list[RetryDetails] = []

    def __call__(self, details: RetryDetails) -> None:
        self.seen.append(details)


@pytest.fixture
def host_hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostHook]:
    """stamina's default hook plus a host's own, with our logging not yet installed."""
    hook = HostHook()
    before = get_on_retry_hooks()
    monkeypatch.setattr(retries, "_logging", retries._RetryLogging())
    set_on_retry_hooks([LoggingOnRetryHook, hook])
    try:
        yield hook
    finally:
        set_on_retry_hooks(before)


async def test_each_retry_is_one_info_line_and_a_host_s_hooks_are_kept(
    host_hook: HostHook, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    install_retry_logging()
    install_retry_logging()  # a second call changes nothing
    hooks = get_on_retry_hooks()
    assert host_hook in hooks and len(hooks) == 2
    sandbox.faults.queue("get", 503)
    caplog.set_level(logging.DEBUG)
    async with EvoLinkClient(
        api_key=sandbox.api_key, api_base=sandbox.base_url, files_base=sandbox.base_url
    ) as client:
        with pytest.raises(UpstreamNotFound):
            await client.get_task("task-unified-0-missing")
    lines = [r for r in caplog.records if "retry" in r.getMessage()]
    assert [(r.name, r.levelname) for r in lines] == [("imagegen_mcp.api.retries", "INFO")]
    assert lines[0].getMessage().startswith("retry 1 in ")
    assert (
        "Checking task task-unified-0-missing: EvoLink answered HTTP 503" in lines[0].getMessage()
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [d.retry_num for d in host_hook.seen] == [1]


async def test_without_the_application_s_call_stamina_s_own_hooks_stay(
    host_hook: HostHook, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.queue("get", 503)
    async with EvoLinkClient(
        api_key=sandbox.api_key, api_base=sandbox.base_url, files_base=sandbox.base_url
    ) as client:
        with pytest.raises(UpstreamNotFound):
            await client.get_task("task-unified-0-missing")
    assert not [r for r in caplog.records if r.name == "imagegen_mcp.api.retries"]
    assert len(host_hook.seen) == 1


def test_installing_the_retry_log_at_start_up_does_not_import_stamina() -> None:
    code = (
        "import sys\n"
        "import imagegen_mcp.server.app\n"
        "from imagegen_mcp.api.retries import install_retry_logging\n"
        "install_retry_logging()\n"
        "assert 'stamina' not in sys.modules, 'stamina imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
