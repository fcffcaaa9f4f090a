"""Reads a page with the ``.tflite`` model of ``keras-textnet export --format tflite``, in LiteRT.

    python export/litert_example.py export/tflite/textnet_fp32.tflite page.png
    python export/litert_example.py export/tflite/textnet_fp32.tflite page.png --json

What an app does, step by step (``export/README.md``), with ai-edge-litert, NumPy and Pillow
alone (no TensorFlow, no OpenCV, no keras_textnet):

1. read ``model_info.json``, written next to the model: the charset, the fixed input size;
2. letterbox the page into the input: shrink to fit (never enlarge), pad white bottom/right;
3. run the ``serving_default`` signature of the LiteRT interpreter;
4. turn the output tensors into text lines, boxes back in the image's pixels.

Prints the lines top to bottom (then left to right), or with ``--json`` the page with each
line's box ``[x0, y0, x1, y1]`` and scores. The library does the same and splits the lines
into words: ``keras_textnet.export.tflite.TFLiteTextNet(path).predict_image("page.png")``
(``keras_textnet/export/``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

#: Written by the exporter next to every model.
MODEL_INFO = "model_info.json"


def load_model_info(model_path) -> dict:
    """``model_info.json`` beside the model: ``input_size``, ``charset``, ``outputs``."""
    path = Path(model_path).parent / MODEL_INFO
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: keras-textnet export writes it next to "
                                f"the model; copy it along") from None


def read_rgb(image_path) -> np.ndarray:
    """An image file as ``(h, w, 3)`` uint8 RGB: turned upright, transparency over white."""
    from PIL import Image, ImageOps

    with Image.open(image_path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, rgba)
        return np.asarray(image.convert("RGB"), np.uint8)


def letterbox(image: np.ndarray, input_size) -> tuple[np.ndarray, tuple[float, float]]:
    """``(1, H, W, 3)`` uint8: ``image`` shrunk by ``min(1, H / h, W / w)`` at the top-left of
    a white canvas; and ``(sy, sx)``, input pixels per image pixel.

    The shrinking averages the pixels each output pixel covers (OpenCV's ``INTER_AREA``,
    which the library uses; Pillow's ``BOX`` filter is not the same).
    """
    height, width = (int(v) for v in input_size)
    h, w = image.shape[:2]
    factor = min(1.0, height / h, width / w)
    if factor < 1.0:
        new_h = min(height, max(1, round(h * factor)))
        new_w = min(width, max(1, round(w * factor)))
        rows = _area_weights(h, new_h) @ image.reshape(h, -1).astype(np.float64)
        pixels = np.einsum("xk,ykc->yxc", _area_weights(w, new_w), rows.reshape(new_h, w, 3))
        image = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    ih, iw = image.shape[:2]
    batch = np.full((1, height, width, 3), 255, np.uint8)
    batch[0, :ih, :iw] = image
    return batch, (ih / h, iw / w)


def _area_weights(size: int, new_size: int) -> np.ndarray:
    """``(new_size, size)``: the share of each input pixel in each output pixel."""
    step = size / new_size
    start = np.arange(new_size)[:, None] * step
    pixel = np.arange(size)[None, :]
    covered = np.minimum(start + step, pixel + 1) - np.maximum(start, pixel)
    return np.clip(covered, 0, None) / step


def decode_lines(outputs: dict, scale, image_size, characters: str,
                 min_score: float = 0.0) -> list[dict]:
    """Output tensors (batch 1) -> lines ``{"text", "box", "score", "text_score"}``.

    Id ``i >= 1`` of ``char_ids`` is ``characters[i - 1]``; boxes ``(y0, x0, y1, x1)`` in
    input pixels become ``[x0, y0, x1, y1]`` in the image's, clipped to it.
    """
    sy, sx = scale
    height, width = image_size
    lines = []
    for d in range(int(outputs["count"][0])):
        ids = outputs["char_ids"][0, d, :int(outputs["lengths"][0, d])]
        text = "".join(characters[i - 1] for i in ids if i >= 1)
        score = float(outputs["scores"][0, d])
        if not text.strip() or score < min_score:
            continue
        y0, x0, y1, x1 = (float(v) for v in outputs["boxes"][0, d])
        box = [min(max(x0 / sx, 0.0), width), min(max(y0 / sy, 0.0), height),
               min(max(x1 / sx, 0.0), width), min(max(y1 / sy, 0.0), height)]
        lines.append({"text": text, "box": [round(v, 1) for v in box], "score": round(score, 4),
                      "text_score": round(float(outputs["text_scores"][0, d]), 4)})
    lines.sort(key=lambda line: (line["box"][1], line["box"][0]))
    return lines


class LiteRTReader:
    """A ``.tflite`` model of keras_textnet in the LiteRT interpreter, and its charset."""

    def __init__(self, model_path, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        self.info = load_model_info(model_path)
        self.characters = self.info["charset"]["characters"]
        self.interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner("serving_default")
        shape = self.runner.get_input_details()["images"]["shape"]
        self.input_size = (int(shape[1]), int(shape[2]))

    def run(self, batch: np.ndarray) -> dict:
        """The output tensors (name -> array) of one ``(1, H, W, 3)`` uint8 input."""
        return {name: np.asarray(value) for name, value in self.runner(images=batch).items()}

    def read(self, image: np.ndarray, min_score: float = 0.0) -> dict:
        """One ``(h, w, 3)`` uint8 RGB page -> ``{"width", "height", "lines"}``."""
        batch, scale = letterbox(image, self.input_size)
        lines = decode_lines(self.run(batch), scale, image.shape[:2], self.characters,
                             min_score=min_score)
        return {"width": int(image.shape[1]), "height": int(image.shape[0]), "lines": lines}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a .tflite file written by keras-textnet export")
    parser.add_argument("image", help="the page: PNG, JPEG, ... (Pillow reads it)")
    parser.add_argument("--threads", type=int, help="CPU threads (default: LiteRT's)")
    parser.add_argument("--min-score", type=float, default=0.0,
                        help="leave out lines scored below this")
    parser.add_argument("--json", action="store_true", help="print the page as JSON")
    args = parser.parse_args(argv)

    try:
        reader = LiteRTReader(args.model, num_threads=args.threads)
        image = read_rgb(args.image)
    except (OSError, ValueError, KeyError) as e:
        print(f"litert_example: {e}", file=sys.stderr)
        return 2
    page = reader.read(image, min_score=args.min_score)
    if args.json:
        print(json.dumps({"file": Path(args.image).name, **page}, indent=1))
    else:
        print("\n".join(line["text"] for line in page["lines"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
