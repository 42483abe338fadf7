"""What tests and benchmarks share: settings wired to the sandbox, the fuzz and soak harnesses.

Nothing here is a test. ``bench/`` imports from this package (run it as ``python -m bench.<name>``
from the project root), so a benchmark and its short variant in the suite run the same code.
"""
