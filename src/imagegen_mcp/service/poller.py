"""One background poller for every open task, and the saving of finished results.

It keeps polling whether or not anyone waits, saves images as soon as a task completes, and at
start-up resumes every open task in the store. A single loop sleeps until the earliest due task
(or until woken by a new task or a callback); each poll runs in the loop's task group, bounded by
a limiter, and every upstream request passes the client's global rate cap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
import anyio.abc

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.schemas import UpstreamTask
from imagegen_mcp.errors import CREATE_NOT_SENT, ImagegenError, StorageError, UpstreamNotFound
from imagegen_mcp.models import CALLER_FIXABLE_CODES, Task, TaskError
from imagegen_mcp.service.schedule import PollPolicy, ProgressTrack, next_delay
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.files import ImageSaver
from imagegen_mcp.storage.owner import owner_gone

log = logging.getLogger(__name__)

RESULT_TTL = 24 * 3600.0


@dataclass(frozen=True)
class PollerConfig:
    policy: PollPolicy = field(default_factory=PollPolicy)
    result_ttl: float = RESULT_TTL
    concurrency: int = 32
    error_backoff: float = 5.0  # after a failed GET or download (retries already spent)
    storage_backoff: float = 30.0  # after a disk error
    stale_submit: float = 300.0  # an unanswered create older than this is declared unknown


def upstream_status(up: UpstreamTask) -> str:
    """Our status for an upstream status string (unknown ones count as still running)."""
    if up.status in ("completed", "succeeded", "success"):
        return "completed"
    if up.status in ("failed", "error", "cancelled", "canceled"):
        return "failed"
    return "pending" if up.status == "pending" else "processing"


def unanswered_create(cause: str, *, sent: bool) -> tuple[str, TaskError]:
    """How a create that got no answer is settled: ``unknown`` if it may have left (it may have
    been charged), else ``failed`` with ``create_not_sent`` (the same client_request_id sends
    it again)."""
    if sent:
        return "unknown", TaskError(
            code="ambiguous_create",
            message=f"{cause} after this task's create may have been sent: it may have been "
            "created and charged. Check the EvoLink dashboard before retrying.",
            retryable=False,
        )
    return "failed", TaskError(
        code=CREATE_NOT_SENT,
        message=f"{cause} before this task's create was sent: nothing was created or charged. "
        "Call the tool again; the same client_request_id sends it.",
        retryable=True,
    )


def task_error(up: UpstreamTask) -> TaskError:
    if up.error is not None:
        code, message = up.error.code, up.error.message
    elif up.status in ("cancelled", "canceled"):
        code, message = "request_cancelled", "The task was cancelled upstream."
    else:
        code, message = "unknown_error", "The upstream reported failure without details."
    return TaskError(code=code, message=message, retryable=code not in CALLER_FIXABLE_CODES)


class Poller:
    def __init__(
        self,
        store: TaskStore,
        client: EvoLinkClient,
        saver: ImageSaver,
        notify: Callable[[str], None],
        config: PollerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._client = client
        self._saver = saver
        self._notify = notify
        self._config = config
        self._clock = clock
        self._due: dict[str, float] = {}
        self._tracks: dict[str, ProgressTrack] = {}
        self._in_flight: set[str] = set()
        self._corrupt: dict[str, int] = {}
        self._wake = anyio.Event()
        self._limiter = anyio.CapacityLimiter(config.concurrency)
        self.gets = 0  # task GETs sent, for benchmarks

    # --- scheduling -------------------------------------------------------------------------

    def track(self, task_id: str, estimate: float | None, *, poll_in: float | None = None) -> None:
        """Start polling a task that was just submitted (or resumed)."""
        now = self._clock()
        self._tracks[task_id] = ProgressTrack(submitted=now, estimate=estimate)
        delay = (
            poll_in
            if poll_in is not None
            else next_delay(self._tracks[task_id], now, self._config.policy)
        )
        self.schedule(task_id, delay)

    def schedule(self, task_id: str, delay: float) -> None:
        self._due[task_id] = self._clock() + max(0.0, delay)
        self._wake.set()

    def poll_now(self, task_id: str) -> None:
        self.schedule(task_id, 0.0)

    async def resume(self) -> int:
        """Pick up every open task in the store.

        A task still ``submitting`` whose process has died is settled at once: ``failed`` with
        ``create_not_sent`` if its create never went on the wire (the same client_request_id may
        send it again), else ``unknown``. One that may belong to another live process sharing
        the store (the CLI beside a server) is only settled once it has been left for
        ``stale_submit`` seconds.
        """
        resumed = 0
        for task in await self._store.open_tasks():
            if task.status == "submitting" or task.upstream_id is None:
                self.schedule(task.id, self._submit_wait(task))
                continue
            self.track(task.id, task.estimated_time, poll_in=0.0)
            resumed += 1
        return resumed

    def _submit_wait(self, task: Task) -> float:
        """Seconds before an unanswered create may be settled as ``unknown`` (0: now)."""
        if owner_gone(task.owner):
            return 0.0
        age = time.time() - task.updated_at.timestamp()
        return max(0.0, self._config.stale_submit - age)

    async def _expire_submit(self, task: Task) -> None:
        wait = self._submit_wait(task)
        if wait > 0:
            self.schedule(task.id, wait)
            return
        status, error = unanswered_create("The server stopped", sent=task.sent_at is not None)
        # Only as read: a task whose owner or sent state changed meanwhile is left alone.
        if await self._store.settle_orphan(task, status, error):
            self._notify(task.id)
        self._forget(task.id)

    async def run(self) -> None:
        """The loop: sleep until the earliest due task or a wake-up, then start due polls."""
        async with anyio.create_task_group() as tg:
            while True:
                self._wake = anyio.Event()
                now = self._clock()
                for task_id, due in list(self._due.items()):
                    if due <= now and task_id not in self._in_flight:
                        del self._due[task_id]
                        self._in_flight.add(task_id)
                        tg.start_soon(self._poll_guarded, task_id)
                pending = [d for t, d in self._due.items() if t not in self._in_flight]
                timeout = (min(pending) - now) if pending else None
                with anyio.move_on_after(timeout):
                    await self._wake.wait()

    # --- one poll ---------------------------------------------------------------------------

    async def _poll_guarded(self, task_id: str) -> None:
        try:
            async with self._limiter:
                await self._poll(task_id)
        except ImagegenError as exc:
            log.warning("task %s: %s", task_id, exc)
            self.schedule(task_id, self._config.error_backoff)
        except Exception:
            # A bug must not stop the poller for every other task; log and retry later.
            log.exception("task %s: unexpected error while polling", task_id)
            self.schedule(task_id, self._config.storage_backoff)
        finally:
            self._in_flight.discard(task_id)
            self._wake.set()

    async def _poll(self, task_id: str) -> None:
        task = await self._store.get(task_id)
        if task is not None and task.status == "submitting":
            await self._expire_submit(task)
            return
        if task is None or task.is_terminal or task.upstream_id is None:
            self._forget(task_id)
            return
        if task.result_urls:  # finished upstream already; only saving is left
            await self._save(task)
            return
        try:
            self.gets += 1
            up = await self._client.get_task(task.upstream_id)
        except UpstreamNotFound as exc:
            await self._finish(
                task, "failed", TaskError(code="task_not_found", message=str(exc), retryable=False)
            )
            return
        status = upstream_status(up)
        track = self._tracks.setdefault(
            task_id, ProgressTrack(submitted=self._clock(), estimate=task.estimated_time)
        )
        track.observe(self._clock(), up.progress)
        if up.task_info.estimated_time and track.estimate is None:
            track.estimate = up.task_info.estimated_time
        if status == "failed":
            await self._finish(task, "failed", task_error(up))
        elif status == "completed":
            now = time.time()
            task = await self._store.update(
                task_id,
                status="processing",
                progress=100,
                result_urls=up.results,
                results_expire_at=now + self._config.result_ttl,
                completed_at=now,
            )
            self._notify(task_id)
            await self._save(task)
        else:
            if (status, up.progress) != (task.status, task.progress):
                await self._store.update(task_id, status=status, progress=up.progress)
                self._notify(task_id)
            self.schedule(task_id, next_delay(track, self._clock(), self._config.policy))

    # --- saving -----------------------------------------------------------------------------

    async def _save(self, task: Task) -> None:
        if not task.result_urls:
            await self._finish(
                task,
                "failed",
                TaskError(
                    code="generation_failed_no_content",
                    message="The task completed upstream without any image.",
                    retryable=True,
                ),
            )
            return
        saved = {img.index for img in task.images}
        expires = task.results_expire_at
        errors: list[ImagegenError] = []
        async with anyio.create_task_group() as tg:
            for index, url in enumerate(task.result_urls):
                if index not in saved:
                    tg.start_soon(self._save_one, task, index, url, expires, errors)
        task = await self._reload(task)
        if not errors:
            self._corrupt.pop(task.id, None)
            await self._saver.write_sidecar(task)
            await self._finish(task, "completed", None)
            return
        expired = expires is not None and time.time() > expires.timestamp()
        if expired or any(isinstance(e, UpstreamNotFound) for e in errors):
            await self._finish(task, "expired", _expired_error())
            return
        storage = [e for e in errors if isinstance(e, StorageError)]
        if storage:
            error = TaskError(code="storage_error", message=str(storage[0]), retryable=True)
            await self._store.update(task.id, error=error)
            self._notify(task.id)
            self.schedule(task.id, self._config.storage_backoff)
            return
        attempts = self._corrupt.get(task.id, 0) + 1
        self._corrupt[task.id] = attempts
        delay = self._config.error_backoff * min(attempts, 6)
        log.warning("task %s: download failed (%s); retrying in %gs", task.id, errors[0], delay)
        self.schedule(task.id, delay)

    async def _save_one(
        self,
        task: Task,
        index: int,
        url: str,
        expires: datetime | None,
        errors: list[ImagegenError],
    ) -> None:
        """Download, verify and record one image; failures are collected, not raised."""
        try:
            sink = self._saver.new_sink()
            try:
                await self._client.download(url, sink)
            except BaseException:
                sink.discard()
                raise
            image = await self._saver.commit(
                sink, task=task, index=index, remote_url=url, remote_expires_at=expires
            )
            await self._store.add_image(task.id, image)
        except ImagegenError as exc:
            errors.append(exc)
            return
        self._notify(task.id)

    async def _reload(self, task: Task) -> Task:
        fresh = await self._store.get(task.id)
        return fresh if fresh is not None else task

    async def _finish(self, task: Task, status: str, error: TaskError | None) -> None:
        fields: dict[str, object] = {"status": status, "error": error}
        if status == "completed":
            fields["progress"] = 100
        if task.completed_at is None:
            fields["completed_at"] = datetime.now(UTC).timestamp()
        await self._store.update(task.id, **fields)
        self._forget(task.id)
        self._notify(task.id)

    def _forget(self, task_id: str) -> None:
        self._due.pop(task_id, None)
        self._tracks.pop(task_id, None)
        self._corrupt.pop(task_id, None)


def _expired_error() -> TaskError:
    return TaskError(
        code="results_expired",
        message="The task finished upstream, but its result links expired (they last 24 hours) "
        "before the images could be saved. Generate the image again to get a new one.",
        retryable=True,
    )
