"""Shared test fixtures.

``xp`` runs a test once per array backend: NumPy; array-api-strict on a
non-default device (a stand-in for a GPU that CI lacks: any NumPy-only call, or
an array created without the input's device, fails there); and CuPy, marked
``gpu``, where CuPy finds a CUDA device.
"""

import os

# Parallel test workers each get one BLAS thread: two processes with two
# OpenBLAS threads each on a 2-core machine slow each other down many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest


def _cupy_device_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


class Backend:
    """An array library plus the device the tests put data on."""

    def __init__(self, name, xp, device):
        self.name, self.xp, self.device = name, xp, device

    def asarray(self, array, dtype=None):
        array = np.asarray(array, dtype=dtype)
        if self.name == "numpy":
            return array
        return self.xp.asarray(array, device=self.device)

    def __repr__(self):
        return self.name


def _make_backend(name):
    if name == "numpy":
        return Backend("numpy", np, "cpu")
    if name == "array_api_strict":
        import array_api_strict

        return Backend(name, array_api_strict, array_api_strict.Device("device1"))
    if name == "cupy":
        if not _cupy_device_available():
            pytest.skip("CuPy with a CUDA device is not available")
        import cupy

        return Backend(name, cupy, cupy.cuda.Device(0))
    raise ValueError(name)


@pytest.fixture(
    params=["numpy", "array_api_strict", pytest.param("cupy", marks=pytest.mark.gpu)],
)
def xp(request):
    """The backend under test (``xp.xp`` is its array module)."""
    return _make_backend(request.param)


def pytest_collection_modifyitems(config, items):
    if _cupy_device_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
