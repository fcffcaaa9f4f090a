"""ONNX export through tf2onnx, and a runner that reads words with ONNX Runtime.

The network is written as a SavedModel ending at its tensors (pure-TF pooling,
batch 1, height and width dynamic unless ``input_size`` fixes them) and
converted by tf2onnx. Input ``images`` ``(1, H, W, 3)`` uint8 RGB, H and W
multiples of 32; outputs as :data:`keras_textnet.export.outputs.OUTPUT_TENSORS`.

>>> path = export_onnx("model.keras", "export/onnx")         # doctest: +SKIP
>>> OnnxTextNet(path).predict_image("page.png")["words"][:3]  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from keras_textnet.export import outputs as output_helpers
from keras_textnet.export.exported_text_net import ExportedTextNet
from keras_textnet.export.model_source import (
    ExportError,
    check_input_size,
    load_model,
    write_tensor_saved_model,
)

#: The ONNX opset written (onnxruntime >= 1.20 runs it).
DEFAULT_OPSET = 17


def export_onnx(model, out_dir, input_size=None, name: str = "textnet",
                opset: int = DEFAULT_OPSET, preset: str | None = None, **overrides) -> Path:
    """Writes ``out_dir/NAME.onnx`` and ``model_info.json``; returns the model's path.

    Args:
        model: a TextNet, a ``.keras`` file, a ``.weights.h5`` file (with
            ``preset``), or ``None`` with ``preset`` (an untrained model).
        input_size: ``(H, W)`` to fix the input size, or ``None`` (dynamic;
            then pad images to multiples of 32 yourself, or letterbox them).
        opset: the ONNX opset.

    Raises:
        ExportError: when tf2onnx cannot convert the graph.
    """
    import tensorflow as tf
    from tf2onnx import convert

    net = load_model(model, preset=preset, **overrides)
    if input_size is not None:
        input_size = check_input_size(input_size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.onnx"
    with tempfile.TemporaryDirectory(prefix="textnet_onnx_") as tmp:
        saved = str(write_tensor_saved_model(net, Path(tmp) / "saved_model", input_size))
        # tf2onnx's public API: the tensor SavedModel's serving function, converted
        # with its named inputs and outputs (images -> boxes, scores, ...).
        loaded = tf.saved_model.load(saved)       # keeps the variables alive
        serving = loaded.signatures["serving_default"]
        signature = list(serving.structured_input_signature[1].values())
        function = tf.function(lambda images: serving(images=images), input_signature=signature)
        try:
            with tf.device("/cpu:0"):
                convert.from_function(function, input_signature=signature, opset=opset,
                                      output_path=str(path))
        except Exception as e:  # tf2onnx raises plain exceptions of many kinds
            raise ExportError(f"tf2onnx could not convert the model: {e}") from e
    info = output_helpers.model_info(net, input_size, format="onnx", files={"onnx": path.name},
                                     opset=opset)
    output_helpers.write_model_info(out_dir / output_helpers.MODEL_INFO, info)
    return path


class OnnxTextNet(ExportedTextNet):
    """Reads pages with an exported ``.onnx`` model in ONNX Runtime (CPU).

    Args:
        path, info: the ``.onnx`` file and its model info, as
            :class:`~keras_textnet.export.exported_text_net.ExportedTextNet`.
        input_size: ``(H, W)`` pages are letterboxed to; default the model's
            fixed size if it has one, else 1024x768.
        num_threads: intra-op threads (``None``: ONNX Runtime's default).
    """

    format_name = "ONNX"

    def __init__(self, path, info=None, input_size=None, num_threads: int | None = None):
        import onnxruntime as ort

        super().__init__(path, info)
        ort.set_default_logger_severity(3)  # tf2onnx's nearest resize warns on every load
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.path), options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]
        fixed = self.info.get("input_size")
        self.input_size = tuple(input_size or fixed or (1024, 768))
        check_input_size(self.input_size)

    def run(self, batch):
        """Output tensors (name -> array) of one ``(1, H, W, 3)`` uint8 input."""
        values = self.session.run(self.output_names, {self.input_name: np.asarray(batch,
                                                                                  np.uint8)})
        return dict(zip(self.output_names, values))


__all__ = ["DEFAULT_OPSET", "OnnxTextNet", "export_onnx"]
