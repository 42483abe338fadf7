"""One background poller for every open task: it only decides when each task is looked at.

It keeps polling whether or not anyone waits and, at start-up, resumes every open task in the
store. A single loop sleeps until the earliest due task (or until woken by a new task or a
callback); each poll runs in the loop's task group, bounded by a limiter, and every upstream
request passes the client's global rate cap. Under that cap a poll of a task that may have
finished goes before early progress polls, and early ones are skipped while more requests
wait than one second of the cap releases. What a poll finds is handed on: an unanswered
create to ``submit.recover``, a finished task to ``saving.ResultSaver``; how long the task
took against its estimate is learned per model (``storage.durations``) for the next ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio
import anyio.abc

from imagegen_mcp.api.client import EvoLinkClient
from imagegen_mcp.api.ratelimit import Priority
from imagegen_mcp.errors import ImagegenError, UpstreamNotFound
from imagegen_mcp.models import Task, TaskError
from imagegen_mcp.service.saving import ResultSaver
from imagegen_mcp.service.schedule import PollPolicy, ProgressTrack, plan
from imagegen_mcp.service.statuses import task_error, upstream_status
from imagegen_mcp.service.submit import recover, recovery_delay
from imagegen_mcp.service.validation import typical_duration
from imagegen_mcp.storage.db import TaskStore

log = logging.getLogger(__name__)

RESULT_TTL = 24 * 3600.0


@dataclass(frozen=True)
class PollerConfig:
    policy: PollPolicy = field(default_factory=PollPolicy)
    result_ttl: float = RESULT_TTL
    concurrency: int = 32
    error_backoff: float = 5.0  # after a failed GET or download (retries already spent)
    storage_backoff: float = 30.0  # after a disk error
    download_attempts: int = 8  # rounds of failed downloads before a task is given up on
    stale_submit: float = 300.0  # an unanswered create older than this is declared unknown
    prioritize: bool = True  # False: every GET queues with creates, first come first served


class Poller:
    def __init__(
        self,
        store: TaskStore,
        client: EvoLinkClient,
        saving: ResultSaver,
        notify: Callable[[str], None],
        config: PollerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._client = client
        self._saving = saving
        self._notify = notify
        self._config = config
        self._clock = clock
        self._due: dict[str, float] = {}
        self._early: set[str] = set()  # tasks whose scheduled poll is an early progress probe
        self._ratios: dict[str, float] = {}  # model -> learned actual / estimated duration
        self._tracks: dict[str, ProgressTrack] = {}
        self._in_flight: set[str] = set()
        self._wake = anyio.Event()
        self._limiter = anyio.CapacityLimiter(config.concurrency)
        self.gets = 0  # task GETs sent, for benchmarks

    # --- scheduling -------------------------------------------------------------------------

    def track(
        self,
        task_id: str,
        estimate: float | None,
        *,
        model: str | None = None,
        age: float = 0.0,
        poll_in: float | None = None,
    ) -> None:
        """Start polling a task that was just submitted (or resumed, submitted ``age`` s ago)."""
        now = self._clock()
        track = ProgressTrack(
            submitted=now - age, estimate=estimate, ratio=self._ratios.get(model or "", 1.0)
        )
        self._tracks[task_id] = track
        if poll_in is not None:
            self.schedule(task_id, poll_in)
        else:
            self._plan(task_id, track)

    def schedule(self, task_id: str, delay: float, *, early: bool = False) -> None:
        self._due[task_id] = self._clock() + max(0.0, delay)
        if early:
            self._early.add(task_id)
        else:
            self._early.discard(task_id)
        self._wake.set()

    def _plan(self, task_id: str, track: ProgressTrack) -> None:
        step = plan(track, self._clock(), self._config.policy)
        self.schedule(task_id, step.delay, early=not step.due)

    def poll_now(self, task_id: str) -> None:
        self.schedule(task_id, 0.0)

    def next_poll(self, task_id: str) -> float | None:
        """Seconds until the task is looked at next (None: not scheduled)."""
        due = self._due.get(task_id)
        return None if due is None else due - self._clock()

    async def resume(self) -> int:
        """Pick up every open task in the store; returns how many were accepted upstream.

        A task still ``submitting`` is left to ``submit.recover``: at once if its process has
        provably died, else once it has been left for ``stale_submit`` seconds (it may belong
        to another live process sharing the store, such as the CLI beside a server).
        """
        self._ratios.update(await self._store.duration_ratios())
        resumed = 0
        for task in await self._store.open_tasks():
            if task.status == "submitting" or task.upstream_id is None:
                self.schedule(task.id, recovery_delay(task, self._config.stale_submit))
                continue
            estimate = task.estimated_time or typical_duration(task.request.model)
            self.track(task.id, estimate, model=task.request.model, age=_age(task), poll_in=0.0)
            resumed += 1
        return resumed

    async def run(self) -> None:
        """The loop: sleep until the earliest due task or a wake-up, then start due polls."""
        async with anyio.create_task_group() as tg:
            while True:
                self._wake = anyio.Event()
                now = self._clock()
                for task_id, due in list(self._due.items()):
                    if due <= now and task_id not in self._in_flight:
                        del self._due[task_id]
                        early = task_id in self._early
                        self._early.discard(task_id)
                        self._in_flight.add(task_id)
                        tg.start_soon(self._poll_guarded, task_id, early)
                pending = [d for t, d in self._due.items() if t not in self._in_flight]
                timeout = (min(pending) - now) if pending else None
                with anyio.move_on_after(timeout):
                    await self._wake.wait()

    # --- one poll ---------------------------------------------------------------------------

    async def _poll_guarded(self, task_id: str, early: bool = False) -> None:
        try:
            async with self._limiter:
                await self._poll(task_id, early)
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

    async def _poll(self, task_id: str, early: bool = False) -> None:
        prioritize = self._config.prioritize
        track = self._tracks.get(task_id)
        if early and track is not None and prioritize and self._client.limiter.short:
            # Requests are short: put the probe off, without even reading the store.
            self._plan(task_id, track)
            return
        task = await self._store.get(task_id)
        if task is not None and task.status == "submitting":
            self._then(task_id, await recover(self._store, task, self._config.stale_submit))
            return
        if task is None or task.is_terminal or task.upstream_id is None:
            self._forget(task_id)
            return
        if task.result_urls:  # finished upstream already; only saving is left
            self._then(task_id, await self._saving.save(task))
            return
        if track is None:
            track = self._tracks[task_id] = ProgressTrack(
                submitted=self._clock() - _age(task), estimate=task.estimated_time
            )
        track.ratio = self._ratios.get(task.request.model, track.ratio)
        priority = Priority.URGENT if not prioritize else Priority.EARLY if early else Priority.DUE
        try:
            self.gets += 1
            up = await self._client.get_task(task.upstream_id, priority=priority)
        except UpstreamNotFound as exc:
            error = TaskError(code="task_not_found", message=str(exc), retryable=False)
            await self._finish_failed(task_id, error)
            return
        status = upstream_status(up)
        track.observe(self._clock(), up.progress)
        if up.task_info.estimated_time and track.estimate is None:
            track.estimate = up.task_info.estimated_time
        if status == "failed":
            await self._finish_failed(task_id, task_error(up))
        elif status == "completed":
            expires = time.time() + self._config.result_ttl
            finished = await self._store.record_results(task_id, up.results, expires_at=expires)
            self._notify(task_id)
            self._then(task_id, None if finished is None else await self._saving.save(finished))
            await self._learn(task, track)
        else:
            # A task never goes back from processing to pending, whatever the upstream says.
            status = "processing" if task.status == "processing" else status
            if (status, up.progress) != (task.status, task.progress):
                moved = await self._store.record_progress(task_id, status, up.progress)
                self._notify(task_id)
                if moved is None:  # settled meanwhile, by another process
                    self._forget(task_id)
                    return
            self._plan(task_id, track)

    async def _learn(self, task: Task, track: ProgressTrack) -> None:
        """Fold how long the task took against its estimate into its model's ratio."""
        if not track.estimate:
            return
        ratio = track.finished_after(self._clock()) / track.estimate
        model = task.request.model
        self._ratios[model] = await self._store.learn_duration(model, ratio)

    def _then(self, task_id: str, delay: float | None) -> None:
        """Look at the task again in ``delay`` seconds, or never (None: it is settled)."""
        if delay is None:
            self._forget(task_id)
            self._notify(task_id)
        else:
            self.schedule(task_id, delay)

    async def _finish_failed(self, task_id: str, error: TaskError) -> None:
        await self._store.finish(task_id, "failed", error)
        self._then(task_id, None)

    def _forget(self, task_id: str) -> None:
        self._due.pop(task_id, None)
        self._early.discard(task_id)
        self._tracks.pop(task_id, None)
        self._saving.forget(task_id)


def _age(task: Task) -> float:
    """Seconds since the task was accepted upstream (0 if unknown)."""
    if task.submitted_at is None:
        return 0.0
    return max(0.0, time.time() - task.submitted_at.timestamp())
