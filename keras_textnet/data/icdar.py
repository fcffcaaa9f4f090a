"""Readers for ICDAR Robust Reading ground-truth files.

Both produce the records of :mod:`keras_textnet.data.annotation` (boxes
``(x0, y0, x1, y1)``, image pixels, ``x1``/``y1`` exclusive).

* **ICDAR 2013** (Challenge 2, focused scene text; also Challenge 1, born
  digital): one ``gt_<image stem>.txt`` per image, one word per line as
  ``left, top, right, bottom, "text"`` (the test set) or
  ``left top right bottom "text"`` (the training set). ``right``/``bottom`` are
  the last pixel *inside* the word, so they become ``x1 = right + 1``.
  Inside the quotes, ``\\"`` is a quote and ``\\\\`` a backslash.
* **ICDAR 2015** (Challenge 4, incidental scene text): one
  ``gt_<image stem>.txt`` per image, UTF-8 with or without BOM, one word per
  line as ``x1,y1,x2,y2,x3,y3,x4,y4,text`` (corners clockwise from top-left;
  the text may itself hold commas); ``###`` marks an unreadable word, read as
  ``ignore``. The record keeps the corners as ``quad``, the angle of the top
  edge as ``angle`` (degrees, counter-clockwise) and, as ``box``, the quad's
  bounds clipped to the image.

>>> ann = read_icdar2015("ch4_test_gt", "ch4_test_images")   # doctest: +SKIP
>>> ann.save("icdar15_test.json")                            # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

from keras_textnet.data.annotation import AnnotationError, AnnotationSet, ImageRecord, Word

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ".gif", ".bmp", ".tif", ".tiff")

_NUM = r"(-?\d+(?:\.\d+)?)"
_SEP = r"(?:\s*,\s*|\s+)"
_ICDAR13_LINE = re.compile(r"^\s*" + _SEP.join([_NUM] * 4) + _SEP + r'"((?:[^"\\]|\\.)*)"\s*$')


def _read_text(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise AnnotationError(f"is not valid UTF-8: byte 0x{raw[e.start]:02x} at offset "
                              f"{e.start} (line {line})", path) from None
    return text.splitlines()


def _image_for(gt_file: Path, image_dir: Path) -> Path:
    stem = gt_file.stem
    stem = stem[3:] if stem.startswith("gt_") else stem
    for suffix in IMAGE_SUFFIXES:
        candidate = image_dir / (stem + suffix)
        if candidate.exists():
            return candidate
    raise AnnotationError(f"no image named {stem}.* (jpg/png/...) in {str(image_dir)!r}",
                          gt_file, stem, field_name="file")


def _image_size(path: Path, gt_file: Path) -> tuple[int, int]:
    """(width, height) as the image is decoded for training: upright by EXIF."""
    from keras_textnet.image_io import ImageReadError, image_size
    try:
        return image_size(path)
    except (ImageReadError, OSError) as e:
        raise AnnotationError(f"image file {str(path)!r} cannot be read as an image ({e})",
                              gt_file, path.name, field_name="file") from None


def _gt_files(gt_dir: str | os.PathLike) -> list[Path]:
    gt_dir = Path(gt_dir)
    if not gt_dir.is_dir():
        raise AnnotationError(f"ground-truth folder {str(gt_dir)!r} does not exist")
    files = sorted(gt_dir.glob("*.txt"), key=lambda p: _natural_key(p.name))
    if not files:
        raise AnnotationError(f"no .txt ground-truth files in {str(gt_dir)!r}")
    return files


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _clip_box(box, width, height):
    x0, y0, x1, y1 = box
    x0, y0 = max(0, min(x0, width)), max(0, min(y0, height))
    x1, y1 = max(0, min(x1, width)), max(0, min(y1, height))
    return (x0, y0, x1, y1)


def _plain(v: float) -> int | float:
    return int(v) if float(v).is_integer() else v


def parse_icdar2013_line(line: str, gt_file="<icdar2013>", line_number: int = 0):
    """``(left, top, right, bottom, text)`` of one ICDAR 2013 ground-truth line."""
    m = _ICDAR13_LINE.match(line)
    if m is None:
        raise AnnotationError(f'line {line_number}: expected left, top, right, bottom, "text"; '
                              f"received {line!r}", gt_file)
    left, top, right, bottom = (float(m.group(i)) for i in range(1, 5))
    text = re.sub(r"\\(.)", r"\1", m.group(5))
    return left, top, right, bottom, text


def _read_folder(gt_dir, image_dir, parse_word) -> AnnotationSet:
    """Walks ``gt_*.txt`` files; ``parse_word(line, gt_file, n, width, height)``
    returns a :class:`Word`, or ``None`` for a word left empty by clipping."""
    image_dir = Path(image_dir)
    records, dropped = [], 0
    for gt_file in _gt_files(gt_dir):
        image = _image_for(gt_file, image_dir)
        width, height = _image_size(image, gt_file)
        words = []
        for n, line in enumerate(_read_text(gt_file), start=1):
            if not line.strip():
                continue
            word = parse_word(line, gt_file, n, width, height)
            if word is None:
                dropped += 1
            else:
                words.append(word)
        records.append(ImageRecord(file=image.name, width=width, height=height, words=words))
    if dropped:
        warnings.warn(f"{gt_dir}: {dropped} word(s) lie entirely outside their image or are "
                      "degenerate, and were dropped.", stacklevel=3)
    return AnnotationSet(images=records, root=image_dir)


def read_icdar2013(gt_dir: str | os.PathLike, image_dir: str | os.PathLike) -> AnnotationSet:
    """Reads an ICDAR 2013 ground-truth folder into an :class:`AnnotationSet`.

    The set's ``root`` is ``image_dir``. Words whose box leaves the image are
    clipped to it; words left empty by that are dropped with a warning.
    """
    def word(line, gt_file, n, width, height):
        left, top, right, bottom, text = parse_icdar2013_line(line, gt_file, n)
        box = _clip_box((left, top, right + 1, bottom + 1), width, height)
        if box[2] <= box[0] or box[3] <= box[1]:
            return None
        return Word(box=tuple(int(round(v)) for v in box), text=text, ignore=text == "###")

    return _read_folder(gt_dir, image_dir, word)


def parse_icdar2015_line(line: str, gt_file="<icdar2015>", line_number: int = 0):
    """``(quad, text)`` of one ICDAR 2015 ground-truth line; quad is 4 ``[x, y]``."""
    parts = line.split(",", 8)
    if len(parts) != 9:
        raise AnnotationError(f"line {line_number}: expected x1,y1,...,x4,y4,text; "
                              f"received {line!r}", gt_file)
    try:
        coords = [float(p) for p in parts[:8]]
    except ValueError:
        raise AnnotationError(f"line {line_number}: coordinates must be numbers; "
                              f"received {line!r}", gt_file) from None
    quad = [[coords[i], coords[i + 1]] for i in range(0, 8, 2)]
    return quad, parts[8]


def quad_angle_degrees(quad) -> float:
    """Counter-clockwise angle (degrees) of a quad's top edge, from corner 0 to 1."""
    (xa, ya), (xb, yb) = quad[0], quad[1]
    return math.degrees(math.atan2(-(yb - ya), xb - xa))


def read_icdar2015(gt_dir: str | os.PathLike, image_dir: str | os.PathLike) -> AnnotationSet:
    """Reads an ICDAR 2015 ground-truth folder into an :class:`AnnotationSet`.

    ``###`` words are ``ignore``. The set's ``root`` is ``image_dir``.
    """
    def word(line, gt_file, n, width, height):
        quad, text = parse_icdar2015_line(line, gt_file, n)
        xs, ys = [p[0] for p in quad], [p[1] for p in quad]
        box = _clip_box((math.floor(min(xs)), math.floor(min(ys)),
                         math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1), width, height)
        if box[2] <= box[0] or box[3] <= box[1]:
            return None
        return Word(box=tuple(int(v) for v in box), text=text, ignore=text == "###",
                    quad=[[_plain(x), _plain(y)] for x, y in quad],
                    angle=round(quad_angle_degrees(quad), 3))

    return _read_folder(gt_dir, image_dir, word)
