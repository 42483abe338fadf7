"""imagegen-mcp: an MCP server for image generation and editing through EvoLink's image API."""

__version__ = "0.1.0"
