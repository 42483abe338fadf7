"""Hypothesis strategies for fuzzed calls, built on the live tool schemas and the run so far.

A call is drawn from a mix: valid ones (well-formed arguments with real images, masks and task
ids made earlier in the run), arguments derived from each tool's JSON input schema, hostile
mutations of valid calls, calls with hostile image arguments, resource reads, and valid calls
with a sandbox fault queued.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

from imagegen_mcp.catalog import catalog
from imagegen_mcp.models import DEFAULT_MODEL
from tests.support.fuzz.calls import TOOLS, CallSpec
from tests.support.fuzz.corpus import bad_ref_values
from tests.support.fuzz.files import Files, png_bytes
from tests.support.fuzz.properties import KEY
from tests.support.fuzz.values import (
    FAULTS,
    HOSTILE_STRINGS,
    HOSTILE_TASK_IDS,
    HOSTILE_WAITS,
    INDEX,
    PROMPTS,
    VALID_REGION,
    WRONG_TYPES,
    object_from_schema,
    pick,
    regions,
)

DEFAULT_SPEC = catalog().models[DEFAULT_MODEL]
#: Models a prompt alone can drive (the edit-only ones need input images).
GENERATORS = [spec for spec in catalog().models.values() if not spec.edit_only]


class Strategies:
    """Call specs, built on the live tool schemas, fixture files and tasks made so far."""

    def __init__(
        self,
        schemas: dict[str, dict[str, Any]],
        files: Files,
        base_url: str,
        *,
        max_wait: float,
    ) -> None:
        self.schemas = schemas
        self.files = files
        self.base_url = base_url
        self.max_wait = max_wait
        self.known: dict[str, int] = {}  # task id -> images saved (as last seen)
        self.schema_args = {
            name: object_from_schema(schema, schema.get("$defs", {}))
            for name, schema in schemas.items()
        }

    # -- argument pieces -------------------------------------------------------------------

    def waits(self) -> st.SearchStrategy[float | None]:
        short = [0, 0, 0, self.max_wait / 4, self.max_wait]
        return st.one_of(
            st.sampled_from(short),
            st.floats(0, self.max_wait),
            st.sampled_from([None, self.max_wait]),
        )

    def task_ids(self) -> st.SearchStrategy[str]:
        hostile = st.sampled_from(HOSTILE_TASK_IDS)
        known = INDEX.map(lambda i: pick(sorted(self.known), i, "ig-000000000000"))
        saved = INDEX.map(
            lambda i: pick([t for t, n in sorted(self.known.items()) if n], i, "ig-000000000000")
        )
        return st.one_of(saved, saved, known, hostile)

    def good_refs(self) -> st.SearchStrategy[str]:
        f = self.files
        refs = [str(p) for p in f.good.values()] + [f.png_data_uri]

        def saved(i: int) -> str:
            done = [t for t, n in sorted(self.known.items()) if n > 0]
            return pick([f"image://{t}/0" for t in done], i, refs[0])

        return st.one_of(st.sampled_from(refs), INDEX.map(saved))

    def image_uris(self) -> st.SearchStrategy[str]:
        """image:// URIs of saved results (valid) and of things that do not exist."""

        def valid(i: int) -> str:
            uris = [f"image://{t}/{k}" for t, n in sorted(self.known.items()) for k in range(n)]
            return pick(uris, i, "image://ig-000000000000/0")

        def any_index(i: int, k: int) -> str:
            return f"image://{pick(sorted(self.known), i, 'ig-000000000000')}/{k}"

        return st.one_of(
            st.sampled_from(
                [
                    "image://ig-000000000000/0",
                    "image://ig-x/-1",
                    "image://../0",
                    "image://recent",
                    "image:///0",
                    "image://a/b/c",
                    "image://ig-0/99999999999999999999999",
                ]
            ),
            INDEX.map(valid),
            INDEX.map(valid),
            st.builds(any_index, INDEX, st.integers(-2, 6)),
        )

    def bad_refs(self) -> st.SearchStrategy[str]:
        fixed = st.sampled_from(bad_ref_values(self.files, self.base_url))
        return st.one_of(fixed, fixed, self.image_uris(), st.text(max_size=40))

    def refs(self) -> st.SearchStrategy[str]:
        return st.one_of(self.good_refs(), self.good_refs(), self.bad_refs())

    # -- call specs ------------------------------------------------------------------------

    def valid_generate(self, draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {"prompt": draw(PROMPTS)}
        # Mostly the default model; sometimes any model that generates, with values it takes.
        spec = draw(st.sampled_from([DEFAULT_SPEC, DEFAULT_SPEC, *GENERATORS]))
        if spec is not DEFAULT_SPEC or draw(st.booleans()):
            args["model"] = spec.id
        sizes = [size for size in spec.sizes() if size != "WxH"]
        references = min(2, spec.references.max) if "edit" in spec.modes else 0
        optional: dict[str, st.SearchStrategy[Any]] = {
            "size": st.sampled_from(sizes) if sizes else st.none(),
            "n": st.sampled_from([n for n in spec.n.allowed() if n <= 4]),
            "reference_images": st.lists(self.good_refs(), max_size=references),
            "wait_seconds": self.waits(),
            "client_request_id": st.from_regex(r"[A-Za-z0-9._:-]{1,40}", fullmatch=True),
            "preview": st.sampled_from(["thumbnail", "none", "full", "thumbnail"]),
        }
        for name, strategy in optional.items():
            if draw(st.booleans()):
                args[name] = draw(strategy)
        return args

    def valid_edit(self, draw: st.DrawFn) -> dict[str, Any]:
        args: dict[str, Any] = {"prompt": draw(PROMPTS), "image": draw(self.good_refs())}
        how = draw(st.sampled_from(["none", "mask", "region", "region"]))
        if how == "mask":
            args["image"] = str(self.files.good["png"])
            args["mask"] = str(
                draw(st.sampled_from([self.files.masks["alpha"], *self.files.masks.values()]))
            )
            if draw(st.booleans()):
                args["mask_invert"] = draw(st.booleans())
        elif how == "region":
            args["mask_region"] = draw(st.lists(VALID_REGION, min_size=1, max_size=3))
        for name, strategy in {
            "size": st.sampled_from(DEFAULT_SPEC.sizes()),
            "n": st.sampled_from([1, 1, 2, 4]),
            "wait_seconds": self.waits(),
            "preview": st.sampled_from(["thumbnail", "none", "full"]),
        }.items():
            if draw(st.booleans()):
                args[name] = draw(strategy)
        return args

    def valid_args(self, draw: st.DrawFn, tool: str) -> dict[str, Any]:
        if tool == "generate_image":
            return self.valid_generate(draw)
        if tool == "edit_image":
            return self.valid_edit(draw)
        if tool == "get_task":
            args: dict[str, Any] = {"task_id": draw(self.task_ids())}
            if draw(st.booleans()):
                args["wait_seconds"] = draw(self.waits())
            if draw(st.booleans()):
                args["preview"] = draw(st.sampled_from(["thumbnail", "none", "full"]))
            return args
        return draw(self.schema_args["list_tasks"])

    def hostile_value(self, draw: st.DrawFn, name: str) -> Any:
        per_field: dict[str, st.SearchStrategy[Any]] = {
            "prompt": st.sampled_from(HOSTILE_STRINGS) | st.text(max_size=50),
            "size": st.sampled_from(
                ["999x999", "1:2", "", "1024X1024", " 1:1", "1:1 ", "1024*1024", "2048x2048"]
            ),
            "n": st.sampled_from([0, 3, -1, 5, 10**9, 10**30, 1.0, 2.5, "2", "four", True]),
            "model": st.sampled_from(
                ["gpt-5", "", "GPT-4O-IMAGE", "../../etc", "gpt-4o-image ", "dall-e-3"]
            ),
            "reference_images": st.one_of(
                st.lists(self.refs(), min_size=1, max_size=3),
                st.lists(self.good_refs(), min_size=6, max_size=7),
                st.just(str(self.files.good["png"])),
                st.lists(WRONG_TYPES, min_size=1, max_size=2),
            ),
            "image": self.bad_refs(),
            "mask": st.one_of(
                self.bad_refs(), st.sampled_from(list(self.files.masks.values())).map(str)
            ),
            "mask_region": regions(),
            "mask_invert": st.sampled_from(["yes", 2, None, "true"]),
            "wait_seconds": st.sampled_from(HOSTILE_WAITS),
            "client_request_id": st.sampled_from(
                ["", "has space", "x" * 129, "ünï", "a/b", "../x", "id\n", "%", "ok-id"]
            ),
            "preview": st.sampled_from(["", "huge", "FULL", "thumb", "none "]),
            "task_id": self.task_ids(),
            "limit": st.sampled_from([0, -1, 101, 10**9, 1.5, "20", None]),
            "status": st.sampled_from(["done", "COMPLETED", "", "completed ", "%", 1]),
        }
        strategy = per_field.get(name, WRONG_TYPES)
        return draw(st.one_of(strategy, strategy, WRONG_TYPES))

    def hostile(self, draw: st.DrawFn) -> CallSpec:
        tool = draw(st.sampled_from([*TOOLS, *TOOLS, "generate", "Generate_Image", "", "x" * 300]))
        if tool not in self.schemas:
            args: dict[str, Any] = draw(self.schema_args["generate_image"] | st.just({}))
            return CallSpec("tool", tool, args, "hostile-unknown-tool")
        args = self.valid_args(draw, tool)
        props = list(self.schemas[tool]["properties"])
        for _ in range(draw(st.integers(1, 3))):
            action = draw(st.sampled_from(["set", "set", "set", "drop", "extra"]))
            if action == "set":
                name = draw(st.sampled_from(props))
                args[name] = self.hostile_value(draw, name)
            elif action == "drop" and args:
                args.pop(draw(st.sampled_from(sorted(args))))
            else:
                key = draw(st.sampled_from(["ctx", "api_key", "__proto__", "debug", "x" * 100]))
                args[key] = draw(WRONG_TYPES | st.just(KEY[:4]))
        if draw(st.integers(0, 20)) == 0:
            args = {}
        return CallSpec("tool", tool, args, "hostile")

    def images(self, draw: st.DrawFn) -> CallSpec:
        """A valid call whose image arguments (references, image, mask, regions) are hostile."""
        tool = draw(st.sampled_from(["generate_image", "edit_image", "edit_image"]))
        args = self.valid_args(draw, tool)
        args["wait_seconds"] = draw(st.sampled_from([0, self.max_wait]))
        if tool == "generate_image":
            args["reference_images"] = draw(
                st.lists(st.one_of(self.bad_refs(), self.good_refs()), min_size=1, max_size=3)
            )
            return CallSpec("tool", tool, args, "images")
        args.pop("mask", None)
        args.pop("mask_region", None)
        which = draw(st.sampled_from(["image", "mask", "mask_region", "image+region"]))
        if which.startswith("image"):
            args["image"] = draw(self.bad_refs())
        else:
            args["image"] = draw(
                st.sampled_from([str(self.files.good["png"]), self.files.png_data_uri])
            )
        if which == "mask":
            args["mask"] = draw(
                st.one_of(
                    self.bad_refs(), st.sampled_from(sorted(map(str, self.files.masks.values())))
                )
            )
        if which.endswith("region"):
            args["mask_region"] = draw(regions())
        return CallSpec("tool", tool, args, "images")

    def resource(self, draw: st.DrawFn) -> CallSpec:
        uri = draw(
            st.one_of(
                st.just("image://recent"),
                self.image_uris(),
                self.image_uris(),
                st.sampled_from(
                    [
                        "",
                        "image://",
                        "image://recent/",
                        "image://RECENT",
                        "image://%2e%2e/0",
                        "image://ig-x%27%20OR%201=1/0",
                        f"image://{'a' * 5000}/0",
                        "image://ig-1/0?x=1",
                        "file:///etc/passwd",
                        "http://127.0.0.1/",
                        "recent",
                    ]
                ),
                st.from_regex(r"image://[^/\s]{0,20}/[0-9a-z-]{0,5}", fullmatch=True),
            )
        )
        return CallSpec("resource", uri, None, "resource")

    def fault(self, draw: st.DrawFn) -> CallSpec:
        fault = draw(st.sampled_from(FAULTS))
        route = fault[0]
        tool = "edit_image" if route == "upload" else "generate_image"
        args = self.valid_args(draw, tool)
        if route == "upload":  # a fresh image, so the upload is not served from the cache
            color = draw(st.tuples(*[st.integers(0, 255)] * 3))
            data = base64.b64encode(png_bytes((32, 32), color)).decode()
            args["image"] = f"data:image/png;base64,{data}"
            args.pop("mask", None)
            args["mask_region"] = [{"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.3}]
        args["wait_seconds"] = self.max_wait
        return CallSpec("tool", tool, args, f"fault-{route}", fault=fault)

    def call_specs(self) -> st.SearchStrategy[CallSpec]:
        @st.composite
        def spec(draw: st.DrawFn) -> CallSpec:
            category = draw(
                st.sampled_from(
                    ["valid"] * 8
                    + ["schema"] * 3
                    + ["hostile"] * 5
                    + ["images"] * 4
                    + ["resource"] * 2
                    + ["fault"]
                )
            )
            if category == "images":
                return self.images(draw)
            if category == "hostile":
                return self.hostile(draw)
            if category == "resource":
                return self.resource(draw)
            if category == "fault":
                return self.fault(draw)
            tool = draw(st.sampled_from([*TOOLS, "generate_image", "edit_image"]))
            if category == "schema":
                return CallSpec("tool", tool, draw(self.schema_args[tool]), "schema")
            return CallSpec("tool", tool, self.valid_args(draw, tool), "valid")

        return spec()
