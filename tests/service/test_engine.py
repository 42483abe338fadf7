"""The task engine against the sandbox over real HTTP: submit, poll, save, and what goes wrong."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from PIL import Image

from imagegen_mcp.errors import BudgetExceeded, InputError, TaskNotFound, UpstreamRejected
from imagegen_mcp.models import Task, TaskRequest
from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.service.engine import TaskEngine
from tests.conftest import FAST_POLLER, make_settings
from tests.support.catalog import size_pixels

WAIT = 20.0  # generous bound; tasks take a fraction of a second


def req(prompt: str = "a red fox", **kw: object) -> TaskRequest:
    return TaskRequest(prompt=prompt, **kw)


async def finish(engine: TaskEngine, task: Task) -> Task:
    with anyio.fail_after(WAIT):
        return await engine.wait(task.id, WAIT)


async def test_n2_saves_two_verified_files_and_store_rows(engine: TaskEngine) -> None:
    task = await engine.submit(req(size="3:2", n=2))
    assert task.status == "pending" and task.upstream_id
    done = await finish(engine, task)

    assert done.status == "completed", done.error
    assert [img.index for img in done.images] == [0, 1]
    for img in done.images:
        path = Path(img.path)
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == img.sha256
        assert len(data) == img.bytes
        with Image.open(path) as im:
            assert im.format == "PNG" and im.size == size_pixels("3:2")
        assert (img.width, img.height) == size_pixels("3:2")
        assert path.is_relative_to(engine.saver.output_dir)
    sidecar = Path(done.images[0].path).with_name(f"{done.id}.json")
    meta = json.loads(sidecar.read_text())
    assert meta["prompt"] == "a red fox" and len(meta["images"]) == 2
    stored = await engine.store.get(task.id)
    assert stored is not None and stored.status == "completed" and len(stored.images) == 2


async def test_saved_bytes_are_exactly_what_upstream_served(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    import httpx2

    done = await finish(engine, await engine.submit(req("a lighthouse at dusk")))
    img = done.images[0]
    assert img.remote_url
    async with httpx2.AsyncClient() as http:
        served = (await http.get(img.remote_url)).content
    assert Path(img.path).read_bytes() == served


async def test_429_5xx_and_dropped_connections_on_gets_and_downloads_are_survived(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    for kind in (429, 500, 502, 503, "drop"):
        sandbox.faults.queue("get", kind)
        sandbox.faults.queue("download", kind)
    sandbox.faults.queue("download", "truncate", times=2)
    done = await finish(engine, await engine.submit(req("storm over the sea")))
    assert done.status == "completed", done.error
    with Image.open(done.images[0].path) as im:
        im.load()
    assert sandbox.counters.creates == 1


async def test_truncated_download_is_retried_never_saved(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    sandbox.faults.queue("download", "truncate", times=3)
    done = await finish(engine, await engine.submit(req("glass marbles")))
    assert done.status == "completed"
    data = Path(done.images[0].path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == done.images[0].sha256
    assert sandbox.counters.downloads >= 4
    partial = engine.saver.output_dir / ".partial"
    assert list(partial.iterdir()) == []


@pytest.mark.parametrize("kind", ["create_then_502", "create_then_drop"])
async def test_ambiguous_create_is_recorded_unknown_and_never_resent(
    engine: TaskEngine, sandbox: Sandbox, kind: Literal["create_then_502", "create_then_drop"]
) -> None:
    sandbox.faults.queue("create", kind)
    task = await engine.submit(req("ambiguous"))
    assert task.status == "unknown"
    assert task.error is not None and "check the EvoLink dashboard" in task.error.message
    assert sandbox.counters.create_requests == 1
    assert sandbox.counters.creates == 1


async def test_create_refused_with_429_is_retried_once_it_clears(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    sandbox.faults.retry_after = 0
    sandbox.faults.queue("create", 429)
    task = await engine.submit(req("after the rush"))
    assert task.status == "pending"
    assert sandbox.counters.create_requests == 2 and sandbox.counters.creates == 1


async def test_create_refused_until_retries_run_out_can_be_sent_again(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    """429 on every attempt: nothing was created, so the task fails as create_not_sent and the
    same client_request_id sends it again (one paid create in all)."""
    from imagegen_mcp.errors import CreateNotSent

    sandbox.faults.retry_after = 0
    sandbox.faults.queue("create", 429, times=4)
    with pytest.raises(CreateNotSent, match="Nothing was created"):
        await engine.submit(req("crowded"), client_request_id="crowd-1")
    (task,) = await engine.recent()
    assert task.status == "failed" and task.error is not None
    assert task.error.code == "create_not_sent" and task.error.retryable
    again = await engine.submit(req("crowded"), client_request_id="crowd-1")
    assert again.id == task.id and again.status == "pending"
    assert sandbox.counters.creates == 1


async def test_failing_upstream_task_surfaces_code_and_message(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    done = await finish(engine, await engine.submit(req("nope [fail:content_policy_violation]")))
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "content_policy_violation"
    assert done.error.message and not done.error.retryable

    sandbox.faults.fail_tasks = 1
    sandbox.faults.fail_code = "generation_timeout"
    done = await finish(engine, await engine.submit(req("slow one")))
    assert done.error is not None and done.error.code == "generation_timeout"
    assert done.error.retryable


async def test_expired_links_give_expired_not_a_crash(engine: TaskEngine, sandbox: Sandbox) -> None:
    # Every download fails until the links are gone: the task must end as 'expired'.
    sandbox.faults.queue("download", 503, times=1000)
    task = await engine.submit(req("too late"))
    with anyio.fail_after(WAIT):
        await engine.wait(task.id, WAIT, until=lambda t: bool(t.result_urls))
    sandbox.advance(sandbox.config.result_ttl + 10)
    sandbox.faults.clear()  # downloads now reach the route and find it expired
    done = await finish(engine, task)
    assert done.status == "expired"
    assert done.error is not None and "expired" in done.error.message
    assert done.images == []


async def test_client_request_id_returns_the_same_task_without_paying_again(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    first = await engine.submit(req("same"), client_request_id="job-42")
    second = await engine.submit(req("same"), client_request_id="job-42")
    assert first.id == second.id
    assert sandbox.counters.creates == 1


async def test_client_request_id_reused_for_another_request_is_refused_naming_fields(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    first = await engine.submit(req("a cat"), client_request_id="job-7")
    with pytest.raises(InputError, match=r"different prompt, size\)") as refused:
        await engine.submit(req("a dog", size="3:2"), client_request_id="job-7")
    assert first.id in str(refused.value) and "new client_request_id" in str(refused.value)
    assert sandbox.counters.create_requests == 1


async def test_daily_budget_refuses_new_tasks_once_reached(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=5.0)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        await engine.submit(req("one", n=2))  # the sandbox reserves 2.5 per image: 5 credits
        with pytest.raises(BudgetExceeded, match="IMAGEGEN_MAX_CREDITS_PER_DAY"):
            await engine.submit(req("two"))
    assert sandbox.counters.creates == 1


async def test_rejected_create_raises_and_is_recorded_failed(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    sandbox.faults.queue("create", 400)
    with pytest.raises(UpstreamRejected):
        await engine.submit(req("bad"))
    failed = await engine.recent(status="failed")
    assert len(failed) == 1 and failed[0].upstream_id is None


async def test_model_rules_are_checked_before_paying(engine: TaskEngine, sandbox: Sandbox) -> None:
    with pytest.raises(InputError, match="exactly one image"):
        await engine.submit(
            req(
                "two refs",
                image_urls=["https://a.example/1.png", "https://a.example/2.png"],
                mask_url="https://a.example/m.png",
            )
        )
    with pytest.raises(InputError, match="Unknown model"):
        await engine.submit(req("x", model="dall-e-9"))
    assert sandbox.counters.create_requests == 0


async def test_wait_returns_current_state_at_deadline_and_task_continues(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    sandbox.config.task_duration = 2.0
    task = await engine.submit(req("slow"))
    seen: list[str] = []

    async def on_progress(t: Task) -> None:
        seen.append(t.status)

    early = await engine.wait(task.id, 0.05, on_progress=on_progress)
    assert early.status in ("pending", "processing")
    assert seen  # the initial state is always reported
    # A cancelled wait does not cancel the task.
    with anyio.move_on_after(0.05):
        await engine.wait(task.id, WAIT)
    sandbox.advance(5)
    done = await finish(engine, task)
    assert done.status == "completed"


async def test_unknown_task_id_names_the_way_out(engine: TaskEngine) -> None:
    with pytest.raises(TaskNotFound, match="list_tasks"):
        await engine.get("ig-000000000000")


async def test_waits_on_unknown_task_ids_leave_nothing_behind(engine: TaskEngine) -> None:
    for i in range(50):
        with pytest.raises(TaskNotFound):
            await engine.wait(f"ig-{i:012d}", 1.0)
    assert engine._events == {}


async def test_unwritable_output_dir_keeps_task_retrievable_then_saves(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    settings = make_settings(sandbox, tmp_path / "home", output_dir=out)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        task = await engine.submit(req("broken disk"))
        # A file where the partial-download folder should be: every save fails with an OSError
        # (chmod would not stop a root test runner).
        (out / ".partial").rmdir()
        (out / ".partial").write_text("in the way")
        try:
            with anyio.fail_after(WAIT):
                current = await engine.wait(task.id, WAIT, until=lambda t: t.error is not None)
            assert current.status == "processing"
            assert current.error is not None and "IMAGEGEN_OUTPUT_DIR" in current.error.message
        finally:
            (out / ".partial").unlink()
        done = await finish(engine, task)
        assert done.status == "completed" and done.error is None


async def test_callback_triggers_an_immediate_confirming_get(
    sandbox: Sandbox, settings: Settings, tmp_path: Path
) -> None:
    from imagegen_mcp.service.poller import PollerConfig
    from imagegen_mcp.service.schedule import PollPolicy

    slow = PollerConfig(policy=PollPolicy(min_interval=30, max_interval=60, near_interval=30))
    settings = make_settings(sandbox, tmp_path / "h2", public_url="http://127.0.0.1:9")
    async with open_engine(settings, poller=slow) as engine:
        task = await engine.submit(req("with callback"))
        assert task.callback_token
        sandbox.advance(5)
        gets = sandbox.counters.task_gets
        assert await engine.handle_callback(task.callback_token)
        done = await finish(engine, task)
        assert done.status == "completed"
        assert sandbox.counters.task_gets == gets + 1
        assert not await engine.handle_callback("not-a-token")


def test_unanswered_create_is_settled_only_once_stale(tmp_path: Path) -> None:
    """A 'submitting' task left by a crash is settled on resume and never resent: 'unknown' if
    its create may have left, 'failed' (create_not_sent) if it certainly did not. A fresh one
    may belong to another live process sharing the store and is left alone."""
    from dataclasses import replace

    async def scenario() -> None:
        from imagegen_mcp.sandbox import SandboxConfig
        from imagegen_mcp.storage.db import TaskStore
        from imagegen_mcp.storage.intents import Intent

        async with Sandbox(SandboxConfig(task_duration=0.2)) as sb:
            settings = make_settings(sb, tmp_path / "home")
            store = await TaskStore.open(settings.db_path)
            await store.create_intent(Intent("ig-crashed00000", req("lost")))
            assert await store.mark_sent("ig-crashed00000", None)
            await store.create_intent(Intent("ig-unsent00000", req("queued")))
            await store.aclose()
            async with open_engine(settings, poller=FAST_POLLER) as engine:
                # Resumed at start, and left for the stale age (300 s), not settled now.
                for task_id in ("ig-crashed00000", "ig-unsent00000"):
                    assert (await engine.get(task_id)).status == "submitting"
                    next_poll = engine.poller.next_poll(task_id)
                    assert next_poll is not None and next_poll > 250
            stale = replace(FAST_POLLER, stale_submit=0.0)
            async with open_engine(settings, poller=stale) as engine:
                with anyio.fail_after(WAIT):
                    task = await engine.wait("ig-crashed00000", WAIT)
                    unsent = await engine.wait("ig-unsent00000", WAIT)
                assert task.status == "unknown"
                assert task.error is not None and "may have been created" in task.error.message
                assert unsent.status == "failed" and unsent.error is not None
                assert unsent.error.code == "create_not_sent" and unsent.error.retryable
            assert sb.counters.create_requests == 0

    anyio.run(scenario)


async def test_a_full_disk_is_reported_on_the_task_then_saving_recovers(
    engine: TaskEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from imagegen_mcp.storage.files import ImageSaver, TempFileSink

    class FullDisk:
        """The sink's file on a disk with no room left: every write fails as the OS says."""

        def __init__(self, file: Any) -> None:
            self._file = file

        def write(self, chunk: bytes) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    real_new_sink = ImageSaver.new_sink

    def new_sink(self: ImageSaver) -> TempFileSink:
        sink = real_new_sink(self)
        sink._file = FullDisk(sink._file)  # type: ignore[assignment]  # a stand-in file
        return sink

    monkeypatch.setattr(ImageSaver, "new_sink", new_sink)
    task = await engine.submit(req("no room"))
    with anyio.fail_after(WAIT):
        current = await engine.wait(task.id, WAIT, until=lambda t: t.error is not None)
    assert current.status == "processing" and current.error is not None
    assert current.error.code == "storage_error"
    assert "No space left" in current.error.message and "Free disk space" in current.error.message
    monkeypatch.undo()  # space is back
    done = await finish(engine, task)
    assert done.status == "completed" and done.error is None and len(done.images) == 1


async def test_a_deleted_or_damaged_saved_file_is_downloaded_again(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    done = await finish(engine, await engine.submit(req("keep me", n=2)))
    first, second = (Path(img.path) for img in done.images)
    original = first.read_bytes()
    first.unlink()
    second.write_bytes(b"garbage")
    task, problems = await engine.check_files(done)
    assert problems == {}
    assert first.read_bytes() == original
    assert hashlib.sha256(second.read_bytes()).hexdigest() == task.images[1].sha256
    _image, data = await engine.saved_image(done.id, 0)
    assert data == original


async def test_a_lost_file_whose_link_expired_is_reported_not_a_crash(
    engine: TaskEngine, sandbox: Sandbox
) -> None:
    done = await finish(engine, await engine.submit(req("gone for good")))
    Path(done.images[0].path).unlink()
    sandbox.advance(sandbox.config.result_ttl + 10)
    _task, problems = await engine.check_files(done)
    assert "is missing" in problems[0] and "generate it again" in problems[0]
    with pytest.raises(InputError, match="is missing"):
        await engine.saved_image(done.id, 0)


async def test_downloads_that_can_never_succeed_are_given_up_after_bounded_attempts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    from dataclasses import replace

    settings = make_settings(sandbox, tmp_path / "home")
    async with open_engine(settings, poller=replace(FAST_POLLER, download_attempts=3)) as engine:
        sandbox.faults.queue("download", "corrupt", times=1000)
        done = await finish(engine, await engine.submit(req("never intact")))
        assert done.status == "failed" and done.error is not None
        assert done.error.code == "download_failed" and "3 attempt(s)" in done.error.message
        assert "corrupt" in done.error.message and done.images == []
    # A complete body that does not decode is not retried by the client: one per round.
    assert sandbox.counters.downloads == 3


async def test_an_upstream_echoing_the_key_never_puts_it_in_results_state_or_logs(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from imagegen_mcp.errors import AuthError
    from imagegen_mcp.server.settings import load_settings

    key = "sk-evo-not-the-right-key-42"
    sandbox.config.echo_authorization = True
    home = tmp_path / "home"
    settings = load_settings(
        EVOLINK_API_KEY=key, api_base=sandbox.base_url, files_base=sandbox.base_url, home=home
    )
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        with pytest.raises(AuthError) as refused:
            await engine.submit(req("who am I"))
        (task,) = await engine.recent()
    assert "Authorization: Bearer [redacted]" in str(refused.value)
    assert task.error is not None and "[redacted]" in task.error.message
    for text in (str(refused.value), task.error.message, caplog.text):
        assert key not in text
    assert key.encode() not in b"".join(p.read_bytes() for p in home.glob("state.db*"))
