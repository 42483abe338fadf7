"""The daily budget: the credits reserved in any 24 h never exceed it by more than one task's
cost, across concurrent calls and restarts (the sandbox reserves 2.5 credits per image)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from imagegen_mcp.errors import BudgetExceeded
from imagegen_mcp.models import TaskRequest
from imagegen_mcp.sandbox import Sandbox
from imagegen_mcp.server.runtime import open_engine
from imagegen_mcp.service.engine import TaskEngine
from imagegen_mcp.service.validation import check_request
from imagegen_mcp.storage.db import TaskStore
from imagegen_mcp.storage.intents import Intent
from tests.conftest import FAST_POLLER, make_settings

NO_PRICE = "gpt-image-2"  # no price in the catalog: the first charge tells it


async def _burst(engine: TaskEngine, model: str, calls: int) -> tuple[int, int]:
    """``calls`` concurrent n=4 submits; (accepted, refused)."""
    outcomes: list[bool] = []

    async def one(i: int) -> None:
        try:
            await engine.submit(TaskRequest(prompt=f"burst {i}", model=model, n=4))
        except BudgetExceeded:
            outcomes.append(False)
        else:
            outcomes.append(True)

    async with anyio.create_task_group() as tg:
        for i in range(calls):
            tg.start_soon(one, i)
    return outcomes.count(True), outcomes.count(False)


@pytest.mark.parametrize("model", ["gpt-4o-image", NO_PRICE])
async def test_concurrent_calls_reserve_at_most_one_task_over_the_budget(
    sandbox: Sandbox, tmp_path: Path, model: str
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=10.0)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        accepted, refused = await _burst(engine, model, 8)
        spent = await engine.store.spent_since(0)
    assert (accepted, refused) == (1, 7)
    assert sandbox.counters.creates == 1
    assert spent <= 10.0 + 4 * sandbox.config.credits_per_image


async def test_a_restart_keeps_what_was_spent_and_the_price_seen(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=12.0)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        await engine.submit(TaskRequest(prompt="first", model=NO_PRICE, n=2))  # 5 credits
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        # The price seen before the restart: 4 images need 10 more, which do not fit in 12.
        with pytest.raises(BudgetExceeded, match="needs about 10"):
            await engine.submit(TaskRequest(prompt="too many", model=NO_PRICE, n=4))
        await engine.submit(TaskRequest(prompt="fits", model=NO_PRICE, n=2))  # 10 of 12
        with pytest.raises(BudgetExceeded):
            await engine.submit(TaskRequest(prompt="over", model=NO_PRICE, n=1))
    assert sandbox.counters.creates == 2


async def test_a_spent_budget_refuses_even_an_unpriced_model_after_a_restart(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=5.0)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        await engine.submit(TaskRequest(prompt="all of it", n=2))  # 5 credits
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        with pytest.raises(BudgetExceeded, match="5 of 5 credits"):
            await engine.submit(TaskRequest(prompt="more", model=NO_PRICE, n=4))
    assert sandbox.counters.creates == 1


async def test_another_process_s_unpriced_create_in_flight_holds_back_a_second(
    tmp_path: Path,
) -> None:
    store = await TaskStore.open(tmp_path / "state.db")
    try:
        request = TaskRequest(prompt="p", model=NO_PRICE)
        await store.create_intent(Intent("ig-first0000000", request, daily_budget=10.0))
        with pytest.raises(BudgetExceeded, match="call again in a few seconds"):
            await store.create_intent(Intent("ig-second000000", request, daily_budget=10.0))
        # Another model, or no budget, is not held back.
        other = TaskRequest(prompt="p", model="gpt-image-1.5-beta")
        await store.create_intent(Intent("ig-third0000000", other, daily_budget=10.0))
        await store.create_intent(Intent("ig-fourth000000", request))
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    ("request_", "needs"),
    [
        (TaskRequest(prompt="p", model="gpt-4o-image", n=2), 5.0),  # 2.5 per image
        (TaskRequest(prompt="p", model="gpt-image-2-beta", resolution="1K"), 1.02),  # per task
        (TaskRequest(prompt="p", model="gpt-image-1.5-beta"), 0.9),  # per task
    ],
)
async def test_before_any_charge_the_estimate_is_the_catalog_price_hint(
    sandbox: Sandbox, tmp_path: Path, request_: TaskRequest, needs: float
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=needs - 0.01)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        with pytest.raises(BudgetExceeded, match=f"needs about {needs:g}"):
            await engine.submit(request_)
    assert sandbox.counters.create_requests == 0


async def test_charges_are_learned_per_resolution(tmp_path: Path) -> None:
    store = await TaskStore.open(tmp_path / "state.db")
    try:
        request = TaskRequest(prompt="p", model="krea-2-turbo", resolution="1K", n=1)
        intent = Intent(task_id="ig-000000000001", request=request)
        await store.create_intent(intent)
        await store.record_accepted(
            "ig-000000000001",
            upstream_id="task-unified-1",
            status="pending",
            progress=0,
            credits_reserved=3.0,
            estimated_time=None,
        )
        assert await store.credits_per_image(request.priced_as()) == 3.0
        other_tier = request.model_copy(update={"resolution": "2K"})
        assert await store.credits_per_image(other_tier.priced_as()) is None
        other_extras = request.model_copy(update={"options": {"seed": 1}})
        assert await store.credits_per_image(other_extras.priced_as()) is None
    finally:
        await store.aclose()


async def test_the_engine_tells_the_estimate_and_the_spend_the_budget_counts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = make_settings(sandbox, tmp_path / "home", max_credits_per_day=12.0)
    async with open_engine(settings, poller=FAST_POLLER) as engine:
        priced = check_request(TaskRequest(prompt="p", n=2))  # the catalog: 2.5 an image
        unpriced = check_request(TaskRequest(prompt="p", model=NO_PRICE, n=2))
        assert await engine.estimate(priced) == 5.0
        assert await engine.estimate(unpriced) is None
        await engine.submit(unpriced)
        assert await engine.estimate(unpriced) == 2 * sandbox.config.credits_per_image
        spend = await engine.spend()
    assert (spend.last_24h, spend.budget, spend.left) == (5.0, 12.0, 7.0)


async def test_the_spend_window_is_the_last_24_hours_of_the_store_s_clock(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = await TaskStore.open(tmp_path / "state.db", clock=lambda: now[0])
    try:
        request = TaskRequest(prompt="p")
        await store.create_intent(Intent("ig-first0000000", request, credits_estimate=3.0))
        assert await store.spent_in_budget_window() == 3.0
        now[0] += 24 * 3600 - 1
        assert await store.spent_in_budget_window() == 3.0
        now[0] += 2
        assert await store.spent_in_budget_window() == 0.0
    finally:
        await store.aclose()
