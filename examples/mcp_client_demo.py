"""Drive the server as an MCP client would, over stdio, against the local sandbox.

    python examples/mcp_client_demo.py "a red kite over the sea"

Starts the sandbox in this process, spawns `python -m imagegen_mcp` as a stdio MCP server
pointed at it, lists the tools, generates two images with progress, and reads one back.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile

import anyio
from mcp import Client, StdioServerParameters
from mcp.types import TextContent

from imagegen_mcp.sandbox import SANDBOX_API_KEY, Sandbox, SandboxConfig


async def main(prompt: str) -> None:
    async with Sandbox(SandboxConfig(task_duration=3.0)) as sb:
        env = {
            **os.environ,
            "EVOLINK_API_KEY": SANDBOX_API_KEY,
            "IMAGEGEN_API_BASE": sb.base_url,
            "IMAGEGEN_FILES_BASE": sb.base_url,
            "IMAGEGEN_HOME": os.environ.get("IMAGEGEN_HOME", tempfile.mkdtemp()),
        }
        server = StdioServerParameters(command=sys.executable, args=["-m", "imagegen_mcp"], env=env)
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
            print("tools:", ", ".join(t.name for t in tools))

            async def progress(p: float, total: float | None, message: str | None) -> None:
                print(f"  progress {p:.0f}% {message or ''}")

            result = await client.call_tool(
                "generate_image", {"prompt": prompt, "n": 2}, progress_callback=progress
            )
            for block in result.content:
                if isinstance(block, TextContent):
                    print(block.text)
            data = result.structured_content or {}
            for image in data.get("images", []):
                print(f"  {image['uri']} -> {image['path']} ({image['width']}x{image['height']})")
            if data.get("images"):
                read = await client.read_resource(data["images"][0]["uri"])
                blob = getattr(read.contents[0], "blob", "")
                print(f"read back {len(base64.b64decode(blob))} bytes via the image:// resource")


if __name__ == "__main__":
    anyio.run(main, sys.argv[1] if len(sys.argv) > 1 else "a red kite over the sea")
