"""The application: ``cli.main`` (the ``imagegen-mcp`` command), ``settings.Settings`` (every
environment variable, read once), ``runtime.open_engine`` (the one place settings become a
running engine), ``startup.check_startup`` (what ``serve`` refuses before any transport),
``app.build_server`` (the MCP server: tools, resources, callback route, protocol tasks in
``tasks_*``, the MCP App view in ``apps_view``), ``http.http_app`` (streamable HTTP with the
bearer token, and the playground beside ``/mcp``) and ``ui`` (the ``imagegen-mcp ui``
command)."""
