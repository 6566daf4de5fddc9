"""Turn every lesson into an executed notebook:  make lessons  (or python lessons/_notebooks.py).

The lessons are jupytext "percent" files; jupytext reads each into a notebook and nbclient
runs it in a Jupyter kernel, in the lessons folder (so ``import _lesson`` works), and the
executed notebook, figures and all, is written to lessons/output/notebooks/.
Needs the optional extra:  pip install -e '.[lessons]'  (jupytext, nbclient, ipykernel).
Pass lesson numbers to convert only those:  python lessons/_notebooks.py 03 05
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

LESSONS = Path(__file__).resolve().parent
OUT = LESSONS / "output" / "notebooks"


def main(wanted: list[str]) -> int:
    try:
        import jupytext
        from nbclient import NotebookClient
        from traitlets.config import Config
    except ImportError:
        print("make lessons needs jupytext, nbclient and ipykernel: "
              "pip install -e '.[lessons]'")
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    lessons = sorted(p for p in LESSONS.glob("[0-9][0-9]*_*.py")
                     if not wanted or p.name[:2] in wanted)
    for path in lessons:
        start = time.perf_counter()
        notebook = jupytext.read(path)
        with tempfile.TemporaryDirectory(prefix="scratchgan-kernel-") as sockets:
            NotebookClient(notebook, timeout=1800, kernel_name="python3",
                           config=kernel_transport(sockets, Config),
                           resources={"metadata": {"path": str(LESSONS)}}).execute()
        target = OUT / (path.stem + ".ipynb")
        jupytext.write(notebook, target)
        print(f"{path.name} -> {target.relative_to(LESSONS.parent)} "
              f"({time.perf_counter() - start:.0f} s)")
    return 0


def kernel_transport(folder: str, Config):
    """Where the kernel and this process talk.  By default a Jupyter kernel listens on TCP
    ports of localhost, in plain text that any local user could connect to, and ipykernel
    warns about exactly that on every start.  Where the system has Unix sockets, the kernel
    listens on sockets in a fresh private folder instead ("ipc" transport): nothing to
    overhear, and nothing to warn about.  Elsewhere (Windows) TCP stays."""
    config = Config()
    if os.name == "posix":
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = os.path.join(folder, "kernel")   # kernel-1, kernel-2, …
    return config


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
