"""Settings wired to a sandbox, and the poller intervals for sub-second sandbox tasks."""

from __future__ import annotations

from pathlib import Path

from imagegen_mcp.models import TaskRequest
from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox
from imagegen_mcp.server.settings import Settings, load_settings
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.service.schedule import PollPolicy

#: Short intervals so sandbox tasks of a fraction of a second finish quickly. The sandbox, like
#: the upstream, estimates at least 1 s, so the first poll comes after ``approach`` of that.
FAST_POLLER = PollerConfig(
    policy=PollPolicy(
        near_interval=0.05, min_interval=0.02, max_interval=0.5, overdue_max=0.2, approach=0.1
    ),
    error_backoff=0.05,
    storage_backoff=0.1,
)

#: A generous bound on any wait for a sandbox task, which takes a fraction of a second.
WAIT = 20.0


def make_settings(
    sb: Sandbox,
    home: Path,
    *,
    api_key: str = SANDBOX_API_KEY,
    max_requests_per_second: float = 1000.0,
    **extra: object,
) -> Settings:
    """Settings on ``sb`` with ``home`` as the home; the allowed folder is ``home``'s parent.

    No rate cap to speak of by default: tests measure the poller and the tools, not the limiter.
    """
    return load_settings(
        EVOLINK_API_KEY=api_key,
        api_base=sb.base_url,
        files_base=sb.base_url,
        home=home,
        allowed_dirs=(home.parent,),
        max_requests_per_second=max_requests_per_second,
        **extra,
    )


def req(prompt: str = "a red fox", **kw: object) -> TaskRequest:
    """A task request with test defaults; ``kw`` as ``TaskRequest`` takes them."""
    return TaskRequest.model_validate({"prompt": prompt, **kw})
