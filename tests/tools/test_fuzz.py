"""Fuzzed tool calls: the short variant of ``python -m bench.fuzz_tools`` (the strategies, the
property checks and the harness are in ``tests/support/fuzz/``).

One sandbox, server and in-memory client live in a blocking portal for the whole test, so the
synchronous hypothesis test calls into one event loop, and tasks made by earlier calls feed later
ones (existing task ids, ``image://`` URIs). First every hand-written hostile value is sent once
(the corpus), then hypothesis makes ``FUZZED_CALLS`` more calls, derandomized. After every call:
a clear answer, no internals, no API key, and ``list_tasks`` still answers; at the end
``list_tools`` still lists every tool, and the key is in no log record and nothing on
stdout/stderr.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from mcp import Client
from PIL import Image

from imagegen_mcp.sandbox import Sandbox
from tests.support.fuzz.calls import CallRecord, CallSpec
from tests.support.fuzz.harness import run_in_portal
from tests.support.fuzz.properties import KEY, KEY_PIECE, capture_logs, check_error_text
from tests.support.mcp import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FUZZED_CALLS = 120


def describe(records: list[CallRecord]) -> str:
    return "\n".join(f"{r.spec}\n  -> {r.failures}" for r in records if r.failures)


def test_fuzzed_tool_calls_get_clear_answers_and_never_leak_the_key(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with (
        capture_logs() as logs,
        run_in_portal(
            tmp_path, task_duration=0.05, max_wait=0.1, wait_seconds=0.1, call_timeout=20.0
        ) as runner,
    ):
        harness = runner.harness
        for spec in harness.corpus():
            runner.call(spec)
        corpus = list(harness.records)
        assert not any(r.failures for r in corpus), describe(corpus)

        @settings(
            max_examples=FUZZED_CALLS,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(spec=harness.specs)
        def one_call(spec: CallSpec) -> None:
            record = runner.call(spec)
            assert not record.failures, describe([record])

        one_call()
        assert runner.final_checks() == {"tools_listed_at_end": None}

    fuzzed = harness.records[len(corpus) :]
    assert len(fuzzed) >= FUZZED_CALLS
    outcomes = Counter(r.outcome for r in fuzzed)
    assert outcomes["ok"] >= 0.25 * len(fuzzed), outcomes  # many calls do succeed
    assert set(outcomes) <= {"ok", "is_error", "protocol_error"}, outcomes
    groups = {r.group for r in harness.records}
    assert {"generate_image", "edit_image", "get_task", "list_tasks"} <= groups
    assert {"resource:image://recent", "resource:image://{task_id}/{index}"} <= groups
    assert logs.records > 0 and not logs.leaks, logs.leaks
    out, err = capfd.readouterr()
    assert KEY not in out + err and KEY_PIECE not in out + err


@pytest.mark.parametrize(
    ("text", "relayed", "problems"),
    [
        ("Call list_tasks to see recent task ids.", None, []),
        ("", None, ["clear_error: empty error text"]),
        ("Oops.", None, ["clear_error: says neither what is wrong nor what to do"]),
        ("Traceback (most recent call last):\n  x", None, ["no_internals: traceback"]),
        ('It failed: File "/x.py", line 3', None, ["no_internals: file-line"]),
        ("It failed: ValueError('x')", None, ["no_internals: exception-repr"]),
        ("Cannot read <_io.BytesIO object at 0x7f00>.", None, ["no_internals: object-repr"]),
        ("Task failed: cannot fetch: ConnectError('x').", "cannot fetch: ConnectError('x')", []),
        ("Internal error (ValueError); call list_tasks.", None, ["no_internals: internal-error"]),
    ],
)
def test_error_text_checks_flag_what_they_should(
    text: str, relayed: str | None, problems: list[str]
) -> None:
    # The checks above are only as good as these: each one fires, and only on its own problem.
    assert check_error_text(text, relayed) == problems


# --- regressions: what the fuzzing found ------------------------------------------------------


def _symlink_loop(tmp: Path) -> str:
    (tmp / "loop-a.png").symlink_to(tmp / "loop-b.png")
    (tmp / "loop-b.png").symlink_to(tmp / "loop-a.png")
    return str(tmp / "loop-a.png")


def _bomb(tmp: Path) -> str:
    Image.new("1", (16000, 12000), 0).save(tmp / "bomb.png")  # 23 KB, 192 megapixels
    return str(tmp / "bomb.png")


def _text_file(tmp: Path) -> str:
    (tmp / "notes.png").write_text("not an image")
    return str(tmp / "notes.png")


REGION = [{"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.3}]


@pytest.mark.parametrize(
    ("make_ref", "needle"),
    [
        (_symlink_loop, "symbolic link loop"),  # was Internal error (RuntimeError)
        (lambda tmp: f"{tmp}/a.png\x00.txt", "NUL character"),  # was ValueError
        (_bomb, "too many pixels"),  # was Internal error (DecompressionBombError)
        (_text_file, "cannot identify image file)"),  # said "<_io.BytesIO object at 0x...>"
        (lambda tmp: "data:image/png;base64,", "(a data URI) is not a usable image"),
        (lambda tmp: "/" + "c" * 100_000, "(100001 characters)"),  # echoed all 100 KB back
        (lambda tmp: "http://127.0.0.1:99999/x.png", "malformed"),  # was ValueError
        (lambda tmp: "http://[::1/x.png", "malformed"),  # was ValueError
        (lambda tmp: "image://ig-0/" + "9" * 5000, "does not exist"),  # was ValueError
        (lambda tmp: "~no-such-user-fuzz/x.png", "unknown '~user'"),  # was RuntimeError
    ],
)
@pytest.mark.parametrize("tool", ["generate_image", "edit_image"])
async def test_hostile_image_references_get_short_clear_errors(
    client: Client, sandbox: Sandbox, tmp_path: Path, tool: str, make_ref: Any, needle: str
) -> None:
    ref = make_ref(tmp_path)
    if tool == "generate_image":
        args: dict[str, Any] = {"prompt": "x", "reference_images": [ref]}
    else:  # a region makes the server read (or fetch) the image itself
        args = {"prompt": "x", "image": ref, "mask_region": REGION}
    result = await client.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error
    assert needle in text
    assert "Internal error" not in text and "object at 0x" not in text
    assert len(text) < 600
    assert sandbox.counters.create_requests == 0


@pytest.mark.parametrize("shape", ["rectangle", "ellipse"])
async def test_mask_region_under_a_pixel_is_refused_clearly(
    client: Client, sandbox: Sandbox, tmp_path: Path, shape: str
) -> None:
    # Was "Internal error (ValueError)": Pillow refused the empty box.
    Image.new("RGB", (64, 64), (9, 9, 9)).save(tmp_path / "small.png")
    region = {"shape": shape, "x": 0.2, "y": 0.2, "width": 0.01, "height": 0.3}
    result = await client.call_tool(
        "edit_image",
        {"prompt": "x", "image": str(tmp_path / "small.png"), "mask_region": [region]},
    )
    assert result.is_error
    assert "mask_region 0 covers less than one pixel of the 64x64 image" in text_of(result)
    assert sandbox.counters.uploads == 0 and sandbox.counters.create_requests == 0


async def test_upstream_rejection_says_what_to_do(client: Client, sandbox: Sandbox) -> None:
    # Was only "EvoLink answered HTTP 400 (invalid_request): ..." with no next step.
    sandbox.faults.queue("create", 400)
    result = await client.call_tool("generate_image", {"prompt": "x"})
    assert result.is_error
    text = text_of(result)
    assert "HTTP 400" in text and "change it before trying again" in text
