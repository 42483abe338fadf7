"""Starting and stopping the sandbox: in the caller's event loop, in a thread, or blocking.

The socket is bound here (port 0 for a free port) and handed to uvicorn, so ``base_url`` is
known before the first request and two sandboxes never race for a port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator, Mapping
from types import MappingProxyType, TracebackType
from typing import Any

import anyio
import uvicorn

from imagegen_mcp.sandbox.app import build_app
from imagegen_mcp.sandbox.callbacks import CallbackDispatcher
from imagegen_mcp.sandbox.config import SANDBOX_API_KEY, Counters, Faults, SandboxConfig
from imagegen_mcp.sandbox.responses import quiet_dropped_connections
from imagegen_mcp.sandbox.state import FileRecord, SandboxState
from imagegen_mcp.sandbox.tasks import TaskRecord

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_TICK = 0.01


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to whoever embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        # uvicorn notices should_exit only every 0.1 s; tests start and stop a sandbox per test,
        # so look more often. on_tick still refreshes the Date header every tenth tick.
        ticks = 0
        while not await self.on_tick(ticks):
            await asyncio.sleep(_TICK)
            ticks = (ticks + 1) % 864000

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn pauses 0.1 s for open connections to see the shutdown even when there are
        # none, which is most of what stopping a sandbox per test costs.
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP explicitly: asyncio only sets TCP_NODELAY on sockets that do, and
    # without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - mapping a wildcard bind to a usable URL
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class Sandbox:
    """An EvoLink-compatible emulator (task API + files API) on one local port."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config if config is not None else SandboxConfig()
        self.counters = Counters()
        self._state = SandboxState(self.config, self.counters)
        self._dispatcher = CallbackDispatcher(self._state)
        self._state.on_task_created = self._dispatcher.watch
        self._server: uvicorn.Server | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._callback_task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    # ---- what tests read -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if not self._state.base_url:
            raise RuntimeError("the sandbox is not running")
        return self._state.base_url

    @property
    def api_key(self) -> str:
        keys = self.config.api_keys
        if SANDBOX_API_KEY in keys:
            return SANDBOX_API_KEY
        if not keys:
            raise RuntimeError("the sandbox accepts no API key")
        return min(keys)

    @property
    def faults(self) -> Faults:
        return self.config.faults

    @property
    def tasks(self) -> Mapping[str, TaskRecord]:
        return MappingProxyType(self._state.tasks)

    @property
    def files(self) -> Mapping[str, FileRecord]:
        return MappingProxyType(self._state.files)

    @property
    def create_bodies(self) -> list[Any]:
        """The JSON bodies POSTed to create, oldest first, refused ones included (the last
        ``MAX_RECORDED_BODIES``): what the client put on the wire. A snapshot."""
        return list(self._state.create_bodies)

    @property
    def remaining_credits(self) -> float:
        return self._state.remaining_credits

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward: tasks progress and links expire without sleeping."""
        self._state.clock.advance(seconds)

    # ---- in the current event loop -------------------------------------------------------

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _prepare(self, sock: socket.socket) -> uvicorn.Config:
        quiet_dropped_connections()
        host, port = sock.getsockname()[:2]
        self._socket = sock
        self._state.base_url = f"http://{_url_host(host)}:{port}"
        return uvicorn.Config(
            build_app(self._state),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve in the running event loop until ``stop``."""
        if self._serve_task is not None:
            raise RuntimeError("the sandbox is already running")
        sock = _bind(host, port)
        server = _EmbeddedServer(self._prepare(sock))
        self._server = server
        self._serve_task = asyncio.create_task(server.serve(sockets=[sock]))
        self._callback_task = asyncio.create_task(self._dispatcher.run())
        try:
            with anyio.fail_after(_START_TIMEOUT):
                while not server.started:
                    if self._serve_task.done():
                        self._serve_task.result()
                        raise RuntimeError("the sandbox server exited during start-up")
                    await anyio.sleep(0.005)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop serving and release the port; safe to call more than once."""
        if self._server is not None:
            self._server.should_exit = True
        if self._callback_task is not None:
            self._callback_task.cancel()
            await asyncio.gather(self._callback_task, return_exceptions=True)
        if self._serve_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._serve_task), _STOP_TIMEOUT)
            if not self._serve_task.done():
                self._serve_task.cancel()
            await asyncio.gather(self._serve_task, return_exceptions=True)
        await self._close_resources()
        self._server = self._serve_task = self._callback_task = None

    async def _close_resources(self) -> None:
        await self._state.close()
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._state.base_url = ""

    # ---- in a thread, for synchronous callers ---------------------------------------------

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[Sandbox]:
        """Serve from a daemon thread with its own event loop for the duration of the block."""
        ready = threading.Event()
        control: dict[str, Any] = {}

        async def main() -> None:
            stop = asyncio.Event()
            control["loop"] = asyncio.get_running_loop()
            control["stop"] = stop
            try:
                await self.start()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                control["error"] = exc
                ready.set()
                return
            ready.set()
            try:
                await stop.wait()
            finally:
                await self.stop()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.name = "imagegen-sandbox"
        thread.start()
        if not ready.wait(_START_TIMEOUT):
            raise RuntimeError("the sandbox thread did not start in time")
        if "error" in control:
            raise RuntimeError("the sandbox failed to start") from control["error"]
        try:
            yield self
        finally:
            control["loop"].call_soon_threadsafe(control["stop"].set)
            thread.join(_STOP_TIMEOUT)

    # ---- blocking, for the CLI -----------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 8765) -> None:
        """Serve until Ctrl-C, shut down gracefully, then return. Prints nothing itself."""
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve_until_signalled(host, port))

    async def _serve_until_signalled(self, host: str, port: int) -> None:
        sock = _bind(host, port)
        # The stock server: it turns Ctrl-C into a graceful shutdown, then re-raises it.
        server = uvicorn.Server(self._prepare(sock))
        self._callback_task = asyncio.create_task(self._dispatcher.run())
        try:
            await server.serve(sockets=[sock])
        finally:
            self._callback_task.cancel()
            await asyncio.gather(self._callback_task, return_exceptions=True)
            self._callback_task = None
            await self._close_resources()
