"""The poll schedule: few polls early, dense near the end, bounded when the guess is wrong."""

from __future__ import annotations

import random

from imagegen_mcp.service.schedule import PollPolicy, ProgressTrack, next_delay

POLICY = PollPolicy()


def simulate(duration: float, estimate: float, pending: float = 0.1) -> tuple[int, float]:
    """Poll a linear-progress task; return (GETs, delay from completion to the seeing poll)."""
    track = ProgressTrack(submitted=0.0, estimate=estimate)
    now, gets = next_delay(track, 0.0, POLICY), 0
    while True:
        gets += 1
        if now >= duration:
            return gets, now - duration
        start = duration * pending
        progress = 0 if now < start else int(99 * (now - start) / (duration - start))
        track.observe(now, progress)
        now += next_delay(track, now, POLICY)


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


def test_jittered_tasks_with_wrong_estimates_beat_a_fixed_4s_poll() -> None:
    rng = random.Random(7)
    ours_gets = fixed_gets = 0
    delays: list[float] = []
    for _ in range(300):
        duration = rng.uniform(40, 120)
        estimate = duration * (1 + rng.uniform(-0.3, 0.3))
        gets, delay = simulate(duration, estimate)
        ours_gets += gets
        delays.append(delay)
        fixed_gets += int(duration // 4) + 1
    delays.sort()
    assert delays[len(delays) // 2] <= 1.0
    assert ours_gets <= fixed_gets
