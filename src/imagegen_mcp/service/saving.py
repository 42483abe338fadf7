"""Saving a finished task's images: download each result link, verify it, save it once.

Every image is saved whether or not anyone waits. Already saved indexes are skipped, so a retry
(or another process) never saves one twice. ``save`` says when to try again: soon after a
failed download (backing off while it keeps failing), later after a disk error (the task shows
it meanwhile), never once the task is settled: completed, failed without content, or expired.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import anyio

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.errors import ImagegenError, StorageError, UpstreamNotFound
from imagegen_mcp.models import SavedImage, Task, TaskError
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.files import ImageSaver

log = logging.getLogger(__name__)

Final = Literal["completed", "failed", "expired"]


@dataclass(frozen=True)
class SavingConfig:
    error_backoff: float = 5.0  # after a failed download (its retries already spent)
    storage_backoff: float = 30.0  # after a disk error
    #: Rounds of downloads (each already retried by the client) before a task is given up on:
    #: corrupt or unsupported bytes never get better, and links last a day.
    max_attempts: int = 8


def expired_error() -> TaskError:
    return TaskError(
        code="results_expired",
        message="The task finished upstream, but its result links expired (they last 24 hours) "
        "before the images could be saved. Generate the image again to get a new one.",
        retryable=True,
    )


@dataclass(eq=False)
class ResultSaver:
    store: TaskStore
    client: EvoLinkClient
    files: ImageSaver
    notify: Callable[[str], None]  # a task changed: wake whoever waits for it
    config: SavingConfig
    _failures: dict[str, int] = field(default_factory=dict, init=False)

    async def save(self, task: Task) -> float | None:
        """Save every image of a task that finished upstream; seconds until the next try, or
        None once the task is settled."""
        if not task.result_urls:
            error = TaskError(
                code="generation_failed_no_content",
                message="The task completed upstream without any image.",
                retryable=True,
            )
            await self._finish(task, "failed", error)
            return None
        saved = {img.index for img in task.images}
        expires = task.results_expire_at
        errors: list[ImagegenError] = []
        async with anyio.create_task_group() as tg:
            for index, url in enumerate(task.result_urls):
                if index not in saved:
                    tg.start_soon(self._save_one, task, index, url, expires, errors)
        task = await self.store.get(task.id) or task
        if not errors:
            await self.files.write_sidecar(task)
            await self._finish(task, "completed", None)
            return None
        expired = expires is not None and time.time() > expires.timestamp()
        if expired or any(isinstance(e, UpstreamNotFound) for e in errors):
            await self._finish(task, "expired", expired_error())
            return None
        storage = [e for e in errors if isinstance(e, StorageError)]
        if storage:
            error = TaskError(code="storage_error", message=str(storage[0]), retryable=True)
            await self.store.note_error(task.id, error)
            self.notify(task.id)
            return self.config.storage_backoff
        attempts = self._failures.get(task.id, 0) + 1
        self._failures[task.id] = attempts
        if attempts >= self.config.max_attempts or not any(e.retryable for e in errors):
            error = TaskError(
                code="download_failed",
                message=f"The task finished upstream, but its images could not be downloaded "
                f"intact ({attempts} attempt(s); last: {errors[0]}). Generate the image again.",
                retryable=True,
            )
            await self._finish(task, "failed", error)
            return None
        delay = self.config.error_backoff * min(attempts, 6)
        log.warning("task %s: download failed (%s); retrying in %gs", task.id, errors[0], delay)
        return delay

    async def restore(self, task: Task, image: SavedImage) -> bool:
        """Download a saved image again (its file was deleted or damaged) while its link is
        still valid; whether it is saved again."""
        expires = image.remote_expires_at
        if image.remote_url is None or expires is None or time.time() >= expires.timestamp():
            return False
        errors: list[ImagegenError] = []
        await self._save_one(task, image.index, image.remote_url, expires, errors)
        if errors:
            log.warning("task %s: image %d not saved again: %s", task.id, image.index, errors[0])
        return not errors

    def forget(self, task_id: str) -> None:
        self._failures.pop(task_id, None)

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
            sink = self.files.new_sink()
            try:
                await self.client.download(url, sink)
            except BaseException:
                sink.discard()
                raise
            image = await self.files.commit(
                sink, task=task, index=index, remote_url=url, remote_expires_at=expires
            )
            await self.store.add_image(task.id, image)
        except ImagegenError as exc:
            errors.append(exc)
            return
        self.notify(task.id)

    async def _finish(self, task: Task, status: Final, error: TaskError | None) -> None:
        self.forget(task.id)
        await self.store.finish(task.id, status, error)
        self.notify(task.id)
