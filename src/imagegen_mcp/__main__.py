"""``python -m imagegen_mcp`` runs the CLI."""

from imagegen_mcp.server.cli import main

if __name__ == "__main__":
    main()
