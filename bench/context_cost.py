"""Context cost: bytes an agent receives per generated image, against the full image as base64.

Target (from the issue): with default settings, a ``generate_image`` result costs at most 64 KB
per image in the agent's context.

Measured value: the whole ``CallToolResult`` the agent sees, serialized as the MCP client gets it
(``result.model_dump_json(by_alias=True, exclude_none=True)``: content blocks - next-step text,
image previews, resource links - plus ``structuredContent``), in UTF-8 bytes, divided by ``n``.
Baseline, in the same run: each saved full-resolution file as base64 (what ``preview="full"``
or reading the ``image://`` resource would put in context).

Two parts:

* ``sandbox``: the real tool path. The in-process sandbox over loopback HTTP, ``build_server``
  with the default settings (preview budget, preview size) and an in-memory ``mcp.Client``;
  ``generate_image`` for every size with n = 1, 2, 4, for each preview mode (``thumbnail`` - the
  default -, ``none``, ``full``). The sandbox's images are smooth gradients that compress far
  better than real output, so the thumbnail figures here are a lower bound.
* ``realistic``: photo-like content. Seeded Pillow images (``photo``: a gradient sky, blurred
  shapes, fine strokes and grain, about as hard to compress as a photograph; ``noise``: pure RGB
  noise, the worst case) in the three pixel sizes, saved as PNG. For each, the project's
  ``make_preview`` gives the preview alone; then, end to end, a sandbox task of that size is
  generated with ``preview="none"``, its saved file on disk is overwritten with the realistic
  image, and ``get_task`` renders the result the agent would see for it (the metadata still
  describes the sandbox file; only the preview depends on the pixels).

Run: ``python -m bench.context_cost``; results go to ``bench/results/context_cost.json``.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import anyio
from mcp import Client
from mcp.types import CallToolResult, ImageContent
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from tests.support.catalog import SIZES, size_pixels
from tests.support.settings import FAST_POLLER, make_settings

from bench.common import parser, quiet_logging, verdict, write_report
from imagegen_mcp.sandbox import Sandbox, SandboxConfig
from imagegen_mcp.server.app import build_server
from imagegen_mcp.server.settings import Settings
from imagegen_mcp.tools.previews import PreviewMode, PreviewPolicy, make_preview

TARGET_PER_IMAGE = 64 * 1024  # bytes per image with default settings, from the issue
COUNTS = (1, 2, 4)
MODES: tuple[PreviewMode, ...] = ("thumbnail", "none", "full")
CONTENTS = ("photo", "noise")
PIXEL_SIZES = ("1024x1024", "1024x1536", "1536x1024")


def b64_len(raw: int) -> int:
    """Length of the base64 text of ``raw`` bytes."""
    return 4 * ((raw + 2) // 3)


@dataclass
class Sample:
    part: str  # "sandbox" or "realistic"
    content: str  # "gradient" (sandbox), "photo" or "noise"
    size: str
    n: int
    mode: str
    result_bytes: int  # whole CallToolResult JSON
    content_bytes: int  # JSON of the content blocks alone
    structured_bytes: int  # JSON of structuredContent alone
    preview_b64_bytes: int  # base64 text of all image content blocks
    full_b64_bytes: int  # base64 of every saved full-resolution file
    seconds: float  # the tool call

    @property
    def per_image(self) -> float:
        return self.result_bytes / self.n

    @property
    def full_per_image(self) -> float:
        return self.full_b64_bytes / self.n


@dataclass
class PreviewSample:
    content: str
    size: str
    png_bytes: int
    full_b64_bytes: int
    preview_b64_bytes: int | None  # None: nothing fit the budget
    preview_side: int | None
    preview_quality_note: str


def json_len(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def measure(
    result: CallToolResult, *, part: str, content: str, size: str, n: int, mode: str, seconds: float
) -> Sample:
    if result.is_error or result.structured_content is None:
        text = " ".join(getattr(c, "text", "") for c in result.content)
        raise RuntimeError(f"generate_image {size} n={n} {mode}: {text}")
    data = result.structured_content
    if data["status"] != "completed" or len(data["images"]) != n:
        raise RuntimeError(f"{size} n={n}: status {data['status']}, {len(data['images'])} images")
    dumped = json.loads(result.model_dump_json(by_alias=True, exclude_none=True))
    return Sample(
        part=part,
        content=content,
        size=size,
        n=n,
        mode=mode,
        result_bytes=len(result.model_dump_json(by_alias=True, exclude_none=True).encode()),
        content_bytes=json_len(dumped["content"]),
        structured_bytes=json_len(dumped.get("structuredContent")),
        preview_b64_bytes=sum(len(c.data) for c in result.content if isinstance(c, ImageContent)),
        full_b64_bytes=sum(b64_len(Path(img["path"]).stat().st_size) for img in data["images"]),
        seconds=seconds,
    )


# --- realistic content -----------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """Photo-like test content: soft sky gradient, blurred shapes, fine detail and sensor grain."""
    rng = random.Random(seed)
    sky = Image.linear_gradient("L").resize((width, height))
    img = Image.merge(
        "RGB",
        (
            sky.point(lambda v: 40 + v // 3),
            sky.point(lambda v: 90 + v // 3),
            sky.point(lambda v: 160 + v // 4),
        ),
    )
    draw = ImageDraw.Draw(img)
    for _ in range(120):  # large soft shapes: "objects"
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(20, width // 3), rng.randrange(20, height // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + w, y + h), fill=colour)
        else:
            points = [(x + rng.randrange(w), y + rng.randrange(h)) for _ in range(5)]
            draw.polygon(points, fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(3))
    draw = ImageDraw.Draw(img)
    for _ in range(4000):  # fine strokes: "foliage", "texture"
        x, y = rng.randrange(width), rng.randrange(height)
        dx, dy = rng.randrange(-12, 13), rng.randrange(-12, 13)
        shade = rng.randrange(256)
        draw.line((x, y, x + dx, y + dy), fill=(shade, shade // 2 + 60, shade // 3), width=1)
    grain = Image.effect_noise((width, height), 10).convert("RGB")  # centred on 128
    return ImageChops.add(img, grain, scale=1.0, offset=-128)


def noise(width: int, height: int, seed: int) -> Image.Image:
    """Pure random RGB pixels: incompressible, the worst case for a preview budget."""
    return Image.frombytes(
        "RGB", (width, height), random.Random(seed).randbytes(width * height * 3)
    )


def make_content(kind: str, size: str, seed: int, folder: Path) -> Path:
    width, height = size_pixels(size)
    img = photo_like(width, height, seed) if kind == "photo" else noise(width, height, seed)
    path = folder / f"{kind}-{size}.png"
    img.save(path, format="PNG")  # Pillow's default compression (level 6), like most tools
    return path


def serving(pixels: bytes) -> AbstractContextManager[object]:
    """The in-process sandbox renders every generation as ``pixels`` meanwhile."""
    return mock.patch("imagegen_mcp.sandbox.state.render_generation", return_value=pixels)


# --- runs ------------------------------------------------------------------------------------


async def run_all(args: argparse.Namespace) -> tuple[list[Sample], list[PreviewSample], Settings]:
    samples: list[Sample] = []
    previews: list[PreviewSample] = []
    with tempfile.TemporaryDirectory(prefix="bench-context-cost-") as tmp:
        root = Path(tmp)
        async with Sandbox(SandboxConfig(task_duration=0.2, seed=args.seed)) as sb:
            # Only the sandbox wiring is set: preview budget and size stay at the defaults.
            settings = make_settings(sb, root / "home")
            policy = PreviewPolicy(
                max_bytes=settings.preview_max_bytes, max_side=settings.preview_max_side
            )
            async with Client(build_server(settings, poller=FAST_POLLER)) as client:
                for mode in args.modes:
                    for size in SIZES:
                        for n in COUNTS:
                            started = time.perf_counter()
                            result = await client.call_tool(
                                "generate_image",
                                {"prompt": f"context cost {size} x{n}", "size": size, "n": n}
                                | {"preview": mode},
                            )
                            seconds = time.perf_counter() - started
                            samples.append(
                                measure(
                                    result,
                                    part="sandbox",
                                    content="gradient",
                                    size=size,
                                    n=n,
                                    mode=mode,
                                    seconds=seconds,
                                )
                            )
                            print(".", end="", flush=True)

                content_dir = root / "content"
                content_dir.mkdir()
                for index, kind in enumerate(CONTENTS):
                    for size in PIXEL_SIZES:
                        path = make_content(kind, size, args.seed * 100 + index, content_dir)
                        pixels = await anyio.Path(path).read_bytes()
                        png = len(pixels)
                        preview = await make_preview(path, "image/png", "thumbnail", policy)
                        side = None
                        if preview is not None:
                            raw = io.BytesIO(base64.b64decode(preview.data_b64))
                            with Image.open(raw) as thumb:
                                side = max(thumb.size)
                        previews.append(
                            PreviewSample(
                                content=kind,
                                size=size,
                                png_bytes=png,
                                full_b64_bytes=b64_len(png),
                                preview_b64_bytes=None
                                if preview is None
                                else len(preview.data_b64),
                                preview_side=side,
                                preview_quality_note="JPEG, quality 85 down to 40, then smaller",
                            )
                        )
                        # End to end: a real task of this size whose results the sandbox serves
                        # as these realistic pixels (saved and verified as served; a file
                        # changed after saving would be repaired from the upstream link), then
                        # get_task renders what the agent would receive.
                        for n in COUNTS:
                            with serving(pixels):
                                made = await client.call_tool(
                                    "generate_image",
                                    {"prompt": f"{kind} {size} x{n}", "size": size, "n": n}
                                    | {"preview": "none"},
                                )
                            data = made.structured_content
                            if made.is_error or data is None or data["status"] != "completed":
                                raise RuntimeError(f"{kind} {size} x{n}: the task did not finish")
                            saved = [
                                await anyio.Path(i["path"]).read_bytes() for i in data["images"]
                            ]
                            if any(file != pixels for file in saved):
                                raise RuntimeError(f"{kind} {size} x{n}: not the realistic pixels")
                            for mode in args.modes:
                                started = time.perf_counter()
                                result = await client.call_tool(
                                    "get_task", {"task_id": data["task_id"], "preview": mode}
                                )
                                seconds = time.perf_counter() - started
                                samples.append(
                                    measure(
                                        result,
                                        part="realistic",
                                        content=kind,
                                        size=size,
                                        n=n,
                                        mode=mode,
                                        seconds=seconds,
                                    )
                                )
                                print(".", end="", flush=True)
    print()
    return samples, previews, settings


# --- report ----------------------------------------------------------------------------------


def kb(value: float) -> str:
    return f"{value / 1024:.1f}"


def ratio(a: float, b: float) -> str:
    if b == 0:
        return "-"
    r = a / b
    return f"{r:.4f}" if r < 0.1 else f"{r:.3f}"


def samples_table(samples: list[Sample], modes: list[str]) -> str:
    """One row per (content, size, n); per preview mode, KB per image and its ratio to full-res."""
    rows: dict[tuple[str, str, int], dict[str, Sample]] = {}
    for s in samples:
        rows.setdefault((s.content, s.size, s.n), {})[s.mode] = s
    header = f"{'content':<8} {'size':<9} {'n':>1} {'full-res b64':>12}"
    for mode in modes:
        header += f" | {mode + ' KB':>12} {'ratio':>7}"
    header += f" | {'<= 64 KB':>8}"
    lines = [
        "KB per image (whole CallToolResult JSON / n) and ratio to the full-res file as base64",
        header,
        "-" * len(header),
    ]
    for (content, size, n), by_mode in rows.items():
        first = next(iter(by_mode.values()))
        line = f"{content:<8} {size:<9} {n:>1} {kb(first.full_per_image):>12}"
        for mode in modes:
            s = by_mode[mode]
            line += f" | {kb(s.per_image):>12} {ratio(s.per_image, s.full_per_image):>7}"
        ok = by_mode["thumbnail"].per_image <= TARGET_PER_IMAGE
        lines.append(f"{line} | {'ok' if ok else 'OVER':>8}")
    return "\n".join(lines)


def previews_table(previews: list[PreviewSample]) -> str:
    header = (
        f"{'content':<8} {'size':<9} {'PNG KB':>8} {'full b64 KB':>11} "
        f"{'preview b64 KB':>14} {'side px':>7} {'ratio':>7}"
    )
    lines = [header, "-" * len(header)]
    for p in previews:
        pv = p.preview_b64_bytes
        lines.append(
            f"{p.content:<8} {p.size:<9} {kb(p.png_bytes):>8} {kb(p.full_b64_bytes):>11} "
            f"{kb(pv) if pv is not None else '-':>14} {p.preview_side or '-':>7} "
            f"{ratio(pv, p.full_b64_bytes) if pv is not None else '-':>7}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = parser("context_cost", __doc__)
    p.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(MODES),
        help="preview modes to measure (default: all; 'thumbnail' is the tools' default)",
    )
    p.add_argument("--seed", type=int, default=1, help="sandbox and content seed (default 1)")
    args = p.parse_args(argv)
    if "thumbnail" not in args.modes:
        args.modes.insert(0, "thumbnail")  # the target is about the default
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    print(f"sizes {', '.join(SIZES)}; n {COUNTS}; preview modes {', '.join(args.modes)}")
    started = time.monotonic()
    samples, previews, settings = anyio.run(run_all, args)
    elapsed = time.monotonic() - started

    default = [s for s in samples if s.mode == "thumbnail"]
    worst = {
        part: max((s.per_image for s in default if s.part == part), default=0.0)
        for part in ("sandbox", "realistic")
    }
    photo_worst = max(
        (s.per_image for s in default if s.content == "photo"),
        default=0.0,
    )
    checks = {
        "sandbox_le_64kb": worst["sandbox"] <= TARGET_PER_IMAGE,
        "photo_le_64kb": photo_worst <= TARGET_PER_IMAGE,
        "noise_le_64kb": max((s.per_image for s in default if s.content == "noise"), default=0.0)
        <= TARGET_PER_IMAGE,
    }

    print()
    print(samples_table(samples, args.modes))
    print()
    print("make_preview alone on realistic content (default policy), against the PNG as base64:")
    print(previews_table(previews))
    print()
    thumb = [s.per_image for s in default]
    print(
        f"default preview ({settings.preview_max_bytes} B budget, {settings.preview_max_side} px): "
        f"per image min {kb(min(thumb))} KB, median {kb(statistics.median(thumb))} KB, "
        f"max {kb(max(thumb))} KB"
    )
    print(
        f"target <= {TARGET_PER_IMAGE // 1024} KB per image: sandbox gradients "
        f"{verdict(checks['sandbox_le_64kb'])} (max {kb(worst['sandbox'])} KB), "
        f"photo-like {verdict(checks['photo_le_64kb'])} "
        f"(max {kb(photo_worst)} KB), noise {verdict(checks['noise_le_64kb'])}"
    )
    other = [(s.result_bytes - s.preview_b64_bytes) / s.n for s in default]
    structured = [s.structured_bytes / s.n for s in default]
    print(
        f"besides the previews (next-step text, resource links, structuredContent), per image: "
        f"min {kb(min(other))} KB, median {kb(statistics.median(other))} KB, "
        f"max {kb(max(other))} KB; structuredContent alone median "
        f"{kb(statistics.median(structured))} KB"
    )
    print(f"total run {elapsed:.1f} s")

    figures = {
        "config": {
            "sizes": list(SIZES),
            "counts": list(COUNTS),
            "modes": args.modes,
            "seed": args.seed,
            "preview_max_bytes": settings.preview_max_bytes,
            "preview_max_side": settings.preview_max_side,
            "realistic_contents": list(CONTENTS),
            "realistic_sizes": list(PIXEL_SIZES),
            "target_bytes_per_image": TARGET_PER_IMAGE,
        },
        "measure_definition": "len(CallToolResult.model_dump_json(by_alias=True, "
        "exclude_none=True).encode()) / n; baseline: base64 length of every saved file / n",
        "checks": checks,
        "samples": [asdict(s) | {"per_image": s.per_image} for s in samples],
        "previews": [asdict(p) for p in previews],
        "total_run_s": elapsed,
    }
    write_report(args.out, "context_cost", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
