"""Tool arguments: unknown names refused, and bad values told in one short line each.

The SDK checks a call's arguments against a pydantic model made from the tool's signature. Left
alone it ignores names it does not know (a misspelt ``client_request_id`` pays for a second
task) and answers a bad value with pydantic's raw text. ``strict_tool`` makes the SDK's own
``Tool`` with that model forbidding unknown names (so ``inputSchema`` says
``additionalProperties: false``) and rewrites a refusal as the server's own short message.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import ToolAnnotations
from pydantic import ConfigDict, ValidationError
from pydantic_core import ErrorDetails

MAX_LINES = 7  # problems listed; the rest are counted
MAX_LINE_CHARS = 200
MAX_VALUE_CHARS = 60
MAX_NAME_CHARS = 40
MAX_MESSAGE_CHARS = 1900
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class StrictTool(Tool):
    """A tool whose argument refusals read like the server's own errors."""

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> Any:
        try:
            return await super().run(arguments, context, convert_result=convert_result)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            # Tool.run raises a ToolError caused by a ValidationError only when the arguments
            # fail the model; the cause is kept so the SDK logs the refused field names.
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(describe_problems(self.name, self.parameters, cause)) from cause
            # The SDK puts "Error executing tool <name>: " before the server's own sentence;
            # the agent already knows which tool it called.
            prefix = f"Error executing tool {self.name}: "
            if str(exc).startswith(prefix):
                raise ToolError(str(exc).removeprefix(prefix)) from cause
            raise


def strict_tool(
    fn: Callable[..., Any], *, title: str | None = None, annotations: ToolAnnotations | None = None
) -> Tool:
    """``fn`` as a tool that refuses unknown arguments; pass it to ``MCPServer(tools=...)``."""
    tool = StrictTool.from_function(fn, title=title, annotations=annotations)
    loose = tool.fn_metadata.arg_model
    # Same name, so the published schema keeps its title; extra="forbid" also makes pydantic
    # write additionalProperties: false into it. Its validator builds at the first call, not at
    # every start (the schema published is the SDK's, below).
    strict = cast(
        "type[ArgModelBase]",
        type(
            loose.__name__,
            (loose,),
            {"model_config": ConfigDict(extra="forbid", defer_build=True)},
        ),
    )
    output = tool.fn_metadata.output_schema
    tool.fn_metadata = tool.fn_metadata.model_copy(
        update={
            "arg_model": strict,
            "output_schema": None if output is None else compact_schema(output, inputs=False),
        }
    )
    # The SDK's schema of the same fields plus what extra="forbid" adds (generating it again
    # costs a few milliseconds per tool at every start).
    schema = {**tool.parameters, "additionalProperties": False}
    tool.parameters = compact_schema(schema, inputs=True)
    tool.description = inspect.cleandoc(tool.description or "")
    return tool


def compact_schema(schema: Any, *, inputs: bool) -> Any:
    """``schema`` without what every agent pays for on every turn and learns nothing from:
    generated titles, ``default: null``, definitions used once (inlined), and (for arguments,
    where omitting is how to say "none") the ``null`` alternative of optional arguments.
    Outputs keep their nulls but not their ``required`` lists: every field is always there."""
    return _compact(_inline_single_use(schema), inputs=inputs)


def _inline_single_use(schema: Any) -> Any:
    if not isinstance(schema, dict) or "$defs" not in schema:
        return schema
    text = json.dumps(schema)
    defs: dict[str, Any] = schema["$defs"]
    once = {name for name in defs if text.count(f'"#/$defs/{name}"') == 1}

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref", "")
        name = ref.removeprefix("#/$defs/")
        if ref.startswith("#/$defs/") and name in once:
            return walk({**defs[name], **{k: v for k, v in node.items() if k != "$ref"}})
        return {key: walk(value) for key, value in node.items()}

    out = walk({key: value for key, value in schema.items() if key != "$defs"})
    kept = {name: walk(body) for name, body in defs.items() if name not in once}
    return {"$defs": kept, **out} if kept else out


def _compact(schema: Any, *, inputs: bool) -> Any:
    if isinstance(schema, list):
        return [_compact(item, inputs=inputs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _compact(v, inputs=inputs) for name, v in value.items()}
        elif (
            key == "title"
            or (key == "default" and value is None)
            or (key == "required" and not inputs)
        ):
            continue
        else:
            out[key] = _compact(value, inputs=inputs)
    options = out.get("anyOf")
    if inputs and isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) == 1 and isinstance(rest[0], dict):
            del out["anyOf"]
            out = {**rest[0], **out}
    return out


def describe_problems(tool: str, schema: dict[str, Any], error: ValidationError) -> str:
    """One line per problem (argument, value given, what is allowed), unknown names first."""
    properties: dict[str, Any] = schema.get("properties", {})
    problems = sorted(error.errors(include_url=False), key=lambda p: p["type"] != "extra_forbidden")
    lines = [
        _clip(" ".join(_problem(p, properties).split("\n")), MAX_LINE_CHARS)
        for p in problems[:MAX_LINES]
    ]
    if len(problems) > MAX_LINES:
        lines.append(f"- and {len(problems) - MAX_LINES} more.")
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    text = [f"{tool} did not run (nothing was paid); its arguments have {count}:", *lines]
    if any(p["type"] == "extra_forbidden" for p in problems):
        text.append(f"{tool} takes: {', '.join(properties) or 'no arguments'}.")
    # A lone surrogate (refused as not unicode) would make the whole result unserializable.
    message = "\n".join(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return _clip(message, MAX_MESSAGE_CHARS)


def _problem(problem: ErrorDetails, properties: dict[str, Any]) -> str:
    loc = problem["loc"]
    where = _where(loc)
    if problem["type"] == "extra_forbidden":
        import difflib  # only for a refusal: not loaded at start-up

        closest = difflib.get_close_matches(str(loc[-1])[:64], list(properties), n=1, cutoff=0)
        if len(loc) == 1 and closest:
            return f"- {where}: unknown argument; did you mean {closest[0]}?"
        return f"- {where}: unknown field."
    if problem["type"] == "missing":
        return f"- {where}: required but missing."
    value = _brief(problem.get("input"), MAX_VALUE_CHARS)
    allowed = _allowed(properties[loc[0]]) if len(loc) == 1 and loc[0] in properties else None
    if allowed is None:
        allowed = _from_message(problem)
    return f"- {where}: {value} is not allowed; {allowed}."


def _allowed(field: dict[str, Any]) -> str | None:
    """What a top-level argument accepts, when its schema says it briefly."""
    options = [field, *field.get("anyOf", [])]
    nullable = any(o.get("type") == "null" for o in options)
    for option in options:
        if "enum" in option:
            choices = [json.dumps(v) for v in option["enum"]]
            return f"use {_one_of([*choices, 'null'] if nullable else choices)}"
        if option.get("type") in ("integer", "number") and {"minimum", "maximum"} <= set(option):
            whole = "a whole number" if option["type"] == "integer" else "a number"
            return f"use {whole} from {option['minimum']:g} to {option['maximum']:g}"
    return None


def _from_message(problem: ErrorDetails) -> str:
    if problem["type"] == "literal_error" and "expected" in problem.get("ctx", {}):
        return f"use {problem['ctx']['expected']}"
    message = problem["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    for subject in ("Input", "String", "List", "Value", "Dictionary", "Tuple", "Set", "Object"):
        if message.startswith(f"{subject} should"):
            return "it" + message[len(subject) :]
    return message[:1].lower() + message[1:]


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{_name(p)}" for p in loc]
    return "".join(parts).removeprefix(".") or "arguments"


def _name(name: str) -> str:
    # An unknown name is the caller's text: quoted unless plain, so it cannot break the line.
    if _PLAIN_NAME.fullmatch(name):
        return _clip(name, MAX_NAME_CHARS)
    return _brief(name, MAX_NAME_CHARS)


def _one_of(choices: Sequence[str]) -> str:
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _brief(value: Any, room: int, depth: int = 0) -> str:
    """JSON-like text of a given value in about ``room`` characters, never building more: a
    value can be megabytes long or nested deep."""
    if isinstance(value, str):
        shown = json.dumps(value[:room], ensure_ascii=False)
        return shown if len(value) <= room else f'{shown[:-1]}…" ({len(value)} chars)'
    if value is None or isinstance(value, bool | float):
        return json.dumps(value)
    if isinstance(value, int):
        if value.bit_length() > 3 * room:  # str() of a huge int is slow, and refused past 4300
            return f"a number of about {int(value.bit_length() * 0.30103)} digits"
        return _clip(str(value), room)
    if isinstance(value, list | tuple | dict):
        if depth > 2:
            return "{…}" if isinstance(value, dict) else "[…]"
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        shown = opening
        for index, (key, item) in enumerate(items):
            if len(shown) >= room:
                return f"{shown}…{closing} ({len(value)} items)"
            left = room - len(shown)
            key_text = f"{_brief(str(key), left)}: " if isinstance(value, dict) else ""
            shown += (", " if index else "") + key_text + _brief(item, max(left // 2, 8), depth + 1)
        return _clip(shown + closing, room + 20)
    return f"a {type(value).__name__}"
