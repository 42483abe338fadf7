"""A small, strict ``multipart/form-data`` parser for the stream upload endpoint.

Starlette's form parsing needs python-multipart, which the project does not depend on; a
sandbox only ever sees modest bodies, so splitting the buffered body on the boundary is enough.
Headers are parsed with the stdlib ``email`` package so quoting and RFC 2231 names work.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import HTTP


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data."""


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def _header_message(raw: bytes) -> EmailMessage:
    return BytesHeaderParser(policy=HTTP).parsebytes(raw + b"\r\n\r\n")


def boundary_of(content_type: str) -> str:
    message = _header_message(f"Content-Type: {content_type}".encode("latin-1", "replace"))
    if message.get_content_type() != "multipart/form-data":
        raise MultipartError("expected a multipart/form-data body")
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise MultipartError("multipart/form-data content type has no boundary")
    return boundary


def parse_form(body: bytes, content_type: str) -> dict[str, FormPart]:
    """Parts by field name (the first part wins when a name repeats)."""
    delimiter = b"\r\n--" + boundary_of(content_type).encode("latin-1")
    # Prefixing CRLF lets the first delimiter match like all the others.
    sections = (b"\r\n" + body).split(delimiter)
    if len(sections) < 3:
        raise MultipartError("multipart body has no parts")
    parts: dict[str, FormPart] = {}
    closed = False
    for section in sections[1:]:
        if section.startswith(b"--"):
            closed = True
            break
        _padding, newline, rest = section.partition(b"\r\n")
        head, separator, data = rest.partition(b"\r\n\r\n")
        if not newline or not separator:
            raise MultipartError("multipart part is missing its headers")
        headers = _header_message(head)
        if headers.get_content_disposition() != "form-data":
            raise MultipartError("multipart part is not form-data")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise MultipartError("multipart part has no field name")
        parts.setdefault(
            name,
            FormPart(
                name=name,
                filename=headers.get_filename(),
                content_type=headers.get("content-type"),
                data=data,
            ),
        )
    if not closed:
        raise MultipartError("multipart body is not terminated")
    return parts
