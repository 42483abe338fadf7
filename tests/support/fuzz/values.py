"""Values for fuzzed arguments: hand-written hostile ones, and strategies from JSON schemas."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from tests.support.fuzz.calls import Fault


def from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for a (pydantic-made) JSON schema; long strings are capped for speed."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(
            min_value=low,
            max_value=schema.get("maximum"),
            exclude_min="exclusiveMinimum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
    if kind == "string":
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", 200), 200)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: low <= len(s) <= high
            )
        return st.text(min_size=low, max_size=high)
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs)
        return st.lists(items, max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object" or "properties" in schema:
        return object_from_schema(schema, defs)
    return st.none()


def object_from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {k: from_schema(v, defs) for k, v in props.items() if k in required},
        optional={k: from_schema(v, defs) for k, v in props.items() if k not in required},
    )


WRONG_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([10**30, -(10**30), 0, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers() | st.none(), max_size=3),
)

HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "\n\r\t",
    "null",
    "undefined",
    "%00",
    "%s%s%s%n",
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/a}",
    "'; DROP TABLE tasks; --",
    '" OR 1=1 --',
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\u202eevil\u202c",
    "\ud7ff\ue000\uffff",
    "🦄" * 50,
    "a" * 2000,
    "a" * 2001,
    "é" * 100_000,
]

HOSTILE_WAITS: list[Any] = [
    -1,
    -0.0001,
    55.0001,
    56,
    1e308,
    -1e308,
    math.inf,
    -math.inf,
    math.nan,
    "5",
    "soon",
    [],
    {},
]
HOSTILE_TASK_IDS = [
    "ig-000000000000",
    "ig-____________",
    "%",
    "ig-%",
    "*",
    "../../etc/passwd",
    "ig-x'; DROP TABLE tasks;--",
    "ig-\x00",
    "ig-ñ",
    " ig-abc",
    "a" * 64,
    "a" * 65,
    "",
]
REGION_CASES: list[Any] = [
    [{"x": 0, "y": 0, "width": 1, "height": 1}],  # the whole image
    [{"x": 0.5, "y": 0.5, "width": 1e-6, "height": 1e-6}],  # under a pixel
    [{"shape": "ellipse", "x": 0.2, "y": 0.2, "width": 1e-4, "height": 0.3}],
    [{"x": 0.9, "y": 0.9, "width": 0.2, "height": 0.2}],  # outside
    [{"x": -0.1, "y": 0, "width": 0.5, "height": 0.5}],
    [{"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2}] * 21,
    {"x": 0.1, "y": 0.1, "width": 0.2, "height": 0.2},
    "the top left corner",
]

PROMPTS: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(
        [
            "a lighthouse at dusk",
            "a red kite over green hills, watercolor",
            "東京の夜景, neon, rain",
            "مرحبا بالعالم — a calligraphy poster",
            "a\u0301 combining ma\u0308rks and ZWJ 👩‍👩‍👧",
            "x" * 2000,
            "bad idea [fail:content_policy_violation]",
            "no luck [fail:generation_failed_no_content]",
        ]
    ),
    st.text(min_size=1, max_size=120).filter(lambda s: "[fail:" not in s),
)


#: Draws that depend on run state (tasks made so far) pick by index, so every draw has the same
#: shape whatever the state: hypothesis requires that of a strategy.
INDEX = st.integers(0, 4095)


def pick(items: list[str], i: int, fallback: str) -> str:
    return items[i % len(items)] if items else fallback


#: A mask region that is valid whatever is drawn.
VALID_REGION: st.SearchStrategy[dict[str, Any]] = st.builds(
    lambda shape, x, y, w, h: {
        "shape": shape,
        "x": x,
        "y": y,
        "width": max(0.05, min(w, 1 - x)),
        "height": max(0.05, min(h, 1 - y)),
    },
    st.sampled_from(["rectangle", "ellipse"]),
    st.floats(0, 0.6),
    st.floats(0, 0.6),
    st.floats(0.05, 0.4),
    st.floats(0.05, 0.4),
)


def regions() -> st.SearchStrategy[Any]:
    """Mask regions: valid ones, the hand-written hostile cases, and raw drawn dictionaries."""
    frac = st.floats(0, 1)
    valid_region = st.builds(
        lambda shape, x, y, w, h: {
            "shape": shape,
            "x": round(x * 0.5, 4),
            "y": round(y * 0.5, 4),
            "width": round(max(w * 0.5, 0.01), 4),
            "height": round(max(h * 0.5, 0.01), 4),
        },
        st.sampled_from(["rectangle", "ellipse"]),
        frac,
        frac,
        frac,
        frac,
    )
    raw_region = st.fixed_dictionaries(
        {},
        optional={
            "shape": st.sampled_from(["rectangle", "ellipse", "triangle", "", None, 3]),
            "x": st.floats(allow_nan=True) | WRONG_TYPES,
            "y": st.floats(-0.5, 1.5),
            "width": st.floats(0, 1.5) | st.just(1e-9),
            "height": st.floats(-0.1, 1.1) | st.just(1e-12),
            "extra": st.integers(),
        },
    )
    fixed = st.sampled_from([[], *REGION_CASES])
    return st.one_of(
        st.lists(valid_region, min_size=1, max_size=4),
        st.lists(valid_region, min_size=1, max_size=4),
        fixed,
        st.lists(raw_region, max_size=3),
    )


#: Faults queued before a valid call (the "fault" category of draws).
FAULTS: list[Fault] = [
    ("create", 400),
    ("create", 401),
    ("create", 402),
    ("create", 403),
    ("create", 429),
    ("create", 500),
    ("create", 503),
    ("create", "drop"),
    ("create", "create_then_502"),
    ("create", "create_then_drop"),
    ("get", 500),
    ("get", "drop"),
    ("download", "truncate"),
    ("download", "drop"),
    ("upload", 500),
    ("task", "fail"),
]
