"""Image in, words and lines out: the user-facing side of a trained TextNet.

The exported graph ends at tensors (boxes, scores, character ids and
positions); this module does the rest, outside the graph: reading any image,
fitting it to the model's input, turning ids into strings, splitting lines
into words by their characters' positions, and mapping every box back to the
image's own pixels. The result is the prediction JSON of ``FORMATS.md``.

>>> predictor = TextNetPredictor.load("model.keras")         # doctest: +SKIP
>>> page = predictor.predict_image("page.png")               # doctest: +SKIP
>>> [w["text"] for w in page["words"]][:5]                  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from keras_textnet.image_io import read_image


class TextNetPredictor:
    """Runs a :class:`~keras_textnet.models.text_net.TextNet` on whole images.

    Args:
        model: a TextNet (trained).
        max_side: images whose longer side exceeds this are downscaled first
            (boxes are mapped back to the original pixels).
        scale: resize factor applied to every image before the model (e.g.
            2.0 for small-print scans at 75 dpi); combined with ``max_side``.
        pad_multiple: the input is padded (white, bottom/right) to a multiple
            of this, the backbone's largest stride.
        min_score: detections below this score are dropped.
    """

    def __init__(self, model, max_side: int = 2048, scale: float = 1.0,
                 pad_multiple: int = 32, min_score: float = 0.0):
        if max_side < pad_multiple:
            raise ValueError(f"max_side must be >= {pad_multiple}; received {max_side}")
        if scale <= 0:
            raise ValueError(f"scale must be positive; received {scale}")
        self.model = model
        self.charset = model.charset
        self.max_side = int(max_side)
        self.scale = float(scale)
        self.pad_multiple = int(pad_multiple)
        self.min_score = float(min_score)
        self._forward = None
        self._eager_left = 0

    def plan(self, pages: int) -> None:
        """Tells the predictor how many pages are coming, so few pages start sooner.

        The first call of the compiled forward pass traces the model's graph:
        several seconds on a CPU (6.5 s on 2 cores), more than an eager pass
        costs (2.2 s, then 1.8 s a page against 1.0 s compiled). Up to
        :data:`EAGER_PAGES` pages are run eagerly, no graph traced; more, and
        the graph pays for itself. :meth:`predict` and the command line call
        this; a loop of :meth:`predict_image` calls without it uses the graph.
        """
        self._eager_left = int(pages) if 0 < int(pages) <= EAGER_PAGES else 0

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs) -> "TextNetPredictor":
        """A predictor for a saved ``.keras`` model file."""
        from keras_textnet.pretrained import load_model

        return cls(load_model(path), **kwargs)

    # ------------------------------------------------------------------
    def _prepare(self, image: np.ndarray):
        """Resized and padded model input, and the factor image -> input."""
        import cv2

        h, w = image.shape[:2]
        factor = self.scale * min(1.0, self.max_side / (max(h, w) * self.scale))
        if abs(factor - 1.0) > 1e-6:
            new_w, new_h = max(1, round(w * factor)), max(1, round(h * factor))
            interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
            image = cv2.resize(image, (new_w, new_h), interpolation=interp)
        ih, iw = image.shape[:2]
        ph = int(math.ceil(ih / self.pad_multiple) * self.pad_multiple)
        pw = int(math.ceil(iw / self.pad_multiple) * self.pad_multiple)
        padded = np.full((ph, pw, 3), 255, np.uint8)
        padded[:ih, :iw] = image
        sy, sx = ih / h, iw / w
        return padded, (sy, sx)

    def _eager_forward(self, x):
        # ``infer`` (compact) reads only the kept lines, only as wide as they are:
        # the same outputs as ``model(x)``, much less recognizer work on a CPU.
        infer = getattr(self.model, "infer", None)
        if infer is not None:
            return infer(x, training=False, compact=True)
        return self.model(x, training=False)

    def _run(self, batch: np.ndarray) -> dict:
        import tensorflow as tf

        if self._eager_left > 0:
            self._eager_left -= 1
            out = self._eager_forward(tf.constant(batch))
        else:
            if self._forward is None:
                self._forward = tf.function(self._eager_forward, reduce_retracing=True)
            out = self._forward(tf.constant(batch))
        return {k: v.numpy() for k, v in out.items()}

    def predict_image(self, image, file: str | None = None) -> dict:
        """Words and lines of one image (path, bytes or array), prediction-JSON shaped.

        Returns ``{"file", "width", "height", "words": [...], "lines": [...]}``,
        boxes ``[x0, y0, x1, y1]`` in the image's own pixels.
        """
        if file is None:
            file = Path(image).name if isinstance(image, (str, os.PathLike)) else "image"
        array = read_image(image)
        out, scale = self.raw_outputs(array)
        return self.decode_outputs(out, 0, scale, array.shape[:2], file, image=array)

    def raw_outputs(self, array: np.ndarray) -> tuple[dict, tuple[float, float]]:
        """The network's output arrays for one page (batch of one), and the scale ``(sy, sx)``
        from the page's pixels to the model input's: what :func:`decode_outputs` takes."""
        padded, scale = self._prepare(array)
        return self._run(padded[np.newaxis]), scale

    def predict(self, images, progress: bool = True) -> dict:
        """Prediction JSON (``{"images": [...]}``) of many images.

        ``images``: paths, encoded bytes or arrays. An image that cannot be read
        gets an ``error`` field (one line naming it) and no words; the others are
        unaffected, whatever the decoder raised (not only ``ImageReadError``:
        ``struct.error`` from an odd EXIF tag, ``OSError``, ``SyntaxError``,
        ``MemoryError`` from a decompression bomb, ...). Paths that are not
        regular files (a named pipe would block the read forever) are refused
        unread. Paths with the same base name in different folders get
        distinct ``file`` names (``a/page.png``, ``b/page.png``).
        """
        from tqdm.auto import tqdm

        from keras_textnet.image_io import ImageReadError
        from keras_textnet.input_document import (check_input_path, distinct_names,
                                                  unexpected_error_message)

        items = list(images)
        self.plan(len(items))
        paths = [i for i, item in enumerate(items) if isinstance(item, (str, os.PathLike))]
        names = ["image"] * len(items)
        for i, name in zip(paths, distinct_names([os.fspath(items[i]) for i in paths])):
            names[i] = name
        entries = []
        for item, name in zip(tqdm(items, desc="predict", unit="image", disable=not progress),
                              names):
            label = os.fspath(item) if isinstance(item, (str, os.PathLike)) else name
            try:
                if isinstance(item, (str, os.PathLike)):
                    check_input_path(label)
                entries.append(self.predict_image(item, file=name))
            except ImageReadError as e:
                entries.append({"file": name, "words": [], "lines": [], "error": str(e)})
            except Exception as e:  # any decoder failure of this one image
                entries.append({"file": name, "words": [], "lines": [],
                                "error": unexpected_error_message(label, e)})
        return {"images": entries}

    # ------------------------------------------------------------------
    def decode_outputs(self, out: dict, index: int, scale, image_size, file: str,
                       image=None) -> dict:
        """Turns row ``index`` of the model's output tensors into JSON words and lines.

        With ``image`` (the page, in the pixels of ``image_size``), word boxes are
        tightened to their ink (:mod:`keras_textnet.ink_boxes`).
        """
        return decode_outputs(out, index, scale, image_size, file, self.charset,
                              min_score=self.min_score, image=image)


def decode_outputs(out: dict, index: int, scale, image_size, file: str, charset,
                   min_score: float = 0.0, image=None) -> dict:
    """Row ``index`` of a TextNet's output tensors as prediction-JSON words and lines.

    Works on any runtime's outputs (Keras, SavedModel, TFLite, ONNX): ``out`` maps
    the output names (``boxes``, ``scores``, ``angles``, ``count``, ``char_ids``,
    ``lengths``, ``positions``, ``num_steps``, ``text_scores``) to NumPy arrays.
    ``scale`` is ``(sy, sx)``, model-input pixels per image pixel; ``image_size``
    the image's ``(height, width)``; ``charset`` the model's
    :class:`~keras_textnet.charset.Charset`. Lines scored below ``min_score``,
    empty, under a pixel wide, or doubly unsure (:data:`UNSURE_SCORE`) are
    dropped, and so are the dots of leaders (:func:`drop_leader_words`; the
    line's text keeps them). A line tilted by less than :data:`UPRIGHT_DEGREES`
    is upright (angle 0). With ``image`` (the page as an
    array in the pixels of ``image_size``), a line whose box is almost free of ink
    (:data:`keras_textnet.ink_boxes.MIN_LINE_INK`: noise, specks) is dropped, a
    thin mark read over blank paper at an upright line's end is dropped
    (:func:`keras_textnet.ink_boxes.drop_phantom_ends`), doubled letters that CTC
    merged are restored where that makes a common English word of a rare one
    (:func:`keras_textnet.double_letters.restore_double_letters`), a letter confused
    with a like one, or a thin letter read in or dropped, is put right there too
    (:func:`keras_textnet.letter_confusions.correct_confusions`), and each word's box, first
    placed along
    its line from the CTC positions at the line's height, is tightened to its
    own ink within the line (:func:`keras_textnet.ink_boxes.tighten_words`).
    Last, the pieces of a long line found apart are joined into the line
    (:func:`keras_textnet.line_joining.join_line_segments`), a word that two
    overlapping pieces both read in part becomes one
    (:func:`keras_textnet.line_joining.merge_double_reads`), a word that two
    lines both read (a line and a piece of it found apart) is kept in the
    higher-scored one (:func:`keras_textnet.line_joining.drop_repeated_words`),
    and with ``image`` each upright line's box becomes the union of its words' boxes
    and a word is split after each comma that a blank gap follows on the page
    (the space the recognizer missed: :func:`keras_textnet.ink_boxes.split_spaced_commas`).
    """
    from keras_textnet.double_letters import restore_double_letters
    from keras_textnet.letter_confusions import correct_confusions
    from keras_textnet.evaluation.line_words import split_line_into_words
    from keras_textnet.line_joining import (drop_repeated_words, join_line_segments,
                                            merge_double_reads)

    sy, sx = scale
    height, width = image_size
    lines, words = [], []
    gray = None
    if image is not None:
        from keras_textnet.ink_boxes import drop_phantom_ends
        from keras_textnet.luminance import gray_image

        gray = gray_image(np.asarray(image))
    count = int(out["count"][index])
    for d in range(count):
        score = float(out["scores"][index, d])
        if score < min_score:
            continue
        n = int(out["lengths"][index, d])
        text = charset.decode(out["char_ids"][index, d, :n])
        if not text.strip() or _unsure(score, float(out["text_scores"][index, d]), text):
            continue
        y0, x0, y1, x1 = (float(v) for v in out["boxes"][index, d])
        bounds = [x0 / sx, y0 / sy, x1 / sx, y1 / sy]
        bounds = [min(max(bounds[0], 0.0), width), min(max(bounds[1], 0.0), height),
                  min(max(bounds[2], 0.0), width), min(max(bounds[3], 0.0), height)]
        if bounds[2] - bounds[0] < 1 or bounds[3] - bounds[1] < 1:
            continue
        angle = float(out["angles"][index, d])
        if abs(math.degrees(angle)) < UPRIGHT_DEGREES:
            angle = 0.0
        positions = out["positions"][index, d, :n].astype(int)
        steps = max(int(out["num_steps"][index, d]), 1)
        positions = np.clip(positions, 0, steps - 1)
        if gray is not None and angle == 0.0:
            text, positions = drop_phantom_ends(gray, bounds, text, positions, steps)
        text, positions = restore_double_letters(text, positions)
        text, positions = correct_confusions(text, positions)
        rect = _rotated_rect(bounds, angle)
        line_id = len(lines)
        line = {"box": [round(v, 1) for v in bounds], "text": text,
                "score": round(score, 4), "angle": round(math.degrees(angle), 2),
                "text_score": round(float(out["text_scores"][index, d]), 4)}
        lines.append(line)
        for word_text, box, quad in split_line_into_words(
                text, positions, steps, rect, angle_degrees=math.degrees(angle)):
            wx0, wy0, wx1, wy1 = (float(v) for v in box)
            wx0, wy0 = max(wx0, 0.0), max(wy0, 0.0)
            wx1, wy1 = min(wx1, width), min(wy1, height)
            if wx1 - wx0 < 1 or wy1 - wy0 < 1:
                continue
            word = {"box": [round(wx0, 1), round(wy0, 1), round(wx1, 1), round(wy1, 1)],
                    "text": word_text, "score": round(score, 4), "line": line_id}
            if quad is not None and abs(angle) > 1e-3:
                word["quad"] = [[round(float(x), 1), round(float(y), 1)] for x, y in quad]
            words.append(word)
    words = drop_leader_words(words)
    if image is not None:
        from keras_textnet.ink_boxes import MIN_LINE_INK, ink_fraction, tighten_words

        inked = [ink_fraction(gray, line["box"]) >= MIN_LINE_INK for line in lines]
        if not all(inked):
            lines, words = _keep_lines(lines, words, inked)
        tighten_words(gray, lines, words)
        for word in words:
            word["box"] = [round(float(v), 1) for v in word["box"]]
    lines, words = join_line_segments(lines, words)
    lines, words = merge_double_reads(lines, words)
    lines, words = drop_repeated_words(lines, words)
    if image is not None:
        from keras_textnet.ink_boxes import split_spaced_commas

        _fit_lines_to_words(lines, words)
        lines, words = split_spaced_commas(gray, lines, words)
    return {"file": file, "width": int(width), "height": int(height), "words": words,
            "lines": lines}


def _fit_lines_to_words(lines, words) -> None:
    """Each upright line's box becomes the union of its (ink-tight) words' boxes."""
    spans: dict[int, list[float]] = {}
    for word in words:
        if "quad" in word:
            continue
        x0, y0, x1, y1 = word["box"]
        span = spans.setdefault(word["line"], [x0, y0, x1, y1])
        span[:] = [min(span[0], x0), min(span[1], y0), max(span[2], x1), max(span[3], y1)]
    for index, span in spans.items():
        if lines[index].get("angle", 0.0) == 0.0:
            lines[index]["box"] = [round(float(v), 1) for v in span]


def _keep_lines(lines, words, keep):
    """``lines`` where ``keep`` is true, and their words renumbered."""
    new_index, kept_lines = {}, []
    for i, (line, k) in enumerate(zip(lines, keep)):
        if k:
            new_index[i] = len(kept_lines)
            kept_lines.append(line)
    kept_words = []
    for word in words:
        if word["line"] in new_index:
            kept_words.append({**word, "line": new_index[word["line"]]})
    return kept_lines, kept_words


#: At most this many pages planned (:meth:`TextNetPredictor.plan`) run eagerly.
EAGER_PAGES = 4


#: Lines the detector finds tilted by less than this many degrees are upright: their
#: angle is reported as 0, and their words get upright boxes tight to their ink.
#: On upright real pages the shipped model's angles spread over -0.15..1.1 degrees
#: (median 0.4); a word of 100 px tilted by 1 degree rises less than 2 px.
UPRIGHT_DEGREES = 1.0

#: Characters a leader (the dots between an index entry and its page) is made of.
LEADER_CHARACTERS = frozenset(".·…_-‥")


def drop_leader_words(words: list[dict]) -> list[dict]:
    """``words`` less the pieces of leaders: ``. . . . . . 454`` has one word, ``454``.

    A word made of leader characters only (:data:`LEADER_CHARACTERS`) is a piece
    of a leader when it is at least 3 characters long (``.....``) or one of a
    run of at least 3 such words in a row on its line. A lone ``-`` or ``.``
    (a dash, a bullet) stays. The word just before a leader loses a final ``.``:
    the leader's first dot, read as the word's end (``constraint. . . . 454``; on
    our real validation pages this raised word e2e F 0.9128 -> 0.9145 clean and
    0.8617 -> 0.8629 degraded). Words of one line must be consecutive, in reading
    order, as :func:`decode_outputs` makes them.
    """
    from itertools import groupby

    def is_dots(word):
        text = word["text"]
        return bool(text) and all(c in LEADER_CHARACTERS for c in text)

    kept = []
    for (line, dots), run in groupby(words, key=lambda w: (w.get("line"), is_dots(w))):
        run = list(run)
        if not dots:
            kept += run
            continue
        leader = len(run) >= 3 or any(len(w["text"]) >= 3 for w in run)
        if len(run) < 3:
            kept += [w for w in run if len(w["text"]) < 3]
        if leader and kept and kept[-1].get("line") == line and len(kept[-1]["text"]) > 1 \
                and kept[-1]["text"].endswith(".") and not is_dots(kept[-1]):
            # "constraint. . . . . 454": the leader's first dot, read as the word's end
            kept[-1] = {**kept[-1], "text": kept[-1]["text"][:-1]}
    return kept


#: A line the detector is unsure of (score below ``UNSURE_SCORE``) is dropped when
#: its reading is unsure too (text score below ``UNSURE_TEXT_SCORE``) or it is at
#: most ``SHORT_TEXT`` characters: what the model finds in paper texture, noise and
#: speckle. On our real validation pages (46 pages, ~2,100 lines, clean and
#: degraded) it removed 0 and 7 lines, and word detection and end-to-end F did not
#: drop; on text-free pages it removed every line left (tests/test_blank_pages.py).
UNSURE_SCORE, UNSURE_TEXT_SCORE, SHORT_TEXT = 0.75, 0.5, 2

#: A *faint* line (detector score below ``FAINT_SCORE``) is kept only when it is read
#: with confidence (text score at least ``FAINT_TEXT_SCORE``). The shipped model keeps
#: detections down to ``score_threshold=0.05``: the middle pieces of a long line score
#: low (the detector was trained on segments cut at word gaps it cannot see, so a
#: stretch inside a line is an unsure segment) but are read well. On our 46 real
#: validation pages that threshold raised word e2e F 0.777 -> 0.820 clean and
#: 0.723 -> 0.765 degraded, and this rule 0.820 -> 0.821 / 0.765 -> 0.766, while it
#: removes what faint detections find in paper grain (tests/test_blank_pages.py).
FAINT_SCORE, FAINT_TEXT_SCORE = 0.5, 0.8

#: A reading of at most ``SHORT_TEXT`` characters needs a text score of at least
#: ``SHORT_TEXT_SCORE`` whatever the detector's score: the model of 2026-12-06 found
#: "55" (text score 0.56) and "5" (0.33) at detector scores 0.89 and 0.86 in dark
#: grain. On our real validation pages, thresholds 0.6, 0.7 and 0.8 all raised word
#: e2e F a little (0.8629 -> 0.8631 clean, 0.8164 -> 0.8165 degraded).
SHORT_TEXT_SCORE = 0.7


def _unsure(score: float, text_score: float, text: str) -> bool:
    if score < FAINT_SCORE and text_score < FAINT_TEXT_SCORE:
        return True
    if len(text.strip()) <= SHORT_TEXT and text_score < SHORT_TEXT_SCORE:
        return True
    return score < UNSURE_SCORE and (text_score < UNSURE_TEXT_SCORE or
                                     len(text.strip()) <= SHORT_TEXT)


def _rotated_rect(bounds, angle: float, min_side: float = 1.0):
    """``(x0, y0, x1, y1)`` of the line's own rectangle whose rotation has ``bounds``.

    The NumPy twin of :func:`keras_textnet.ops.rotated_boxes.bounds_to_rotated_box`
    for one line (tests check they agree): run per line on the page's outputs, the
    TensorFlow op cost ~0.2 s a page in eager op dispatch.
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    big_w, big_h = x1 - x0, y1 - y0
    w, h = big_w, big_h
    a = abs(float(angle))
    c2 = math.cos(2.0 * a)
    if a > 0.0 and c2 > 0.2:
        c, s = math.cos(a), math.sin(a)
        rw, rh = (big_w * c - big_h * s) / c2, (big_h * c - big_w * s) / c2
        if rw >= min_side and rh >= min_side:
            w, h = rw, rh
    cx, cy = (x0 + x1) * 0.5, (y0 + y1) * 0.5
    return (cx - w * 0.5, cy - h * 0.5, cx + w * 0.5, cy + h * 0.5)


__all__ = ["EAGER_PAGES", "TextNetPredictor", "decode_outputs", "drop_leader_words"]
