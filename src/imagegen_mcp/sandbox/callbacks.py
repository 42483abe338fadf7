"""Callback delivery: the one piece of background work the sandbox does.

Task state is computed from the clock, so nothing "happens" when a task finishes. This loop
watches only tasks that asked for a callback, notices when they are due (also after
``Sandbox.advance``), settles them and POSTs the task detail with the upstream's retry schedule.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import anyio
import httpx2

from imagegen_mcp.netaddr import is_loopback
from imagegen_mcp.sandbox.state import SandboxState
from imagegen_mcp.sandbox.tasks import TaskRecord, task_detail

_log = logging.getLogger(__name__)

# Short enough that advance() feels immediate in tests, long enough to cost nothing.
_POLL_INTERVAL = 0.02


class CallbackDispatcher:
    """Fires each task's callback once, after it reaches a terminal state."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._waiting: dict[str, TaskRecord] = {}
        self._wake: anyio.Event | None = None

    def watch(self, task: TaskRecord) -> None:
        """Called (in the event loop) for every created task."""
        if task.params.callback_url is None:
            return
        self._waiting[task.id] = task
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Deliver callbacks until cancelled."""
        async with anyio.create_task_group() as group:
            while True:
                if not self._waiting:
                    self._wake = anyio.Event()
                    await self._wake.wait()
                due = [task for task in self._waiting.values() if task.is_due]
                for task in due:
                    del self._waiting[task.id]
                    group.start_soon(self._deliver_logged, task)
                await anyio.sleep(_POLL_INTERVAL)

    async def _deliver_logged(self, task: TaskRecord) -> None:
        try:
            await self._deliver(task)
        except Exception:  # noqa: BLE001 - one broken delivery must not stop all the others
            _log.exception("sandbox callback for %s failed", task.id)

    async def _deliver(self, task: TaskRecord) -> None:
        state = self._state
        url = task.params.callback_url
        await state.settle(task)
        # The sandbox has no network: a public (strict-mode) URL could never be reached.
        if url is None or not state.base_url or not is_loopback(urlsplit(url).hostname):
            return
        body = task_detail(task, state.base_url)
        delays = (0.0, *state.config.callback_retry_delays)
        for delay in delays:
            if delay:
                await anyio.sleep(delay)
            task.callback_attempts += 1
            state.counters.callback_attempts += 1
            try:
                response = await state.http().post(
                    url, json=body, timeout=state.config.callback_timeout
                )
            except httpx2.HTTPError:
                continue
            if 200 <= response.status_code < 300:
                task.callback_delivered = True
                state.counters.callbacks_sent += 1
                return
        state.counters.callbacks_failed += 1
