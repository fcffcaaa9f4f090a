"""One calling convention for every runtime, so exports can be compared and timed alike.

Each runner takes one page ``(1, H, W, 3)`` uint8 (``H``, ``W`` multiples of 32)
and returns its output dict as NumPy arrays, boxes in that page's pixels:
Keras (a ``tf.function`` over the model, as the predictor runs it), the
SavedModel (its ``serve_images`` signature), TFLite (LiteRT) and ONNX Runtime.
Used by ``keras-textnet export --check``, the parity tests and
``benchmarks/export_benchmark.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: First seed of the held-out synthetic pages (as benchmarks/evaluate_synthetic.py).
HELD_OUT_SEED = 10**9


def synthetic_pages(count: int, size, first_seed: int = HELD_OUT_SEED) -> list:
    """``count`` held-out synthetic pages of ``size`` ``(H, W)``, each ``(1, H, W, 3)`` uint8."""
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

    gen = SyntheticDocumentGenerator(page_size=tuple(int(v) for v in size))
    return [gen.generate(seed).image[np.newaxis] for seed in range(first_seed,
                                                                    first_seed + count)]


def keras_runner(model):
    import tensorflow as tf

    from keras_textnet.export.model_source import pure_tf_pooling

    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def run(page):
        with pure_tf_pooling():
            out = forward(tf.constant(page))
        return {k: v.numpy() for k, v in out.items()}

    return run


def saved_model_runner(path, signature: str = "serve_images"):
    """Runs a serving SavedModel; ``serving_default`` is given PNG bytes of the page."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    function = loaded.signatures[signature]

    def run(page):
        if signature == "serving_default":
            import cv2

            _, data = cv2.imencode(".png", np.ascontiguousarray(page[0][..., ::-1]))
            out = function(images=tf.constant([data.tobytes()]))
        else:
            out = function(images=tf.constant(page))
        return {k: v.numpy() for k, v in out.items()}

    run.loaded = loaded  # keeps the SavedModel alive
    return run


def tflite_runner(path, num_threads: int | None = None):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
    runner = interpreter.get_signature_runner("serving_default")

    def run(page):
        return {k: np.array(v) for k, v in runner(images=page).items()}

    run.interpreter = interpreter
    return run


def onnx_runner(path, num_threads: int | None = None):
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # tf2onnx's nearest resize warns on every load
    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = int(num_threads)
        options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    names = [o.name for o in session.get_outputs()]

    def run(page):
        return dict(zip(names, session.run(names, {input_name: np.asarray(page, np.uint8)})))

    run.session = session
    return run


def runners_for_export(fmt: str, files: dict, model=None, num_threads: int | None = None) -> dict:
    """``{name: run}`` for what ``keras-textnet export --format fmt`` wrote (``files``)."""
    if fmt == "saved_model":
        return {"saved_model": saved_model_runner(files["saved_model"])}
    if fmt == "tflite":
        return {f"tflite {variant}": tflite_runner(path, num_threads)
                for variant, path in files.items()
                if variant in ("fp32", "fp16", "int8") and Path(path).exists()}
    if fmt == "onnx":
        return {"onnx": onnx_runner(files["onnx"], num_threads)}
    raise ValueError(f"unknown format {fmt!r}")


__all__ = ["HELD_OUT_SEED", "keras_runner", "onnx_runner", "runners_for_export",
           "saved_model_runner", "synthetic_pages", "tflite_runner"]
