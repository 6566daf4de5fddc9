"""``make bench``: scratchgan timed against the same math by hand (and PyTorch, if present).

Not part of the package: run it from the repository root as ``python -m benchmarks``.
"""
