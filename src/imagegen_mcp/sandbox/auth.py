"""Bearer-key checking shared by the task API and the files API."""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request


def auth_problem(request: Request, keys: Collection[str]) -> str | None:
    """Why the request is not authorized, or None. Never echoes the key it was given."""
    header = request.headers.get("authorization")
    if not header:
        return "Missing Authorization header: send 'Authorization: Bearer <your API key>'."
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return "Malformed Authorization header: expected 'Bearer <your API key>'."
    if token not in keys:
        return "Invalid API key."
    return None
