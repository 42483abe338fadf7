"""A question before paying: with ``IMAGEGEN_CONFIRM_ABOVE_CREDITS`` set, a request estimated
above it (or whose cost is not known) is paid only once the user accepts, asked through MCP
elicitation.

The question comes from a resolver (the SDK's ``Resolve``), which runs after the request is
checked against the catalog and before the tool body uploads or creates anything. On the
2026-07-28 protocol the question goes back as an ``InputRequiredResult`` and the client calls
again with the answer; on earlier ones it is an ``elicitation/create`` request during the call.
The estimate is the engine's, the one the daily budget reserves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from mcp.types import CallToolResult, TextContent
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from imagegen_mcp.errors import ImagegenError
from imagegen_mcp.models import OptionValue, TaskRequest
from imagegen_mcp.service.masks import MaskRegion
from imagegen_mcp.tools.cost import SETTING, cost_question
from imagegen_mcp.tools.requests import Choice, edit_request, generate_request

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import TaskEngine

#: From this protocol on, the SDK asks through ``InputRequiredResult`` (no back channel needed).
_INPUT_REQUIRED_VERSION = "2026-07-28"


class Proceed(BaseModel):
    """The user's answer."""

    proceed: bool = Field(description="Yes: spend the credits and create the images.")


#: What the tool body receives: ``Proceed`` (asked and accepted, or not asked), or a refusal.
Approval = ElicitationResult[Proceed]

NOT_ASKED = Proceed(proceed=True)


class Paying(Protocol):
    """What the resolvers need of the tools' state (``tools.state.AppState``)."""

    async def engine(self) -> TaskEngine: ...

    default_model: str
    confirm_above: float | None  # IMAGEGEN_CONFIRM_ABOVE_CREDITS


# --- resolvers: the SDK runs them before the tool body, with its arguments by name ----------


async def approve_generate(
    ctx: Context,
    prompt: str,
    model: str | None,
    size: str | None,
    resolution: str | None,
    quality: str | None,
    n: int | None,
    options: dict[str, OptionValue] | None,
    reference_images: list[str],
) -> Elicit[Proceed] | Proceed:
    wanted = Choice(model, size, resolution, quality, n, options)
    return await _approve(
        ctx, lambda default: generate_request(default, prompt, wanted, reference_images)
    )


async def approve_edit(
    ctx: Context,
    prompt: str,
    model: str | None,
    size: str | None,
    resolution: str | None,
    quality: str | None,
    n: int | None,
    options: dict[str, OptionValue] | None,
    image: str,
    mask: str | None,
    mask_region: list[MaskRegion] | None,
) -> Elicit[Proceed] | Proceed:
    wanted = Choice(model, size, resolution, quality, n, options)
    return await _approve(
        ctx, lambda default: edit_request(default, prompt, wanted, image, mask, mask_region)
    )


async def _approve(ctx: Context, build: Callable[[str], TaskRequest]) -> Elicit[Proceed] | Proceed:
    """Ask about the request ``build`` makes from the default model, if there is a threshold."""
    state = cast("Paying", ctx.request_context.lifespan_context)
    if state.confirm_above is None:
        return NOT_ASKED
    try:
        request = build(state.default_model)
    except ImagegenError:
        return NOT_ASKED  # the tool body refuses it, as without a question
    return await ask_before_paying(ctx, await _engine(state), state.confirm_above, request)


async def _engine(state: Paying) -> TaskEngine:
    # A failed or unfinished engine opening is the server's one line, as in the tool body (not
    # "not asked": the body could then pay without the question once the engine opens).
    try:
        return await state.engine()
    except ImagegenError as exc:
        raise ToolError(str(exc)) from None


# --- the question, and the answer ------------------------------------------------------------


async def ask_before_paying(
    ctx: Context, engine: TaskEngine, threshold: float | None, request: TaskRequest
) -> Elicit[Proceed] | Proceed:
    """The question to ask for ``request`` (as ``check_request`` returns it), or ``NOT_ASKED``
    when it costs no more than ``threshold``. A client that cannot be asked gets a refusal."""
    question = await cost_question(engine, threshold, request)
    if question is None:
        return NOT_ASKED
    if not can_elicit(ctx):
        raise ToolError(
            f"Not run: this request would use {question.cost} credits ({question.what}), and "
            f"with {SETTING}={threshold:g} the user must confirm it, but this client cannot ask "
            "(it has no MCP elicitation). Nothing was uploaded, created or paid. Ask for fewer "
            f"or cheaper images, or the user may raise {SETTING}."
        )
    return Elicit(question.sentence(), Proceed)


def can_elicit(ctx: Context) -> bool:
    """Whether the client declared form elicitation and this call can carry the question."""
    caps = ctx.client_capabilities
    form = caps.elicitation if caps is not None else None
    # A bare ``elicitation: {}`` (before modes existed) means form; url-only does not.
    if form is None or (form.form is None and form.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION):
        return True
    return bool(ctx.session.can_send_request)  # older protocols ask over a back channel


def refused(approval: Approval, tool: str) -> CallToolResult | None:
    """The result of a call the user refused to pay for, or None when it may go ahead."""
    if isinstance(approval, AcceptedElicitation) and approval.data.proceed:
        return None
    how = "cancelled the question" if approval.action == "cancel" else "declined"
    text = (
        f"Not run: asked to confirm this request's cost, the user {how}. Nothing was uploaded, "
        f"created or paid. Do not call {tool} again for it unless the user asks."
    )
    # An error result: no task exists to show, and the call did not do what it was asked.
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
