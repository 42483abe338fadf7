"""The files fuzzed image arguments point at: good images and masks, and things to refuse."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.support.fuzz.properties import KEY


@dataclass(frozen=True)
class Files:
    root: Path
    allowed: Path  # the only IMAGEGEN_ALLOWED_DIRS entry
    outside: Path
    good: dict[str, Path]  # name -> a readable image inside the allowed folder
    masks: dict[str, Path]
    bad: dict[str, Path]  # name -> something that must be refused
    png_data_uri: str
    huge_data_uri: str
    bomb_data_uri: str


def png_bytes(size: tuple[int, int], color: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def make_files(root: Path) -> Files:
    """Inputs for the image arguments: good images, masks, and things that must be refused."""
    allowed, outside = root / "allowed", root / "outside"
    allowed.mkdir(parents=True)
    outside.mkdir()
    good = {
        "png": allowed / "base.png",
        "jpeg": allowed / "photo.jpg",
        "webp": allowed / "small.webp",
        "unicode": allowed / "ünï cødé & spaces.png",
        "link": allowed / "link-to-base.png",
    }
    gradient = Image.linear_gradient("L").resize((1024, 1024)).convert("RGB")
    gradient.save(good["png"])
    gradient.resize((512, 768)).save(good["jpeg"], quality=85)
    Image.new("RGB", (64, 64), (200, 30, 30)).save(good["webp"], format="WEBP")
    Image.new("RGB", (96, 96), (10, 200, 30)).save(good["unicode"], format="PNG")
    good["link"].symlink_to(good["png"])

    masks = {"alpha": allowed / "mask-alpha.png", "bw": allowed / "mask-bw.png"}
    alpha = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    alpha.paste((0, 0, 0, 0), (0, 0, 512, 512))
    alpha.save(masks["alpha"])
    bw = Image.new("L", (512, 512), 0)
    bw.paste(255, (0, 0, 256, 512))
    bw.save(masks["bw"])
    for name, mode, color, size in [
        ("nothing", "RGBA", (0, 0, 0, 255), (1024, 1024)),  # opaque: marks nothing
        ("everything", "RGBA", (0, 0, 0, 0), (1024, 1024)),  # transparent: marks it all
        ("wide", "RGBA", (0, 0, 0, 0), (1024, 512)),  # another aspect ratio
    ]:
        masks[name] = allowed / f"mask-{name}.png"
        img = Image.new(mode, size, color)
        if name == "wide":
            img.paste((0, 0, 0, 255), (0, 0, 512, 512))
        img.save(masks[name])

    (outside / "outside.png").write_bytes(png_bytes((32, 32)))
    (outside / "secret.txt").write_text(f"EVOLINK_API_KEY={KEY}\n")
    bad = {
        "outside": outside / "outside.png",
        "dotdot": allowed / ".." / "outside" / "outside.png",
        "escaping-link": allowed / "escape.png",
        "missing": allowed / "missing.png",
        "directory": allowed / "folder",
        "text": allowed / "notes.txt",
        "key-as-png": allowed / "key.png",  # a text file holding the key, named like an image
        "truncated": allowed / "truncated.png",
        "gif": allowed / "anim.gif",
        "sparse-11mb": allowed / "huge.png",
        "fifo": allowed / "pipe.png",
        "loop": allowed / "loop-a.png",
        "empty": allowed / "empty.png",
        "bomb": allowed / "bomb.png",  # 23 KB of PNG, 192 megapixels: a decompression bomb
    }
    bad["escaping-link"].symlink_to(outside / "outside.png")
    bad["directory"].mkdir()
    bad["text"].write_text("not an image\n")
    bad["key-as-png"].write_text(f"EVOLINK_API_KEY={KEY}\n")
    bad["truncated"].write_bytes(good["png"].read_bytes()[:300])
    Image.new("P", (16, 16)).save(bad["gif"], format="GIF")
    with bad["sparse-11mb"].open("wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    if hasattr(os, "mkfifo"):
        os.mkfifo(bad["fifo"])
    bad["loop"].symlink_to(allowed / "loop-b.png")
    (allowed / "loop-b.png").symlink_to(bad["loop"])
    bad["empty"].write_bytes(b"")
    Image.new("1", (16000, 12000), 0).save(bad["bomb"], format="PNG")
    png = base64.b64encode(png_bytes((64, 64), (1, 2, 3))).decode()
    return Files(
        root=root,
        allowed=allowed,
        outside=outside,
        good=good,
        masks=masks,
        bad=bad,
        png_data_uri=f"data:image/png;base64,{png}",
        huge_data_uri="data:image/png;base64," + "A" * 3_000_000,
        bomb_data_uri="data:image/png;base64,"
        + base64.b64encode(bad["bomb"].read_bytes()).decode(),
    )
