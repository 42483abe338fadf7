"""What the poller learns about each model: how long its tasks take against their estimate.

One row per model holds an exponential moving average of actual / estimated duration, so it
is bounded whatever the number of tasks, follows a model whose speed drifts, and survives
restarts. Each update is one statement, so processes sharing the store never lose one.
(Run on the store's thread.)
"""

from __future__ import annotations

import sqlite3

#: Weight of the newest task in the average: about the last ten tasks count.
ALPHA = 0.2
#: A sample outside this range is an outlier (a task held upstream, a clock jump): clamped.
RATIO_RANGE = (0.1, 10.0)


def duration_ratios(conn: sqlite3.Connection) -> dict[str, float]:
    """The learned ratio of every model seen."""
    rows = conn.execute("SELECT model, ratio FROM model_durations").fetchall()
    return {str(row[0]): float(row[1]) for row in rows}


def learn_duration(conn: sqlite3.Connection, model: str, ratio: float, now: float) -> float:
    """Fold one task's actual / estimated duration into the model's average; return it."""
    low, high = RATIO_RANGE
    sample = min(high, max(low, ratio))
    conn.execute(
        """INSERT INTO model_durations (model, ratio, samples, updated_at) VALUES (?, ?, 1, ?)
           ON CONFLICT(model) DO UPDATE SET ratio = ratio + ? * (excluded.ratio - ratio),
               samples = samples + 1, updated_at = excluded.updated_at""",
        (model, sample, now, ALPHA),
    )
    row = conn.execute("SELECT ratio FROM model_durations WHERE model = ?", (model,)).fetchone()
    return float(row[0])
