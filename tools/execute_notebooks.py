"""Run notebooks top to bottom in a fresh kernel and save them with their outputs.

    python tools/execute_notebooks.py lessons/08_optimizers.ipynb solutions/08_optimizers.ipynb

Each notebook runs with its own folder as the working directory. Consecutive chunks of one
stream are merged, execution timestamps and saved widget state are dropped, so running a
deterministic notebook twice gives the same file. Exercise notebooks are not run: they
are generated without outputs by `backproplab exercises`.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path, timeout=600):
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.monotonic() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return seconds


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        print(f"{name}: {execute(name):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
