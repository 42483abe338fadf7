"""The files API (upload by base64, multipart stream or URL; quota; list; delete) and the
public file downloads, served on the same port as the task API.

Its envelope differs from the task API's: ``{"success", "code", "msg", "data"}`` for successes
and failures alike, as EvoLink's own client parses it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from imagegen_mcp.sandbox.auth import auth_problem
from imagegen_mcp.sandbox.images import sniff_mime
from imagegen_mcp.sandbox.responses import body_response, files_error, plain_fault_response
from imagegen_mcp.sandbox.state import FetchError, FileRecord, SandboxState

_DATA_URI = re.compile(
    r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*),(?P<data>.*)", re.S
)
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
_DEFAULT_UPLOAD_PATH = "uploads"
_ENVELOPE_SLACK = 64 * 1024  # room for JSON or multipart framing around the file itself


class _TooLarge(Exception):
    pass


class _BadUpload(Exception):
    pass


def _bounded(request: Request, limit: int) -> Request:
    """``request`` whose body raises ``_TooLarge`` once it passes ``limit`` bytes, so neither
    ``body()`` nor ``form()`` ever holds more."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    size = 0

    async def receive() -> Message:
        nonlocal size
        message = await request.receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise _TooLarge
        return message

    return Request(request.scope, receive)


def _safe_segment(raw: str) -> str:
    cleaned = _UNSAFE_NAME_CHARS.sub("_", raw.strip()).strip("_")
    return "" if cleaned in ("", ".", "..") else cleaned


def _safe_path(raw: Any) -> str:
    if not isinstance(raw, str):
        return _DEFAULT_UPLOAD_PATH
    segments = [_safe_segment(part) for part in raw.split("/")]
    return "/".join(segment for segment in segments if segment) or _DEFAULT_UPLOAD_PATH


def _decode_base64(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise _BadUpload("base64_data is required: a data URI or raw base64 string")
    match = _DATA_URI.fullmatch(value.strip())
    if value.startswith("data:"):
        if match is None or ";base64" not in match.group("params"):
            raise _BadUpload("base64_data data URI must be of the form data:<mime>;base64,<data>")
        value = match.group("data")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _BadUpload("base64_data is not valid base64") from exc


class FilesApi:
    """Handlers for the files endpoints, bound to one sandbox's state."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        prefix = "/api/v1/files"
        return [
            Route(f"{prefix}/upload/base64", self.upload_base64, methods=["POST"]),
            Route(f"{prefix}/upload/stream", self.upload_stream, methods=["POST"]),
            Route(f"{prefix}/upload/url", self.upload_url, methods=["POST"]),
            Route(f"{prefix}/quota", self.quota, methods=["GET"]),
            Route(f"{prefix}/list", self.list_files, methods=["GET"]),
            Route(f"{prefix}/download/{{file_id}}", self.download_by_id, methods=["GET"]),
            Route(f"{prefix}/{{file_id}}", self.delete, methods=["DELETE"]),
            Route("/files/{key:path}", self.download_by_path, methods=["GET"]),
        ]

    def _refusal(self, request: Request) -> Response | None:
        problem = auth_problem(request, self.state.config.api_keys)
        return None if problem is None else files_error(401, problem)

    def _upload_gate(self, request: Request) -> Response | None:
        """Count, authorize and apply upload faults; an answer here ends the request."""
        state = self.state
        state.counters.uploads += 1
        if (refusal := self._refusal(request)) is not None:
            return refusal
        fault = state.config.faults.take("upload", state.rng)
        return plain_fault_response(
            fault, state.config.error_style, state.config.faults, files_api=True
        )

    async def _read_json(self, request: Request, limit: int) -> dict[str, Any]:
        try:
            body = json.loads(await _bounded(request, limit).body())
        except ValueError as exc:
            raise _BadUpload("request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise _BadUpload("request body must be a JSON object")
        return body

    def _too_large(self) -> Response:
        limit_mb = self.state.config.max_upload_bytes / (1024 * 1024)
        return files_error(413, f"File too large: the limit is {limit_mb:g} MB.")

    def _store(
        self, data: bytes, upload_path: Any, file_name: Any, original_name: str | None
    ) -> Response:
        state = self.state
        if len(data) > state.config.max_upload_bytes:
            return self._too_large()
        mime = sniff_mime(data)
        if mime is None:
            return files_error(400, "Unsupported file: only JPEG, PNG, GIF and WebP are accepted.")
        path = _safe_path(upload_path)
        name = _safe_segment(file_name) if isinstance(file_name, str) else ""
        name = name or _safe_segment(original_name or "")
        name = name or f"{state.random_id(16)}.{_EXTENSIONS[mime]}"
        overwrite = state.file_by_key(f"{path}/{name}") is not None
        if not overwrite and len(state.live_files()) >= state.config.max_files:
            return files_error(403, f"File quota exceeded: at most {state.config.max_files} files.")
        record = state.add_file(data, mime, path, name, original_name or name)
        return JSONResponse(
            {
                "success": True,
                "code": 200,
                "msg": "File uploaded successfully",
                "data": state.file_json(record),
            }
        )

    async def upload_base64(self, request: Request) -> Response:
        if (early := self._upload_gate(request)) is not None:
            return early
        limit = self.state.config.max_upload_bytes * 4 // 3 + _ENVELOPE_SLACK
        try:
            body = await self._read_json(request, limit)
            data = _decode_base64(body.get("base64_data"))
        except _TooLarge:
            return self._too_large()
        except _BadUpload as exc:
            return files_error(400, str(exc))
        file_name = body.get("file_name")
        original = file_name if isinstance(file_name, str) else None
        return self._store(data, body.get("upload_path"), file_name, original)

    async def upload_stream(self, request: Request) -> Response:
        if (early := self._upload_gate(request)) is not None:
            return early
        kind, _, _ = request.headers.get("content-type", "").partition(";")
        if kind.strip().lower() != "multipart/form-data":
            return files_error(400, "Malformed multipart body: expected multipart/form-data.")
        limit = self.state.config.max_upload_bytes + _ENVELOPE_SLACK
        try:
            async with _bounded(request, limit).form() as form:
                # The first part wins when a name repeats (FormData.get would take the last).
                def first(*names: str) -> str | UploadFile | None:
                    # EvoLink's own client sends camelCase field names; the docs use snake_case.
                    values = [v for name in names for v in form.getlist(name)]
                    return values[0] if values else None

                part = first("file")
                if not isinstance(part, UploadFile):
                    return files_error(400, "Multipart field 'file' is required, as a file part.")
                path, name = first("upload_path", "uploadPath"), first("file_name", "fileName")
                return self._store(
                    await part.read(),
                    path if isinstance(path, str) else None,
                    name if isinstance(name, str) else None,
                    part.filename,
                )
        except _TooLarge:
            return self._too_large()
        except HTTPException as exc:  # python-multipart refused the body
            return files_error(400, f"Malformed multipart body: {exc.detail}")

    async def upload_url(self, request: Request) -> Response:
        if (early := self._upload_gate(request)) is not None:
            return early
        state = self.state
        try:
            body = await self._read_json(request, _ENVELOPE_SLACK)
        except _TooLarge:
            return self._too_large()
        except _BadUpload as exc:
            return files_error(400, str(exc))
        file_url = body.get("file_url")
        if not isinstance(file_url, str) or not file_url:
            return files_error(400, "file_url is required.")
        try:
            data = await state.fetch(file_url)
        except FetchError as exc:
            return files_error(400, f"Could not download file_url: {exc}")
        original = urlsplit(file_url).path.rsplit("/", 1)[-1] or None
        return self._store(data, body.get("upload_path"), body.get("file_name"), original)

    async def quota(self, request: Request) -> Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        used = len(self.state.live_files())
        limit = self.state.config.max_files
        data = {
            "user_group": "default",
            "used_files": used,
            "max_files": limit,
            "remain_files": max(limit - used, 0),
        }
        return JSONResponse({"success": True, "code": 200, "msg": "ok", "data": data})

    async def list_files(self, request: Request) -> Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        params = request.query_params
        page = int(params["page"]) if params.get("page", "").isdigit() else 1
        size_text = params.get("pageSize", params.get("page_size", ""))
        page_size = int(size_text) if size_text.isdigit() else 20
        records = self.state.live_files()
        start = max(page - 1, 0) * page_size
        files = [self.state.file_json(record) for record in records[start : start + page_size]]
        data = {"total": len(records), "files": files}
        return JSONResponse({"success": True, "code": 200, "msg": "ok", "data": data})

    async def delete(self, request: Request) -> Response:
        if (refusal := self._refusal(request)) is not None:
            return refusal
        file_id: str = request.path_params["file_id"]
        if not self.state.delete_file(file_id):
            return files_error(404, f"File {file_id} not found.")
        return JSONResponse(
            {
                "success": True,
                "code": 200,
                "msg": "File deleted successfully",
                "data": {"file_id": file_id},
            }
        )

    async def _serve_file(self, record: FileRecord | None) -> Response:
        state = self.state
        state.counters.file_gets += 1
        fault = state.config.faults.take("download", state.rng)
        early = plain_fault_response(
            fault, state.config.error_style, state.config.faults, files_api=True
        )
        if early is not None:
            return early
        if record is None or state.file_expired(record):
            return files_error(404, "File not found or expired.")
        return body_response(record.data, record.mime_type, fault, state.config.faults)

    async def download_by_path(self, request: Request) -> Response:
        return await self._serve_file(self.state.file_by_key(request.path_params["key"]))

    async def download_by_id(self, request: Request) -> Response:
        return await self._serve_file(self.state.files.get(request.path_params["file_id"]))
