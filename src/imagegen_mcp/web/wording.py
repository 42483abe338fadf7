"""The server's sentences, as the playground says them to a person.

Errors and next steps are written for an agent: they name tools ("call get_task", "list_tasks",
"client_request_id"). The web answers with the same sentences (one validation, one wording of
each problem), mapped here at its boundary: each agent phrase becomes what a person does on the
page (wait, reload the page, pick from the Model list, send the request again). A phrase not
listed passes unchanged; ``tests/web/test_api_wording.py`` checks every message the page can
show names no tool.
"""

from __future__ import annotations

import re

# (agent phrase, the page's), in order; each pattern matches where the phrase sits in any of
# the messages built around it.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), person)
    for pattern, person in (
        (
            r"image:// URIs of results look like '[^']*'\. Call list_tasks to see recent task "
            r"ids\.",
            "pick the image again from the results (reload the page to see the history).",
        ),
        (
            r"Call list_tasks to see recent task ids(?: \(ids look like '[^']*'\))?\.",
            "Reload the page to see the history.",
        ),
        (r"call get_task to wait for it\.", "wait for the task to finish, then try again."),
        (r"pick another model \(list_models\)", "pick another model in the Model list"),
        (
            r"list_models \(or `imagegen-mcp models`\) shows all",
            "Pick one from the Model list; it shows all",
        ),
        (r"\(reference_images, or edit_image's image\)", "(reference images, or an image to edit)"),
        (
            r"list_models with capability edit \(`imagegen-mcp models --capability edit`\) "
            r"shows the models that do\.",
            "pick one that does in the Model list, or remove the references.",
        ),
        (
            r"Call the tool again; the same client_request_id sends it\.",
            "Send the request again from the page.",
        ),
        (
            r"call the same tool again with the same arguments \(and the same client_request_id, "
            r"if you gave one\)\.",
            "send the request again from the page.",
        ),
        (
            r"client_request_id \S+ was used for another request \(task (\S+); different ([^)]*)\)"
            r"\. Call again with the same arguments to get that task, or use a new "
            r"client_request_id\.",
            r"This request was already sent as task \1, with a different \2: reload the page to "
            "see it, or send the request again.",
        ),
        (r"retrievable with get_task", "in the history"),
        (r"Make a mask of the image's size, or use mask_region\.", "Paint the mask again."),
        (
            r"Call get_task\('[^']*'\) to keep waiting - do not call generate_image or edit_image "
            r"again: that starts and charges a new task\.",
            "The page follows it: wait - sending the request again would start and charge a "
            "new task.",
        ),
        (r"Use these paths directly\.", "They are in the gallery."),
    )
)


def for_person(message: str) -> str:
    """``message`` with each agent phrase replaced by what a person does on the page."""
    for pattern, person in _PHRASES:
        message = pattern.sub(person, message)
    return message
