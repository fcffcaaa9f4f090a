import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


@pytest.fixture
def write_png(tmp_path):
    """Writes a ``(h, w, 3)`` or ``(h, w)`` uint8 array as PNG under tmp_path."""
    import cv2

    def _write(name, array=None, size=(40, 60)):
        if array is None:
            array = np.full((*size, 3), 255, np.uint8)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(path), array[..., ::-1] if array.ndim == 3 else array)
        assert ok
        return path

    return _write
