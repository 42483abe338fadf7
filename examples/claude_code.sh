#!/usr/bin/env sh
# Register the server with Claude Code (replace the key).
claude mcp add imagegen --env EVOLINK_API_KEY=sk-evo-... -- uvx imagegen-mcp
