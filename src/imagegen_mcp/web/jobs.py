"""Starting a generation or an edit from the page: the generate_image and edit_image tools'
path, step for step, with the page's references.

In order, as in the tools: the request checked against the catalog (``tools.requests``), the
daily budget (``engine.check_budget``; not for a repeated ``client_request_id``, whose task the
store returns without paying), the confirmation question (``tools.cost``: answered by the page
resending with ``confirmed``), and only then the inputs read (uploads, confined to their
folder, and saved results), checked and uploaded, and the task submitted. A refusal at any step
uploads and creates nothing. The page sends a ``client_request_id`` with every request (so a
resend pays once), which skips the early budget check as it does for the tools: a request over
the budget then uploads its references before the store refuses the create (nothing is paid).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from imagegen_mcp.models import MAX_PROMPT_CHARS, MAX_REFERENCES, OptionValue, Task, TaskRequest
from imagegen_mcp.tools.cost import cost_question
from imagegen_mcp.tools.requests import Choice, edit_request, generate_request
from imagegen_mcp.web.errors import WebError

if TYPE_CHECKING:
    from imagegen_mcp.tools.state import AppState
    from imagegen_mcp.web.uploads import UploadStore


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    model: str | None = Field(default=None, max_length=100)
    size: str | None = Field(default=None, max_length=40)
    resolution: str | None = Field(default=None, max_length=20)
    quality: str | None = Field(default=None, max_length=20)
    n: int | None = None
    options: dict[str, OptionValue] | None = None
    client_request_id: str | None = Field(default=None, min_length=1, max_length=200)
    confirmed: bool = False

    def choice(self) -> Choice:
        return Choice(self.model, self.size, self.resolution, self.quality, self.n, self.options)


class GenerateBody(_Body):
    reference_images: list[str] = Field(default_factory=list, max_length=MAX_REFERENCES)


class EditBody(_Body):
    image: str = Field(min_length=1, max_length=300)
    mask: str | None = Field(default=None, max_length=300)


B = TypeVar("B", bound=_Body)


class NeedsConfirmation(Exception):
    """The request must be confirmed: the page asks the person and resends with ``confirmed``."""

    def __init__(self, question: str, estimate: float | None) -> None:
        super().__init__(question)
        self.question = question
        self.estimate = estimate


def parse_body(kind: type[B], data: Any) -> B:
    """``data`` (decoded JSON) as ``kind``, or a 400 naming the first problem."""
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            raise WebError(400, f"Unknown field {where!r}: remove it.") from None
        raise WebError(400, f"Field {where!r}: {first['msg']}.") from None


async def generate(state: AppState, uploads: UploadStore, body: GenerateBody) -> Task:
    refs = body.reference_images
    request = generate_request(state.default_model, body.prompt, body.choice(), refs)
    async with uploads.reading(refs):  # not pruned while they are read
        paths = [await uploads.resolve_ref(ref, "reference image") for ref in refs]
        await _before_paying(state, request, body)
        inputs = (await state.inputs()).with_folders((uploads.folder.resolve(),))
        urls = [await inputs.as_url(path, model=request.model) for path in paths]
        request = request.model_copy(update={"image_urls": urls})
        engine = await state.engine()
        task = await engine.submit(request, client_request_id=body.client_request_id)
        uploads.made(task, refs)
    return task


async def edit(state: AppState, uploads: UploadStore, body: EditBody) -> Task:
    request = edit_request(
        state.default_model, body.prompt, body.choice(), body.image, body.mask, None
    )
    refs = (body.image, body.mask)
    async with uploads.reading(refs):  # not pruned while they are read
        image = await uploads.resolve_ref(body.image, "image to edit")
        mask = None if body.mask is None else await uploads.resolve_ref(body.mask, "mask")
        await _before_paying(state, request, body)
        inputs = (await state.inputs()).with_folders((uploads.folder.resolve(),))
        # The page paints white (opaque) where the image should change: the server's default.
        base, mask_url = await inputs.edit_inputs(image, model=request.model, mask=mask)
        request = request.model_copy(update={"image_urls": [base], "mask_url": mask_url})
        engine = await state.engine()
        task = await engine.submit(request, client_request_id=body.client_request_id)
        uploads.made(task, refs)
    return task


async def _before_paying(state: AppState, request: TaskRequest, body: _Body) -> None:
    """The budget, then the question: both before anything is read, uploaded or created."""
    engine = await state.engine()
    if body.client_request_id is None:  # a repeat of a known id pays nothing: the store decides
        await engine.check_budget(request)
    if body.confirmed:
        return
    question = await cost_question(engine, state.confirm_above, request)
    if question is not None:
        raise NeedsConfirmation(question.sentence(), question.estimate)
