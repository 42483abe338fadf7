"""Fuzzed tool calls: hypothesis-generated arguments for every tool and resource the server lists.

Every call goes through the MCP client (``mcp.Client``, in memory) to ``build_server`` wired to
the in-process sandbox over loopback HTTP, with a long, distinctive API key. Arguments mix valid
and hostile values (``values``, ``corpus``, ``strategies``; the files they point at in
``files``), plus upstream faults queued on the sandbox. ``properties`` holds the checks made on
every answer; ``harness`` makes the calls. ``tests/tools/test_fuzz.py`` runs a short variant,
``python -m bench.fuzz_tools`` the full one.
"""
