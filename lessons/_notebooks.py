"""Turn every lesson into an executed notebook:  make lessons  (or python lessons/_notebooks.py).

The lessons are jupytext "percent" files; jupytext reads each into a notebook and nbclient
runs it in a Jupyter kernel, in the lessons folder (so ``import _lesson`` works), and the
executed notebook, figures and all, is written to lessons/output/notebooks/.
Needs the optional extra:  pip install -e '.[lessons]'  (jupytext, nbclient, ipykernel).
Pass lesson numbers to convert only those:  python lessons/_notebooks.py 03 05
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

LESSONS = Path(__file__).resolve().parent
OUT = LESSONS / "output" / "notebooks"


def main(wanted: list[str]) -> int:
    try:
        import jupytext
        from nbclient import NotebookClient
    except ImportError:
        print("make lessons needs jupytext, nbclient and ipykernel: "
              "pip install -e '.[lessons]'")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    lessons = sorted(p for p in LESSONS.glob("[0-9][0-9]_*.py")
                     if not wanted or p.name[:2] in wanted)
    for path in lessons:
        start = time.perf_counter()
        notebook = jupytext.read(path)
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(LESSONS)}}).execute()
        target = OUT / (path.stem + ".ipynb")
        jupytext.write(notebook, target)
        print(f"{path.name} -> {target.relative_to(LESSONS.parent)} "
              f"({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
