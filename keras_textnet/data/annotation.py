"""Annotation records and the JSON annotation file of ``shared/FORMATS.md``.

Box convention: in these records, as in the JSON, a ``box`` is
``(x0, y0, x1, y1)`` in the pixels of the image as stored, ``x1``/``y1``
exclusive, axis-aligned and tight to the ink. Tensors inside the library use
``(y0, x0, y1, x1)`` instead (TensorFlow's order); :func:`boxes_xyxy_to_yxyx`
is the one place that converts.

>>> ann = AnnotationSet.load("train/labels.json")      # doctest: +SKIP
>>> ann.images[0].words[0].text                          # doctest: +SKIP
'Invoice'
>>> ann.save("copy.json")                                # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from keras_textnet.charset import Charset

_WORD_KEYS = ("box", "text", "ignore", "line", "quad", "angle")
_LINE_KEYS = ("box", "text", "angle", "quad", "ignore")
_IMAGE_KEYS = ("file", "width", "height", "words", "lines", "doc")


class AnnotationError(ValueError):
    """An annotation file, image or word is invalid.

    The message names the file, the image and the word (or line) and the field,
    and quotes the offending value. The same facts are kept as attributes.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None,
                 image: str | None = None, item: str | None = None,
                 field_name: str | None = None):
        where = []
        if path is not None:
            where.append(f"{path}")
        if image is not None:
            where.append(f"image {image!r}")
        if item is not None:
            where.append(item)
        if field_name is not None:
            where.append(f"field {field_name!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.path = None if path is None else str(path)
        self.image = image
        self.item = item
        self.field_name = field_name


def _plain_number(v: float) -> int | float:
    """An integral float becomes an int, so that JSON stays as written."""
    f = float(v)
    return int(f) if f.is_integer() else f


@dataclass
class Word:
    """One word: ``box`` is ``(x0, y0, x1, y1)``, image pixels, x1/y1 exclusive."""

    box: tuple[float, float, float, float]
    text: str
    ignore: bool = False
    line: int | None = None
    quad: list[list[float]] | None = None
    angle: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        d: dict[str, Any] = {"box": [_plain_number(v) for v in self.box], "text": self.text,
                             "ignore": bool(self.ignore)}
        if self.line is not None:
            d["line"] = int(self.line)
        if self.quad is not None:
            d["quad"] = [[_plain_number(x), _plain_number(y)] for x, y in self.quad]
        if self.angle is not None:
            d["angle"] = _plain_number(self.angle)
        d.update(self.extra)
        return d


@dataclass
class Line:
    """One text line: ``box`` is ``(x0, y0, x1, y1)``; ``angle`` degrees, CCW."""

    box: tuple[float, float, float, float]
    text: str
    angle: float = 0.0
    quad: list[list[float]] | None = None
    ignore: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        d: dict[str, Any] = {"box": [_plain_number(v) for v in self.box], "text": self.text,
                             "angle": _plain_number(self.angle)}
        if self.quad is not None:
            d["quad"] = [[_plain_number(x), _plain_number(y)] for x, y in self.quad]
        if self.ignore:
            d["ignore"] = True
        d.update(self.extra)
        return d


@dataclass
class ImageRecord:
    """One image and its ground truth. ``file`` is relative to the annotation file."""

    file: str
    width: int
    height: int
    words: list[Word] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    doc: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        d: dict[str, Any] = {"file": self.file, "width": int(self.width),
                             "height": int(self.height),
                             "words": [w.to_json() for w in self.words]}
        if self.lines:
            d["lines"] = [ln.to_json() for ln in self.lines]
        if self.doc is not None:
            d["doc"] = self.doc
        d.update(self.extra)
        return d

    def word_boxes(self) -> np.ndarray:
        """``(num_words, 4)`` float32 array of ``(x0, y0, x1, y1)``."""
        return np.asarray([w.box for w in self.words], np.float32).reshape(-1, 4)

    def lines_or_grouped_words(self) -> list[Line]:
        """The image's lines, or lines built from words sharing a ``line`` id.

        A built line's box is the union of its words' boxes, its text the words
        joined by single spaces in left-to-right order; it is ``ignore`` if any
        of its words is. Words without a ``line`` id form no line.
        """
        if self.lines:
            return list(self.lines)
        groups: dict[int, list[Word]] = {}
        for w in self.words:
            if w.line is not None:
                groups.setdefault(w.line, []).append(w)
        lines = []
        for _, ws in sorted(groups.items()):
            ws = sorted(ws, key=lambda w: w.box[0])
            b = np.asarray([w.box for w in ws], np.float64)
            box = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
            lines.append(Line(box=tuple(_plain_number(v) for v in box),
                              text=" ".join(w.text for w in ws),
                              ignore=any(w.ignore for w in ws)))
        return lines


def boxes_xyxy_to_yxyx(boxes) -> np.ndarray:
    """``(..., 4)`` ``(x0, y0, x1, y1)`` -> ``(y0, x0, y1, x1)`` (and back: it is an involution)."""
    b = np.asarray(boxes)
    return b[..., [1, 0, 3, 2]]


# ---------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------

def _is_number(v) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer too large for a float (hundreds of digits)
        return False


class _Parser:
    """Turns decoded JSON into records, raising :class:`AnnotationError`."""

    def __init__(self, path, root: Path | None, check_images: bool):
        self.path = path
        self.root = root
        self.check_images = check_images

    def fail(self, message, image=None, item=None, field_name=None):
        raise AnnotationError(message, self.path, image, item, field_name)

    def box(self, value, image, item, width, height, key="box"):
        """Four finite numbers, ``x1 > x0``, ``y1 > y0``, inside ``width`` x ``height``
        (``width=None``: a size not known, not checked; prediction files need not state it)."""
        if isinstance(value, (list, tuple)) and any(
                isinstance(v, int) and not isinstance(v, bool) and not _is_number(v)
                for v in value):
            digits = max(len(str(abs(v))) for v in value if isinstance(v, int))
            self.fail(f"holds a number too large to use (a {digits}-digit integer)", image,
                      item, key)
        if (not isinstance(value, (list, tuple)) or len(value) != 4
                or not all(_is_number(v) for v in value)):
            self.fail(f"must be a list of 4 finite numbers [x0, y0, x1, y1]; received {value!r}",
                      image, item, key)
        x0, y0, x1, y1 = value
        if x1 <= x0 or y1 <= y0:
            self.fail(f"is degenerate (needs x1 > x0 and y1 > y0); received {list(value)!r}",
                      image, item, key)
        if width is not None and (x0 < 0 or y0 < 0 or x1 > width or y1 > height):
            self.fail(f"{list(value)!r} lies outside the {width}x{height} image", image, item, key)
        return tuple(_plain_number(v) for v in value)

    def quad(self, value, image, item):
        ok = (isinstance(value, (list, tuple)) and len(value) == 4
              and all(isinstance(p, (list, tuple)) and len(p) == 2
                      and all(_is_number(c) for c in p) for p in value))
        if not ok:
            self.fail(f"must be four [x, y] corners; received {value!r}", image, item, "quad")
        return [[_plain_number(x), _plain_number(y)] for x, y in value]

    def text(self, value, image, item):
        if not isinstance(value, str):
            self.fail(f"must be a string; received {type(value).__name__} {value!r}",
                      image, item, "text")
        return value

    def word(self, d, image, index, width, height) -> Word:
        item = f"word {index}"
        if not isinstance(d, dict):
            self.fail(f"must be an object; received {d!r}", image, item)
        if "box" not in d:
            self.fail("is missing", image, item, "box")
        if "text" not in d:
            self.fail("is missing", image, item, "text")
        ignore = d.get("ignore", False)
        if not isinstance(ignore, bool):
            self.fail(f"must be true or false; received {ignore!r}", image, item, "ignore")
        line = d.get("line")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
            self.fail(f"must be an integer; received {line!r}", image, item, "line")
        angle = d.get("angle")
        if angle is not None and not _is_number(angle):
            self.fail(f"must be a number (degrees); received {angle!r}", image, item, "angle")
        return Word(box=self.box(d["box"], image, item, width, height),
                    text=self.text(d["text"], image, item), ignore=ignore, line=line,
                    quad=None if d.get("quad") is None else self.quad(d["quad"], image, item),
                    angle=None if angle is None else _plain_number(angle),
                    extra={k: v for k, v in d.items() if k not in _WORD_KEYS})

    def line(self, d, image, index, width, height) -> Line:
        item = f"line {index}"
        if not isinstance(d, dict):
            self.fail(f"must be an object; received {d!r}", image, item)
        for key in ("box", "text"):
            if key not in d:
                self.fail("is missing", image, item, key)
        angle = d.get("angle", 0.0)
        if not _is_number(angle):
            self.fail(f"must be a number (degrees); received {angle!r}", image, item, "angle")
        ignore = d.get("ignore", False)
        if not isinstance(ignore, bool):
            self.fail(f"must be true or false; received {ignore!r}", image, item, "ignore")
        return Line(box=self.box(d["box"], image, item, width, height),
                    text=self.text(d["text"], image, item), angle=_plain_number(angle),
                    quad=None if d.get("quad") is None else self.quad(d["quad"], image, item),
                    ignore=ignore,
                    extra={k: v for k, v in d.items() if k not in _LINE_KEYS})

    def image_size(self, name: str) -> tuple[int, int]:
        """(width, height) of the image as decoded for training and inference: upright by EXIF."""
        from PIL import Image, UnidentifiedImageError

        from keras_textnet.image_io import image_size

        full = self.root / name
        if not full.exists():
            self.fail(f"image file not found at {str(full)!r}", name, field_name="file")
        if not full.is_file():  # a folder; a FIFO would block the read forever
            self.fail(f"image file {str(full)!r} is not a regular file", name,
                      field_name="file")
        try:
            with Image.open(full) as im:
                im.verify()
            return image_size(full)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                Image.DecompressionBombError) as e:
            self.fail(f"image file {str(full)!r} cannot be read as an image ({e})", name,
                      field_name="file")
        except Exception as e:  # struct.error, MemoryError, ...: any decoder failure
            self.fail(f"image file {str(full)!r} cannot be read as an image "
                      f"({type(e).__name__}: {e})", name, field_name="file")

    def file_name(self, d, index) -> str:
        """The ``file`` of entry ``images[index]``, checking that the entry is an object."""
        if not isinstance(d, Mapping):
            self.fail(f"images[{index}] must be an object; received {d!r}")
        name = d.get("file")
        if not isinstance(name, str) or not name:
            self.fail(f"images[{index}] needs a non-empty string 'file'; received {name!r}",
                      field_name="file")
        return name

    def image(self, d, index) -> ImageRecord:
        name = self.file_name(d, index)
        width, height = d.get("width"), d.get("height")
        for key, v in (("width", width), ("height", height)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v <= 0):
                self.fail(f"must be a positive integer; received {v!r}", name, field_name=key)
        if self.check_images:
            actual = self.image_size(name)
            if width is not None and height is not None and (width, height) != actual:
                turned = (" (its EXIF orientation turns it upright; boxes are on the upright "
                          "image)" if (height, width) == actual else "")
                self.fail(f"says {width}x{height} but the image file is "
                          f"{actual[0]}x{actual[1]}{turned}", name, field_name="width")
            width, height = actual
        elif width is None or height is None:
            self.fail("width and height are required when images are not checked", name,
                      field_name="width" if width is None else "height")
        words = d.get("words")
        if not isinstance(words, list):
            self.fail(f"must be a list; received {words!r}", name, field_name="words")
        lines = d.get("lines", [])
        if not isinstance(lines, list):
            self.fail(f"must be a list; received {lines!r}", name, field_name="lines")
        doc = d.get("doc")
        if doc is not None and not isinstance(doc, str):
            self.fail(f"must be a string; received {doc!r}", name, field_name="doc")
        return ImageRecord(
            file=name, width=width, height=height,
            words=[self.word(w, name, i, width, height) for i, w in enumerate(words)],
            lines=[self.line(ln, name, i, width, height) for i, ln in enumerate(lines)],
            doc=doc, extra={k: v for k, v in d.items() if k not in _IMAGE_KEYS})


#: Deepest nesting of brackets an annotation or prediction file may have: the
#: formats need 5 levels. Deeper is refused as damaged or hostile, the same way on
#: every Python (3.11 runs out of recursion near 1,000 levels; 3.13 parses far deeper).
MAX_JSON_DEPTH = 100


def parse_json(text: str, source) -> Any:
    """``json.loads(text)``, every failure an :class:`AnnotationError` naming ``source``."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise AnnotationError(f"is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}",
                              source) from None
    except RecursionError:
        doc = None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise AnnotationError("holds an integer with more than 4300 digits", source) from None
    if doc is None and text.strip() != "null" or _depth_exceeds(doc, MAX_JSON_DEPTH):
        raise AnnotationError("is nested too deeply to read (brackets thousands deep)",
                              source) from None
    return doc


def _depth_exceeds(doc, limit: int) -> bool:
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in
                         (node.values() if isinstance(node, dict) else node))
    return False


@dataclass
class AnnotationSet:
    """The records of one annotation file.

    Attributes:
        images: the :class:`ImageRecord` list.
        root: the folder image paths are relative to (the file's folder).
        extra: top-level keys other than ``images``, kept for round trips.
    """

    images: list[ImageRecord] = field(default_factory=list)
    root: Path = field(default_factory=Path)
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self):
        return iter(self.images)

    def image_path(self, record: ImageRecord) -> Path:
        return Path(self.root) / record.file

    # -- reading ------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike, check_images: bool = True,
             charset: Charset | None = None) -> "AnnotationSet":
        """Reads and validates an annotation file.

        Args:
            path: the JSON file.
            check_images: open every image to check that it exists, is readable
                and has the stated size (the size is filled in when absent).
            charset: when given, words and lines with characters outside it
                become ``ignore`` (see :meth:`apply_charset`).

        Raises:
            AnnotationError: naming the file, the image, the word or line, the
                field and the value at fault.
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise AnnotationError(f"cannot read the annotation file ({e.strerror})", path) from None
        return cls.from_bytes(raw, root=path.parent, source=path, check_images=check_images,
                              charset=charset)

    @classmethod
    def from_bytes(cls, raw: bytes, root: str | os.PathLike = ".", source=None,
                   check_images: bool = True, charset: Charset | None = None) -> "AnnotationSet":
        source = source if source is not None else "<annotations>"
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw[:e.start].count(b"\n") + 1
            raise AnnotationError(
                f"is not valid UTF-8: byte 0x{raw[e.start]:02x} at offset {e.start} "
                f"(line {line})", source) from None
        doc = parse_json(text, source)
        return cls.from_json(doc, root=root, source=source, check_images=check_images,
                             charset=charset)

    @classmethod
    def from_json(cls, doc, root: str | os.PathLike = ".", source=None,
                  check_images: bool = True, charset: Charset | None = None) -> "AnnotationSet":
        source = source if source is not None else "<annotations>"
        parser = _Parser(source, Path(root), check_images)
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
            raise AnnotationError("the top level must be an object with an 'images' list",
                                  source, field_name="images")
        images = [parser.image(d, i) for i, d in enumerate(doc["images"])]
        seen: set[str] = set()
        for rec in images:
            if rec.file in seen:
                raise AnnotationError("appears twice in the file", source, rec.file,
                                      field_name="file")
            seen.add(rec.file)
        out = cls(images=images, root=Path(root),
                  extra={k: v for k, v in doc.items() if k != "images"})
        if charset is not None:
            out.apply_charset(charset, source=source)
        return out

    # -- writing ------------------------------------------------------------
    def to_json(self) -> dict:
        d = {"images": [rec.to_json() for rec in self.images]}
        d.update(self.extra)
        return d

    def save(self, path: str | os.PathLike, indent: int | None = 1) -> None:
        """Writes the file whole or not at all (:mod:`keras_textnet.atomic_files`), UTF-8."""
        from keras_textnet.atomic_files import write_atomic

        write_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, indent=indent) + "\n")

    # -- charset --------------------------------------------------------------
    def apply_charset(self, charset: Charset, source=None, warn: bool = True) -> int:
        """Marks words and lines with characters outside ``charset`` as ignore.

        Texts are NFC-normalized in place. Returns how many words were newly
        ignored; warns once with that count (and a sample of the characters).
        """
        count, unknown = 0, set()
        for rec in self.images:
            for item in (*rec.words, *rec.lines):
                item.text = charset.normalize(item.text)
                missing = charset.unknown_characters(item.text)
                if missing and not item.ignore:
                    item.ignore = True
                    unknown.update(missing)
                    count += isinstance(item, Word)
        if warn and (count or unknown):
            sample = "".join(sorted(unknown))[:40]
            warnings.warn(f"{source or 'annotations'}: {count} word(s) have characters outside "
                          f"the charset ({sample!r}) and are now marked ignore.", stacklevel=2)
        return count

    def copy(self) -> "AnnotationSet":
        return copy.deepcopy(self)

    def merged_with(self, other: "AnnotationSet") -> "AnnotationSet":
        """A set holding both, with ``other``'s files re-rooted onto this root."""
        out = self.copy()
        for rec in other.images:
            rec = copy.deepcopy(rec)
            rec.file = os.path.relpath(Path(other.root) / rec.file, Path(self.root))
            out.images.append(rec)
        return out
