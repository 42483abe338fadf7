"""When to poll a task next: a probe or two early, then one poll just after the end.

The expected end comes from two sources. Before any progress is seen, it is the upstream's
``estimated_time`` times the ratio of actual to estimated durations learned for the model from
earlier tasks (``storage.durations``): the next poll halves the remaining time. Once a task
reports progress, the progress rate (from the submit, or between the first and last readings)
brackets the end within the width of one percent of progress; a task whose end is bracketed
closely enough is polled once, just after the bracket, which usually finds it finished. Far
from the end another probe narrows the bracket first. Past the bracket (the progress lied) the
interval widens again, up to 4 s, so a wrong prediction does not burn requests.

Each plan says whether the poll is *due* (the task may have finished) or an *early* progress
probe: under a short request budget the poller sends due polls first and skips probes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_ESTIMATE = 30.0  # seconds, when the upstream gives none


@dataclass(frozen=True)
class PollPolicy:
    near_interval: float = 1.0  # poll spacing around the predicted end
    min_interval: float = 0.25
    max_interval: float = 20.0
    approach: float = 0.5  # with only an estimate, wait this fraction of the remaining time
    catch_margin: float = 0.15  # a due poll lands this long after the latest predicted end
    catch_width: float = 0.5  # an end bracketed this closely is caught with one poll
    refine_beyond: float = 10.0  # a bracket further away than this is narrowed by a probe ...
    refine_fraction: float = 0.8  # ... sent this fraction of the way to it
    overdue_growth: float = 0.1  # past the predicted end, interval grows by this x overdue time
    overdue_max: float = 4.0  # ... up to this: never sparser than a fixed 4 s poll


@dataclass(frozen=True)
class Plan:
    delay: float  # seconds until the next GET
    due: bool  # the task may have finished by then (else: an early progress probe)


@dataclass
class ProgressTrack:
    """What is known of one task: when it was submitted (on the poller's clock), its estimate,
    the model's learned duration ratio, and progress readings (time, percent)."""

    submitted: float
    estimate: float | None = None
    ratio: float = 1.0  # actual / estimated duration, learned per model
    readings: list[tuple[float, int]] = field(default_factory=list)
    last_open: float | None = None  # when a GET last found the task unfinished

    def observe(self, now: float, progress: int) -> None:
        self.last_open = now if progress < 100 else self.last_open
        if not self.readings or progress != self.readings[-1][1]:
            self.readings.append((now, progress))
        # Keep the first moving reading and the last few: enough for a rate, bounded in memory.
        if len(self.readings) > 6:
            del self.readings[1:-4]

    def expected_duration(self) -> float:
        """The estimate corrected by what the model's earlier tasks took."""
        return self.estimate * self.ratio if self.estimate else DEFAULT_ESTIMATE

    def _moving(self) -> list[tuple[float, int]]:
        return [(t, p) for t, p in self.readings if 0 < p < 100]

    def rate(self) -> float | None:
        """Percent per second: between the first and last moving readings, else since submit."""
        moving = self._moving()
        if len(moving) >= 2:
            (t0, p0), (t1, p1) = moving[0], moving[-1]
            if p1 > p0 and t1 > t0:
                return (p1 - p0) / (t1 - t0)
        if moving and moving[-1][0] > self.submitted:
            t1, p1 = moving[-1]
            return p1 / (t1 - self.submitted)
        return None

    def end_window(self) -> tuple[float, float] | None:
        """Earliest and latest absolute end the progress allows (a reported percent is whole,
        so the end lies within one percent's time of the reading's); None without progress."""
        rate = self.rate()
        if rate is None:
            return None
        t1, p1 = self._moving()[-1]
        low, high = t1 + (99 - p1) / rate, t1 + (100 - p1) / rate
        if self.last_open is not None:
            low = max(low, self.last_open)
        return low, high

    def predicted_end(self) -> float:
        """Absolute time the task should complete at (the latest end its progress allows)."""
        window = self.end_window()
        if window is not None:
            return window[1]
        return self.submitted + self.expected_duration()

    def finished_after(self, seen: float) -> float:
        """The task's duration, judged once a GET at ``seen`` found it finished: the middle of
        what the readings still allow (between the submit and ``seen`` if nothing else)."""
        low = self.submitted if self.last_open is None else self.last_open
        high = seen
        window = self.end_window()
        if window is not None:
            low = max(low, window[0])
            high = max(low, min(high, window[1]))
        return (low + high) / 2 - self.submitted


def plan(track: ProgressTrack, now: float, policy: PollPolicy) -> Plan:
    """When to GET a task that is not finished, and whether that GET is due or a probe."""
    near = policy.near_interval
    window = track.end_window()
    if window is None:  # no progress yet: go by the estimate
        remaining = track.predicted_end() - now
        if remaining > 2 * near:
            return _bounded(remaining * policy.approach, False, policy)
        return _bounded(_near_or_overdue(remaining, policy), True, policy)
    low, high = window
    catch = high + policy.catch_margin
    if now >= catch:  # the bracket has passed: the progress was wrong
        return _bounded(_near_or_overdue(high - now, policy), True, policy)
    if low - now > policy.refine_beyond:
        return _bounded((low - now) * policy.refine_fraction, False, policy)
    if high - low <= policy.catch_width:
        return _bounded(catch - now, True, policy)
    # A wide bracket close by (a long task): step through it.
    return _bounded(max(low, now) + policy.catch_width - now, True, policy)


def _near_or_overdue(remaining: float, policy: PollPolicy) -> float:
    near = policy.near_interval
    if remaining > -near:
        return near
    return min(policy.overdue_max, near + policy.overdue_growth * -remaining)


def _bounded(delay: float, due: bool, policy: PollPolicy) -> Plan:
    return Plan(min(policy.max_interval, max(policy.min_interval, delay)), due)


def next_delay(track: ProgressTrack, now: float, policy: PollPolicy) -> float:
    """Seconds to wait before the next GET of a task that is not finished."""
    return plan(track, now, policy).delay
