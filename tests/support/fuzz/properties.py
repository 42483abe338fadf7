"""The properties every fuzzed answer must have, and the scanners for the API key in logs.

* ``answered``: a tool call gets a ``CallToolResult`` (ok or ``is_error``); a resource read gets
  its contents or an MCP error; nothing else is raised and nothing hangs.
* ``clear_error``: error text is non-empty, at most ``MAX_ERROR_CHARS`` long and tells the
  caller what is wrong or what to do.
* ``no_internals``: no traceback, no ``File "..."`` lines, no ``<class ...>`` / ``object at
  0x...`` reprs, no exception reprs like ``ValueError(...)``, no catch-all "Internal error".
  (A failed task's upstream message is relayed verbatim and is left out of this check.)
* ``no_key``: the API key (or a 24-character piece of it) is in no result.
* ``alive``: a ``list_tasks`` call right after still works.

And once per run (``RUN_PROPERTIES``): ``list_tools`` still lists every tool at the end, and the
key is in nothing written to the log (every logger at DEBUG) or to stderr.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from mcp.types import CallToolResult

from tests.support.mcp import text_of

#: The only key the sandbox accepts during a fuzz run. Long and unique, so a hit is never luck.
KEY = "sk-evo-fuzz-5c0f1e9a7b3d42e8a6f1c0d9b8e7a6f5-canary-do-not-leak-3e8d1b7c"
#: A piece of the key: a truncated echo of it would still contain this.
KEY_PIECE = KEY[12:36]

MAX_ERROR_CHARS = 2000
PROPERTIES = ("answered", "clear_error", "no_internals", "no_key", "alive")
RUN_PROPERTIES = ("tools_listed_at_end", "log_no_key", "stderr_no_key")

_INTERNALS = [
    ("traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("file-line", re.compile(r'File "[^"]*", line \d+')),
    ("class-repr", re.compile(r"<class '[\w.]+'>")),
    ("object-repr", re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")),
    ("exception-repr", re.compile(r"\b[A-Z]\w*(?:Error|Exception|Exit|Interrupt)\(")),
    ("internal-error", re.compile(r"Internal error \(")),
]
# Error text that tells the caller what is wrong with an argument or what to do next.
_ACTIONABLE = re.compile(
    r"\b(call|pass|use|set|check|try|retry|retrying|change|rephrase|move|add|drop|mark|make|"
    r"downscale|re-encode|top up|wait|give|should|must|required|expected|only|not found|"
    r"no task|unknown|invalid|does not|cannot|can not|is not|isn't|refused|failed|too|longer|"
    r"has no|larger|at most|at least|outside|malformed|unsupported|empty|exist|takes)\b",
    re.IGNORECASE,
)


class LogCapture(logging.Handler):
    """Scans every log record (with its traceback) for the key; keeps counts, not text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.records = 0
        self.chars = 0
        self.levels: Counter[str] = Counter()
        self.leaks: list[str] = []
        self.errors: list[str] = []  # the first ERROR records, tracebacks included
        self._lock2 = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception as exc:  # a record that cannot format is itself worth seeing
            text = f"unformattable record {record.name}: {exc!r}"
        with self._lock2:
            self.records += 1
            self.chars += len(text)
            self.levels[record.levelname] += 1
            if KEY in text or KEY_PIECE in text:
                self.leaks.append(text[:500])
            if record.levelno >= logging.ERROR and len(self.errors) < 20:
                self.errors.append(text[-3000:])


class StderrTee(io.TextIOBase):
    """Passes writes through to the real stderr and scans them for the key."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.chars = 0
        self.leaks: list[str] = []
        self._tail = ""

    def write(self, s: str) -> int:
        self.chars += len(s)
        window = self._tail + s
        if KEY in window or KEY_PIECE in window:
            self.leaks.append(window[-500:])
        self._tail = window[-len(KEY) :]
        return int(self.real.write(s))

    def flush(self) -> None:
        self.real.flush()


@contextlib.contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Every logger at DEBUG into a scanning handler (libraries the server quiets included)."""
    handler = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def unquiet_loggers() -> None:
    """Undo the level caps the server sets at build time (httpx2), so DEBUG lines are seen."""
    for name in list(logging.root.manager.loggerDict):
        logger = logging.getLogger(name)
        if logger.level > logging.DEBUG:
            logger.setLevel(logging.NOTSET)


def check_error_text(text: str, relayed: str | None = None) -> list[str]:
    """Failed properties of an error's text (``relayed`` upstream text is not ours to judge)."""
    failures: list[str] = []
    if not text.strip():
        return ["clear_error: empty error text"]
    if len(text) > MAX_ERROR_CHARS:
        failures.append(f"clear_error: {len(text)} chars (limit {MAX_ERROR_CHARS})")
    if not _ACTIONABLE.search(text):
        failures.append("clear_error: says neither what is wrong nor what to do")
    own = text.replace(relayed, "") if relayed else text
    for name, pattern in _INTERNALS:
        if pattern.search(own):
            failures.append(f"no_internals: {name}")
    return failures


def leaks_key(text: str) -> bool:
    """``no_key``: the key, or a piece of it that a truncated echo would keep, is in ``text``."""
    return KEY in text or KEY_PIECE in text


def check_tool_result(result: CallToolResult, group: str) -> tuple[str, str | None, list[str]]:
    """The outcome of a tool's answer, its error text and the properties it fails."""
    data = result.structured_content or {}
    if not result.is_error:
        if group in ("generate_image", "edit_image", "get_task") and not data.get("task_id"):
            return "ok", None, ["answered: an ok task result without a task_id"]
        return "ok", None, []
    text = text_of(result)
    error = data.get("error") if isinstance(data, dict) else None
    relayed = error.get("message") if isinstance(error, dict) else None
    return "is_error", text[:300], check_error_text(text, relayed)


def check_alive(result: CallToolResult) -> list[str]:
    """``alive`` and ``no_key`` on the ``list_tasks`` answer that follows every call."""
    data = result.structured_content
    if result.is_error or not isinstance(data, dict) or "tasks" not in data:
        return [f"alive: list_tasks answered {text_of(result)[:200]!r}"]
    if KEY in result.model_dump_json():
        return ["no_key: the API key is in list_tasks"]
    return []
