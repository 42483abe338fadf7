"""Everything the sandbox remembers: tasks, uploaded files, credits, and the seeded randomness.

Tasks settle (fetch references, render, charge) on first need after they are due, so the only
background work the sandbox ever does is delivering callbacks.
"""

from __future__ import annotations

import random
import string
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx2

from imagegen_mcp.catalog import catalog, output_size
from imagegen_mcp.netaddr import is_loopback
from imagegen_mcp.sandbox.config import Counters, SandboxConfig
from imagegen_mcp.sandbox.images import RenderError, check_reference, render_edit, render_generation
from imagegen_mcp.sandbox.tasks import Clock, TaskParams, TaskRecord

_ID_ALPHABET = string.ascii_lowercase + string.digits
#: The upstream stamps file times in China Standard Time; clients must cope with offsets.
_FILES_TZ = timezone(timedelta(hours=8))
_FAIL_TAG = "[fail:"
#: How many create bodies ``create_bodies`` keeps (the oldest go first).
MAX_RECORDED_BODIES = 1000


class FetchError(Exception):
    """A URL the sandbox was asked to read could not be read."""


def _prompt_failure(prompt: str) -> tuple[str, str] | None:
    start = prompt.find(_FAIL_TAG)
    if start < 0:
        return None
    end = prompt.find("]", start)
    code = prompt[start + len(_FAIL_TAG) : end].strip() if end > 0 else ""
    if not code:
        return None
    return (code, f"Task failed with {code} (requested by the prompt's [fail:{code}] tag).")


@dataclass(eq=False)
class FileRecord:
    """One uploaded file, served at ``/files/{upload_path}/{file_name}`` until it expires."""

    file_id: str
    file_name: str
    original_name: str
    upload_path: str
    mime_type: str
    data: bytes = field(repr=False)
    uploaded_at: float  # sandbox clock
    uploaded_wall: float

    @property
    def key(self) -> str:
        return f"{self.upload_path}/{self.file_name}"


class SandboxState:
    """The sandbox's memory, shared by every route."""

    def __init__(self, config: SandboxConfig, counters: Counters) -> None:
        self.config = config
        self.counters = counters
        self.clock = Clock()
        self.rng = random.Random(config.seed)
        self.tasks: dict[str, TaskRecord] = {}
        self.files: dict[str, FileRecord] = {}
        self._files_by_key: dict[str, str] = {}
        self.base_url = ""
        self._http: httpx2.AsyncClient | None = None
        self.used_credits = 0.0
        self.reserved_credits = 0.0
        self.on_task_created: Callable[[TaskRecord], None] | None = None
        #: Every create body that parsed as JSON, refused or not, in arrival order.
        self.create_bodies: deque[Any] = deque(maxlen=MAX_RECORDED_BODIES)

    def http(self) -> httpx2.AsyncClient:
        """The client for references, URL uploads and callbacks, made on first use."""
        if not self.base_url:
            raise RuntimeError("the sandbox is not running")
        if self._http is None:
            # Creating a client costs tens of milliseconds; most sandboxes never need one.
            self._http = httpx2.AsyncClient(trust_env=False, timeout=self.config.fetch_timeout)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def random_id(self, length: int) -> str:
        return "".join(self.rng.choices(_ID_ALPHABET, k=length))

    @property
    def remaining_credits(self) -> float:
        return self.config.credits - self.used_credits - self.reserved_credits

    # ---- tasks -------------------------------------------------------------------------

    def create_task(self, params: TaskParams, body: dict[str, Any]) -> TaskRecord:
        config = self.config
        jitter = self.rng.uniform(-config.duration_jitter, config.duration_jitter)
        duration = max(config.task_duration * (1 + jitter), 0.001)
        error = self.rng.uniform(-config.estimate_error, config.estimate_error)
        estimated = max(1, round(duration * config.estimate_bias * (1 + error)))
        now = self.clock.now()
        created = int(self.clock.wall())
        planned = _prompt_failure(params.prompt) or config.faults.take_task_failure()
        reserved = params.n * config.credits_per_image
        task = TaskRecord(
            id=f"task-unified-{created}-{self.random_id(8)}",
            params=params,
            body=body,
            created=created,
            started_at=now,
            pending_until=now + duration * config.pending_fraction,
            due_at=now + duration,
            estimated_time=estimated,
            credits_reserved=reserved,
            token=self.random_id(16),
            planned_failure=planned,
            clock=self.clock,
        )
        self.tasks[task.id] = task
        self.reserved_credits += reserved
        self.counters.creates += 1
        if self.on_task_created is not None:
            self.on_task_created(task)
        return task

    def results_expired(self, task: TaskRecord) -> bool:
        return self.clock.now() >= task.due_at + self.config.result_ttl

    async def settle(self, task: TaskRecord) -> None:
        """Fix a due task's outcome: fetch references, render, charge or refund. Idempotent."""
        if task.outcome is not None or not task.is_due:
            return
        async with task.lock:
            if task.outcome is not None:
                return
            if task.planned_failure is not None:
                self._finish(task, None, task.planned_failure)
                return
            try:
                images = await self._render(task)
            except RenderError as exc:
                self._finish(task, None, (exc.code, exc.message))
            else:
                self._finish(task, images, None)

    async def _render(self, task: TaskRecord) -> list[bytes]:
        params = task.params
        spec = catalog().models[params.model]
        fmt, transparent = params.output_format, params.transparent
        if not params.image_urls:
            pixels = output_size(spec, params.size, params.tier)
            return await anyio.to_thread.run_sync(
                lambda: [
                    render_generation(params.model, params.prompt, i, pixels, fmt, transparent)
                    for i in range(params.n)
                ]
            )
        try:
            references = [await self.fetch(url) for url in params.image_urls]
            mask = await self.fetch(params.mask_url) if params.mask_url else None
        except FetchError as exc:
            raise RenderError("image_processing_error", str(exc)) from exc
        rule = spec.references
        sizes = [
            await anyio.to_thread.run_sync(check_reference, data, rule.max_bytes, rule.formats)
            for data in references
        ]
        reference = sizes[0]
        pixels = output_size(spec, params.size, params.tier, reference)
        return await anyio.to_thread.run_sync(
            lambda: [
                render_edit(
                    params.model, params.prompt, i, pixels, references, mask, fmt, transparent
                )
                for i in range(params.n)
            ]
        )

    def _finish(
        self, task: TaskRecord, images: list[bytes] | None, failure: tuple[str, str] | None
    ) -> None:
        self.reserved_credits -= task.credits_reserved
        if images is not None:
            # Billing is per image made, which is every requested image here.
            self.used_credits += task.credits_reserved
            task.images = images
            task.outcome = "completed"
            return
        code, message = failure or ("unknown_error", "task failed")
        task.error = {"code": code, "message": message, "type": "task_error"}
        task.outcome = "failed"

    # ---- files -------------------------------------------------------------------------

    def file_expired(self, record: FileRecord) -> bool:
        return self.clock.now() >= record.uploaded_at + self.config.upload_ttl

    def live_files(self) -> list[FileRecord]:
        return [record for record in self.files.values() if not self.file_expired(record)]

    def add_file(
        self, data: bytes, mime_type: str, upload_path: str, file_name: str, original_name: str
    ) -> FileRecord:
        key = f"{upload_path}/{file_name}"
        previous = self._files_by_key.get(key)
        if previous is not None:
            # Same name overwrites, as upstream does: the old id stops resolving.
            self.files.pop(previous, None)
        record = FileRecord(
            file_id=f"file_{self.random_id(12)}",
            file_name=file_name,
            original_name=original_name,
            upload_path=upload_path,
            mime_type=mime_type,
            data=data,
            uploaded_at=self.clock.now(),
            uploaded_wall=self.clock.wall(),
        )
        self.files[record.file_id] = record
        self._files_by_key[key] = record.file_id
        return record

    def delete_file(self, file_id: str) -> bool:
        record = self.files.pop(file_id, None)
        if record is None:
            return False
        self._files_by_key.pop(record.key, None)
        return True

    def file_by_key(self, key: str) -> FileRecord | None:
        file_id = self._files_by_key.get(key)
        return self.files.get(file_id) if file_id else None

    def file_json(self, record: FileRecord) -> dict[str, Any]:
        uploaded = datetime.fromtimestamp(record.uploaded_wall, _FILES_TZ)
        expires = uploaded + timedelta(seconds=self.config.upload_ttl)
        return {
            "file_id": record.file_id,
            "file_name": record.file_name,
            "original_name": record.original_name,
            "file_size": len(record.data),
            "mime_type": record.mime_type,
            "upload_path": record.upload_path,
            "file_url": f"{self.base_url}/files/{record.key}",
            "download_url": f"{self.base_url}/api/v1/files/download/{record.file_id}",
            "upload_time": uploaded.isoformat(timespec="seconds"),
            "expires_at": expires.isoformat(timespec="seconds"),
        }

    # ---- fetching ----------------------------------------------------------------------

    async def fetch(self, url: str) -> bytes:
        """Read ``url``: the sandbox's own files and results directly, loopback URLs over HTTP."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(f"cannot fetch {url[:80]!r}: only http(s) URLs are supported")
        if self.base_url and f"{parts.scheme}://{parts.netloc}" == self.base_url:
            return await self._fetch_own(parts.path)
        if not is_loopback(parts.hostname):
            raise FetchError(f"the sandbox has no network: cannot fetch {url[:80]!r}")
        try:
            response = await self.http().get(url, timeout=self.config.fetch_timeout)
        except httpx2.HTTPError as exc:
            raise FetchError(f"cannot fetch {url[:80]!r}: {exc!r}") from exc
        if response.status_code != 200:
            raise FetchError(f"fetching {url[:80]!r} answered HTTP {response.status_code}")
        return response.content

    async def _fetch_own(self, path: str) -> bytes:
        if path.startswith("/files/"):
            record = self.file_by_key(path.removeprefix("/files/"))
            if record is None or self.file_expired(record):
                raise FetchError(f"uploaded file {path!r} does not exist or has expired")
            return record.data
        if path.startswith("/api/v1/files/download/"):
            record = self.files.get(path.rsplit("/", 1)[-1])
            if record is None or self.file_expired(record):
                raise FetchError(f"uploaded file {path!r} does not exist or has expired")
            return record.data
        segments = path.strip("/").split("/")
        if len(segments) == 4 and segments[0] == "results":
            task = self.tasks.get(segments[1])
            index = segments[3].split(".", 1)[0]
            if task is not None and task.token == segments[2] and index.isdigit():
                await self.settle(task)
                if (
                    task.outcome == "completed"
                    and int(index) < len(task.images)
                    and not self.results_expired(task)
                ):
                    return task.images[int(index)]
        raise FetchError(f"nothing is served at {path!r}")
