"""The task API (create, poll, credits, result downloads) and the Starlette app that joins it
with the files API on one port.

Order inside each handler mirrors a real gateway: count the request, check the key, then let a
fault replace the answer, then validate and act. So a queued fault is never spent on a request
that would have been refused for its key anyway.
"""

from __future__ import annotations

import json
import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imagegen_mcp.sandbox.auth import auth_problem
from imagegen_mcp.sandbox.config import FaultKind
from imagegen_mcp.sandbox.config import Route as FaultRoute
from imagegen_mcp.sandbox.files import FilesApi
from imagegen_mcp.sandbox.responses import (
    DroppedResponse,
    api_error,
    body_response,
    fault_status_response,
    plain_fault_response,
)
from imagegen_mcp.sandbox.state import SandboxState
from imagegen_mcp.sandbox.tasks import create_body, task_detail
from imagegen_mcp.sandbox.validation import InvalidRequest, validate_create

_RESULT_NAME = re.compile(r"(\d+)\.(png|jpg|webp)")
_TASK_ID_PREFIX = "task-unified-"
# Credits are money-like floats; compare with a tolerance so 0.1-sized prices add up.
_CREDIT_EPSILON = 1e-9


class TaskApi:
    """Handlers for the image task endpoints, bound to one sandbox's state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/v1/images/generations", self.create, methods=["POST"]),
            Route("/v1/tasks/{task_id}", self.get_task, methods=["GET"]),
            Route("/v1/credits", self.credits, methods=["GET"]),
            Route("/results/{task_id}/{token}/{name}", self.result, methods=["GET"]),
        ]

    def _error(
        self, status: int, message: str, *, code: str | None = None, param: str | None = None
    ) -> JSONResponse:
        return api_error(self.state.config.error_style, status, message, code=code, param=param)

    def _gate(
        self, request: Request | None, route: FaultRoute
    ) -> tuple[FaultKind | None, Response | None]:
        """Check the key (``None``: a public route), then draw this request's fault; a response
        here ends the request."""
        if request is not None:
            problem = auth_problem(request, self.state.config.api_keys)
            if problem is not None:
                if self.state.config.echo_authorization:
                    problem += f" (got: Authorization: {request.headers.get('authorization')})"
                return None, self._error(401, problem)
        config = self.state.config
        fault = config.faults.take(route, self.state.rng)
        return fault, plain_fault_response(fault, config.error_style, config.faults)

    async def create(self, request: Request) -> Response:
        state = self.state
        config = state.config
        state.counters.create_requests += 1
        fault, early = self._gate(request, "create")
        if early is not None:
            return early
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self._error(400, "Request body is not valid JSON.")
        state.create_bodies.append(body)
        try:
            params = validate_create(body, strict_callbacks=config.strict_callbacks)
        except InvalidRequest as exc:
            return self._error(400, exc.message, param=exc.param)
        cost = params.n * config.credits_per_image
        if state.remaining_credits + _CREDIT_EPSILON < cost:
            return self._error(
                402,
                f"Insufficient credits: this request reserves {cost:g}, "
                f"{max(state.remaining_credits, 0):g} remain. Top up your balance.",
                code="insufficient_quota",
            )
        task = state.create_task(params, body)
        if fault == "create_then_502":
            return fault_status_response(
                502, config.error_style, files_api=False, retry_after=config.faults.retry_after
            )
        if fault == "create_then_drop":
            return DroppedResponse()
        return JSONResponse(create_body(task))

    async def get_task(self, request: Request) -> Response:
        state = self.state
        state.counters.task_gets += 1
        _, early = self._gate(request, "get")
        if early is not None:
            return early
        task_id: str = request.path_params["task_id"]
        if not task_id.startswith(_TASK_ID_PREFIX):
            return self._error(
                400, f"Invalid task id: ids start with {_TASK_ID_PREFIX!r}.", code="invalid_task_id"
            )
        task = state.tasks.get(task_id)
        if task is None:
            return self._error(404, f"Task {task_id} not found.", code="task_not_found")
        await state.settle(task)
        return JSONResponse(task_detail(task, state.base_url))

    async def credits(self, request: Request) -> Response:
        state = self.state
        state.counters.credits_gets += 1
        _, early = self._gate(request, "credits")
        if early is not None:
            return early
        remaining = round(state.remaining_credits, 6)
        used = round(state.used_credits, 6)
        return JSONResponse(
            {
                "success": True,
                "message": "ok",
                "data": {
                    "token": {
                        "remaining_credits": remaining,
                        "used_credits": used,
                        "unlimited_credits": False,
                    },
                    "user": {"username": "sandbox", "user_group": "default"},
                },
            }
        )

    async def result(self, request: Request) -> Response:
        """A result image; public (no key), like the upstream's CDN links."""
        state = self.state
        config = state.config
        state.counters.downloads += 1
        fault, early = self._gate(None, "download")
        if early is not None:
            return early
        task = state.tasks.get(request.path_params["task_id"])
        match = _RESULT_NAME.fullmatch(request.path_params["name"])
        if task is None or match is None or task.token != request.path_params["token"]:
            return self._error(404, "No such result.")
        await state.settle(task)
        index = int(match.group(1))
        if task.outcome != "completed" or index >= len(task.images):
            return self._error(404, "No such result: the task has not completed.")
        if state.results_expired(task):
            return self._error(
                404,
                f"Result expired: links are valid for {config.result_ttl:g} s after completion.",
            )
        return body_response(task.images[index], task.params.media_type, fault, config.faults)


def build_app(state: SandboxState) -> Starlette:
    """One Starlette app serving the task API, result downloads and the files API."""
    return Starlette(routes=[*TaskApi(state).routes(), *FilesApi(state).routes()])
