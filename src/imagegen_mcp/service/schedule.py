"""When to poll a task next: rarely early, densely near the expected end.

The expected end comes from two sources: the upstream's ``estimated_time`` (often off by tens of
percent) and the observed rate of ``progress``. Once two progress readings exist, the rate
predicts the end far better than the estimate. Far from the end, with only an estimate, the
next poll halves the remaining time; with a measured rate it lands just before the predicted end.
Near the end polls come every ``near_interval``; past the predicted end the interval widens
again (up to 4 s) so a wrong prediction does not burn requests. A task costs a handful of GETs
whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_ESTIMATE = 30.0  # seconds, when the upstream gives none


@dataclass(frozen=True)
class PollPolicy:
    near_interval: float = 1.0  # poll spacing around the predicted end
    min_interval: float = 0.25
    max_interval: float = 20.0
    approach: float = 0.5  # far from the end, wait this fraction of the predicted remaining time
    overdue_growth: float = 0.1  # past the predicted end, interval grows by this x overdue time
    overdue_max: float = 4.0  # ... up to this: never sparser than a fixed 4 s poll


@dataclass
class ProgressTrack:
    """Progress readings of one task since submission (seconds since submit, percent)."""

    submitted: float
    estimate: float | None = None
    readings: list[tuple[float, int]] = field(default_factory=list)

    def observe(self, now: float, progress: int) -> None:
        if not self.readings or progress != self.readings[-1][1]:
            self.readings.append((now, progress))
        # Keep the first moving reading and the last few: enough for a rate, bounded in memory.
        if len(self.readings) > 6:
            del self.readings[1:-4]

    def rate(self) -> float | None:
        """Percent per second between the first and last moving readings, if known."""
        moving = [(t, p) for t, p in self.readings if 0 < p < 100]
        if len(moving) >= 2:
            (t0, p0), (t1, p1) = moving[0], moving[-1]
            if p1 > p0 and t1 > t0:
                return (p1 - p0) / (t1 - t0)
        return None

    def predicted_end(self) -> float:
        """Absolute time the task should complete at."""
        rate = self.rate()
        if rate is not None:
            t1, p1 = self.readings[-1]
            return t1 + (100 - p1) / rate
        return self.submitted + (self.estimate if self.estimate else DEFAULT_ESTIMATE)


def next_delay(track: ProgressTrack, now: float, policy: PollPolicy) -> float:
    """Seconds to wait before the next GET of a task that is not finished."""
    remaining = track.predicted_end() - now
    near = policy.near_interval
    if remaining > 2 * near:
        if track.rate() is not None:
            delay = remaining - near / 2  # a measured rate is precise: land just before the end
        else:
            delay = remaining * policy.approach  # an estimate is not: halve the distance
    elif remaining > -near:
        delay = near
    else:
        overdue = -remaining
        delay = min(policy.overdue_max, near + policy.overdue_growth * overdue)
    return min(policy.max_interval, max(policy.min_interval, delay))
