"""The ``imagegen-mcp`` command: serve (default), ui, sandbox, generate, edit, where, models.

stdout carries only results (saved paths) or, for ``serve`` over stdio, the MCP protocol;
logs, progress and errors go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from imagegen_mcp import __version__
from imagegen_mcp.catalog import QUALITIES, TIERS
from imagegen_mcp.errors import ImagegenError, InputError
from imagegen_mcp.models import OptionValue, Task, TaskRequest
from imagegen_mcp.server import ui
from imagegen_mcp.server.settings import Settings, load_settings

if TYPE_CHECKING:
    from imagegen_mcp.sandbox import SandboxConfig

log = logging.getLogger("imagegen_mcp")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imagegen-mcp",
        description="MCP server for image generation and editing through EvoLink's image API.",
    )
    p.add_argument("--version", action="version", version=f"imagegen-mcp {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the MCP server (the default command)")
    _serve_args(serve)
    ui.add_parser(sub)

    sandbox = sub.add_parser(
        "sandbox", help="run the local EvoLink-compatible sandbox (offline emulator for testing)"
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument(
        "--task-seconds", type=float, default=5.0, help="how long each task takes (default 5)"
    )

    gen = sub.add_parser("generate", help="generate images from a prompt and save them")
    gen.add_argument("prompt")
    gen.add_argument(
        "--ref",
        action="append",
        default=[],
        metavar="PATH_OR_URL",
        help="reference image for image-to-image (repeatable, up to the model's refs limit)",
    )
    _job_args(gen)

    edit = sub.add_parser("edit", help="edit one image, optionally only inside a mask")
    edit.add_argument("prompt")
    edit.add_argument("--image", required=True, metavar="PATH_OR_URL", help="the image to edit")
    edit.add_argument(
        "--mask",
        metavar="PATH",
        help="mask: transparent pixels (or white ones, in a black-and-white mask) are changed",
    )
    edit.add_argument(
        "--mask-invert", action="store_true", help="black-and-white mask: black marks the change"
    )
    _job_args(edit)

    sub.add_parser(
        "where",
        help="print the state folder, state database, output folder and allowed folders",
        description="Print where the server keeps its state and images, and the folders it may "
        "read input images from (IMAGEGEN_HOME, IMAGEGEN_OUTPUT_DIR, IMAGEGEN_ALLOWED_DIRS).",
    ).add_argument("--sandbox", action="store_true", help="the folders --sandbox uses")

    models = sub.add_parser(
        "models",
        help="list the image models and what each takes (no key or network needed)",
        description="One line per model: modes, sizes, tiers, qualities, images per task, "
        "reference images, mask, price hint in credits. --json gives every detail.",
    )
    models.add_argument(
        "--capability",
        metavar="X",
        help="only models with X: generate, edit, edit-only, mask, n, references, a tier (4K), "
        "a family (seedream) or a model id prefix",
    )
    models.add_argument("--json", action="store_true", help="print the entries as JSON")
    return p


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000; 0: any free)")
    _sandbox_arg(p)


def _job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model id (see `imagegen-mcp models`; default: the setting)")
    p.add_argument("--size", help="'auto', a ratio like 16:9, or pixels like 1024x1536")
    p.add_argument("--resolution", choices=TIERS, help="output tier, where the model has tiers")
    p.add_argument("--quality", choices=QUALITIES, help="rendering quality, where the model has it")
    p.add_argument("-n", type=int, help="number of images (default: the model's least)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model extra, e.g. seed=7 (repeatable; `imagegen-mcp models` lists them)",
    )
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait (default 600)")
    p.add_argument("--request-id", help="idempotency key: a repeat returns the same task")
    _sandbox_arg(p)


def _sandbox_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sandbox",
        action="store_true",
        help="run against a built-in local sandbox: no key, no network, no credits",
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    command = args.command or "serve"
    try:
        if command == "sandbox":
            _run_sandbox(args)
        elif command in ("generate", "edit"):
            sys.exit(anyio.run(_job, args))
        elif command == "where":
            _where(_sandbox_settings() if args.sandbox else load_settings())
        elif command == "models":
            _models(args.capability, as_json=args.json)
        elif command == "ui":
            chosen = _sandbox_config() if args.sandbox else None
            ui.command(args, _sandbox_settings() if args.sandbox else load_settings(), chosen)
        else:
            sandbox = getattr(args, "sandbox", False)
            settings = _sandbox_settings() if sandbox else load_settings()
            settings.require_api_key()
            serve(
                settings,
                transport=getattr(args, "transport", "stdio"),
                host=getattr(args, "host", "127.0.0.1"),
                port=getattr(args, "port", 8000),
                sandbox=sandbox,
            )
    except ImagegenError as exc:
        print(f"imagegen-mcp: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def serve(
    settings: Settings, *, transport: str, host: str, port: int, sandbox: bool = False
) -> None:
    """Run the MCP server over ``transport`` until interrupted.

    What it needs is checked first: a failure is an ``ImagegenError`` (one line from ``main``),
    and nothing has been written to stdout, which stdio clients read as the protocol.
    With ``sandbox``, a built-in sandbox answers for EvoLink for as long as the server runs.
    """
    from imagegen_mcp.server.startup import check_startup

    anyio.run(check_startup, settings)
    if not sandbox:
        _serve(settings, transport=transport, host=host, port=port)
        return
    from imagegen_mcp.sandbox import Sandbox

    # In a thread of its own, because both transports below run their own event loop and block.
    # The sandbox logs only warnings, to stderr: stdout stays the protocol's.
    with Sandbox(_sandbox_config()).run_in_thread() as sb:
        _serve(_pointed_at(settings, sb.base_url), transport=transport, host=host, port=port)


def _serve(settings: Settings, *, transport: str, host: str, port: int) -> None:
    # Imported here so that the one-shot commands never load the MCP SDK, and stdio never
    # loads the HTTP stack.
    if transport == "stdio":
        from imagegen_mcp.server.app import build_server
        from imagegen_mcp.server.startup import hint_at_a_terminal

        hint_at_a_terminal()
        build_server(settings).run("stdio")
        return
    from imagegen_mcp.server.http import run_http

    sock = ui.listen(host, port)  # bound first: a port in use is one line, nothing printed yet
    base = ui.page_url(host, sock.getsockname()[1], None)
    print(f"MCP (streamable HTTP): {base}mcp, playground: {base} (Ctrl+C stops)", file=sys.stderr)
    run_http(settings, host=host, sock=sock)


def _run_sandbox(args: argparse.Namespace) -> None:
    from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig

    base = f"http://{args.host}:{args.port}"
    print(
        f"EvoLink sandbox (offline emulator) on {base}\n"
        f"  EVOLINK_API_KEY={SANDBOX_API_KEY} IMAGEGEN_API_BASE={base} IMAGEGEN_FILES_BASE={base}",
        file=sys.stderr,
    )
    Sandbox(SandboxConfig(task_duration=args.task_seconds)).serve(host=args.host, port=args.port)


def _where(settings: Settings) -> None:
    print(f"state folder:    {settings.home}")
    print(f"state database:  {settings.db_path}")
    print(f"output folder:   {settings.images_dir}")
    for folder in settings.input_dirs:
        print(f"allowed folder:  {folder}")


def _models(capability: str | None, *, as_json: bool) -> None:
    from imagegen_mcp.tools.catalog_text import plain_table
    from imagegen_mcp.tools.catalog_view import model_list

    listed = model_list(capability)
    print(listed.model_dump_json(indent=1) if as_json else plain_table(listed.models))


def _sandbox_settings() -> Settings:
    """The settings with the sandbox's key, and its own home: sandbox tasks live apart from real
    ones, so a later real run never polls them upstream. ``_pointed_at`` adds its address."""
    from imagegen_mcp.sandbox import SANDBOX_API_KEY

    base = load_settings()
    overrides: dict[str, Any] = {"home": base.home / "sandbox"}
    if "IMAGEGEN_OUTPUT_DIR" not in os.environ:
        overrides["output_dir"] = base.home / "sandbox" / "images"
    return load_settings(EVOLINK_API_KEY=SANDBOX_API_KEY, **overrides)


def _sandbox_config() -> SandboxConfig:
    from imagegen_mcp.sandbox import SandboxConfig

    return SandboxConfig(task_duration=3.0, duration_jitter=0.2)


def _pointed_at(settings: Settings, base_url: str) -> Settings:
    return settings.model_copy(update={"api_base": base_url, "files_base": base_url})


@asynccontextmanager
async def _settings_for(args: argparse.Namespace) -> AsyncIterator[Settings]:
    if not args.sandbox:
        yield load_settings()
        return
    from imagegen_mcp.sandbox import Sandbox

    settings = _sandbox_settings()
    async with Sandbox(_sandbox_config()) as sb:
        yield _pointed_at(settings, sb.base_url)


async def _job(args: argparse.Namespace) -> int:
    from imagegen_mcp.server.runtime import image_inputs, open_engine
    from imagegen_mcp.service.validation import check_request

    async with _settings_for(args) as settings, open_engine(settings) as engine:
        inputs = image_inputs(settings, engine)
        request = TaskRequest(
            prompt=args.prompt,
            model=args.model or settings.default_model,
            size=args.size,
            resolution=args.resolution,
            quality=args.quality,
            n=args.n,
            options=_options(args.option),
            kind=args.command,
        )
        editing = args.command == "edit"
        # Checked before anything is uploaded or paid.
        request = check_request(
            request,
            inputs=[args.image] if editing else args.ref,
            mask=editing and args.mask is not None,
        )
        if args.request_id is None:
            await engine.check_budget(request)
        if editing:
            base, mask = await inputs.edit_inputs(
                args.image, model=request.model, mask=args.mask, invert=args.mask_invert
            )
            request = request.model_copy(update={"image_urls": [base], "mask_url": mask})
        else:
            urls = [await inputs.as_url(ref, model=request.model) for ref in args.ref]
            request = request.model_copy(update={"image_urls": urls})
        task = await engine.submit(request, client_request_id=args.request_id)
        print(f"task {task.id} submitted ({task.upstream_id or task.status})", file=sys.stderr)
        task = await engine.wait(task.id, args.timeout, on_progress=_show_progress)
        if sys.stderr.isatty():
            print(file=sys.stderr)
        return _report(task)


def _options(pairs: list[str]) -> dict[str, OptionValue]:
    """``["seed=7", "watermark=false"]`` -> options; values stay text until the model's catalog
    entry types them."""
    options: dict[str, OptionValue] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option takes KEY=VALUE (e.g. seed=7), not {pair!r}.")
        options[key.strip()] = value.strip()
    return options


async def _show_progress(task: Task) -> None:
    line = f"  {task.id}: {task.status} {task.progress}%{task.saved_note}"
    if sys.stderr.isatty():
        print(f"\r{line:<60}", end="", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr)


def _report(task: Task) -> int:
    for image in task.images:
        print(image.path)
    if task.status == "completed":
        return 0
    if task.error is not None:
        print(f"imagegen-mcp: task {task.id} {task.status}: {task.error.message}", file=sys.stderr)
    else:
        print(
            f"imagegen-mcp: task {task.id} is still {task.status} ({task.progress}%); it keeps "
            "going upstream and is saved the next time the server runs.",
            file=sys.stderr,
        )
    return 1
