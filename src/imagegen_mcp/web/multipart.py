"""Reading one uploaded file from a ``multipart/form-data`` body as it streams in, never holding
more than the cap: a body that passes it is refused (413) before anything is kept or stored.

Only the field named ``file`` is kept; other fields are read and dropped (a browser's
``FormData`` may add some, never many: a body of more than ``MAX_PARTS`` parts, which costs
the parser time per part, is refused at the first one too many). A body with no such field, two
of them, or that is not well-formed multipart is refused with one line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from imagegen_mcp.web.errors import WebError

#: What the multipart framing around one file may add (boundaries, part headers, a few small
#: fields): a body larger than the cap plus this is refused from its Content-Length alone.
FRAMING_BYTES = 16 * 1024
FIELD = "file"
#: The most parts a body may have (the page sends one).
MAX_PARTS = 8
_SEND_AS = "Send the image as multipart/form-data with one field named 'file'."


@dataclass
class UploadedFile:
    name: str  # the file name the browser gave, without any folder part
    data: bytes


@dataclass
class _Parts:
    limit: int
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    disposition: bytes = b""
    in_file: bool = False
    files: int = 0
    name: str = ""
    data: bytearray = field(default_factory=bytearray)
    too_large: bool = False
    parts: int = 0

    def on_part_begin(self) -> None:
        self.disposition, self.in_file = b"", False
        self.parts += 1

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self.header_field).lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _kind, params = parse_options_header(self.disposition)
        if params.get(b"name") == FIELD.encode():
            self.in_file = True
            self.files += 1
            self.name = clean_name(params.get(b"filename", b"").decode("utf-8", "replace"))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file or self.files > 1:
            return
        if len(self.data) + (end - start) > self.limit:
            self.too_large = True
            return
        self.data += data[start:end]


def clean_name(raw: str) -> str:
    """A browser's file name as shown back: no folder part, no control characters, short."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "image"


async def read_file_field(
    content_type: str, content_length: str | None, body: AsyncIterator[bytes], limit: int
) -> UploadedFile:
    """The ``file`` field of a multipart body; ``WebError`` 413 past ``limit`` bytes (judged on
    the declared length first, then on what arrives), 400 for anything but one such field."""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise WebError(400, _SEND_AS)
    too_large = WebError(
        413, f"The file is larger than {limit // (1024 * 1024)} MB: downscale or re-encode it."
    )
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    if declared > limit + FRAMING_BYTES:
        raise too_large
    parts = _Parts(limit)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": parts.on_part_begin,
            "on_header_field": parts.on_header_field,
            "on_header_value": parts.on_header_value,
            "on_header_end": parts.on_header_end,
            "on_headers_finished": parts.on_headers_finished,
            "on_part_data": parts.on_part_data,
        },
    )
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > limit + FRAMING_BYTES:
                raise too_large
            parser.write(chunk)
            if parts.too_large:
                raise too_large
            if parts.parts > MAX_PARTS:
                raise WebError(400, f"The upload has too many fields. {_SEND_AS}")
        parser.finalize()
    except MultipartParseError:
        raise WebError(400, f"The upload is not well-formed multipart. {_SEND_AS}") from None
    if parts.files != 1:
        raise WebError(400, _SEND_AS)
    return UploadedFile(parts.name, bytes(parts.data))
