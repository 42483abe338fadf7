"""EvoLink's files API: host a local image so a task can reference it by URL.

Uploads answer in the files API's own envelope, ``{"success", "code", "msg", "data"}``; the
``data.file_url`` is what a create passes in ``image_urls`` or ``mask_url``.
"""

from __future__ import annotations

import base64
from typing import Any

from imagegen_mcp.api.schemas import UploadedFile
from imagegen_mcp.api.session import Session
from imagegen_mcp.errors import UpstreamUnavailable


async def upload_base64(
    session: Session,
    files_base: str,
    content: bytes,
    mime_type: str,
    *,
    file_name: str | None = None,
) -> UploadedFile:
    payload: dict[str, Any] = {
        "base64_data": f"data:{mime_type};base64,{base64.b64encode(content).decode()}"
    }
    if file_name:
        payload["file_name"] = file_name
    url = f"{files_base}/api/v1/files/upload/base64"
    data = await session.json("POST", url, "Uploading", json=payload)
    inner = data.get("data") if isinstance(data, dict) else None
    if not isinstance(inner, dict) or not inner.get("file_url"):
        raise UpstreamUnavailable("Uploading: EvoLink's answer had no file_url.")
    return UploadedFile.model_validate(inner)
