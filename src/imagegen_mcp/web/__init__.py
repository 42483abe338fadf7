"""The web UI: the playground page served beside ``/mcp`` (its routes and static files) and the
same view as an MCP App (a ``ui://`` resource). Beside ``tools``: it builds on the same requests,
engine and inputs, never on the server layer."""
