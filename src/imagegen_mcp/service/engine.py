"""The task engine: submit, wait, look up. The MCP tools, the CLI and the HTTP app all use it.

It composes the parts, each in its own module: ``submit`` (sending a create and settling it),
``poller`` (when each open task is looked at), ``saving`` (downloading and saving results).
Guarantees: the intent is on disk before the create POST; a create with an ambiguous outcome is
never resent (the task becomes ``unknown``); a repeated ``client_request_id`` returns the
existing task instead of paying again; a daily credit budget refuses new tasks once reached;
the background poller saves every result whether or not anyone waits; cancelling a wait never
cancels the task.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.errors import (
    BudgetExceeded,
    ImageNotFound,
    InputError,
    StorageError,
    TaskNotFound,
)
from imagegen_mcp.models import SavedImage, Task, TaskRequest, TaskStatus
from imagegen_mcp.service.poller import Poller, PollerConfig
from imagegen_mcp.service.saving import ResultSaver, SavingConfig
from imagegen_mcp.service.submit import SubmitConfig, Submitter
from imagegen_mcp.service.validation import check_request
from imagegen_mcp.service.wire import callback_path
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.files import ImageSaver
from imagegen_mcp.storage.intents import over_budget

__all__ = ["EngineConfig", "ProgressCallback", "Spend", "TaskEngine", "callback_path"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Task], Awaitable[None]]

UPLOAD_TTL = 72 * 3600.0  # how long EvoLink keeps an uploaded file
UPLOAD_MIN_REMAINING = 3600.0  # reuse a cached upload only if it stays valid this long


@dataclass(frozen=True)
class EngineConfig:
    poller: PollerConfig = field(default_factory=PollerConfig)
    daily_budget: float | None = None
    public_url: str | None = None  # where upstream callbacks can reach our HTTP app


class NotGiven(enum.Enum):
    """Marks an argument not passed where None is a meaningful value."""

    TOKEN = enum.auto()


NOT_GIVEN = NotGiven.TOKEN


@dataclass(frozen=True)
class Spend:
    """Credits reserved in the last 24 hours, and the daily budget they count against."""

    last_24h: float
    budget: float | None  # None: no daily budget

    @property
    def left(self) -> float | None:
        return None if self.budget is None else max(0.0, self.budget - self.last_24h)


class TaskEngine:
    def __init__(
        self,
        store: TaskStore,
        client: EvoLinkClient,
        saver: ImageSaver,
        config: EngineConfig | None = None,
    ) -> None:
        # Public for tests and benchmarks, which observe and fault them; the product goes
        # through the methods below.
        self.store = store
        self.client = client
        self.saver = saver
        self.config = config or EngineConfig()
        self._events: dict[str, anyio.Event] = {}
        polling = self.config.poller
        saving = ResultSaver(
            store,
            client,
            saver,
            self._notify,
            SavingConfig(
                error_backoff=polling.error_backoff,
                storage_backoff=polling.storage_backoff,
                max_attempts=polling.download_attempts,
            ),
        )
        self._saving = saving
        self.poller = Poller(store, client, saving, self._notify, polling)
        self._submitter = Submitter(
            store,
            client,
            self.poller,
            self._notify,
            SubmitConfig(
                daily_budget=self.config.daily_budget,
                public_url=self.config.public_url,
                stale_submit=polling.stale_submit,
            ),
        )

    @property
    def output_dir(self) -> Path:
        """The folder results are saved in."""
        return self.saver.output_dir

    @asynccontextmanager
    async def running(self) -> AsyncIterator[TaskEngine]:
        """Run the background poller (resuming open tasks) for the life of the block."""
        await self.saver.prepare()
        await self.poller.resume()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.poller.run)
                try:
                    yield self
                finally:
                    tg.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # The poller never raises, so a group holds the caller's own error: give it back
            # unwrapped, as if no task group were involved.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def submit(self, request: TaskRequest, *, client_request_id: str | None = None) -> Task:
        """Create an upstream task (or return the one with the same ``client_request_id``).

        Raises ``InputError``, ``BudgetExceeded`` or ``UpstreamError`` when nothing was created.
        An ambiguous create returns the task with status ``unknown`` and never resends it.
        """
        request = check_request(request)
        return await self._submitter.submit(request, client_request_id=client_request_id)

    async def estimate(self, request: TaskRequest) -> float | None:
        """Credits ``request`` (as ``check_request`` returns it) is expected to cost: what the
        daily budget reserves for it. None: not known yet (no catalog price, no charge seen for
        its model and tier)."""
        return await self._submitter.estimate(request)

    async def check_budget(
        self, request: TaskRequest, *, estimate: float | NotGiven | None = NOT_GIVEN
    ) -> None:
        """Refuse (``BudgetExceeded``) a request the daily budget certainly cannot take, before
        its inputs are uploaded; the create's own check stays the one that reserves. A caller
        that has ``estimate(request)`` already passes it rather than have it looked up again."""
        budget = self.config.daily_budget
        if budget is None:
            return
        if isinstance(estimate, NotGiven):
            estimate = await self.estimate(request)
        refusal = over_budget(await self.store.spent_in_budget_window(), budget, estimate)
        if refusal is not None:
            raise BudgetExceeded(refusal)

    async def spend(self) -> Spend:
        return Spend(await self.store.spent_in_budget_window(), self.config.daily_budget)

    async def upload_image(self, data: bytes, mime_type: str, *, sha256: str, name: str) -> str:
        """A URL the upstream can fetch for these image bytes: an earlier upload of the same
        bytes while it stays valid, else a new upload."""
        cached = await self.store.cached_upload(sha256, valid_for=UPLOAD_MIN_REMAINING)
        if cached is not None:
            return cached
        uploaded = await self.client.upload_base64(data, mime_type, file_name=name)
        await self.store.remember_upload(
            sha256, uploaded.file_url, mime_type, len(data), time.time() + UPLOAD_TTL
        )
        return uploaded.file_url

    # --- look-ups and waiting ---------------------------------------------------------------

    def next_poll(self, task_id: str) -> float | None:
        """Seconds until the poller looks at the task next (None: not scheduled)."""
        return self.poller.next_poll(task_id)

    async def get(self, task_id: str) -> Task:
        task = await self.store.get(task_id)
        if task is None:
            raise TaskNotFound(
                f"No task {task_id!r} here. Call list_tasks to see recent task ids "
                "(ids look like 'ig-3f9a0c1b2d4e')."
            )
        return task

    async def check_files(self, task: Task) -> tuple[Task, dict[int, str]]:
        """The task with every saved file checked: a deleted or damaged one is downloaded again
        while its link is valid. Returns the task and, per image index still not as saved, a
        sentence saying what happened and what to do."""
        problems: dict[int, str] = {}
        restored = False
        for image in task.images:
            problem = await self.saver.check(image)
            if problem is None:
                continue
            if await self._saving.restore(task, image):
                log.warning("task %s: image %d was %s; saved again", task.id, image.index, problem)
                restored = True
                continue
            problems[image.index] = (
                f"The file of image {image.index} ({image.path}) is {problem}, and it cannot be "
                "downloaded again (its link has expired or failed): generate it again if needed."
            )
        return (await self.get(task.id) if restored else task), problems

    async def saved_image(self, task_id: str, index: int) -> tuple[SavedImage, bytes]:
        """A saved image and its bytes, read only from inside the output folder."""
        task = await self.get(task_id)
        image = next((img for img in task.images if img.index == index), None)
        if image is None:
            if task.is_terminal or len(task.images) >= task.expected_images:
                saved = ", ".join(str(img.index) for img in task.images) or "none"
                raise ImageNotFound(
                    f"Task {task_id} has no saved image {index} (status {task.status}; saved "
                    f"indexes: {saved})."
                )
            raise ImageNotFound(
                f"Task {task_id} is {task.status} and image {index} is not saved yet: call "
                "get_task to wait for it."
            )
        try:
            return image, await self.saver.read(image)
        except StorageError:
            pass
        _task, problems = await self.check_files(task)  # gone: download it again if possible
        if index in problems:
            raise InputError(problems[index])
        return image, await self.saver.read(image)

    async def wait(
        self,
        task_id: str,
        timeout: float,
        on_progress: ProgressCallback | None = None,
        *,
        until: Callable[[Task], bool] | None = None,
    ) -> Task:
        """Return once the task is terminal (or ``until`` holds for it) or ``timeout`` seconds
        pass, reporting changes.

        Cancelling this only stops the wait: the poller keeps the task going.
        """
        deadline = anyio.current_time() + max(0.0, timeout)
        seen: tuple[str, int, int] | None = None
        while True:
            event = self._event(task_id)  # taken before reading, so no change is missed
            try:
                task = await self.get(task_id)
            except TaskNotFound:
                self._events.pop(task_id, None)  # no task will ever set it
                raise
            state = (task.status, task.progress, len(task.images))
            if on_progress is not None and state != seen:
                await on_progress(task)
            seen = state
            remaining = deadline - anyio.current_time()
            if task.is_terminal or remaining <= 0 or (until is not None and until(task)):
                return task
            with anyio.move_on_after(remaining):
                await event.wait()

    async def recent(self, *, limit: int = 20, status: TaskStatus | None = None) -> list[Task]:
        return await self.store.recent(limit=limit, status=status)

    async def status_counts(self) -> dict[str, int]:
        """How many tasks the store holds in each status."""
        return await self.store.status_counts()

    async def handle_callback(self, token: str) -> bool:
        """An upstream callback arrived: confirm with an immediate GET (bodies are unsigned)."""
        task = await self.store.get_by_callback_token(token)
        if task is None:
            return False
        if not task.is_terminal:
            self.poller.poll_now(task.id)
        return True

    def _event(self, task_id: str) -> anyio.Event:
        event = self._events.get(task_id)
        if event is None:
            event = self._events[task_id] = anyio.Event()
        return event

    def _notify(self, task_id: str) -> None:
        event = self._events.pop(task_id, None)
        if event is not None:
            event.set()
