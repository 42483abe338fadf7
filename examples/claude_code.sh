#!/usr/bin/env sh
# Register the server with Claude Code: run from the root of your clone, after the install
# (python3 -m venv .venv && .venv/bin/pip install -q -e .); replace the key.
claude mcp add imagegen --env EVOLINK_API_KEY=sk-evo-... -- "$PWD/.venv/bin/imagegen-mcp"
