"""The files API: four ways in, what is refused, quota, overwrite, delete, expiry, downloads."""

from __future__ import annotations

import base64
import io
from typing import Any

import anyio
import httpx2
from PIL import Image

from imagegen_mcp.sandbox import Sandbox
from tests.sandbox.conftest import StartSandbox, client_for, create, finish, png_bytes

FILES = "/api/v1/files"
DATA_KEYS = {
    "file_id",
    "file_name",
    "original_name",
    "file_size",
    "mime_type",
    "upload_path",
    "file_url",
    "download_url",
    "upload_time",
    "expires_at",
}


def small_png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    return png_bytes(Image.new("RGB", (16, 8), colour))


def encoded(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def uploaded(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["success"] is True
    assert payload["code"] == 200
    assert payload["msg"]
    data: dict[str, Any] = payload["data"]
    assert set(data) == DATA_KEYS
    return data


async def test_base64_data_uri_upload_is_served_at_file_url_and_download_url(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    raw = small_png()
    data_uri = "data:image/png;base64," + base64.b64encode(raw).decode()
    data = uploaded(await client.post(f"{FILES}/upload/base64", json={"base64_data": data_uri}))
    assert data["file_size"] == len(raw)
    assert data["mime_type"] == "image/png"
    assert data["file_id"].startswith("file_")
    assert data["file_url"] == f"{sb.base_url}/files/{data['upload_path']}/{data['file_name']}"
    assert data["upload_time"].endswith("+08:00")
    async with httpx2.AsyncClient(trust_env=False) as anonymous:  # downloads need no key
        for url in (data["file_url"], data["download_url"]):
            response = await anonymous.get(url)
            assert response.status_code == 200
            assert response.content == raw
            assert response.headers["content-type"] == "image/png"
    assert (sb.counters.uploads, sb.counters.file_gets) == (1, 2)


async def test_raw_base64_upload_honours_name_and_path(client: httpx2.AsyncClient) -> None:
    jpeg = encoded(Image.new("RGB", (8, 8), "blue"), "JPEG")
    data = uploaded(
        await client.post(
            f"{FILES}/upload/base64",
            json={
                "base64_data": base64.b64encode(jpeg).decode(),
                "upload_path": "avatars/team",
                "file_name": "me.jpg",
            },
        )
    )
    assert (data["file_name"], data["upload_path"], data["mime_type"]) == (
        "me.jpg",
        "avatars/team",
        "image/jpeg",
    )
    assert data["file_url"].endswith("/files/avatars/team/me.jpg")
    assert (await client.get(data["file_url"])).content == jpeg


async def test_stream_upload_parses_multipart_in_both_field_spellings(
    client: httpx2.AsyncClient,
) -> None:
    webp = encoded(Image.new("RGB", (8, 8), "green"), "WEBP")
    snake = uploaded(
        await client.post(
            f"{FILES}/upload/stream",
            files={"file": ("holiday photo.webp", webp, "image/webp")},
            data={"upload_path": "trips", "file_name": "beach.webp"},
        )
    )
    camel = uploaded(
        await client.post(
            f"{FILES}/upload/stream",
            files={"file": ("x.gif", encoded(Image.new("P", (4, 4)), "GIF"), "image/gif")},
            data={"uploadPath": "anims", "fileName": "spin.gif"},
        )
    )
    bare = uploaded(
        await client.post(
            f"{FILES}/upload/stream", files={"file": ("holiday photo.png", small_png())}
        )
    )
    assert (snake["file_name"], snake["upload_path"], snake["mime_type"]) == (
        "beach.webp",
        "trips",
        "image/webp",
    )
    assert snake["original_name"] == "holiday photo.webp"
    assert (await client.get(snake["file_url"])).content == webp
    assert (camel["file_name"], camel["upload_path"], camel["mime_type"]) == (
        "spin.gif",
        "anims",
        "image/gif",
    )
    assert bare["file_name"] == "holiday_photo.png"


async def test_url_upload_fetches_loopback_urls_only(
    sb: Sandbox, client: httpx2.AsyncClient, start_sandbox: StartSandbox
) -> None:
    other = await start_sandbox()
    async with client_for(other) as other_client:
        source = uploaded(
            await other_client.post(
                f"{FILES}/upload/base64",
                json={"base64_data": base64.b64encode(small_png()).decode()},
            )
        )
    copied = uploaded(
        await client.post(
            f"{FILES}/upload/url", json={"file_url": source["file_url"], "upload_path": "copies"}
        )
    )
    assert copied["file_size"] == source["file_size"]
    assert copied["file_name"] == source["file_name"]
    assert other.counters.file_gets == 1  # fetched over real HTTP
    detail = await finish(sb, client, (await create(client))["id"])
    own = uploaded(
        await client.post(f"{FILES}/upload/url", json={"file_url": detail["results"][0]})
    )
    assert own["file_name"] == "0.png"
    refused = await client.post(
        f"{FILES}/upload/url", json={"file_url": "https://example.com/cat.png"}
    )
    assert refused.status_code == 400
    assert refused.json()["success"] is False


async def test_non_images_and_malformed_uploads_are_refused_with_400(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    bmp = encoded(Image.new("RGB", (4, 4)), "BMP")
    attempts = [
        client.post(f"{FILES}/upload/base64", json={"base64_data": "aGVsbG8="}),
        client.post(
            f"{FILES}/upload/base64",
            json={"base64_data": "data:image/bmp;base64," + base64.b64encode(bmp).decode()},
        ),
        client.post(f"{FILES}/upload/base64", json={"base64_data": "not base64!"}),
        client.post(f"{FILES}/upload/base64", json={"base64_data": "data:image/png,abc"}),
        client.post(f"{FILES}/upload/base64", json={}),
        client.post(f"{FILES}/upload/base64", content=b"{", headers={"content-type": "x"}),
        client.post(f"{FILES}/upload/stream", files={"file": ("a.txt", b"hello", "text/plain")}),
        client.post(f"{FILES}/upload/stream", files={"other": ("a.png", small_png())}),
        client.post(
            f"{FILES}/upload/stream",
            content=b"--b\r\nno headers",
            headers={"content-type": "multipart/form-data; boundary=b"},
        ),
        client.post(f"{FILES}/upload/stream", json={"file": "not multipart"}),
        client.post(f"{FILES}/upload/stream", files={"file": (None, small_png())}),
        client.post(f"{FILES}/upload/url", json={"file_url": 5}),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 400, response.text
        payload = response.json()
        assert payload["success"] is False
        assert payload["code"] == 400
        assert payload["msg"]
    assert len(sb.files) == 0
    assert sb.counters.uploads == len(attempts)


async def test_uploads_over_the_size_limit_get_413(start_sandbox: StartSandbox) -> None:
    sb = await start_sandbox(max_upload_bytes=2000)
    big = png_bytes(Image.effect_noise((64, 64), 50).convert("RGB"))
    assert len(big) > 2000
    async with client_for(sb) as client:
        responses = [
            await client.post(
                f"{FILES}/upload/base64", json={"base64_data": base64.b64encode(big).decode()}
            ),
            await client.post(f"{FILES}/upload/stream", files={"file": ("big.png", big)}),
        ]
        fits = await client.post(
            f"{FILES}/upload/base64", json={"base64_data": base64.b64encode(small_png()).decode()}
        )
    assert [response.status_code for response in responses] == [413, 413]
    assert responses[0].json()["code"] == 413
    assert fits.status_code == 200


async def test_an_unsized_stream_upload_is_cut_off_at_the_limit(
    start_sandbox: StartSandbox,
) -> None:
    sb = await start_sandbox(max_upload_bytes=2000)
    host, port = sb.base_url.removeprefix("http://").rsplit(":", 1)
    head = (
        f"POST {FILES}/upload/stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {sb.api_key}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n\r\n"
    ).encode()
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
    filler = bytes(32 * 1024)
    with anyio.fail_after(10):
        async with await anyio.connect_tcp(host, int(port)) as stream:
            await stream.send(head + b"%x\r\n%s\r\n" % (len(part), part))
            # Past the limit and its framing slack, and never finished: only a server that
            # counts while it reads can answer now.
            for _ in range(4):
                await stream.send(b"%x\r\n%s\r\n" % (len(filler), filler))
            answer = await stream.receive()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
    assert len(sb.files) == 0


async def test_quota_overwrite_delete_and_list(start_sandbox: StartSandbox) -> None:
    sb = await start_sandbox(max_files=2)

    async def put(client: httpx2.AsyncClient, name: str, colour: str) -> httpx2.Response:
        raw = png_bytes(Image.new("RGB", (4, 4), colour))
        return await client.post(
            f"{FILES}/upload/base64",
            json={"base64_data": base64.b64encode(raw).decode(), "file_name": name},
        )

    async def quota(client: httpx2.AsyncClient) -> dict[str, Any]:
        response = await client.get(f"{FILES}/quota")
        assert response.json()["success"] is True
        data: dict[str, Any] = response.json()["data"]
        return data

    async with client_for(sb) as client:
        first = uploaded(await put(client, "a.png", "red"))
        uploaded(await put(client, "b.png", "red"))
        assert await quota(client) == {
            "user_group": "default",
            "used_files": 2,
            "max_files": 2,
            "remain_files": 0,
        }
        assert (await put(client, "c.png", "red")).status_code == 403
        replaced = uploaded(await put(client, "a.png", "blue"))  # same name overwrites
        assert replaced["file_id"] != first["file_id"]
        assert (await client.get(first["download_url"])).status_code == 404
        blue = Image.open(io.BytesIO((await client.get(replaced["file_url"])).content))
        assert blue.getpixel((0, 0)) == (0, 0, 255)
        listing = (await client.get(f"{FILES}/list", params={"page": 1, "pageSize": 1})).json()
        assert listing["data"]["total"] == 2
        assert len(listing["data"]["files"]) == 1
        deleted = await client.delete(f"{FILES}/{replaced['file_id']}")
        assert deleted.status_code == 200
        assert deleted.json()["success"] is True
        assert (await client.delete(f"{FILES}/{replaced['file_id']}")).status_code == 404
        assert (await client.get(replaced["file_url"])).status_code == 404
        assert (await quota(client))["used_files"] == 1
        uploaded(await put(client, "c.png", "red"))


async def test_uploaded_files_expire_after_upload_ttl(start_sandbox: StartSandbox) -> None:
    sb = await start_sandbox(upload_ttl=3600.0)
    async with client_for(sb) as client:
        data = uploaded(
            await client.post(
                f"{FILES}/upload/base64",
                json={"base64_data": base64.b64encode(small_png()).decode()},
            )
        )
        sb.advance(3599.0)
        assert (await client.get(data["file_url"])).status_code == 200
        sb.advance(2.0)
        assert (await client.get(data["file_url"])).status_code == 404
        assert (await client.get(data["download_url"])).status_code == 404
        assert (await client.get(f"{FILES}/quota")).json()["data"]["used_files"] == 0


async def test_file_downloads_honour_download_faults(
    sb: Sandbox, client: httpx2.AsyncClient
) -> None:
    data = uploaded(
        await client.post(
            f"{FILES}/upload/base64", json={"base64_data": base64.b64encode(small_png()).decode()}
        )
    )
    sb.faults.queue("download", 503)
    response = await client.get(data["file_url"])
    assert response.status_code == 503
    assert response.json()["success"] is False
    assert (await client.get(data["file_url"])).status_code == 200
    assert sb.counters.file_gets == 2
