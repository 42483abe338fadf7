"""The task engine: ``engine.TaskEngine`` validates and submits a request (``validation``,
``submit``), polls every open task in the background (``poller``, ``schedule``), saves each
result once (``saving``) and waits for a task within a deadline; ``inputs`` and ``masks`` turn
caller-supplied images into checked uploads. No MCP, HTTP or SQL here: see ARCHITECTURE.md."""
