"""The application: ``cli.main`` (the ``imagegen-mcp`` command), ``settings.Settings`` (every
environment variable, read once), ``runtime.open_engine`` (the one place settings become a
running engine), ``startup.check_startup`` (what ``serve`` refuses before any transport),
``app.build_server`` (the MCP server: tools, resources, callback route) and
``http.http_app`` (streamable HTTP with the bearer token)."""
