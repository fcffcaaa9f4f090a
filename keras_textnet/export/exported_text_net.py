"""What the runners of exported models share: the file, its model info, ``predict_image``.

:class:`~keras_textnet.export.onnx.OnnxTextNet` (ONNX Runtime) and
:class:`~keras_textnet.export.tflite.TFLiteTextNet` (LiteRT) each open their
model file, set ``input_size`` and run one ``(1, H, W, 3)`` uint8 batch;
:class:`ExportedTextNet` finds the file and the ``model_info.json`` written
beside it (the charset) and turns any image into a prediction-JSON page
through :func:`keras_textnet.export.outputs.predict_page` (letterbox, run,
decode).

>>> OnnxTextNet("export/onnx/textnet.onnx").predict_image("page.png")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from keras_textnet.export import outputs as output_helpers


class ExportedTextNet:
    """Base of the exported-model runners: model file, model info, charset, pages.

    Args:
        path: the model file.
        info: its model info (dict or path); by default ``model_info.json``
            next to the model.

    Subclasses name their format in :attr:`format_name`, set ``input_size``
    ``(H, W)`` and implement :meth:`run`.

    Raises:
        FileNotFoundError: no file at ``path``, or no model info.
    """

    #: How error messages name the format ("ONNX model not found: ...").
    format_name = "exported"

    def __init__(self, path, info=None):
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{self.format_name} model not found: {path}")
        if not isinstance(info, dict):
            info = output_helpers.read_model_info(info if info is not None else path.parent)
        self.path = path
        self.info = info
        self.charset = output_helpers.charset_of(info)

    def run(self, batch) -> dict:
        """Output tensors (name -> array) of one ``(1, H, W, 3)`` uint8 input."""
        raise NotImplementedError

    def predict_image(self, image, file: str | None = None, min_score: float = 0.0) -> dict:
        """Words and lines of one image (path, bytes or array), prediction-JSON shaped."""
        return output_helpers.predict_page(self.run, image, self.input_size, self.charset,
                                           file=file, min_score=min_score)


__all__ = ["ExportedTextNet"]
