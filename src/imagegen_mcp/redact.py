"""Secrets out of text that came from elsewhere: an upstream that echoes the request's
``Authorization`` header (or the key itself) must not put it into a tool result, the state
database or a log line."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+")
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{6,}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets``, every bearer token and anything shaped like an API
    key (``sk-...``) replaced by ``[redacted]``."""
    for secret in secrets:
        if len(secret) >= 6:  # a blank or tiny "secret" would shred ordinary words
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\1 {REDACTED}", text)
    return _KEY_LIKE.sub(REDACTED, text)
