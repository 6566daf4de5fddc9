"""python -m benchmarks: the timing table (see benchmarks/run.py)."""
import os
import sys

# --threads must reach NumPy's BLAS before NumPy loads (it reads its thread count once,
# then): set the environment here, before run.py imports anything
_args = sys.argv[1:]
for _i, _a in enumerate(_args):
    _value = (_a.split("=", 1)[1] if _a.startswith("--threads=")
              else _args[_i + 1] if _a == "--threads" and _i + 1 < len(_args) else None)
    if _value is not None:
        for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_var] = _value

from .run import main  # noqa: E402

main()
