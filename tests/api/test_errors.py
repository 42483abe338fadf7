"""Mapping EvoLink's HTTP answers to our errors: pure functions, tested without a server."""

from __future__ import annotations

import email.utils
import time

import httpx2
import pytest

from imagegen_mcp.api.errors import (
    MAX_RETRY_AFTER,
    ambiguous_create,
    error_fields,
    error_for_response,
    retry_after,
)
from imagegen_mcp.errors import (
    AmbiguousCreate,
    AuthError,
    CreateNotSent,
    DownloadError,
    DownloadTooLarge,
    ImagegenError,
    InsufficientCredits,
    RateLimited,
    StorageError,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)

REQUEST = httpx2.Request("GET", "http://127.0.0.1:9/v1/tasks/task-unified-1-x")


def response(
    status: int, body: object = None, headers: dict[str, str] | None = None, *, text: str = ""
) -> httpx2.Response:
    if body is None:
        return httpx2.Response(status, text=text, headers=headers, request=REQUEST)
    return httpx2.Response(status, json=body, headers=headers, request=REQUEST)


def envelope(code: object, message: str = "boom", etype: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "type": etype}}


@pytest.mark.parametrize(
    ("status", "code", "etype", "expected"),
    [
        (400, 400, "invalid_request_error", UpstreamRejected),
        (400, "invalid_request", None, UpstreamRejected),
        (401, "unauthorized", None, AuthError),
        (402, "insufficient_quota", None, InsufficientCredits),
        (403, 403, "permission_error", AuthError),
        (403, "model_access_denied", None, AuthError),
        (404, "task_not_found", None, UpstreamNotFound),
        (410, 410, None, UpstreamNotFound),
        (413, 413, "request_too_large_error", UpstreamRejected),
        (429, 429, "rate_limit_error", RateLimited),
        (500, "internal_error", None, UpstreamUnavailable),
        (502, 502, "upstream_error", UpstreamUnavailable),
        (503, 503, "service_unavailable_error", UpstreamUnavailable),
    ],
)
def test_both_envelopes_map_to_our_types(
    status: int, code: object, etype: str | None, expected: type[UpstreamError]
) -> None:
    err = error_for_response(response(status, envelope(code, "boom", etype)), "Doing")
    assert type(err) is expected
    assert err.status == status and err.code == str(code)
    assert str(err).startswith(f"Doing: EvoLink answered HTTP {status} ({code}): boom")


def test_error_fields_read_the_old_envelope_with_an_integer_code() -> None:
    fields = error_fields(response(400, envelope(400, "size is wrong", "invalid_request_error")))
    assert fields == ("400", "size is wrong", "invalid_request_error")


def test_error_fields_read_the_new_envelope_without_a_type() -> None:
    assert error_fields(response(404, envelope("task_not_found", "gone"))) == (
        "task_not_found",
        "gone",
        None,
    )


def test_an_envelope_without_a_message_falls_back_to_the_reason_phrase() -> None:
    assert error_fields(response(404, {"error": {"code": "task_not_found"}})) == (
        "task_not_found",
        "Not Found",
        None,
    )


def test_a_bare_error_string_is_the_message() -> None:
    assert error_fields(response(400, {"error": "bad size"})) == (None, "bad size", None)


def test_a_files_api_failure_is_read_from_code_and_msg() -> None:
    answer = response(500, {"success": False, "code": 500, "msg": "disk on fire"})
    assert error_fields(answer) == ("500", "disk on fire", None)
    err = error_for_response(answer, "Uploading")
    assert isinstance(err, UpstreamUnavailable)
    assert str(err) == (
        "Uploading: EvoLink answered HTTP 500 (500): disk on fire. "
        "EvoLink is having trouble; retry later."
    )


def test_a_files_api_failure_may_say_message_instead_of_msg() -> None:
    assert error_fields(response(400, {"code": 400, "message": "no file"})) == (
        "400",
        "no file",
        None,
    )


def test_a_json_body_of_another_shape_falls_back_to_the_reason_phrase() -> None:
    assert error_fields(response(502, ["unexpected"])) == (None, "Bad Gateway", None)
    assert error_fields(response(400, {"detail": "x"})) == (None, "Bad Request", None)


def test_a_non_json_body_is_the_message_cut_to_200_characters() -> None:
    plain = response(502, text="  <html>bad gateway</html>  ")
    assert error_fields(plain) == (None, "<html>bad gateway</html>", None)
    err = error_for_response(plain, "x")
    assert isinstance(err, UpstreamUnavailable) and err.code is None
    assert str(err) == (
        "x: EvoLink answered HTTP 502: <html>bad gateway</html>. "
        "EvoLink is having trouble; retry later."
    )
    assert error_fields(response(503, text="y" * 500))[1] == "y" * 200


def test_an_empty_body_is_named_by_the_reason_phrase() -> None:
    assert error_fields(response(503, text="")) == (None, "Service Unavailable", None)


def test_401_tells_to_check_the_key() -> None:
    err = error_for_response(response(401, envelope("unauthorized", "bad key")), "Checking")
    assert isinstance(err, AuthError) and err.status == 401
    assert str(err) == (
        "Checking: EvoLink answered HTTP 401 (unauthorized): bad key. "
        "Check EVOLINK_API_KEY and that the key may use this model."
    )


def test_402_tells_to_top_up() -> None:
    err = error_for_response(response(402, envelope("insufficient_quota", "no credits")), "C")
    assert isinstance(err, InsufficientCredits) and err.status == 402
    assert str(err).endswith(". The account is out of credits: top up at https://evolink.ai.")


def test_403_on_the_file_quota_says_to_delete_uploads_not_to_check_the_key() -> None:
    quota = error_for_response(
        response(403, envelope(403, "File quota exceeded: at most 100")), "Uploading"
    )
    assert isinstance(quota, UpstreamRejected) and quota.status == 403
    assert "dashboard" in str(quota) and "72 hours" in str(quota)
    assert "EVOLINK_API_KEY" not in str(quota)
    by_code = error_for_response(
        response(403, {"success": False, "code": "file_quota", "msg": "Too many files"}), "U"
    )
    assert isinstance(by_code, UpstreamRejected)


def test_a_plain_403_is_an_auth_error() -> None:
    denied = error_for_response(response(403, envelope("permission_denied", "no")), "Creating")
    assert isinstance(denied, AuthError) and "EVOLINK_API_KEY" in str(denied)
    # "file" without "quota" (or the reverse) is not the file quota.
    assert isinstance(
        error_for_response(response(403, envelope(403, "file denied")), "U"), AuthError
    )
    assert isinstance(error_for_response(response(403, envelope(403, "quota")), "U"), AuthError)


@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_are_not_found_with_no_advice(status: int) -> None:
    err = error_for_response(response(status, envelope("task_not_found", "gone")), "Checking")
    assert isinstance(err, UpstreamNotFound) and err.status == status
    assert str(err) == f"Checking: EvoLink answered HTTP {status} (task_not_found): gone"


def test_other_4xx_say_to_change_the_request() -> None:
    bad = error_for_response(response(400, {"error": {"message": "size is wrong."}}), "Creating")
    assert isinstance(bad, UpstreamRejected) and bad.code is None
    assert str(bad) == (
        "Creating: EvoLink answered HTTP 400: size is wrong. "
        "EvoLink refused this request: change it before trying again."
    )
    teapot = error_for_response(response(418, text=""), "X")
    assert str(teapot) == (
        "X: EvoLink answered HTTP 418: I'm a teapot. "
        "EvoLink refused this request: change it before trying again."
    )


def test_5xx_say_to_retry_later() -> None:
    for status in (500, 502, 503, 504, 599):
        err = error_for_response(response(status, envelope("internal_error")), "X")
        assert isinstance(err, UpstreamUnavailable) and err.status == status and err.retryable
        assert str(err).endswith(". EvoLink is having trouble; retry later.")


def test_429_says_slow_down_and_carries_retry_after_in_seconds() -> None:
    err = error_for_response(
        response(429, envelope("rate_limit_exceeded", "slow"), {"Retry-After": "7"}), "X"
    )
    assert isinstance(err, RateLimited) and err.retry_after == 7.0 and err.status == 429
    assert str(err) == (
        "X: EvoLink answered HTTP 429 (rate_limit_exceeded): slow. Slow down; retry shortly."
    )


def test_a_rate_limit_error_type_is_rate_limited_whatever_the_status() -> None:
    err = error_for_response(response(400, envelope(400, "slow", "rate_limit_error")), "X")
    assert isinstance(err, RateLimited) and err.status == 429


def test_retry_after_as_an_http_date_is_the_seconds_until_then() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    wait = retry_after(response(429, {}, {"Retry-After": when}))
    assert wait is not None and 28.0 <= wait <= 30.0


def test_retry_after_absent_or_unreadable_is_none() -> None:
    assert retry_after(response(429, {})) is None
    assert retry_after(response(429, {}, {"Retry-After": ""})) is None
    assert retry_after(response(429, {}, {"Retry-After": "soon"})) is None
    err = error_for_response(response(429, {}), "X")
    assert isinstance(err, RateLimited) and err.retry_after is None


def test_retry_after_is_clamped_to_zero_and_to_the_cap() -> None:
    def wait(value: str) -> float | None:
        return retry_after(response(429, {}, {"Retry-After": value}))

    # Zero stays zero here: what a zero means for the limiter is the client's business.
    assert wait("0") == 0.0
    assert wait("-5") == 0.0
    assert wait("1.5") == 1.5
    assert wait("86400") == MAX_RETRY_AFTER
    assert wait(email.utils.formatdate(time.time() - 3600, usegmt=True)) == 0.0
    assert wait(email.utils.formatdate(time.time() + 86400, usegmt=True)) == MAX_RETRY_AFTER


def test_an_ambiguous_create_says_to_check_the_dashboard_and_is_never_retryable() -> None:
    err = ambiguous_create("Creating the task", "ReadTimeout")
    assert isinstance(err, AmbiguousCreate) and not err.retryable
    assert str(err) == (
        "Creating the task: EvoLink's answer was lost (ReadTimeout). The task may have been "
        "created and charged; check the EvoLink dashboard before retrying."
    )


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (UpstreamUnavailable("x"), True),
        (RateLimited("x"), True),
        (CreateNotSent("x"), True),
        (StorageError("x"), True),
        (DownloadError("x"), True),
        (DownloadTooLarge("x"), False),
        (AmbiguousCreate("x"), False),
        (UpstreamRejected("x"), False),
        (AuthError("x"), False),
        (InsufficientCredits("x"), False),
        (UpstreamNotFound("x"), False),
        (ImagegenError("x"), False),
    ],
)
def test_retryable_is_a_property_of_the_class(error: ImagegenError, retryable: bool) -> None:
    assert error.retryable is retryable
    assert type(error).retryable is retryable


def test_a_create_not_sent_carries_its_task_error_code() -> None:
    assert CreateNotSent("x").code == "create_not_sent"


def test_keys_and_bearer_tokens_in_upstream_text_are_redacted() -> None:
    from imagegen_mcp.redact import redact

    body = {
        "error": {
            "code": "unauthorized",
            "message": "Bad key. Got Authorization: Bearer sk-evo-SECRET123 and x-key my-own-key",
        }
    }
    response = httpx2.Response(401, json=body, request=httpx2.Request("GET", "https://e.test/"))
    error = error_for_response(response, "Checking", secrets=("my-own-key",))
    assert "SECRET123" not in str(error) and "my-own-key" not in str(error)
    assert "Bearer [redacted]" in str(error) and "x-key [redacted]" in str(error)
    assert redact("sk-evo-abcdef1234 and bearer tok.en/x=") == "[redacted] and bearer [redacted]"
    assert redact("a short secret", secrets=("", "a")) == "a short secret"
