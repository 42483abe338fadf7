"""Fuzzed tool calls: hypothesis-generated arguments for every tool and resource the server lists.

Every call goes through the MCP client (``mcp.Client``, in memory) to ``build_server`` wired to
the in-process sandbox over loopback HTTP, with a long, distinctive API key. Arguments mix
valid and hostile values: some are derived from each tool's JSON input schema (as listed by
``list_tools``), the rest are hand-written (unicode, empty and huge prompts, wrong sizes and
counts, image references inside and outside the allowed folder, symlinks, FIFOs, non-images,
loopback and private URLs, ``file://``, malformed data URIs, bad masks and mask regions, wait
extremes, injection-like task ids, wrong types, unknown and missing fields), plus upstream
faults queued on the sandbox.

Properties checked on every call:

* ``answered``: a tool call gets a ``CallToolResult`` (ok or ``is_error``); a resource read gets
  its contents or an MCP error; nothing else is raised and nothing hangs.
* ``clear_error``: error text is non-empty, at most ``MAX_ERROR_CHARS`` long and tells the
  caller what is wrong or what to do.
* ``no_internals``: no traceback, no ``File "..."`` lines, no ``<class ...>`` / ``object at
  0x...`` reprs, no exception reprs like ``ValueError(...)``, no catch-all "Internal error".
  (A failed task's upstream message is relayed verbatim and is left out of this check.)
* ``no_key``: the API key (or a 24-character piece of it) is in no result.
* ``alive``: a ``list_tasks`` call right after still works.

And once per run: ``list_tools`` still lists every tool at the end, and the key is in nothing
written to the log (every logger at DEBUG) or to stderr.

The short variant runs in the test suite (``tests/tools/test_fuzz.py``, which imports this
module). Run the full one with ``python bench/fuzz_tools.py [--calls N] [--seed S]``; results
go to ``bench/results/fuzz_tools.json``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench` importable as a script

import anyio
import anyio.from_thread
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import CallToolResult, TextContent
from PIL import Image

from bench.common import machine
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings, load_settings
from imagegen_mcp.service.poller import PollerConfig
from imagegen_mcp.service.schedule import PollPolicy

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz_tools.json"

#: The only key the sandbox accepts during a fuzz run. Long and unique, so a hit is never luck.
KEY = "sk-evo-fuzz-5c0f1e9a7b3d42e8a6f1c0d9b8e7a6f5-canary-do-not-leak-3e8d1b7c"
#: A piece of the key: a truncated echo of it would still contain this.
KEY_PIECE = KEY[12:36]

#: Same as ``tests.conftest.FAST_POLLER``: short intervals for sub-second sandbox tasks.
FAST_POLLER = PollerConfig(
    policy=PollPolicy(near_interval=0.05, min_interval=0.02, max_interval=0.5, overdue_max=0.2),
    error_backoff=0.05,
    storage_backoff=0.1,
)

TOOLS = ("generate_image", "edit_image", "get_task", "list_tasks")
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
    r"has no|larger|at most|at least|outside|malformed|unsupported|empty|exist)\b",
    re.IGNORECASE,
)


# --- files the hostile references point at ---------------------------------------------------


@dataclass(frozen=True)
class Files:
    root: Path
    allowed: Path  # the only IMAGEGEN_ALLOWED_DIRS entry
    outside: Path
    good: dict[str, Path]  # name -> a readable image inside the allowed folder
    masks: dict[str, Path]
    bad: dict[str, Path]  # name -> something that must be refused
    png_data_uri: str
    huge_data_uri: str
    bomb_data_uri: str


def _png_bytes(size: tuple[int, int], color: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def make_files(root: Path) -> Files:
    """Inputs for the image arguments: good images, masks, and things that must be refused."""
    allowed, outside = root / "allowed", root / "outside"
    allowed.mkdir(parents=True)
    outside.mkdir()
    good = {
        "png": allowed / "base.png",
        "jpeg": allowed / "photo.jpg",
        "webp": allowed / "small.webp",
        "unicode": allowed / "ünï cødé & spaces.png",
        "link": allowed / "link-to-base.png",
    }
    gradient = Image.linear_gradient("L").resize((1024, 1024)).convert("RGB")
    gradient.save(good["png"])
    gradient.resize((512, 768)).save(good["jpeg"], quality=85)
    Image.new("RGB", (64, 64), (200, 30, 30)).save(good["webp"], format="WEBP")
    Image.new("RGB", (96, 96), (10, 200, 30)).save(good["unicode"], format="PNG")
    good["link"].symlink_to(good["png"])

    masks = {"alpha": allowed / "mask-alpha.png", "bw": allowed / "mask-bw.png"}
    alpha = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    alpha.paste((0, 0, 0, 0), (0, 0, 512, 512))
    alpha.save(masks["alpha"])
    bw = Image.new("L", (512, 512), 0)
    bw.paste(255, (0, 0, 256, 512))
    bw.save(masks["bw"])
    for name, mode, color, size in [
        ("nothing", "RGBA", (0, 0, 0, 255), (1024, 1024)),  # opaque: marks nothing
        ("everything", "RGBA", (0, 0, 0, 0), (1024, 1024)),  # transparent: marks it all
        ("wide", "RGBA", (0, 0, 0, 0), (1024, 512)),  # another aspect ratio
    ]:
        masks[name] = allowed / f"mask-{name}.png"
        img = Image.new(mode, size, color)
        if name == "wide":
            img.paste((0, 0, 0, 255), (0, 0, 512, 512))
        img.save(masks[name])

    (outside / "outside.png").write_bytes(_png_bytes((32, 32)))
    (outside / "secret.txt").write_text(f"EVOLINK_API_KEY={KEY}\n")
    bad = {
        "outside": outside / "outside.png",
        "dotdot": allowed / ".." / "outside" / "outside.png",
        "escaping-link": allowed / "escape.png",
        "missing": allowed / "missing.png",
        "directory": allowed / "folder",
        "text": allowed / "notes.txt",
        "key-as-png": allowed / "key.png",  # a text file holding the key, named like an image
        "truncated": allowed / "truncated.png",
        "gif": allowed / "anim.gif",
        "sparse-11mb": allowed / "huge.png",
        "fifo": allowed / "pipe.png",
        "loop": allowed / "loop-a.png",
        "empty": allowed / "empty.png",
        "bomb": allowed / "bomb.png",  # 23 KB of PNG, 192 megapixels: a decompression bomb
    }
    bad["escaping-link"].symlink_to(outside / "outside.png")
    bad["directory"].mkdir()
    bad["text"].write_text("not an image\n")
    bad["key-as-png"].write_text(f"EVOLINK_API_KEY={KEY}\n")
    bad["truncated"].write_bytes(good["png"].read_bytes()[:300])
    Image.new("P", (16, 16)).save(bad["gif"], format="GIF")
    with bad["sparse-11mb"].open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    if hasattr(os, "mkfifo"):
        os.mkfifo(bad["fifo"])
    bad["loop"].symlink_to(allowed / "loop-b.png")
    (allowed / "loop-b.png").symlink_to(bad["loop"])
    bad["empty"].write_bytes(b"")
    Image.new("1", (16000, 12000), 0).save(bad["bomb"], format="PNG")
    png = base64.b64encode(_png_bytes((64, 64), (1, 2, 3))).decode()
    return Files(
        root=root,
        allowed=allowed,
        outside=outside,
        good=good,
        masks=masks,
        bad=bad,
        png_data_uri=f"data:image/png;base64,{png}",
        huge_data_uri="data:image/png;base64," + "A" * 3_000_000,
        bomb_data_uri="data:image/png;base64,"
        + base64.b64encode(bad["bomb"].read_bytes()).decode(),
    )


# --- what was called, and what came back ------------------------------------------------------


@dataclass
class CallSpec:
    kind: str  # "tool" or "resource"
    target: str  # tool name or resource URI
    args: dict[str, Any] | None
    category: str  # which strategy made it
    fault: tuple[str, Any] | None = None  # (route, kind) queued on the sandbox first

    def short(self, limit: int = 300) -> str:
        args = json.dumps(self.args, default=repr, ensure_ascii=False) if self.args else ""
        text = f"{self.category}: {self.target}({args})"
        if self.fault:
            text += f" with fault {self.fault}"
        return text if len(text) <= limit else text[:limit] + f"... [{len(text)} chars]"


@dataclass
class CallRecord:
    index: int
    group: str  # tool name, "unknown-tool", or "resource:<template>"
    category: str
    outcome: str  # ok | is_error | protocol_error | exception | timeout
    seconds: float
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    spec: str | None = None  # the call, kept only when a property failed


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


# --- strategies ---------------------------------------------------------------------------------


def from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for a (pydantic-made) JSON schema; long strings are capped for speed."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(
            min_value=low,
            max_value=schema.get("maximum"),
            exclude_min="exclusiveMinimum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "string":
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 200), 200)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: low <= len(s) <= high
            )
        return st.text(min_size=low, max_size=high)
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs)
        return st.lists(items, max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object" or "properties" in schema:
        return object_from_schema(schema, defs)
    return st.none()


def object_from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {k: from_schema(v, defs) for k, v in props.items() if k in required},
        optional={k: from_schema(v, defs) for k, v in props.items() if k not in required},
    )


WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers() | st.none(), max_size=3),
)

HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "\n\r\t",
    "null",
    "undefined",
    "%00",
    "%s%s%s%n",
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/a}",
    "'; DROP TABLE tasks; --",
    '" OR 1=1 --',
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\u202eevil\u202c",
    "\ud7ff\ue000\uffff",
    "🦄" * 50,
    "a" * 2000,
    "a" * 2001,
    "é" * 100_000,
]

HOSTILE_WAITS: list[Any] = [
    -1,
    -0.0001,
    55.0001,
    56,
    1e308,
    -1e308,
    math.inf,
    -math.inf,
    math.nan,
    "5",
    "soon",
    [],
    {},
]
HOSTILE_TASK_IDS = [
    "ig-000000000000",
    "ig-____________",
    "%",
    "ig-%",
    "*",
    "../../etc/passwd",
    "ig-x'; DROP TABLE tasks;--",
    "ig-\x00",
    "ig-ñ",
    " ig-abc",
    "a" * 64,
    "a" * 65,
    "",
]
REGION_CASES: list[Any] = [
    [{"x": 0, "y": 0, "width": 1, "height": 1}],  # the whole image
    [{"x": 0.5, "y": 0.5, "width": 1e-6, "height": 1e-6}],  # under a pixel
    [{"shape": "ellipse", "x": 0.2, "y": 0.2, "width": 1e-4, "height": 0.3}],
    [{"x": 0.9, "y": 0.9, "width": 0.2, "height": 0.2}],  # outside
    [{"x": -0.1, "y": 0, "width": 0.5, "height": 0.5}],
    [{"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}] * 21,
    {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2},
    "the top left corner",
]

PROMPTS: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(
        [
            "a lighthouse at dusk",
            "a red kite over green hills, watercolor",
            "東京の夜景, neon, rain",
            "مرحبا بالعالم — a calligraphy poster",
            "a\u0301 combining ma\u0308rks and ZWJ 👩‍👩‍👧",
            "x" * 2000,
            "bad idea [fail:content_policy_violation]",
            "no luck [fail:generation_failed_no_content]",
        ]
    ),
    st.text(min_size=1, max_size=120).filter(lambda s: "[fail:" not in s),
)


#: Draws that depend on run state (tasks made so far) pick by index, so every draw has the same
#: shape whatever the state: hypothesis requires that of a strategy.
INDEX = st.integers(0, 4095)


def pick(items: list[str], i: int, fallback: str) -> str:
    return items[i % len(items)] if items else fallback


class Strategies:
    """Call specs, built on the live tool schemas, fixture files and tasks made so far."""

    def __init__(
        self,
        schemas: dict[str, dict[str, Any]],
        files: Files,
        base_url: str,
        *,
        max_wait: float,
    ) -> None:
        self.schemas = schemas
        self.files = files
        self.base_url = base_url
        self.max_wait = max_wait
        self.known: dict[str, int] = {}  # task id -> images saved (as last seen)
        self.schema_args = {
            name: object_from_schema(schema, schema.get("$defs", {}))
            for name, schema in schemas.items()
        }

    # -- argument pieces -------------------------------------------------------------------

    def waits(self) -> st.SearchStrategy[float | None]:
        short = [0, 0, 0, self.max_wait / 4, self.max_wait]
        return st.one_of(
            st.sampled_from(short),
            st.floats(0, self.max_wait),
            st.sampled_from([None, self.max_wait]),
        )

    def hostile_waits(self) -> st.SearchStrategy[Any]:
        return st.sampled_from(HOSTILE_WAITS)

    def task_ids(self) -> st.SearchStrategy[str]:
        hostile = st.sampled_from(HOSTILE_TASK_IDS)
        known = INDEX.map(lambda i: pick(sorted(self.known), i, "ig-000000000000"))
        saved = INDEX.map(
            lambda i: pick([t for t, n in sorted(self.known.items()) if n], i, "ig-000000000000")
        )
        return st.one_of(saved, saved, known, hostile)

    def good_refs(self) -> st.SearchStrategy[str]:
        f = self.files
        refs = [str(p) for p in f.good.values()] + [f.png_data_uri]

        def saved(i: int) -> str:
            done = [t for t, n in sorted(self.known.items()) if n > 0]
            return pick([f"image://{t}/0" for t in done], i, refs[0])

        return st.one_of(st.sampled_from(refs), INDEX.map(saved))

    def image_uris(self) -> st.SearchStrategy[str]:
        """image:// URIs of saved results (valid) and of things that do not exist."""

        def valid(i: int) -> str:
            uris = [f"image://{t}/{k}" for t, n in sorted(self.known.items()) for k in range(n)]
            return pick(uris, i, "image://ig-000000000000/0")

        def any_index(i: int, k: int) -> str:
            return f"image://{pick(sorted(self.known), i, 'ig-000000000000')}/{k}"

        return st.one_of(
            st.sampled_from(
                [
                    "image://ig-000000000000/0",
                    "image://ig-x/-1",
                    "image://../0",
                    "image://recent",
                    "image:///0",
                    "image://a/b/c",
                    "image://ig-0/99999999999999999999999",
                ]
            ),
            INDEX.map(valid),
            INDEX.map(valid),
            st.builds(any_index, INDEX, st.integers(-2, 6)),
        )

    def bad_ref_values(self) -> list[str]:
        """Image references that must be refused (or, for URLs, fail upstream) cleanly."""
        f, port_url = self.files, self.base_url
        paths = [str(p) for p in f.bad.values()]
        return [
            *paths,
            str(f.outside / "secret.txt"),
            "/etc/passwd",
            "/etc/shadow",
            "/proc/self/environ",
            "/dev/zero",
            "/dev/urandom",
            "/",
            "base.png",
            "./base.png",
            "~/base.png",
            "~root/.ssh/id_rsa",
            "~no-such-user-fuzz/x.png",
            str(f.allowed) + "/\ud800.png",  # a lone surrogate: not valid UTF-8
            str(f.allowed) + "/",
            str(f.allowed / "base.png") + "\x00.txt",
            "/" + "a" * 5000,
            "/" + "c" * 100_000,
            "/" + "b/" * 3000,
            "C:\\Windows\\win.ini",
            "\\\\server\\share\\x.png",
            "file:///etc/passwd",
            f"file://{f.good['png']}",
            "ftp://127.0.0.1/x.png",
            "gopher://127.0.0.1:25/_HELO",
            "javascript:alert(1)",
            "http://",
            "https:///nohost.png",
            "http://127.0.0.1:1/a.png",
            "http://localhost/a.png",
            "HTTP://LOCALHOST:9/x.png",
            "http://[::1]:1/x.png",
            "http://[::ffff:127.0.0.1]:1/x.png",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/x.png",
            "https://192.168.1.1/x.png",
            "http://192.0.2.10/x.png",
            "http://0x7f000001/x.png",
            "http://2130706433/x.png",
            "http://user:pass@127.0.0.1:1/x.png",
            "https://images.example.invalid/cat.png",
            "http://" + "a" * 3000 + ".com/x.png",
            "http://[::1/x.png",
            "https://[zz]/x.png",
            "http://127.0.0.1:99999/x.png",
            "http://127.0.0.1:port/x.png",
            f"{port_url}/files/does-not-exist",
            f"{port_url}/results/x/y/0.png",
            "data:,hello",
            "data:image/png;base64,!!!not base64!!!",
            "data:image/png;base64,",
            "data:text/plain;base64,aGVsbG8=",
            "data:image/png,rawbytes",
            "DATA:IMAGE/PNG;BASE64,iVBORw0KGgo=",
            f.png_data_uri[:60],
            f.huge_data_uri,
            f.bomb_data_uri,
            "image://ig-000000000000/0",
            "image://ig-0/" + "9" * 5000,
            f"image://{'t' * 100_000}/0",
            "image://../../etc/passwd",
            "image://x",
            " ",
            "\x00",
            "null",
        ]

    def bad_refs(self) -> st.SearchStrategy[str]:
        fixed = st.sampled_from(self.bad_ref_values())
        return st.one_of(fixed, fixed, self.image_uris(), st.text(max_size=40))

    def corpus(self) -> list[CallSpec]:
        """Every hand-written hostile value once, in the slot it targets (run before fuzzing)."""
        good = str(self.files.good["png"])
        region = [{"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.3}]
        specs: list[CallSpec] = []
        for ref in self.bad_ref_values():
            specs.append(
                CallSpec(
                    "tool",
                    "generate_image",
                    {"prompt": "corpus", "reference_images": [ref], "wait_seconds": 0},
                    "corpus",
                )
            )
            specs.append(
                CallSpec(
                    "tool",
                    "edit_image",
                    {"prompt": "corpus", "image": ref, "mask_region": region, "wait_seconds": 0},
                    "corpus",
                )
            )
        for mask in [*map(str, self.files.masks.values()), *self.bad_ref_values()[:20]]:
            args = {"prompt": "corpus", "image": good, "mask": mask, "wait_seconds": 0}
            specs.append(CallSpec("tool", "edit_image", args, "corpus"))
        for regions in REGION_CASES:
            args = {"prompt": "corpus", "image": good, "mask_region": regions, "wait_seconds": 0}
            specs.append(CallSpec("tool", "edit_image", args, "corpus"))
        for wait in HOSTILE_WAITS:
            args = {"task_id": "ig-000000000000", "wait_seconds": wait}
            specs.append(CallSpec("tool", "get_task", args, "corpus"))
        for task_id in HOSTILE_TASK_IDS:
            specs.append(CallSpec("tool", "get_task", {"task_id": task_id}, "corpus"))
            uri = f"image://{task_id}/0"
            specs.append(CallSpec("resource", uri, None, "corpus"))
        for prompt in HOSTILE_STRINGS:
            args = {"prompt": prompt, "wait_seconds": 0, "preview": "none"}
            specs.append(CallSpec("tool", "generate_image", args, "corpus"))
        return specs

    def refs(self) -> st.SearchStrategy[str]:
        return st.one_of(self.good_refs(), self.good_refs(), self.bad_refs())

    def regions(self) -> st.SearchStrategy[Any]:
        frac = st.floats(0, 1)
        valid_region = st.builds(
            lambda shape, x, y, w, h: {
                "shape": shape,
                "x": round(x * 0.5, 4),
                "y": round(y * 0.5, 4),
                "width": round(max(w * 0.5, 0.01), 4),
                "height": round(max(h * 0.5, 0.01), 4),
            },
            st.sampled_from(["rectangle", "ellipse"]),
            frac,
            frac,
            frac,
            frac,
        )
        raw_region = st.fixed_dictionaries(
            {},
            optional={
                "shape": st.sampled_from(["rectangle", "ellipse", "triangle", "", None, 3]),
                "x": st.floats(allow_nan=True) | WRONG_TYPES,
                "y": st.floats(-0.5, 1.5),
                "width": st.floats(0, 1.5) | st.just(1e-9),
                "height": st.floats(-0.1, 1.1) | st.just(1e-12),
                "extra": st.integers(),
            },
        )
        fixed = st.sampled_from([[], *REGION_CASES])
        return st.one_of(
            st.lists(valid_region, min_size=1, max_size=4),
            st.lists(valid_region, min_size=1, max_size=4),
            fixed,
            st.lists(raw_region, max_size=3),
        )

    # -- call specs ------------------------------------------------------------------------

    def valid_generate(self, draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {"prompt": draw(PROMPTS)}
        optional: dict[str, st.SearchStrategy[Any]] = {
            "size": st.sampled_from(self.schemas["generate_image"]["properties"]["size"]["enum"]),
            "n": st.sampled_from([1, 1, 1, 2, 4]),
            "model": st.sampled_from(self.schemas["generate_image"]["properties"]["model"]["enum"]),
            "reference_images": st.lists(self.good_refs(), max_size=2),
            "wait_seconds": self.waits(),
            "client_request_id": st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True),
            "preview": st.sampled_from(["thumbnail", "none", "full", "thumbnail"]),
        }
        for name, strategy in optional.items():
            if draw(st.booleans()):
                args[name] = draw(strategy)
        return args

    def valid_edit(self, draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {"prompt": draw(PROMPTS), "image": draw(self.good_refs())}
        how = draw(st.sampled_from(["none", "mask", "region", "region"]))
        if how == "mask":
            args["image"] = str(self.files.good["png"])
            args["mask"] = str(
                draw(st.sampled_from([self.files.masks["alpha"], *self.files.masks.values()]))
            )
            if draw(st.booleans()):
                args["mask_invert"] = draw(st.booleans())
        elif how == "region":
            args["mask_region"] = draw(st.lists(self.regions_valid(), min_size=1, max_size=3))
        for name, strategy in {
            "size": st.sampled_from(self.schemas["edit_image"]["properties"]["size"]["enum"]),
            "n": st.sampled_from([1, 1, 2, 4]),
            "wait_seconds": self.waits(),
            "preview": st.sampled_from(["thumbnail", "none", "full"]),
        }.items():
            if draw(st.booleans()):
                args[name] = draw(strategy)
        return args

    def regions_valid(self) -> st.SearchStrategy[dict[str, Any]]:
        return st.builds(
            lambda shape, x, y, w, h: {
                "shape": shape,
                "x": x,
                "y": y,
                "width": max(0.05, min(w, 1 - x)),
                "height": max(0.05, min(h, 1 - y)),
            },
            st.sampled_from(["rectangle", "ellipse"]),
            st.floats(0, 0.6),
            st.floats(0, 0.6),
            st.floats(0.05, 0.4),
            st.floats(0.05, 0.4),
        )

    def valid_args(self, draw: st.DrawFn, tool: str) -> dict[str, Any]:
        if tool == "generate_image":
            return self.valid_generate(draw)
        if tool == "edit_image":
            return self.valid_edit(draw)
        if tool == "get_task":
            args: dict[str, Any] = {"task_id": draw(self.task_ids())}
            if draw(st.booleans()):
                args["wait_seconds"] = draw(self.waits())
            if draw(st.booleans()):
                args["preview"] = draw(st.sampled_from(["thumbnail", "none", "full"]))
            return args
        return draw(self.schema_args["list_tasks"])

    def hostile_value(self, draw: st.DrawFn, name: str) -> Any:
        per_field: dict[str, st.SearchStrategy[Any]] = {
            "prompt": st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=50),
            "size": st.sampled_from(
                ["999x999", "1:2", "", "1024X1024", " 1:1", "1:1 ", "1024*1024", "2048x2048"]
            ),
            "n": st.sampled_from([0, 3, -1, 5, 10**9, 10**30, 1.0, 2.5, "2", "four", True]),
            "model": st.sampled_from(
                ["gpt-5", "", "GPT-4O-IMAGE", "../../etc", "gpt-4o-image ", "dall-e-3"]
            ),
            "reference_images": st.one_of(
                st.lists(self.refs(), min_size=1, max_size=3),
                st.lists(self.good_refs(), min_size=6, max_size=7),
                st.just(str(self.files.good["png"])),
                st.lists(WRONG_TYPES, min_size=1, max_size=2),
            ),
            "image": self.bad_refs(),
            "mask": st.one_of(
                self.bad_refs(), st.sampled_from(list(self.files.masks.values())).map(str)
            ),
            "mask_region": self.regions(),
            "mask_invert": st.sampled_from(["yes", 2, None, "true"]),
            "wait_seconds": self.hostile_waits(),
            "client_request_id": st.sampled_from(
                ["", "has space", "x" * 129, "ünï", "a/b", "../x", "id\n", "%", "ok-id"]
            ),
            "preview": st.sampled_from(["", "huge", "FULL", "thumb", "none "]),
            "task_id": self.task_ids(),
            "limit": st.sampled_from([0, -1, 101, 10**9, 1.5, "20", None]),
            "status": st.sampled_from(["done", "COMPLETED", "", "completed ", "%", 1]),
        }
        strategy = per_field.get(name, WRONG_TYPES)
        return draw(st.one_of(strategy, strategy, WRONG_TYPES))

    def hostile(self, draw: st.DrawFn) -> CallSpec:
        tool = draw(st.sampled_from([*TOOLS, *TOOLS, "generate", "Generate_Image", "", "x" * 300]))
        if tool not in self.schemas:
            args = draw(self.schema_args["generate_image"] | st.just({}))
            return CallSpec("tool", tool, args, "hostile-unknown-tool")
        args = self.valid_args(draw, tool)
        props = list(self.schemas[tool]["properties"])
        for _ in range(draw(st.integers(1, 3))):
            action = draw(st.sampled_from(["set", "set", "set", "drop", "extra"]))
            if action == "set":
                name = draw(st.sampled_from(props))
                args[name] = self.hostile_value(draw, name)
            elif action == "drop" and args:
                args.pop(draw(st.sampled_from(sorted(args))))
            else:
                key = draw(st.sampled_from(["ctx", "api_key", "__proto__", "debug", "x" * 100]))
                args[key] = draw(WRONG_TYPES | st.just(KEY[:4]))
        if draw(st.integers(0, 20)) == 0:
            args = {}
        return CallSpec("tool", tool, args, "hostile")

    def images(self, draw: st.DrawFn) -> CallSpec:
        """A valid call whose image arguments (references, image, mask, regions) are hostile."""
        tool = draw(st.sampled_from(["generate_image", "edit_image", "edit_image"]))
        args = self.valid_args(draw, tool)
        args["wait_seconds"] = draw(st.sampled_from([0, self.max_wait]))
        if tool == "generate_image":
            args["reference_images"] = draw(
                st.lists(st.one_of(self.bad_refs(), self.good_refs()), min_size=1, max_size=3)
            )
            return CallSpec("tool", tool, args, "images")
        args.pop("mask", None)
        args.pop("mask_region", None)
        which = draw(st.sampled_from(["image", "mask", "mask_region", "image+region"]))
        if which.startswith("image"):
            args["image"] = draw(self.bad_refs())
        else:
            args["image"] = draw(
                st.sampled_from([str(self.files.good["png"]), self.files.png_data_uri])
            )
        if which == "mask":
            args["mask"] = draw(
                st.one_of(
                    self.bad_refs(), st.sampled_from(sorted(map(str, self.files.masks.values())))
                )
            )
        if which.endswith("region"):
            args["mask_region"] = draw(self.regions())
        return CallSpec("tool", tool, args, "images")

    def resource(self, draw: st.DrawFn) -> CallSpec:
        uri = draw(
            st.one_of(
                st.just("image://recent"),
                self.image_uris(),
                self.image_uris(),
                st.sampled_from(
                    [
                        "",
                        "image://",
                        "image://recent/",
                        "image://RECENT",
                        "image://%2e%2e/0",
                        "image://ig-x%27%20OR%201=1/0",
                        f"image://{'a' * 5000}/0",
                        "image://ig-1/0?x=1",
                        "file:///etc/passwd",
                        "http://127.0.0.1/",
                        "recent",
                    ]
                ),
                st.from_regex(r"image://[^/\s]{0,20}/[0-9a-z-]{0,5}", fullmatch=True),
            )
        )
        return CallSpec("resource", uri, None, "resource")

    def fault(self, draw: st.DrawFn) -> CallSpec:
        route, kind = draw(
            st.sampled_from(
                [
                    ("create", 400),
                    ("create", 401),
                    ("create", 402),
                    ("create", 403),
                    ("create", 429),
                    ("create", 500),
                    ("create", 503),
                    ("create", "drop"),
                    ("create", "create_then_502"),
                    ("create", "create_then_drop"),
                    ("get", 500),
                    ("get", "drop"),
                    ("download", "truncate"),
                    ("download", "drop"),
                    ("upload", 500),
                    ("task", "fail"),
                ]
            )
        )
        tool = "edit_image" if route == "upload" else "generate_image"
        args = self.valid_args(draw, tool)
        if route == "upload":  # a fresh image, so the upload is not served from the cache
            color = draw(st.tuples(*[st.integers(0, 255)] * 3))
            data = base64.b64encode(_png_bytes((32, 32), color)).decode()
            args["image"] = f"data:image/png;base64,{data}"
            args.pop("mask", None)
            args["mask_region"] = [{"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.3}]
        args["wait_seconds"] = self.max_wait
        return CallSpec("tool", tool, args, f"fault-{route}", fault=(route, kind))

    def call_specs(self) -> st.SearchStrategy[CallSpec]:
        @st.composite
        def spec(draw: st.DrawFn) -> CallSpec:
            category = draw(
                st.sampled_from(
                    ["valid"] * 8
                    + ["schema"] * 3
                    + ["hostile"] * 5
                    + ["images"] * 4
                    + ["resource"] * 2
                    + ["fault"]
                )
            )
            if category == "images":
                return self.images(draw)
            if category == "hostile":
                return self.hostile(draw)
            if category == "resource":
                return self.resource(draw)
            if category == "fault":
                return self.fault(draw)
            tool = draw(st.sampled_from([*TOOLS, "generate_image", "edit_image"]))
            if category == "schema":
                return CallSpec("tool", tool, draw(self.schema_args[tool]), "schema")
            return CallSpec("tool", tool, self.valid_args(draw, tool), "valid")

        return spec()


# --- the harness ------------------------------------------------------------------------------


SettingsFactory = Callable[[Sandbox, Path], Settings]


def bench_settings(sb: Sandbox, home: Path) -> Settings:
    return load_settings(
        EVOLINK_API_KEY=KEY,
        api_base=sb.base_url,
        files_base=sb.base_url,
        home=home,
        allowed_dirs=(home.parent,),
        max_requests_per_second=1000.0,
        wait_seconds=1.0,
    )


def sandbox_config(task_duration: float, seed_: int) -> SandboxConfig:
    return SandboxConfig(
        api_keys=frozenset({KEY}),
        task_duration=task_duration,
        credits=1e12,
        max_files=1_000_000,
        seed=seed_,
    )


def result_text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


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


class Harness:
    """A sandbox, a server and a connected client in one event loop; calls are checked here."""

    def __init__(self, sb: Sandbox, client: Client, files: Files, *, call_timeout: float) -> None:
        self.sb = sb
        self.client = client
        self.files = files
        self.call_timeout = call_timeout
        self.records: list[CallRecord] = []
        self.alive_calls = 0
        self.strategies: Strategies | None = None
        self.tool_names: list[str] = []

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        root: Path,
        settings_for: SettingsFactory,
        *,
        task_duration: float = 0.05,
        max_wait: float = 1.0,
        call_timeout: float = 60.0,
        seed_: int = 0,
    ) -> AsyncIterator[Harness]:
        files = make_files(root)
        async with Sandbox(sandbox_config(task_duration, seed_)) as sb:
            # Like tests.conftest.make_settings: the allowed folder is the home's parent.
            settings = settings_for(sb, files.allowed / "home")
            assert settings.require_api_key() == KEY, "the fuzz run must use the canary key"
            server = build_server(settings, poller=FAST_POLLER)
            unquiet_loggers()
            async with Client(server) as client:
                harness = cls(sb, client, files, call_timeout=call_timeout)
                listed = (await client.list_tools()).tools
                harness.tool_names = [t.name for t in listed]
                schemas = {t.name: t.input_schema for t in listed}
                missing = set(TOOLS) - set(schemas)
                assert not missing, f"tools missing from list_tools: {missing}"
                harness.strategies = Strategies(schemas, files, sb.base_url, max_wait=max_wait)
                yield harness

    @property
    def specs(self) -> st.SearchStrategy[CallSpec]:
        assert self.strategies is not None
        return self.strategies.call_specs()

    def _group(self, spec: CallSpec) -> str:
        if spec.kind == "resource":
            if spec.target == "image://recent":
                return "resource:image://recent"
            return "resource:image://{task_id}/{index}"
        return spec.target if spec.target in self.tool_names else "unknown-tool"

    def _arm_fault(self, spec: CallSpec) -> None:
        if spec.fault is None:
            return
        route, kind = spec.fault
        if route == "task":
            self.sb.config.faults.fail_tasks = 1
        else:
            self.sb.config.faults.queue(route, kind)

    async def execute(self, spec: CallSpec) -> CallRecord:
        """Make one call, check every property, then check the server still answers."""
        record = CallRecord(
            index=len(self.records),
            group=self._group(spec),
            category=spec.category,
            outcome="?",
            seconds=0.0,
        )
        started = time.perf_counter()
        dumped = ""
        self._arm_fault(spec)
        try:
            with anyio.fail_after(self.call_timeout):
                if spec.kind == "tool":
                    result = await self.client.call_tool(spec.target, spec.args)
                    dumped = result.model_dump_json()
                    self._check_tool_result(result, record)
                else:
                    read = await self.client.read_resource(spec.target, cache_mode="bypass")
                    dumped = read.model_dump_json()
                    record.outcome = "ok"
                    if not read.contents:
                        record.failures.append("answered: a resource read with no contents")
        except MCPError as exc:
            record.outcome = "protocol_error"
            dumped = f"{exc} {exc.error.model_dump_json()}"
            record.error = str(exc)[:300]
            if spec.kind == "tool":
                record.failures.append(f"answered: tool call raised MCPError {exc.error.code}")
            record.failures += check_error_text(str(exc))
        except TimeoutError:
            record.outcome = "timeout"
            record.failures.append(f"answered: no answer within {self.call_timeout:g} s")
        except Exception as exc:
            record.outcome = "exception"
            dumped = repr(exc)
            record.error = repr(exc)[:300]
            record.failures.append(f"answered: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            self.sb.config.faults.clear()
        record.seconds = time.perf_counter() - started
        if KEY in dumped or KEY_PIECE in dumped:
            record.failures.append("no_key: the API key is in the result")
        await self._check_alive(record)
        if record.failures:
            record.spec = spec.short(2000)
        self.records.append(record)
        return record

    def _check_tool_result(self, result: CallToolResult, record: CallRecord) -> None:
        data = result.structured_content or {}
        if result.is_error:
            record.outcome = "is_error"
            text = result_text(result)
            record.error = text[:300]
            error = data.get("error") if isinstance(data, dict) else None
            relayed = error.get("message") if isinstance(error, dict) else None
            record.failures += check_error_text(text, relayed)
        else:
            record.outcome = "ok"
            if record.group in ("generate_image", "edit_image", "get_task") and not data.get(
                "task_id"
            ):
                record.failures.append("answered: an ok task result without a task_id")
        if isinstance(data, dict) and data.get("task_id") and self.strategies is not None:
            self.strategies.known[str(data["task_id"])] = len(data.get("images") or [])

    async def _check_alive(self, record: CallRecord) -> None:
        self.alive_calls += 1
        try:
            with anyio.fail_after(30):
                alive = await self.client.call_tool("list_tasks", {"limit": 30})
        except Exception as exc:
            record.failures.append(f"alive: list_tasks raised {type(exc).__name__}: {exc}")
            return
        data = alive.structured_content
        if alive.is_error or not isinstance(data, dict) or "tasks" not in data:
            record.failures.append(f"alive: list_tasks answered {result_text(alive)[:200]!r}")
            return
        if KEY in alive.model_dump_json():
            record.failures.append("no_key: the API key is in list_tasks")
        if self.strategies is not None:
            for task in data["tasks"]:
                self.strategies.known[task["task_id"]] = task["images_saved"]

    async def final_checks(self) -> dict[str, str | None]:
        """Run-level properties that need the server: list_tools at the end."""
        try:
            with anyio.fail_after(30):
                names = {t.name for t in (await self.client.list_tools()).tools}
            missing = set(TOOLS) - names
            listed = f"missing tools {sorted(missing)}" if missing else None
        except Exception as exc:
            listed = f"list_tools raised {type(exc).__name__}: {exc}"
        return {"tools_listed_at_end": listed}


class PortalRunner:
    """Keeps a ``Harness`` open in a blocking portal, for sync hypothesis tests to call into."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, harness: Harness) -> None:
        self.portal = portal
        self.harness = harness

    def call(self, spec: CallSpec) -> CallRecord:
        return self.portal.call(self.harness.execute, spec)

    def final_checks(self) -> dict[str, str | None]:
        return self.portal.call(self.harness.final_checks)


@contextlib.contextmanager
def run_in_portal(
    root: Path, settings_for: SettingsFactory, **options: Any
) -> Iterator[PortalRunner]:
    with anyio.from_thread.start_blocking_portal(backend="asyncio") as portal:
        cm = Harness.open(root, settings_for, **options)
        with portal.wrap_async_context_manager(cm) as harness:
            yield PortalRunner(portal, harness)


# --- summary --------------------------------------------------------------------------------


def normalize_error(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = re.sub(r"ig-[0-9a-f]{12}", "ig-<id>", first)
    first = re.sub(r"\S{40,}", "<long>", first)
    return first[:160]


def summarize(records: list[CallRecord], run_failures: dict[str, str | None]) -> dict[str, Any]:
    groups: dict[str, Counter[str]] = {}
    for r in records:
        groups.setdefault(r.group, Counter())[r.outcome] += 1
    failures: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for r in records:
        for f in r.failures:
            failures[f.split(":", 1)[0]] += 1
        if r.failures and len(examples) < 30:
            examples.append(asdict(r))
    outcomes = Counter(r.outcome for r in records)
    errors = Counter(normalize_error(r.error) for r in records if r.error)
    return {
        "calls": len(records),
        "outcomes": dict(outcomes),
        "per_group": {g: dict(c) for g, c in sorted(groups.items())},
        "per_category": {
            cat: dict(Counter(r.outcome for r in records if r.category == cat))
            for cat in sorted({r.category for r in records})
        },
        "property_failures": {p: failures.get(p, 0) for p in PROPERTIES},
        "run_property_failures": {k: v for k, v in run_failures.items()},
        "failure_examples": examples,
        "error_messages": [{"count": n, "text": t} for t, n in errors.most_common(60)],
        "seconds_total_in_calls": round(sum(r.seconds for r in records), 3),
        "slowest_call_s": round(max((r.seconds for r in records), default=0.0), 3),
    }


def table(summary: dict[str, Any]) -> str:
    cols = ("ok", "is_error", "protocol_error", "exception", "timeout")
    lines = [f"{'target':<36} {'calls':>6} " + " ".join(f"{c:>14}" for c in cols)]
    totals: Counter[str] = Counter()
    for group, counts in summary["per_group"].items():
        n = sum(counts.values())
        totals.update(counts)
        lines.append(f"{group:<36} {n:>6} " + " ".join(f"{counts.get(c, 0):>14}" for c in cols))
    lines.append(
        f"{'total':<36} {sum(totals.values()):>6} "
        + " ".join(f"{totals.get(c, 0):>14}" for c in cols)
    )
    lines.append("")
    lines.append("property failures (must all be 0):")
    for name, n in summary["property_failures"].items():
        lines.append(f"  {name:<22} {n}")
    for name, problem in summary["run_property_failures"].items():
        lines.append(
            f"  {name:<22} {0 if problem is None else 1}{'' if problem is None else '  ' + problem}"
        )
    return "\n".join(lines)


def report_failure(record: CallRecord) -> None:
    if record.failures:
        print(f"  FAIL #{record.index} {record.spec}\n    {record.failures}", flush=True)


def fuzz(runner: PortalRunner, calls: int, seed_: int, *, corpus: bool = True) -> int:
    """The corpus, then ``calls`` hypothesis-made calls; failures are recorded, not raised
    (so nothing is shrunk). Returns how many calls the corpus made."""
    harness = runner.harness
    assert harness.strategies is not None
    if corpus:
        for spec in harness.strategies.corpus():
            report_failure(runner.call(spec))
        print(f"  corpus: {len(harness.records)} calls", flush=True)
    done = len(harness.records)
    target = done + calls
    round_ = 0
    while len(harness.records) < target:
        todo = target - len(harness.records)

        @seed(seed_ + round_)
        @settings(
            max_examples=todo,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(spec=harness.specs)
        def one_call(spec: CallSpec) -> None:
            if len(harness.records) >= target:
                return
            report_failure(runner.call(spec))
            if (len(harness.records) - done) % 100 == 0:
                print(f"  {len(harness.records) - done} fuzzed calls...", flush=True)

        one_call()
        round_ += 1
    return done


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--calls", type=int, default=600, help="hypothesis-made calls (default 600)")
    p.add_argument(
        "--no-corpus",
        dest="corpus",
        action="store_false",
        help="skip the hand-written corpus (about 200 calls) run first",
    )
    p.add_argument("--seed", type=int, default=1, help="hypothesis and sandbox seed (default 1)")
    p.add_argument(
        "--task-duration", type=float, default=0.1, help="sandbox task seconds (default 0.1)"
    )
    p.add_argument(
        "--max-wait", type=float, default=2.0, help="largest 'valid' wait_seconds (default 2)"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON output (default {RESULTS})")
    args = p.parse_args(argv)
    if args.calls < 1 or args.task_duration <= 0 or args.max_wait < 0:
        p.error("--calls and --task-duration must be positive, --max-wait >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    import stamina

    args = parse_args(argv)
    print(
        f"{args.calls} fuzzed calls, seed {args.seed}, sandbox tasks {args.task_duration:g} s, "
        f"waits up to {args.max_wait:g} s...",
        flush=True,
    )
    tee = StderrTee(sys.stderr)
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="fuzz-tools-") as tmp,
        stamina.set_testing(True, attempts=4, cap=True),  # retries without backoff sleeps
        capture_logs() as logs,
        contextlib.redirect_stderr(tee),
    ):
        root = Path(tmp)
        with run_in_portal(
            root,
            bench_settings,
            task_duration=args.task_duration,
            max_wait=args.max_wait,
            seed_=args.seed,
        ) as runner:
            corpus_calls = fuzz(runner, args.calls, args.seed, corpus=args.corpus)
            run_failures = runner.final_checks()
            records = runner.harness.records
            alive_calls = runner.harness.alive_calls
            sandbox = {
                "creates": runner.harness.sb.counters.creates,
                "create_requests": runner.harness.sb.counters.create_requests,
                "uploads": runner.harness.sb.counters.uploads,
                "task_gets": runner.harness.sb.counters.task_gets,
            }
    wall = time.monotonic() - started
    run_failures["log_no_key"] = f"{len(logs.leaks)} log lines hold the key" if logs.leaks else None
    run_failures["stderr_no_key"] = (
        f"{len(tee.leaks)} stderr writes hold the key" if tee.leaks else None
    )
    summary = summarize(records, run_failures)
    print()
    print(table(summary))
    outcomes = summary["outcomes"]
    print(
        f"\n{summary['calls']} calls (+{alive_calls} list_tasks liveness checks) in {wall:.1f} s; "
        f"ok {outcomes.get('ok', 0)}, is_error {outcomes.get('is_error', 0)}, "
        f"protocol errors {outcomes.get('protocol_error', 0)}; sandbox creates "
        f"{sandbox['creates']}; {logs.records} log records scanned, {tee.chars} stderr chars"
    )
    failed = sum(summary["property_failures"].values()) + sum(
        problem is not None for problem in run_failures.values()
    )
    report = {
        "benchmark": "fuzz_tools",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {
            "fuzzed_calls": args.calls,
            "corpus_calls": corpus_calls,
            "seed": args.seed,
            "task_duration_s": args.task_duration,
            "max_wait_s": args.max_wait,
            "max_error_chars": MAX_ERROR_CHARS,
        },
        "wall_s": round(wall, 2),
        "liveness_calls": alive_calls,
        "sandbox": sandbox,
        "log": {"records": logs.records, "chars": logs.chars, "levels": dict(logs.levels)},
        "stderr_chars": tee.chars,
        "passed": failed == 0,
        **summary,
        "log_leaks": logs.leaks[:10],
        "logged_errors": logs.errors,
        "stderr_leaks": tee.leaks[:10],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"{'PASS' if failed == 0 else 'FAIL'}; results in {args.out}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
