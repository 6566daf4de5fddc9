"""python -m benchmarks: the timing table (see benchmarks/run.py)."""
from .run import main

main()
