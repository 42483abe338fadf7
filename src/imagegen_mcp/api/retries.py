"""When an upstream request is tried again, and how a retry is logged.

Task GETs, uploads and downloads are retried on connect errors, timeouts, dropped connections,
429 and 5xx (``transient``). A create makes paid work and has no idempotency key: it is retried
only when it provably never reached the server or was refused with 429 (``never_sent``). Backoff
is capped and jittered; a 429's Retry-After is honoured.

stamina (with tenacity, about 20 modules) is imported on the first retried request, never at
import time, so it stays off the server's start-up path.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imagegen_mcp.errors import RateLimited, UpstreamUnavailable

if TYPE_CHECKING:
    from stamina import Attempt
    from stamina.instrumentation import RetryDetails

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts one request gets, within how many seconds, and the backoff bounds."""

    attempts: int = 4
    timeout: float = 60.0
    wait_initial: float = 0.5
    wait_max: float = 8.0


class NotSent(UpstreamUnavailable):
    """The request never reached the server: safe to resend even a create."""


def _retry_on(exc: Exception, kind: type[Exception]) -> bool | float:
    # stamina takes a float as the wait before the next attempt: a 429's Retry-After.
    if isinstance(exc, RateLimited):
        return exc.retry_after if exc.retry_after is not None else True
    return isinstance(exc, kind)


def transient(exc: Exception) -> bool | float:
    """Retry rule of requests that are safe to resend: any transient failure, and 429."""
    return _retry_on(exc, UpstreamUnavailable)


def never_sent(exc: Exception) -> bool | float:
    """Retry rule of a create: only what certainly created nothing."""
    return _retry_on(exc, NotSent)


def retry_context(
    policy: RetryPolicy, on: Callable[[Exception], bool | float]
) -> AsyncIterable[Attempt]:
    """stamina's attempts for one request (``async for attempt in ...: with attempt: ...``)."""
    import stamina

    if _logging.wanted:
        _install_retry_log()
    return stamina.retry_context(
        on=on,
        attempts=policy.attempts,
        timeout=policy.timeout,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
    )


class _RetryLogging:
    """Process-wide state of the retry log, in one object a test can swap for a fresh one."""

    wanted = False  # the application asked for it
    installed = False  # stamina's hooks are process-wide: ours goes in once


_logging = _RetryLogging()


def install_retry_logging() -> None:
    """Log each retry as one INFO line saying what is retried and why, in place of stamina's
    WARNING (a bare "stamina.retry_scheduled" in the host's log); hooks a host installed are
    kept. The final failure is logged by whoever handles it.

    Global retry hooks belong to the application, not to a library: the application calls this
    once as it starts. It takes effect on the first retried request (or now, when stamina is
    already loaded), so start-up does not import stamina.
    """
    _logging.wanted = True
    if "stamina" in sys.modules:
        _install_retry_log()


def _install_retry_log() -> None:
    if _logging.installed:
        return
    from stamina.instrumentation import (
        LoggingOnRetryHook,
        get_on_retry_hooks,
        set_on_retry_hooks,
    )

    default = getattr(LoggingOnRetryHook.hook_factory(), "__qualname__", None)
    kept = [h for h in get_on_retry_hooks() if getattr(h, "__qualname__", "") != default]
    set_on_retry_hooks([*kept, _log_retry])
    _logging.installed = True


def _log_retry(details: RetryDetails) -> None:
    log.info("retry %d in %.1f s: %s", details.retry_num, details.wait_for, details.caused_by)
