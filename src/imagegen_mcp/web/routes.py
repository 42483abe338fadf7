"""The playground's HTTP API (the page's contract; README "Playground"), served by the same app
as ``/mcp``. ``server.app`` registers these routes on the MCP server (the SDK's custom routes);
``web.guard`` checks Host, Origin and the token in front of them.

Every answer is JSON but the page's files and the images; every refusal is a status with
``{"error": "<one line>"}``. Nothing here validates a request of its own: generate and edit take
the tools' path (``web.jobs``), images come from ``engine.saved_image`` (inside the output
folder only), uploads from ``web.uploads``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from imagegen_mcp.tools.catalog_view import model_list
from imagegen_mcp.web import jobs, longpoll
from imagegen_mcp.web.catalog_json import with_pixels
from imagegen_mcp.web.errors import WebError, response_for
from imagegen_mcp.web.multipart import UploadedFile, read_file_field
from imagegen_mcp.web.static_files import HEADERS, STATIC_DIR, static_response
from imagegen_mcp.web.uploads import MAX_UPLOAD_BYTES, UploadStore
from imagegen_mcp.web.views import counts_json, spend_json, task_json

if TYPE_CHECKING:
    from imagegen_mcp.models import Task
    from imagegen_mcp.tools.state import AppState

#: The longest a long poll of ``/api/tasks/<id>?wait=`` is held (proxies drop idle requests
#: after 30-60 s).
MAX_POLL_SECONDS = 25.0
#: Long polls held at once. Past this a poll answers at once with the task as it is (the page
#: then waits a moment before asking again): however many requests a client opens, the server
#: holds no more than this many, each woken on every change of its task.
MAX_HELD_POLLS = 100
#: The longest one upload's body may take to arrive (10 MB at 85 KB/s).
UPLOAD_SECONDS = 120.0
#: Uploads read at once: each is held in memory (up to 10 MB) until it is checked and stored.
UPLOADS_AT_ONCE = 4
#: The largest JSON body accepted (a prompt of 32,000 characters and its fields fit easily).
MAX_JSON_BYTES = 256 * 1024

Endpoint = Callable[[Request], Awaitable[Response]]

#: The API's fixed paths and their method, for a 405 that names it.
_FIXED = {
    "/api/models": "GET",
    "/api/uploads": "POST",
    "/api/generate": "POST",
    "/api/edit": "POST",
    "/api/tasks": "GET",
}


@dataclass(frozen=True)
class WebRoute:
    path: str
    methods: list[str]
    endpoint: Endpoint


def web_routes(
    state: Callable[[], AppState | None],
    *,
    home: Path,
    upstream: Callable[[], str],
    static_dir: Path | None = None,
) -> list[WebRoute]:
    """The routes, reading the server's state through ``state`` (None until the lifespan made
    it); uploads are kept in ``<home>/uploads``; ``upstream()`` ("sandbox" or "evolink") is told
    to the page with the models (asked on the first request: the answer may load the sandbox's
    code, which a server's start must not); ``static_dir`` replaces the page's folder (tests)."""
    api = WebApi(state, UploadStore(home / "uploads"), static_dir or STATIC_DIR, upstream)
    return [
        WebRoute("/", ["GET"], api.index),
        WebRoute("/static/{path:path}", ["GET"], api.static),
        WebRoute("/api/models", ["GET"], api.models),
        WebRoute("/api/uploads", ["POST"], api.upload),
        WebRoute("/api/uploads/{upload_id}", ["GET"], api.uploaded),
        WebRoute("/api/generate", ["POST"], api.generate),
        WebRoute("/api/edit", ["POST"], api.edit),
        WebRoute("/api/tasks", ["GET"], api.tasks),
        WebRoute("/api/tasks/{task_id}", ["GET"], api.task),
        WebRoute("/api/images/{task_id}/{index}", ["GET"], api.image),
        # Last: what no route above takes is answered in JSON too, not as Starlette's text.
        WebRoute(
            "/api/{rest:path}", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], api.no_route
        ),
    ]


def _answers(
    endpoint: Callable[[WebApi, Request], Awaitable[Response]],
) -> Callable[[WebApi, Request], Awaitable[Response]]:
    """Every failure as a status and one line."""

    @wraps(endpoint)
    async def answer(self: WebApi, request: Request) -> Response:
        try:
            return await endpoint(self, request)
        except jobs.NeedsConfirmation as question:
            return JSONResponse(
                {"confirm": question.question, "estimate": question.estimate}, status_code=409
            )
        except Exception as exc:  # noqa: BLE001  # every failure is answered (bugs logged)
            return response_for(exc)

    return answer


class WebApi:
    def __init__(
        self,
        state: Callable[[], AppState | None],
        uploads: UploadStore,
        static_dir: Path,
        upstream: Callable[[], str],
    ) -> None:
        self._state = state
        self._upstream = upstream
        self.uploads = uploads
        self._static = static_dir
        self._receiving: anyio.CapacityLimiter | None = None

    def state(self) -> AppState:
        state = self._state()
        if state is None:
            raise WebError(503, "The server is starting or stopping: try again in a moment.")
        return state

    # --- the page ------------------------------------------------------------------------------

    @_answers
    async def index(self, request: Request) -> Response:
        return await static_response(self._static, "index.html")

    @_answers
    async def static(self, request: Request) -> Response:
        return await static_response(self._static, request.path_params["path"])

    # --- models and uploads --------------------------------------------------------------------

    @_answers
    async def models(self, request: Request) -> Response:
        listed = model_list().model_dump(mode="json")
        models = with_pixels(listed["models"])  # each free-size rule, for a custom size
        # "upstream" lets the page say when results are the sandbox's test images.
        default = self.state().default_model
        return JSONResponse({"default": default, "upstream": self._upstream(), "models": models})

    @_answers
    async def upload(self, request: Request) -> Response:
        state = self.state()
        sent: UploadedFile | None = None
        if self._receiving is None:  # made in the event loop, on first use
            self._receiving = anyio.CapacityLimiter(UPLOADS_AT_ONCE)
        async with self._receiving:
            # A client that stops sending mid-body gives its slot back (a handful of stalled
            # uploads would otherwise keep every other upload waiting for ever).
            with anyio.move_on_after(UPLOAD_SECONDS):
                sent = await read_file_field(
                    request.headers.get("content-type", ""),
                    request.headers.get("content-length"),
                    request.stream(),
                    MAX_UPLOAD_BYTES,
                )
            if sent is None:
                raise WebError(
                    408,
                    f"The upload took more than {UPLOAD_SECONDS:g} s: check the connection and "
                    "upload the file again.",
                )
            decoder = (await state.inputs()).decoder
            engine = await state.engine()  # which tasks are open: their uploads are kept
            stored = await self.uploads.add(sent.name, sent.data, decoder, engine)
        return JSONResponse(stored.as_json(), status_code=201)

    @_answers
    async def uploaded(self, request: Request) -> Response:
        path = await anyio.to_thread.run_sync(
            self.uploads.path_of, request.path_params["upload_id"]
        )
        if path is None:
            raise WebError(404, "No such upload here: upload the file again.")
        return Response(
            await anyio.Path(path).read_bytes(),
            media_type=self.uploads.mime_type(path),
            headers={**HEADERS, "Cache-Control": "private, max-age=86400, immutable"},
        )

    # --- tasks ---------------------------------------------------------------------------------

    @_answers
    async def generate(self, request: Request) -> Response:
        body = jobs.parse_body(jobs.GenerateBody, await _json(request))
        task = await jobs.generate(self.state(), self.uploads, body)
        return JSONResponse({"task": task_json(task)}, status_code=201)

    @_answers
    async def edit(self, request: Request) -> Response:
        body = jobs.parse_body(jobs.EditBody, await _json(request))
        task = await jobs.edit(self.state(), self.uploads, body)
        return JSONResponse({"task": task_json(task)}, status_code=201)

    @_answers
    async def tasks(self, request: Request) -> Response:
        limit = _number(request, "limit", 20, low=1, high=100)
        engine = await self.state().engine()
        tasks = await engine.recent(limit=int(limit))
        counts = await engine.status_counts()
        return JSONResponse(
            {
                "tasks": [task_json(t) for t in tasks],
                "counts": counts_json(counts),
                "spend": spend_json(await engine.spend()),
            }
        )

    @_answers
    async def task(self, request: Request) -> Response:
        task_id = request.path_params["task_id"]
        wait = _number(request, "wait", 0, low=0, high=MAX_POLL_SECONDS)
        after = _number(request, "after", -1, low=-1, high=100)
        engine = await self.state().engine()
        task = await engine.get(task_id)
        held = wait > 0 and not task.is_terminal and task.progress <= after
        if held and longpoll.held() < MAX_HELD_POLLS:
            # A long poll: back as soon as the progress passes ``after``, the task ends, or it
            # moves on otherwise (a new status, an image saved), so the page shows each step.
            seen = (task.status, len(task.images))

            def moved(t: Task) -> bool:
                return t.progress > after or (t.status, len(t.images)) != seen

            # Given up when the page goes away (closed, reloaded) rather than held to the end.
            polled = await longpoll.hold(request, engine, task_id, wait, moved)
            if polled is None:
                return Response(status_code=204)  # nobody is left to read it
            task = polled
        return JSONResponse({"task": task_json(task)})

    @_answers
    async def no_route(self, request: Request) -> Response:
        method, path = request.method, request.url.path
        if path in _FIXED:
            raise WebError(405, f"{path} takes {_FIXED[path]} requests, not {method}.")
        raise WebError(404, f"No API route {path[:80]}: see the page's routes under /api/.")

    @_answers
    async def image(self, request: Request) -> Response:
        task_id, index = request.path_params["task_id"], request.path_params["index"]
        if not (index.isdigit() and len(index) <= 6):
            raise WebError(404, "No such image: image indexes are 0, 1, ...")
        engine = await self.state().engine()
        image, data = await engine.saved_image(task_id, int(index))
        headers = {**HEADERS, "Cache-Control": "private, max-age=86400"}
        if request.query_params.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{Path(image.path).name}"'
        return Response(data, media_type=image.mime_type, headers=headers)


async def _json(request: Request) -> Any:
    """The request's JSON body (at most ``MAX_JSON_BYTES``), or a 4xx saying what to send."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise WebError(415, "Send the request as JSON (Content-Type: application/json).")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise WebError(413, "The request is too large: shorten the prompt.")
    try:
        return json.loads(body)
    except ValueError:
        raise WebError(400, "The request body is not valid JSON: send the page's JSON.") from None
    except RecursionError:  # arrays nested thousands deep: no request of ours looks like that
        raise WebError(
            400, "The request body is nested too deeply: send the page's JSON."
        ) from None


def _number(request: Request, name: str, default: float, *, low: float, high: float) -> float:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise WebError(400, f"?{name}= takes a number from {low:g} to {high:g}.") from None
    if not low <= value <= high:  # also refuses nan
        raise WebError(400, f"?{name}= takes a number from {low:g} to {high:g}.")
    return value


__all__ = ["WebApi", "WebRoute", "web_routes"]
