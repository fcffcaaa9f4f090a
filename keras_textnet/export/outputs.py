"""From an exported model's output tensors to words: what a mobile app has to do, in NumPy.

The TFLite and ONNX models take one page ``(1, H, W, 3)`` uint8 RGB at the fixed
size chosen at export and end at tensors (the graph ends where strings would
begin). Three steps turn a photo into words, and this module does each in a
few lines of NumPy that port directly to Kotlin or Swift:

1. :func:`letterbox`: fit the image into ``H x W`` (shrink if larger, never
   enlarge; white padding on the bottom and right), remembering the scale;
2. run the model (its output tensors are listed in :data:`OUTPUT_TENSORS`);
3. :func:`decode_page`: ids to strings through the charset shipped next to the
   model (``model_info.json``), boxes back to the image's own pixels, lines
   split into words by their characters' positions (the same code as
   :class:`~keras_textnet.predictor.TextNetPredictor`).

Box convention of the tensors: ``(y0, x0, y1, x1)`` in model-input pixels,
``y1``/``x1`` exclusive. The prediction JSON (``FORMATS.md``) uses
``[x0, y0, x1, y1]`` in the image's pixels.

>>> info = read_model_info("export/tflite/model_info.json")    # doctest: +SKIP
>>> page_input, scale = letterbox(image, info["input_size"])   # doctest: +SKIP
>>> page = decode_page(outputs, scale, image.shape[:2], charset_of(info))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: The exported models' output tensors (TFLite signature outputs / ONNX outputs), in
#: the order of this list. ``D`` = ``detections_per_image``, ``L`` = ``max_text_length``,
#: batch 1. Rows ``d >= count[0]`` are padding (zeros).
OUTPUT_TENSORS = (
    ("boxes", "float32", "(1, D, 4)",
     ("text lines, (y0, x0, y1, x1) in model-input pixels, y1/x1 exclusive: the "
      "axis-aligned bounds of the line's ink")),
    ("scores", "float32", "(1, D)", "text/background probability of each line, decreasing"),
    ("angles", "float32", "(1, D)", "line angle in radians, counter-clockwise on screen"),
    ("count", "int32", "(1,)", "number of valid rows"),
    ("char_ids", "int32", "(1, D, L)",
     ("character ids of each line's transcription; id i >= 1 is charset character i - 1, "
      "0 is padding")),
    ("lengths", "int32", "(1, D)", "characters in each transcription (ids past it are 0)"),
    ("positions", "int32", "(1, D, L)",
     ("recognizer step at which each character was read: character k lies about "
      "(positions + 0.5) / num_steps of the way along the line")),
    ("num_steps", "int32", "(1, D)", "valid recognizer steps of each line"),
    ("text_scores", "float32", "(1, D)",
     "recognizer confidence: mean probability of the line's characters"),
)

#: Name of the file written next to every exported model.
MODEL_INFO = "model_info.json"


def output_names() -> list[str]:
    return [name for name, *_ in OUTPUT_TENSORS]


def letterbox(image: np.ndarray, input_size) -> tuple[np.ndarray, tuple[float, float]]:
    """Fits an RGB image into the model's fixed ``(H, W)`` input.

    The image is shrunk (OpenCV ``INTER_AREA``) by ``f = min(1, H / h, W / w)``
    when larger than the input, never enlarged, and padded with white
    (255) on the bottom and right.

    Args:
        image: ``(h, w, 3)`` uint8 RGB (use
            :func:`keras_textnet.image_io.read_image` for files of any kind).
        input_size: ``(H, W)`` of the model input.

    Returns:
        ``(batch, scale)``: ``batch`` ``(1, H, W, 3)`` uint8 and ``scale``
        ``(sy, sx)``, model-input pixels per image pixel (what
        :func:`decode_page` needs).
    """
    height, width = (int(v) for v in input_size)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (h, w, 3) uint8 RGB; received {image.shape} "
                         f"{image.dtype}")
    h, w = image.shape[:2]
    factor = min(1.0, height / h, width / w)
    if factor < 1.0:
        import cv2

        new_w = min(width, max(1, round(w * factor)))
        new_h = min(height, max(1, round(h * factor)))
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    ih, iw = image.shape[:2]
    batch = np.full((1, height, width, 3), 255, np.uint8)
    batch[0, :ih, :iw] = image
    return batch, (ih / h, iw / w)


def decode_page(outputs: dict, scale, image_size, charset, file: str = "image",
                min_score: float = 0.0, image=None) -> dict:
    """One page's output tensors -> ``{"file", "width", "height", "words", "lines"}``.

    Args:
        outputs: output name -> array (batch 1), as :data:`OUTPUT_TENSORS`.
        scale: ``(sy, sx)`` from :func:`letterbox` (``(1, 1)`` when the boxes are
            already in image pixels, as the SavedModel's are).
        image_size: the image's ``(height, width)``.
        charset: a :class:`~keras_textnet.charset.Charset` (see :func:`charset_of`).
        min_score: lines scored below this are dropped.
        image: the page (array, ``image_size``); when given, word boxes are
            tightened to their ink, as the Keras predictor does.

    Returns:
        The page entry of the prediction JSON (``FORMATS.md``): boxes
        ``[x0, y0, x1, y1]`` in the image's pixels, words split from the lines.
    """
    from keras_textnet.predictor import decode_outputs

    missing = [name for name in ("boxes", "scores", "angles", "count", "char_ids", "lengths",
                                 "positions", "num_steps", "text_scores") if name not in outputs]
    if missing:
        raise ValueError(f"outputs lack {missing}; received {sorted(outputs)}")
    arrays = {name: np.asarray(value) for name, value in outputs.items()}
    return decode_outputs(arrays, 0, scale, image_size, file, charset, min_score=min_score,
                          image=image)


def model_info(model, input_size=None, **extra) -> dict:
    """What an app needs besides the model file: input, charset, output tensors."""
    from keras_textnet.version import __version__

    info = {
        "keras_textnet_version": __version__,
        "model_name": model.name,
        "input": {"name": "images", "dtype": "uint8",
                  "shape": [1, *input_size, 3] if input_size else [1, None, None, 3],
                  "meaning": "RGB page, letterboxed: shrunk to fit, padded white "
                             "bottom/right"},
        "input_size": list(input_size) if input_size else None,
        "charset": model.charset.get_config(),
        "blank_id": 0,
        "detections_per_image": model.detections_per_image,
        "max_text_length": model.max_text_length,
        "outputs": [{"name": n, "dtype": t, "shape": s, "meaning": m}
                    for n, t, s, m in OUTPUT_TENSORS],
    }
    info.update(extra)
    return info


def write_model_info(path, info: dict) -> Path:
    path = Path(path)
    path.write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_model_info(path) -> dict:
    """``model_info.json`` (or the folder holding it) as a dict."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_INFO
    if not path.exists():
        raise FileNotFoundError(f"model info not found: {path} (written by keras-textnet export "
                                f"next to the model)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None


def charset_of(info: dict):
    """The :class:`~keras_textnet.charset.Charset` recorded in a model info dict."""
    from keras_textnet.charset import Charset

    return Charset.from_config(info["charset"])


def predict_page(run, image, input_size, charset, file: str | None = None,
                 min_score: float = 0.0) -> dict:
    """Letterbox, ``run`` (``(1, H, W, 3)`` uint8 -> output dict), decode: one page's words.

    ``image`` is a path, encoded bytes or an array of any colour mode
    (:func:`keras_textnet.image_io.read_image`).
    """
    import os

    from keras_textnet.image_io import read_image

    if file is None:
        file = Path(image).name if isinstance(image, (str, os.PathLike)) else "image"
    array = read_image(image)
    batch, scale = letterbox(array, input_size)
    return decode_page(run(batch), scale, array.shape[:2], charset, file=file,
                       min_score=min_score, image=array)


def format_tensor_table() -> str:
    """:data:`OUTPUT_TENSORS` as a Markdown table (used by ``docs/export.md``)."""
    rows = ["| name | dtype | shape | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{n}` | {t} | `{s}` | {m} |" for n, t, s, m in OUTPUT_TENSORS]
    return "\n".join(rows)


__all__ = ["MODEL_INFO", "OUTPUT_TENSORS", "charset_of", "decode_page", "format_tensor_table",
           "letterbox", "model_info", "output_names", "predict_page", "read_model_info",
           "write_model_info"]
