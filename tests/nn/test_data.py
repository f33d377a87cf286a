"""Datasets and DataLoader."""

import numpy as np
import pytest

from backproplab import Tensor
from backproplab.data import DataLoader, load_digits


def test_digits_split_is_seeded_stratified_and_scaled():
    a, b = load_digits(seed=0), load_digits(seed=0)
    X_train, y_train, X_test, y_test = a
    assert X_train.shape == (1438, 64) and X_test.shape == (359, 64)
    assert y_train.dtype == np.int64 and set(np.unique(y_test)) == set(range(10))
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(load_digits(seed=1).y_test, a.y_test)
    assert 0.0 <= X_train.min() and X_train.max() == 1.0
    # every class keeps about 20% of its examples for testing
    counts = np.bincount(y_test, minlength=10) / (np.bincount(y_test, minlength=10) + np.bincount(y_train, minlength=10))
    assert np.all(np.abs(counts - 0.2) < 0.01)
    std = load_digits(scale="standard").X_train
    np.testing.assert_allclose(std.mean(0), 0, atol=1e-12)
    with pytest.raises(ValueError, match="scale must be"):
        load_digits(scale="minmax")


def test_loader_batches_cover_the_data_once_per_epoch():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader((X, y), batch_size=4, shuffle=True, rng=np.random.default_rng(0))
    assert len(loader) == 3
    epoch1 = [yb.numpy() for _, yb in loader]
    epoch2 = [yb.numpy() for _, yb in loader]
    assert [len(b) for b in epoch1] == [4, 4, 2]
    assert sorted(np.concatenate(epoch1)) == list(range(10))
    assert not np.array_equal(np.concatenate(epoch1), np.concatenate(epoch2))  # reshuffled
    for xb, yb in loader:
        assert isinstance(xb, Tensor)
        np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())  # rows stay paired
    again = DataLoader((X, y), batch_size=4, shuffle=True, rng=np.random.default_rng(0))
    assert all(np.array_equal(a, b[1].numpy()) for a, b in zip(epoch1, again))  # seeded


def test_loader_drop_last_no_shuffle_and_single_array():
    X = np.arange(10.0)
    batches = [b.numpy().tolist() for b in DataLoader(X, batch_size=4, drop_last=True)]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_loader_on_a_dataset_object():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([float(i)]), i * i

    (xb, yb), = list(DataLoader(Squares(), batch_size=5))
    assert xb.shape == (5, 1) and yb.numpy().tolist() == [0, 1, 4, 9, 16]


def test_loader_bad_input():
    with pytest.raises(ValueError, match=r"share their first axis.*\(10, 2\), \(9,\)"):
        DataLoader((np.zeros((10, 2)), np.zeros(9)))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(TypeError, match="expected a tuple of arrays"):
        DataLoader(42)


# ---- small classic sets ----

from backproplab.data import family_trees, mirror_symmetry, moons, two_spirals, xor  # noqa: E402


def test_xor_and_mirror_symmetry():
    X, d = xor()
    assert X.shape == (4, 2) and d[:, 0].tolist() == [0, 1, 1, 0]
    X, d = mirror_symmetry()
    assert X.shape == (64, 6) and d.shape == (64, 1)
    assert len(np.unique(X, axis=0)) == 64
    symmetric = {tuple(int(v) for v in row) for row in X[d[:, 0] == 1]}
    assert len(symmetric) == 8 and (0, 1, 1, 1, 1, 0) in symmetric and (1, 0, 0, 1, 0, 1) not in symmetric


def test_spirals_and_moons_are_seeded_and_shaped():
    X, y = two_spirals(50, noise=0.05, rng=3)
    assert X.shape == (100, 2) and np.bincount(y).tolist() == [50, 50]
    np.testing.assert_array_equal(X, two_spirals(50, noise=0.05, rng=3)[0])
    clean, _ = two_spirals(50)  # noise 0: the two arms are reflections of each other
    np.testing.assert_allclose(clean[:50], -clean[50:])
    X, y = moons(101, noise=0.0, rng=0)
    assert X.shape == (101, 2) and np.bincount(y).tolist() == [50, 51]
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)  # the outer moon lies on the unit circle
    with pytest.raises(TypeError, match="rng is required"):
        moons(10, noise=0.1)


def test_family_trees_counts_and_facts():
    ft = family_trees()
    assert len(ft.people) == 24 and len(ft.relations) == 12
    assert len(ft.cases) == 104  # the paper's input-output cases: (person1, relation) -> answers
    assert len(ft.facts) == 112  # each answer counted separately
    facts = set(ft.facts)
    for fact in [("Christopher", "wife", "Penelope"), ("Arthur", "father", "Christopher"),
                 ("Colin", "mother", "Victoria"), ("James", "father", "Andrew"),
                 ("Colin", "aunt", "Margaret"), ("Charlotte", "uncle", "Charles"),
                 ("Jennifer", "niece", "Charlotte"), ("Victoria", "brother", "Arthur"),
                 ("Alfonso", "uncle", "Emilio"), ("Gina", "husband", "Emilio"), ("Sophia", "brother", "Alfonso"),
                 ("Lucia", "husband", "Marco"), ("Tomaso", "wife", "Angela"), ("Maria", "husband", "Roberto"),
                 ("Francesca", "son", "Marco")]:
        assert fact in facts, fact
    assert ("Colin", "uncle", "James") not in facts and ("Margaret", "father", "Christopher") not in facts
    cases = {(p, r): set(a) for p, r, a in ft.cases}
    assert cases[("Colin", "aunt")] == {"Jennifer", "Margaret"}
    # the two families are isomorphic: same relation counts, one-to-one name map
    english, italian = ft.facts[:56], ft.facts[56:]
    mapping = dict(zip(ft.people[:12], ft.people[12:]))
    assert {(mapping[a], r, mapping[b]) for a, r, b in english} == set(italian)
    # inverse relations agree
    for a, r, b in facts:
        if r == "husband":
            assert (b, "wife", a) in facts
        if r in ("father", "mother"):
            assert (b, "son", a) in facts or (b, "daughter", a) in facts
        if r in ("uncle", "aunt"):
            assert (b, "nephew", a) in facts or (b, "niece", a) in facts
    p1, rel, target = ft.arrays()
    assert p1.shape == (104, 24) and rel.shape == (104, 12) and target.shape == (104, 24)
    assert (p1.sum(1) == 1).all() and (rel.sum(1) == 1).all() and target.sum() == 112


# ---- MNIST IDX files ----

import gzip  # noqa: E402
import struct  # noqa: E402

from backproplab.data import load_mnist_idx, read_idx  # noqa: E402


def _idx(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype({0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]).tobytes()


@pytest.fixture
def mnist_files(tmp_path):
    r = np.random.default_rng(0)
    images = r.integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    (tmp_path / "images.idx").write_bytes(_idx(images))
    (tmp_path / "labels.idx.gz").write_bytes(gzip.compress(_idx(labels)))
    return tmp_path, images, labels


def test_mnist_idx_raw_and_gzip(mnist_files):
    d, images, labels = mnist_files
    X, y = load_mnist_idx(d / "images.idx", d / "labels.idx.gz")
    np.testing.assert_array_equal(X, images)
    assert y.dtype == np.int64 and y.tolist() == [3, 1, 4, 1, 5]
    (d / "floats").write_bytes(_idx(np.array([[1.5, -2.0]]), code=0x0D))
    np.testing.assert_array_equal(read_idx(d / "floats"), [[1.5, -2.0]])
    (d / "ints").write_bytes(_idx(np.array([70000, -1]), code=0x0C))
    assert read_idx(d / "ints").tolist() == [70000, -1]


def test_mnist_idx_errors_name_the_problem(mnist_files):
    d, images, labels = mnist_files
    good = _idx(images)
    (d / "short").write_bytes(good[:-7])
    with pytest.raises(ValueError, match=r"short: truncated: shape \(5, 4, 3\) of uint8 needs 60 bytes of data, found 53"):
        read_idx(d / "short")
    (d / "long").write_bytes(good + b"\x00\x01")
    with pytest.raises(ValueError, match="2 unexpected bytes after the data"):
        read_idx(d / "long")
    (d / "magic").write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(ValueError, match="not an IDX file: magic number 0x12340803"):
        read_idx(d / "magic")
    (d / "header").write_bytes(good[:9])
    with pytest.raises(ValueError, match="truncated header: 3 dimensions need 16 bytes"):
        read_idx(d / "header")
    (d / "gz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(ValueError, match="gzip data are truncated or corrupted"):
        read_idx(d / "gz")
    (d / "labels2d").write_bytes(_idx(labels.reshape(5, 1)))
    with pytest.raises(ValueError, match=r"labels must be 1-D \(N,\), got shape \(5, 1\)"):
        load_mnist_idx(d / "images.idx", d / "labels2d")
    (d / "labels4").write_bytes(_idx(labels[:4]))
    with pytest.raises(ValueError, match="5 images in .* but 4 labels"):
        load_mnist_idx(d / "images.idx", d / "labels4")
    with pytest.raises(ValueError, match=r"images must be 3-D"):
        load_mnist_idx(d / "labels.idx.gz", d / "labels.idx.gz")


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="load_digits needs scikit-learn.*pip install scikit-learn"):
        load_digits()
