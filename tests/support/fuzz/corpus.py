"""The corpus: every hand-written hostile value once, in the argument slot it targets.

Run before any fuzzing, so each of these is tried whatever hypothesis draws afterwards.
"""

from __future__ import annotations

from typing import Any

from tests.support.fuzz.calls import CallSpec
from tests.support.fuzz.files import Files
from tests.support.fuzz.values import HOSTILE_STRINGS, HOSTILE_TASK_IDS, HOSTILE_WAITS, REGION_CASES


def bad_ref_values(files: Files, base_url: str) -> list[str]:
    """Image references that must be refused (or, for URLs, fail upstream) cleanly."""
    f, port_url = files, base_url
    paths = [str(p) for p in f.bad.values()]
    return [
        *paths,
        str(f.outside / "secret.txt"),
        "/etc/passwd",
        "/etc/shadow",
        "/proc/self/environ",
        "/dev/zero",
        "/dev/urandom",
        "/",
        "base.png",
        "./base.png",
        "~/base.png",
        "~root/.ssh/id_rsa",
        "~no-such-user-fuzz/x.png",
        str(f.allowed) + "/\ud800.png",  # a lone surrogate: not valid UTF-8
        str(f.allowed) + "/",
        str(f.allowed / "base.png") + "\x00.txt",
        "/" + "a" * 5000,
        "/" + "c" * 100_000,
        "/" + "b/" * 3000,
        "C:\\Windows\\win.ini",
        "\\\\server\\share\\x.png",
        "file:///etc/passwd",
        f"file://{f.good['png']}",
        "ftp://127.0.0.1/x.png",
        "gopher://127.0.0.1:25/_HELO",
        "javascript:alert(1)",
        "http://",
        "https:///nohost.png",
        "http://127.0.0.1:1/a.png",
        "http://localhost/a.png",
        "HTTP://LOCALHOST:9/x.png",
        "http://[::1]:1/x.png",
        "http://[::ffff:127.0.0.1]:1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x.png",
        "https://192.168.1.1/x.png",
        "http://192.0.2.10/x.png",
        "http://0x7f000001/x.png",
        "http://2130706433/x.png",
        "http://user:pass@127.0.0.1:1/x.png",
        "https://images.example.invalid/cat.png",
        "http://" + "a" * 3000 + ".com/x.png",
        "http://[::1/x.png",
        "https://[zz]/x.png",
        "http://127.0.0.1:99999/x.png",
        "http://127.0.0.1:port/x.png",
        f"{port_url}/files/does-not-exist",
        f"{port_url}/results/x/y/0.png",
        "data:,hello",
        "data:image/png;base64,!!!not base64!!!",
        "data:image/png;base64,",
        "data:text/plain;base64,aGVsbG8=",
        "data:image/png,rawbytes",
        "DATA:IMAGE/PNG;BASE64,iVBORw0KGgo=",
        f.png_data_uri[:60],
        f.huge_data_uri,
        f.bomb_data_uri,
        "image://ig-000000000000/0",
        "image://ig-0/" + "9" * 5000,
        f"image://{'t' * 100_000}/0",
        "image://../../etc/passwd",
        "image://x",
        " ",
        "\x00",
        "null",
    ]


def corpus(files: Files, base_url: str) -> list[CallSpec]:
    """Every hand-written hostile value once, in the slot it targets (run before fuzzing)."""
    good = str(files.good["png"])
    region = [{"x": 0.1, "y": 0.1, "width": 0.3, "height": 0.3}]
    bad_refs = bad_ref_values(files, base_url)
    specs: list[CallSpec] = []
    for ref in bad_refs:
        specs.append(
            CallSpec(
                "tool",
                "generate_image",
                {"prompt": "corpus", "reference_images": [ref], "wait_seconds": 0},
                "corpus",
            )
        )
        specs.append(
            CallSpec(
                "tool",
                "edit_image",
                {"prompt": "corpus", "image": ref, "mask_region": region, "wait_seconds": 0},
                "corpus",
            )
        )
    args: dict[str, Any]
    for mask in [*map(str, files.masks.values()), *bad_refs[:20]]:
        args = {"prompt": "corpus", "image": good, "mask": mask, "wait_seconds": 0}
        specs.append(CallSpec("tool", "edit_image", args, "corpus"))
    for regions in REGION_CASES:
        args = {"prompt": "corpus", "image": good, "mask_region": regions, "wait_seconds": 0}
        specs.append(CallSpec("tool", "edit_image", args, "corpus"))
    for wait in HOSTILE_WAITS:
        args = {"task_id": "ig-000000000000", "wait_seconds": wait}
        specs.append(CallSpec("tool", "get_task", args, "corpus"))
    for task_id in HOSTILE_TASK_IDS:
        specs.append(CallSpec("tool", "get_task", {"task_id": task_id}, "corpus"))
        uri = f"image://{task_id}/0"
        specs.append(CallSpec("resource", uri, None, "corpus"))
    for prompt in HOSTILE_STRINGS:
        args = {"prompt": prompt, "wait_seconds": 0, "preview": "none"}
        specs.append(CallSpec("tool", "generate_image", args, "corpus"))
    return specs
