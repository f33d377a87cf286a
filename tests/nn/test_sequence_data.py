"""Sequence tasks with a lag parameter and the shipped character corpus."""

import fnmatch
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from backproplab.data import adding_problem, copy_task, parity
from backproplab.data.corpus import CORPUS_FILE, CharCorpus, extract_markdown, load_corpus

ROOT = Path(__file__).resolve().parents[2]


def test_adding_problem_marks_two_numbers_at_least_lag_apart_from_the_end():
    x, y = adding_problem(200, lag=7, seed=0)
    assert x.shape == (14, 200, 2) and y.shape == (200, 1)  # length defaults to 2 * lag
    u, marks = x[..., 0], x[..., 1]
    assert np.all(marks.sum(axis=0) == 2) and set(np.unique(marks)) == {0.0, 1.0}
    np.testing.assert_allclose(y[:, 0], (u * marks).sum(axis=0), rtol=1e-15)
    first = marks.argmax(axis=0)
    second = len(marks) - 1 - marks[::-1].argmax(axis=0)
    assert np.all(first < 14 - 7) and np.all(second >= 14 - 7)  # the first number waits >= lag steps
    assert 0 <= u.min() and u.max() < 1
    x2, y2 = adding_problem(50, lag=5, length=30, seed=1)
    assert x2.shape == (30, 50, 2)
    assert np.all(x2[:25, :, 1].sum(axis=0) == 1) and np.all(x2[25:, :, 1].sum(axis=0) == 1)
    np.testing.assert_array_equal(adding_problem(10, 5, seed=3)[0], adding_problem(10, 5, seed=3)[0])
    assert not np.array_equal(adding_problem(10, 5, seed=3)[0], adding_problem(10, 5, seed=4)[0])
    assert adding_problem(4, 3, dtype="float32")[0].dtype == np.float32
    # predicting the mean (1) scores about 1/6, the baseline a model must beat
    _, yy = adding_problem(20000, 10, seed=5)
    assert abs(((yy - 1) ** 2).mean() - 1 / 6) < 0.01


def test_copy_task_layout():
    x, y = copy_task(6, lag=4, copy_len=3, num_symbols=5, seed=0)
    assert x.shape == y.shape == (3 + 4 + 3, 6) and x.dtype == np.int64
    symbols = x[:3]
    assert symbols.min() >= 1 and symbols.max() <= 5
    np.testing.assert_array_equal(x[3:6], 0)
    np.testing.assert_array_equal(x[6], 6)  # the go signal, lag steps after the last symbol was read
    np.testing.assert_array_equal(x[7:], 0)
    np.testing.assert_array_equal(y[:7], 0)
    np.testing.assert_array_equal(y[7:], symbols)  # each symbol written copy_len + lag steps later


def test_parity_targets_are_the_running_xor():
    x, y = parity(30, lag=9, seed=0)
    assert x.shape == y.shape == (9, 30, 1)
    bits = x[..., 0].astype(int)
    expected = np.bitwise_xor.accumulate(bits, axis=0)
    np.testing.assert_array_equal(y[..., 0], expected)
    assert 0.3 < y[-1].mean() < 0.7


def test_sequence_tasks_reject_bad_sizes():
    with pytest.raises(ValueError, match="adding_problem: lag must be a positive integer, got 0"):
        adding_problem(4, 0)
    with pytest.raises(ValueError, match=r"lag \(5\) must be less than length \(5\)"):
        adding_problem(4, 5, length=5)
    with pytest.raises(ValueError, match="copy_task: copy_len must be a positive integer"):
        copy_task(4, 3, copy_len=0)
    with pytest.raises(ValueError, match="parity: n must be a positive integer, got -1"):
        parity(-1, 3)


# ---- the character corpus ----


def test_corpus_ships_with_the_package_and_round_trips():
    corpus = load_corpus()
    assert len(corpus) > 50_000 and corpus.text.startswith("# Lesson 1")
    assert "backpropagation" in corpus.text.lower()
    assert corpus.vocab_size == len(set(corpus.text)) and corpus.chars == sorted(corpus.chars)
    ids = corpus.encode("the chain rule")
    assert ids.dtype == np.int64 and corpus.decode(ids) == "the chain rule"
    assert corpus.decode(corpus.data[:500]) == corpus.text[:500]
    train, val = corpus.split(0.9)
    assert len(train) + len(val) == len(corpus) and len(val) == len(corpus) - int(0.9 * len(corpus))
    with pytest.raises(ValueError, match="character '\\\\x00' is not in the vocabulary"):
        corpus.encode("\x00")


def test_corpus_batches_are_next_character_pairs_and_seeded():
    corpus = load_corpus()
    x, y = corpus.batch(seq_len=16, batch_size=4, rng=np.random.default_rng(0))
    assert x.shape == y.shape == (16, 4)
    np.testing.assert_array_equal(x[1:], y[:-1])  # y is x shifted by one character
    for b in range(4):
        window = corpus.decode(x[:, b]) + corpus.decode(y[-1:, b])
        assert window in corpus.text
    again, _ = corpus.batch(16, 4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(x, again)
    train, _ = corpus.split()
    xt, _ = corpus.batch(8, 100, rng=1, data=train[:50])
    assert xt.max() < corpus.vocab_size
    with pytest.raises(ValueError, match="need 0 < seq_len < 50"):
        corpus.batch(50, 2, rng=0, data=train[:50])


def test_extract_markdown_takes_the_markdown_cells_in_order(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["# Title\n", "Some text."]},
                    {"cell_type": "code", "source": "print('no')"},
                    {"cell_type": "markdown", "source": "More $x^2$.\n"}]}
    path = tmp_path / "a.ipynb"
    path.write_text(json.dumps(nb))
    assert extract_markdown([path]) == "# Title\nSome text.\n\nMore $x^2$.\n"
    assert CharCorpus("abca").vocab_size == 3
    with pytest.raises(ValueError, match="the text is empty"):
        CharCorpus("")


def test_corpus_file_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["backproplab.data"]
    assert any(fnmatch.fnmatch(CORPUS_FILE, p) for p in patterns)
    assert (ROOT / "backproplab" / "data" / CORPUS_FILE).is_file()
