"""The task API over real HTTP: create shape, validation, auth, progression, results, credits."""

from __future__ import annotations

import re
from typing import Any

import httpx2

from imagegen_mcp.catalog import catalog, output_size
from imagegen_mcp.sandbox import SANDBOX_API_KEY, ErrorStyle, Sandbox
from tests.sandbox.conftest import StartSandbox, body, client_for, create, finish, open_png

GENERATIONS = "/v1/images/generations"


def styles(new_code: str) -> list[tuple[ErrorStyle, str | int]]:
    """Each error style with the code it should report for ``new_code``."""
    old_codes = {"invalid_request": 400, "unauthorized": 401, "task_not_found": 404}
    return [("new", new_code), ("old", old_codes[new_code])]


async def test_create_answers_exactly_the_documented_shape(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    created = await create(client, n=2)
    assert set(created) == {
        "created",
        "id",
        "model",
        "object",
        "progress",
        "status",
        "task_info",
        "type",
        "usage",
    }
    assert re.fullmatch(rf"task-unified-{created['created']}-[a-z0-9]{{8}}", created["id"])
    assert created["model"] == "gpt-4o-image"
    assert created["object"] == "image.generation.task"
    assert (created["progress"], created["status"], created["type"]) == (0, "pending", "image")
    assert created["task_info"] == {"can_cancel": True, "estimated_time": 1}
    assert created["usage"] == {
        "billing_rule": "per_call",
        "credits_reserved": 5.0,
        "user_group": "default",
    }
    assert sb.tasks[created["id"]].status == "pending"


INVALID_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"n": 3}, "n"),
    ({"n": "1"}, "n"),
    ({"size": "800x600"}, "size"),
    ({"image_urls": [f"http://127.0.0.1:1/{i}.png" for i in range(6)]}, "image_urls"),
    ({"image_urls": "http://127.0.0.1:1/a.png"}, "image_urls"),
    (
        {
            "model": "gemini-3-pro-image-preview",
            "n": None,
            "size": None,
            "image_urls": ["http://127.0.0.1:1/a.png"],
            "mask_url": "http://127.0.0.1:1/m.png",
        },
        "mask_url",
    ),
    ({"mask_url": "http://127.0.0.1:1/m.png"}, "mask_url"),
    ({"prompt": "x" * 2001}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": None}, "prompt"),
    ({"model": "dall-e-3"}, "model"),
    ({"model": None}, "model"),
    ({"callback_url": "https://example.com/" + "x" * 2048}, "callback_url"),
    ({"callback_url": "http://example.com/hook"}, "callback_url"),
]


async def test_each_validation_rule_answers_400_naming_the_param_in_both_styles(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    for style, code in styles("invalid_request"):
        sb.config.error_style = style  # read live by the sandbox
        for overrides, param in INVALID_BODIES:
            response = await client.post(GENERATIONS, json=body(**overrides))
            assert response.status_code == 400, (overrides, response.text)
            error = response.json()["error"]
            assert error["code"] == code
            assert error["type"] == "invalid_request_error"
            assert error["param"] == param, overrides
            assert error["message"]
    assert sb.counters.creates == 0
    assert sb.counters.create_requests == 2 * len(INVALID_BODIES)


async def test_strict_callbacks_refuse_http_and_internal_addresses(
    start_sandbox: StartSandbox,
) -> None:
    sb = await start_sandbox(strict_callbacks=True)
    refused = [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/x",
        "https://172.16.0.1/x",
        "https://192.168.0.1/",
        "ftp://hooks.example.com/x",
    ]
    async with client_for(sb) as client:
        for callback_url in refused:
            response = await client.post(GENERATIONS, json=body(callback_url=callback_url))
            assert response.status_code == 400, callback_url
            assert response.json()["error"]["param"] == "callback_url"
        accepted = await client.post(
            GENERATIONS, json=body(callback_url="https://hooks.example.com/x")
        )
    assert accepted.status_code == 200


async def test_lenient_callbacks_accept_loopback_but_not_other_http(
    client: httpx2.AsyncClient,
) -> None:
    for url in ("http://127.0.0.1:9/hook", "http://localhost:9/hook", "https://[::1]:9/x"):
        response = await client.post(GENERATIONS, json=body(callback_url=url))
        assert response.status_code == 200, url
    response = await client.post(GENERATIONS, json=body(callback_url="http://10.0.0.1/hook"))
    assert response.status_code == 400


async def test_a_body_that_is_not_a_json_object_is_refused(client: httpx2.AsyncClient) -> None:
    for raw in (b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"):
        response = await client.post(
            GENERATIONS, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"


async def test_missing_malformed_or_unknown_keys_get_401_in_both_styles(sb: Sandbox) -> None:
    headers_cases = [
        {},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer a b"},
        {"Authorization": "Bearer sk-evo-nope"},
    ]
    async with httpx2.AsyncClient(base_url=sb.base_url, trust_env=False) as client:
        for style, code in styles("unauthorized"):
            sb.config.error_style = style
            for headers in headers_cases:
                responses = [
                    await client.post(GENERATIONS, json=body(), headers=headers),
                    await client.get("/v1/tasks/task-unified-1-abcdefgh", headers=headers),
                    await client.get("/v1/credits", headers=headers),
                ]
                for response in responses:
                    assert response.status_code == 401
                    assert response.json()["error"]["code"] == code
                    assert "sk-evo-nope" not in response.text
                files = await client.get("/api/v1/files/quota", headers=headers)
                assert files.status_code == 401
                assert files.json()["success"] is False
    assert sb.counters.creates == 0


async def test_unknown_task_is_404_task_not_found(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    for style, code in styles("task_not_found"):
        sb.config.error_style = style
        response = await client.get("/v1/tasks/task-unified-1700000000-zzzzzzzz")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == code
    sb.config.error_style = "new"
    malformed = await client.get("/v1/tasks/not-a-task")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_task_id"


async def test_status_goes_pending_processing_completed_with_rising_progress(
    start_sandbox: StartSandbox,
) -> None:
    sb = await start_sandbox(task_duration=10.0, pending_fraction=0.1)
    async with client_for(sb) as client:
        task_id = (await create(client, n=2))["id"]
        seen: list[dict[str, Any]] = []
        for step in (0.0, 2.0, 3.0, 4.0):
            sb.advance(step)
            seen.append((await client.get(f"/v1/tasks/{task_id}")).json())
        sb.advance(1.5)
        done = (await client.get(f"/v1/tasks/{task_id}")).json()
    assert seen[0]["status"] == "pending"
    assert seen[0]["progress"] == 0
    assert seen[0]["task_info"] == {"can_cancel": True, "estimated_time": 10}
    progress = [detail["progress"] for detail in seen[1:]]
    assert [detail["status"] for detail in seen[1:]] == ["processing"] * 3
    assert progress == sorted(progress)
    assert len(set(progress)) == 3
    assert progress[0] > 0
    assert progress[-1] < 100
    assert "results" not in seen[-1]
    assert done["status"] == "completed"
    assert done["progress"] == 100
    assert done["task_info"] == {"can_cancel": False}
    assert len(done["results"]) == 2
    assert all(url.startswith(sb.base_url + "/results/") for url in done["results"])
    assert sb.tasks[task_id].status == "completed"


async def test_jitter_and_estimate_error_vary_per_task_within_bounds(
    start_sandbox: StartSandbox,
) -> None:
    sb = await start_sandbox(task_duration=20.0, duration_jitter=0.5, estimate_error=0.5, seed=3)
    async with client_for(sb) as client:
        estimates = [(await create(client))["task_info"]["estimated_time"] for _ in range(8)]
    durations = [task.due_at - task.started_at for task in sb.tasks.values()]
    assert len(set(estimates)) > 1
    assert all(5 <= estimate <= 45 for estimate in estimates)
    assert all(10.0 <= duration <= 30.0 for duration in durations)
    assert len(set(durations)) == len(durations)


async def test_results_are_pngs_of_exactly_the_requested_size(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    spec = catalog().models["gpt-4o-image"]
    ids = {size: (await create(client, size=size))["id"] for size in spec.sizes()}
    sb.advance(2.0)
    for size, task_id in ids.items():
        detail = (await client.get(f"/v1/tasks/{task_id}")).json()
        response = await client.get(detail["results"][0])
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert int(response.headers["content-length"]) == len(response.content)
        image = open_png(response.content)
        assert image.format == "PNG"
        assert image.size == output_size(spec, size, None)


async def test_same_prompt_gives_same_bytes_and_different_prompts_differ(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    first = await create(client, prompt="a lighthouse", n=2)
    again = await create(client, prompt="a lighthouse")
    other = await create(client, prompt="a windmill")
    sb.advance(2.0)
    images = {}
    for name, created in (("first", first), ("again", again), ("other", other)):
        detail = (await client.get(f"/v1/tasks/{created['id']}")).json()
        images[name] = [(await client.get(url)).content for url in detail["results"]]
    assert images["first"][0] == images["again"][0]
    assert images["first"][0] != images["first"][1]
    assert images["first"][0] != images["other"][0]


async def test_result_urls_expire_after_result_ttl(start_sandbox: StartSandbox) -> None:
    sb = await start_sandbox(result_ttl=60.0)
    async with client_for(sb) as client:
        detail = await finish(sb, client, (await create(client))["id"])
        url = detail["results"][0]
        assert (await client.get(url)).status_code == 200
        sb.advance(59.0)
        assert (await client.get(url)).status_code == 200
        sb.advance(2.0)
        expired = await client.get(url)
        wrong_token = await client.get(re.sub(r"/results/([^/]+)/[^/]+/", r"/results/\1/x/", url))
    assert expired.status_code == 404
    assert "expired" in expired.json()["error"]["message"]
    assert wrong_token.status_code == 404
    assert sb.counters.downloads == 4


async def test_credits_are_reserved_charged_refunded_and_402_when_short(
    start_sandbox: StartSandbox,
) -> None:
    sb = await start_sandbox(credits=12.5, credits_per_image=2.5)

    async def balance(client: httpx2.AsyncClient) -> dict[str, Any]:
        response = await client.get("/v1/credits")
        assert response.status_code == 200
        payload: dict[str, Any] = response.json()
        assert payload["success"] is True
        token: dict[str, Any] = payload["data"]["token"]
        return token

    async with client_for(sb) as client:
        assert await balance(client) == {
            "remaining_credits": 12.5,
            "used_credits": 0.0,
            "unlimited_credits": False,
        }
        kept = await create(client, n=4)
        failing = await create(client, prompt="[fail:service_error] x")
        assert (await balance(client))["remaining_credits"] == 0.0
        short = await client.post(GENERATIONS, json=body(n=1))
        assert short.status_code == 402
        assert short.json()["error"]["code"] == "insufficient_quota"
        sb.advance(2.0)
        assert (await client.get(f"/v1/tasks/{kept['id']}")).json()["status"] == "completed"
        assert (await client.get(f"/v1/tasks/{failing['id']}")).json()["status"] == "failed"
        assert await balance(client) == {
            "remaining_credits": 2.5,
            "used_credits": 10.0,
            "unlimited_credits": False,
        }
        assert (await client.post(GENERATIONS, json=body(n=1))).status_code == 200
    assert sb.counters.creates == 3
    assert sb.counters.create_requests == 4


async def test_counters_track_every_route(sb: Sandbox, client: httpx2.AsyncClient) -> None:
    created = await create(client)
    await client.post(GENERATIONS, json=body(n=3))
    detail = await finish(sb, client, created["id"])
    await client.get(f"/v1/tasks/{created['id']}")
    await client.get(detail["results"][0])
    await client.get("/v1/credits")
    counters = sb.counters
    assert (counters.creates, counters.create_requests) == (1, 2)
    assert (counters.task_gets, counters.downloads, counters.credits_gets) == (2, 1, 1)
    assert (counters.uploads, counters.file_gets, counters.callbacks_sent) == (0, 0, 0)


async def test_default_key_and_custom_keys(start_sandbox: StartSandbox) -> None:
    sb = await start_sandbox(api_keys=frozenset({"sk-evo-a", "sk-evo-b"}))
    assert sb.api_key == "sk-evo-a"
    async with client_for(sb, "sk-evo-b") as client:
        assert (await client.get("/v1/credits")).status_code == 200
    async with client_for(sb, SANDBOX_API_KEY) as client:
        assert (await client.get("/v1/credits")).status_code == 401
