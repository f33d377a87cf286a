"""Putting a constant (NumPy array, list, another library's array) next to a tensor."""

from __future__ import annotations

import numpy as np

from .. import backend


def array_like(x, like):
    """``x`` as an array of ``like``'s array library and device (dtype unchanged).

    NumPy stays NumPy; CuPy arrays are copied to ``like``'s GPU; other array API
    libraries (array-api-strict in the tests) get ``xp.asarray`` on ``like``'s device.
    """
    xp = backend.namespace(like)
    if hasattr(x, "shape") and backend.namespace(x) is xp and backend.device_name(x) == backend.device_name(like):
        return x
    host = backend.to_numpy(x) if hasattr(x, "shape") else np.asarray(x)
    if xp is np:
        return host
    name = backend.device_name(like)
    if name.startswith("cuda"):
        return backend.to_device(host, name)
    return xp.asarray(host, device=backend.device_of(like))
