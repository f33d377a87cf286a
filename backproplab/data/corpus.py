"""A small character corpus that ships with the package: the course's own prose.

``course_prose.txt`` holds the Markdown text of the lessons (``lessons/*.ipynb``),
extracted once by ``extract_markdown`` and committed, so a character-level
language model can be trained offline, on text the student has read:

    corpus = load_corpus()
    corpus.vocab_size                      # distinct characters
    ids = corpus.encode("backprop")        # (8,) int64 ids;  corpus.decode(ids) == "backprop"
    x, y = corpus.batch(seq_len=64, batch_size=32, rng=np.random.default_rng(0))
                                           # x, y (64, 32): y[t] is the character after x[t]

Regenerate the file after the lessons change (from the repository root):

    python -m backproplab.data.corpus lessons/*.ipynb
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["CharCorpus", "load_corpus", "extract_markdown", "CORPUS_FILE"]

CORPUS_FILE = "course_prose.txt"


def extract_markdown(notebook_paths) -> str:
    """The Markdown cells of the notebooks, in order, separated by blank lines."""
    parts = []
    for path in notebook_paths:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        for cell in notebook.get("cells", []):
            if cell.get("cell_type") == "markdown":
                source = cell.get("source", "")
                text = "".join(source) if isinstance(source, list) else source
                if text.strip():
                    parts.append(text.strip())
    return "\n\n".join(parts) + "\n"


class CharCorpus:
    """A text and its character vocabulary.

    chars: the distinct characters, sorted; ``stoi[c]`` is the id of c, ``itos[i]``
    the character of id i. ``data`` is the whole text as an int64 array of ids.
    """

    def __init__(self, text: str):
        if not text:
            raise ValueError("CharCorpus: the text is empty")
        self.text = text
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = list(self.chars)
        self.data = self.encode(text)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __len__(self):
        return len(self.text)

    def encode(self, text: str) -> np.ndarray:
        """Characters -> ids, an int64 array; a character outside the vocabulary raises."""
        try:
            return np.array([self.stoi[c] for c in text], dtype=np.int64)
        except KeyError as err:
            raise ValueError(f"CharCorpus.encode: character {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        """Ids (any integer array or list) -> the string."""
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1))

    def split(self, fraction=0.9):
        """(train ids, validation ids): the first ``fraction`` of the text, and the rest."""
        if not 0 < fraction < 1:
            raise ValueError(f"CharCorpus.split: fraction must be in (0, 1), got {fraction}")
        cut = int(len(self.data) * fraction)
        return self.data[:cut], self.data[cut:]

    def batch(self, seq_len, batch_size, rng, data=None):
        """Random windows for next-character prediction, time-major as ``nn.LSTM`` expects:
        x (seq_len, batch_size) ids and y (seq_len, batch_size), y[t] = the character after x[t].

        rng: a ``numpy.random.Generator`` (or an int seed); data: the ids to draw from
        (default the whole text; pass ``split()[0]`` to train on the training part only).
        """
        data = self.data if data is None else np.asarray(data)
        if seq_len <= 0 or batch_size <= 0 or seq_len + 1 > len(data):
            raise ValueError(
                f"CharCorpus.batch: need 0 < seq_len < {len(data)} (the ids available) and batch_size > 0, "
                f"got seq_len={seq_len}, batch_size={batch_size}"
            )
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        starts = rng.integers(0, len(data) - seq_len, size=batch_size)
        windows = data[starts[None, :] + np.arange(seq_len + 1)[:, None]]  # (seq_len + 1, batch)
        return windows[:-1], windows[1:]


def load_corpus() -> CharCorpus:
    """The course's prose (``course_prose.txt``, shipped in ``backproplab.data``) as a CharCorpus."""
    text = resources.files(__package__).joinpath(CORPUS_FILE).read_text(encoding="utf-8")
    return CharCorpus(text)


def main(argv=None):
    paths = sorted(argv if argv is not None else sys.argv[1:])
    if not paths:
        print("usage: python -m backproplab.data.corpus lessons/*.ipynb", file=sys.stderr)
        return 2
    target = Path(__file__).with_name(CORPUS_FILE)
    target.write_text(extract_markdown(paths), encoding="utf-8")
    print(f"wrote {target} from {len(paths)} notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
