"""The poll schedule: few polls early, one just after the end, bounded when the guess is wrong."""

from __future__ import annotations

import random
import statistics

from imagegen_mcp.service.schedule import PollPolicy, ProgressTrack, next_delay, plan
from imagegen_mcp.storage.durations import ALPHA

POLICY = PollPolicy()


def simulate(
    duration: float,
    estimate: float,
    pending: float = 0.1,
    *,
    ratio: float = 1.0,
    from_submit: bool = False,
) -> tuple[int, float, ProgressTrack]:
    """Poll a linear-progress task; return (GETs, delay from completion to the seeing poll, the
    track). Progress is 0 while pending, then runs either from the pending end to 99 or, as the
    sandbox reports it, as the share of the whole duration elapsed since submit."""
    track = ProgressTrack(submitted=0.0, estimate=estimate, ratio=ratio)
    now, gets = next_delay(track, 0.0, POLICY), 0
    while True:
        gets += 1
        if now >= duration:
            return gets, now - duration, track
        start = duration * pending
        if now < start:
            progress = 0
        elif from_submit:
            progress = max(1, min(99, int(100 * now / duration)))
        else:
            progress = int(99 * (now - start) / (duration - start))
        track.observe(now, progress)
        now += next_delay(track, now, POLICY)


def fixed_4s_gets(duration: float) -> int:
    return int(duration // 4) + 1


def test_far_from_the_end_polls_are_sparse() -> None:
    track = ProgressTrack(submitted=0.0, estimate=100.0)
    assert next_delay(track, 0.0, POLICY) == POLICY.max_interval


def test_measured_rate_lands_just_before_the_end() -> None:
    track = ProgressTrack(submitted=0.0, estimate=100.0)
    track.observe(20.0, 10)
    track.observe(40.0, 30)
    # 1 %/s from 30 % at t=40 -> end at t=110
    assert abs(track.predicted_end() - 110.0) < 1e-9
    assert next_delay(track, 100.0, POLICY) == 9.5


def test_overdue_interval_grows_but_never_past_4s() -> None:
    track = ProgressTrack(submitted=0.0, estimate=10.0)
    assert next_delay(track, 11.5, POLICY) > POLICY.near_interval
    assert next_delay(track, 1000.0, POLICY) == 4.0


def test_the_learned_ratio_scales_the_estimate_before_any_progress() -> None:
    slow_model = ProgressTrack(submitted=0.0, estimate=10.0, ratio=2.0)
    fast_model = ProgressTrack(submitted=0.0, estimate=10.0, ratio=0.5)
    assert slow_model.predicted_end() == 20.0
    assert fast_model.predicted_end() == 5.0
    first = plan(fast_model, 0.0, POLICY)
    assert (first.delay, first.due) == (2.5, False)  # a probe, halfway to the learned end
    # Where the plain estimate says "far off", the learned one says "due now".
    assert plan(ProgressTrack(submitted=0.0, estimate=10.0), 4.5, POLICY).due is False
    assert plan(fast_model, 4.5, POLICY).due is True


def test_one_progress_reading_brackets_the_end_and_one_due_poll_catches_it() -> None:
    track = ProgressTrack(submitted=0.0, estimate=14.0)
    track.observe(5.0, 50)  # 50 % after 5 s: the end lies in [9.9, 10.0]
    assert track.end_window() == (9.9, 10.0)
    step = plan(track, 5.0, POLICY)
    assert step.due
    assert step.delay == 5.0 + POLICY.catch_margin


def test_a_finished_task_reports_how_long_it_took_within_what_progress_allows() -> None:
    track = ProgressTrack(submitted=0.0, estimate=20.0)
    track.observe(5.0, 50)
    assert abs(track.finished_after(10.15) - 9.95) < 1e-9  # the middle of [9.9, 10.0]
    blind = ProgressTrack(submitted=0.0, estimate=20.0)
    blind.observe(4.0, 0)
    assert blind.finished_after(8.0) == 6.0  # only "between 4 and 8 s" is known


def test_jittered_tasks_with_wrong_estimates_beat_a_fixed_4s_poll() -> None:
    rng = random.Random(7)
    ours_gets = fixed_gets = 0
    delays: list[float] = []
    for _ in range(300):
        duration = rng.uniform(40, 120)
        estimate = duration * (1 + rng.uniform(-0.3, 0.3))
        gets, delay, _ = simulate(duration, estimate)
        ours_gets += gets
        delays.append(delay)
        fixed_gets += fixed_4s_gets(duration)
    delays.sort()
    assert delays[len(delays) // 2] <= 1.0
    assert ours_gets <= fixed_gets


def run_band(
    low: float, high: float, bias: float, *, learn: bool, tasks: int = 200
) -> tuple[int, int, float, float]:
    """Tasks of ``low``-``high`` s whose estimates are off by ``bias`` (and +-30% noise), in
    order, learning the ratio from each finished one as the poller does. Returns our GETs, the
    fixed 4 s poll's GETs, the median delay and the ratio learned."""
    rng = random.Random(11)
    ratio, ours, fixed, delays = 1.0, 0, 0, []
    for i in range(tasks):
        duration = rng.uniform(low, high)
        estimate = max(1, round(duration * bias * (1 + rng.uniform(-0.3, 0.3))))
        gets, delay, track = simulate(duration, estimate, ratio=ratio, from_submit=True)
        if learn:
            sample = track.finished_after(duration + delay) / estimate
            ratio = sample if i == 0 else ratio + ALPHA * (sample - ratio)
        ours += gets
        fixed += fixed_4s_gets(duration)
        delays.append(delay)
    return ours, fixed, statistics.median(delays), ratio


def test_short_tasks_cost_no_more_gets_than_a_fixed_4s_poll_and_are_seen_within_1s() -> None:
    for low, high in [(5, 12), (12, 30), (30, 60), (60, 120)]:
        ours, fixed, median, _ = run_band(low, high, 1.0, learn=True)
        assert ours <= fixed, (low, high, ours, fixed)
        assert median <= 1.0, (low, high, median)


def test_a_model_whose_estimates_run_long_is_learned_and_polled_on_time() -> None:
    # Estimates three times the real duration: the first poll (half the estimate) would land
    # long after the end; the learned ratio brings it back before the end.
    ours, fixed, median, ratio = run_band(5, 12, 3.0, learn=True)
    assert abs(ratio - 1 / 3) < 0.05
    assert ours <= fixed
    assert median <= 1.0
    _, _, blind_median, _ = run_band(5, 12, 3.0, learn=False)
    assert blind_median > 2.0
