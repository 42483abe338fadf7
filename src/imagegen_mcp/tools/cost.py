"""Whether a request needs the user's yes before it is paid (``IMAGEGEN_CONFIRM_ABOVE_CREDITS``),
and the question in words: one rule for the MCP tools (``tools.confirm``, through elicitation)
and the playground page (``web.jobs``, through a 409 the page turns into a dialog).

No MCP SDK here: the web layer uses it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from imagegen_mcp.errors import BudgetExceeded
from imagegen_mcp.models import TaskRequest

if TYPE_CHECKING:
    from imagegen_mcp.service.engine import TaskEngine

SETTING = "IMAGEGEN_CONFIRM_ABOVE_CREDITS"


@dataclass(frozen=True)
class CostQuestion:
    """A request that must be confirmed: its estimate (None: not known) and what it makes."""

    estimate: float | None
    what: str  # "gpt-4o-image, 2 images"

    @property
    def cost(self) -> str:
        """The cost as a refusal names it: "about 5" or "an unknown number of" (credits)."""
        return "an unknown number of" if self.estimate is None else f"about {self.estimate:g}"

    def sentence(self) -> str:
        """The question to ask, with the estimate."""
        if self.estimate is None:
            return (
                f"The cost of this request is not known yet ({self.what}: no price known for "
                "this model and resolution). Proceed?"
            )
        return f"This will use about {self.estimate:g} credits ({self.what}). Proceed?"


def what(request: TaskRequest) -> str:
    images = "1 image" if request.count == 1 else f"{request.count} images"
    return f"{request.model}, {images}"


async def cost_question(
    engine: TaskEngine, threshold: float | None, request: TaskRequest
) -> CostQuestion | None:
    """The question ``request`` (as ``check_request`` returns it) needs, or None when it costs
    no more than ``threshold`` (or no threshold is set).

    A request the daily budget cannot take gets no question: the caller refuses it before any
    upload, as without a threshold. The estimate is the engine's, the one the budget reserves.
    """
    if threshold is None:
        return None
    estimate = await engine.estimate(request)
    try:
        await engine.check_budget(request, estimate=estimate)
    except BudgetExceeded:
        return None
    if estimate is not None and estimate <= threshold:
        return None
    return CostQuestion(estimate, what(request))
