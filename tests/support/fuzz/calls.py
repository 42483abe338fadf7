"""One fuzzed call (what to send) and its record (what came back, which properties failed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from imagegen_mcp.sandbox import FaultKind, Route

TOOLS = ("generate_image", "edit_image", "get_task", "list_tasks")

#: A fault queued on the sandbox before a call: a route and what goes wrong there, or a task
#: that ends "failed".
Fault = tuple[Route, FaultKind] | tuple[Literal["task"], Literal["fail"]]


@dataclass
class CallSpec:
    kind: str  # "tool" or "resource"
    target: str  # tool name or resource URI
    args: dict[str, Any] | None
    category: str  # which strategy made it
    fault: Fault | None = None  # (route, kind) queued on the sandbox first

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
