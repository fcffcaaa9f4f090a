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


@pytest.fixture
def bad_file_error(tmp_path):
    """Writes ``content`` to ``tmp_path / name``; ``read(path)`` must raise ``error`` matching
    ``match``, with the path in its message. Returns the message."""

    def _check(name, content, read, error, match):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(error, match=match) as info:
            read(path)
        assert str(path) in str(info.value), str(info.value)
        return str(info.value)

    return _check


@pytest.fixture(scope="session")
def custom_ops():
    """The loaded custom pooling op library; skips only when no C++ compiler exists.

    Built (or found in the cache) once per session, for test_custom_op.py and the
    ``custom`` runs of test_dynamic_roi_pooling.py.
    """
    import shutil

    from keras_textnet.ops import custom_op

    if shutil.which(os.environ.get("CXX") or "g++") is None:
        pytest.skip("no C++ compiler: the custom op cannot be built here (the fallback tests "
                    "still run)")
    return custom_op.load_custom_ops()


@pytest.fixture(scope="session")
def tiny_after_two_steps():
    """A tiny TextNet after two Adam steps on two synthetic 192x256 pages.

    Tracing TextNet's training step is the dearest thing in the suite (15-20 s
    on two cores), so the tests that need a trained model share this one; do
    not change it. ``score_threshold`` is 0, so every page gives detections.
    Returns a namespace: ``model``, ``before`` (the trainable weights before
    training, as arrays) and ``logs`` (the last value of each logged metric).
    """
    from types import SimpleNamespace

    import keras

    from keras_textnet.data.pipeline import SyntheticSource, make_dataset
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.models.text_net import TextNet

    model = TextNet.from_preset("tiny", detections_per_image=16, max_text_length=24,
                                score_threshold=0.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    source = SyntheticSource(SyntheticDocumentGenerator(page_size=(192, 256), degrade=0.0),
                             count=2, workers=0)
    dataset = make_dataset(source, image_size=(128, 128), batch_size=2, seed=0,
                           deterministic=True, max_text_length=24).repeat()
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    return SimpleNamespace(model=model, before=before,
                           logs={k: v[-1] for k, v in history.history.items()})
