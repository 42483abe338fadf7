"""The playground says what a person does, never what an agent calls: every message the page
can show (an API error, a task's error, its next step) is the server's own sentence with the
agent's phrases ("call get_task", "list_tasks", "client_request_id") in the page's words."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import imagegen_mcp
from imagegen_mcp.errors import CREATE_NOT_SENT
from imagegen_mcp.models import Task, TaskError, TaskRequest, TaskStatus
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.web.views import task_json
from imagegen_mcp.web.wording import for_person
from tests.support.settings import make_settings
from tests.web.api_support import one_line_error, page_client, page_folder, png, serve_web, upload

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOOL_WORDS = re.compile(
    r"\b(get_task|list_tasks|generate_image|edit_image|list_models|save_image|wait_seconds"
    r"|mask_region|mask_invert|client_request_id|call the tool)\b",
    re.IGNORECASE,
)
PACKAGE = Path(imagegen_mcp.__file__).parent

#: Sentences that name a tool and never reach the page, and why.
NEVER_ON_THE_PAGE = {
    "service/masks.py": "mask_region: the page sends a painted mask, never regions",
    "service/inputs.py:mask_region": "mask_region: the page sends a painted mask, never regions",
    "tools/files.py": "save_image's own refusals: the page has no save_image",
    "tools/images.py": "the tools' internal error: the web has its own (web.errors)",
    "tools/params.py": "tool argument descriptions, in tools/list only",
    "tools/views.py:tasks (get_task": "list_tasks' text: the page reads /api/tasks' JSON",
    "web/wording.py": "the agent's phrases themselves, as patterns",
}


def sentences(path: Path) -> list[tuple[int, str]]:
    """The string literals of ``path`` that read as sentences (an f-string with X for each
    value), without docstrings and SQL."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            skip.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.JoinedStr):
            skip.update(id(part) for part in node.values)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            # Each interpolated value as X: the sentence as it reads around them.
            text = "".join(
                p.value if isinstance(p, ast.Constant) and isinstance(p.value, str) else "X"
                for p in node.values
            )
        else:
            continue
        if " " in text and not re.search(r"\b(SELECT|INSERT|CREATE TABLE)\b", text):
            found.append((node.lineno, text))
    return found


def test_no_message_the_page_can_show_names_a_tool() -> None:
    left: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).as_posix()
        if where.startswith(("server/", "sandbox/")):
            continue  # the MCP side and the fake upstream: nothing of theirs reaches the page
        for line, text in sentences(path):
            if not TOOL_WORDS.search(text):
                continue
            if any(
                key.split(":")[0] == where and (":" not in key or key.split(":", 1)[1] in text)
                for key in NEVER_ON_THE_PAGE
            ):
                continue
            shown = for_person(text)
            if TOOL_WORDS.search(shown):
                left.append(f"{where}:{line}: {shown}")
    assert not left, "\n".join(left)


def a_task(status: TaskStatus, error: TaskError | None = None) -> Task:
    now = datetime.now(UTC)
    request = TaskRequest(prompt="a kite", n=1)
    return Task(
        id="ig-0123456789ab",
        upstream_id=None,
        request=request,
        status=status,
        error=error,
        created_at=now,
        updated_at=now,
    )


def test_a_task_view_says_what_a_person_does() -> None:
    failed = a_task(
        "failed",
        error=TaskError(
            code=CREATE_NOT_SENT,
            message="Connection refused before this task's create was sent: nothing was "
            "created or charged. Call the tool again; the same client_request_id sends it.",
            retryable=True,
        ),
    )
    view = task_json(failed)
    assert "Send the request again from the page." in view["error"]["message"]
    assert "send the request again from the page" in view["next_step"]
    running = task_json(a_task("processing"))
    assert running["next_step"].startswith("Still processing")
    assert "The page follows it: wait" in running["next_step"]
    for text in (view["error"]["message"], view["next_step"], running["next_step"]):
        assert not TOOL_WORDS.search(text), text


async def test_api_refusals_say_what_to_do_on_the_page(tmp_path: Path) -> None:
    async with Sandbox(SandboxConfig(task_duration=60.0, seed=5)) as sandbox:
        settings = make_settings(sandbox, tmp_path / "home")
        static = page_folder(tmp_path / "page")
        async with serve_web(settings, static) as base, page_client(base) as http:
            tiny = await upload(http, png((16, 16)), "tiny.png")
            bodies = [
                ({"prompt": "x", "model": "gpt-4o-imag"}, "Model list"),
                (
                    {
                        "prompt": "x",
                        "model": "z-image-turbo",
                        "reference_images": [f"upload:{tiny['id']}"],
                    },
                    "Model list",
                ),
                (
                    {"prompt": "x", "model": "qwen-image-edit"},
                    "reference images, or an image to edit",
                ),
                (
                    {
                        "prompt": "x",
                        "model": "qwen-image-3.0",
                        "reference_images": [f"upload:{tiny['id']}"],
                    },
                    "pick another model in the Model list",
                ),
                (
                    {"prompt": "x", "reference_images": ["image://ig-" + "0" * 70 + "/0"]},
                    "reload the page",
                ),
            ]
            for body, expected in bodies:
                answer = await http.post("/api/generate", json=body)
                assert answer.status_code == 400, answer.text
                message = one_line_error(answer)
                assert expected in message and not TOOL_WORDS.search(message), message

            made = await http.post("/api/generate", json={"prompt": "a slow kite"})
            task = made.json()["task"]
            assert not TOOL_WORDS.search(task["next_step"]), task["next_step"]
            early = await http.get(f"/api/images/{task['task_id']}/0")
            assert early.status_code == 404
            message = one_line_error(early)
            assert "wait for the task to finish" in message and not TOOL_WORDS.search(message)
