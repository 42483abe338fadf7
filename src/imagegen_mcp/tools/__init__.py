"""The MCP tools: ``images`` (generate_image, edit_image, get_task, list_tasks, written for the
model that calls them), ``views`` (their declared output schemas and the next-step text) and
``previews`` (small JPEG thumbnails within a byte budget)."""
