"""TFRecord shards of annotated images: a writer and a parser.

One ``tf.train.Example`` per image, holding the encoded image bytes as they
were (PNG or JPEG; nothing is re-encoded) and both the words and the lines::

    image/encoded   bytes    image/format  bytes ("png", "jpeg")
    image/file      bytes    image/doc     bytes ("" when none)
    image/width     int64    image/height  int64
    words/x0 words/y0 words/x1 words/y1   float   (pixels, x1/y1 exclusive)
    words/text      bytes (UTF-8, NFC)      words/ignore  int64 (0/1)
    words/angle     float (degrees, CCW)    words/line    int64 (-1: none)
    lines/x0 lines/y0 lines/x1 lines/y1   float
    lines/text      bytes                   lines/ignore  int64
    lines/angle     float

Lines are taken from the record, or built from words sharing a ``line`` id.

>>> ann = AnnotationSet.load("train.json")                           # doctest: +SKIP
>>> write_tfrecords(ann, "shards/train", num_shards=8)               # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from keras_textnet.data.annotation import AnnotationSet, ImageRecord

_FORMATS = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpeg"}


def _image_format(data: bytes, name: str) -> str:
    for magic, fmt in _FORMATS.items():
        if data.startswith(magic):
            return fmt
    raise ValueError(f"{name}: only PNG and JPEG images can go into TFRecords as they are; "
                     "convert it first")


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an ``(H, W, 3)`` RGB uint8 array."""
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]),
                           [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def record_to_example(record: ImageRecord, image_bytes: bytes):
    """A ``tf.train.Example`` of one record and its encoded image."""
    import tensorflow as tf

    def floats(v):
        return tf.train.Feature(float_list=tf.train.FloatList(value=list(v)))

    def ints(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=list(v)))

    def strings(v):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(v)))

    feature = {
        "image/encoded": strings([image_bytes]),
        "image/format": strings([_image_format(image_bytes, record.file).encode()]),
        "image/file": strings([record.file.encode("utf-8")]),
        "image/doc": strings([(record.doc or "").encode("utf-8")]),
        "image/width": ints([record.width]),
        "image/height": ints([record.height]),
    }
    lines = record.lines_or_grouped_words()
    for prefix, items in (("words", record.words), ("lines", lines)):
        boxes = np.asarray([it.box for it in items], np.float32).reshape(-1, 4)
        for i, key in enumerate(("x0", "y0", "x1", "y1")):
            feature[f"{prefix}/{key}"] = floats(boxes[:, i])
        feature[f"{prefix}/text"] = strings([it.text.encode("utf-8") for it in items])
        feature[f"{prefix}/ignore"] = ints([int(it.ignore) for it in items])
        feature[f"{prefix}/angle"] = floats([float(it.angle or 0.0) for it in items])
    feature["words/line"] = ints([-1 if w.line is None else w.line for w in record.words])
    return tf.train.Example(features=tf.train.Features(feature=feature))


def write_tfrecords(examples: AnnotationSet | Iterable[tuple[ImageRecord, bytes]],
                    prefix: str | os.PathLike, num_shards: int = 1,
                    progress: bool = True) -> list[str]:
    """Writes ``prefix-00000-of-0000N.tfrecord`` shards, round-robin.

    Args:
        examples: an :class:`AnnotationSet` (images are read from disk as they
            are) or an iterable of ``(record, encoded_image_bytes)``.
        prefix: path prefix of the shards; folders are created.
        num_shards: how many files (use at least as many as the readers you
            will shard over).

    Returns:
        The shard paths.
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    if num_shards < 1:
        raise ValueError(f"num_shards must be >= 1; received {num_shards}")
    if isinstance(examples, AnnotationSet):
        ann = examples
        examples = ((rec, ann.image_path(rec).read_bytes()) for rec in ann.images)
        total = len(ann)
    else:
        total = None
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = [f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord" for i in range(num_shards)]
    writers = [tf.io.TFRecordWriter(p) for p in paths]
    try:
        for i, (rec, data) in enumerate(tqdm(examples, total=total, desc="tfrecord",
                                             unit="image", disable=not progress)):
            writers[i % num_shards].write(record_to_example(rec, data).SerializeToString())
    finally:
        for w in writers:
            w.close()
    return paths


def parse_example(serialized, target: str = "lines"):
    """Parses one serialized example into the pipeline's raw-example dict.

    Returns a dict with ``image`` ``(H, W, 3)`` uint8, ``boxes`` ``(N, 4)``
    float32 ``(y0, x0, y1, x1)``, ``angles`` ``(N,)`` float32 radians
    (counter-clockwise), ``texts`` ``(N,)`` string, ``ignore`` ``(N,)`` bool
    and ``file`` string, for ``target`` ``"lines"`` or ``"words"``.
    """
    import tensorflow as tf

    from keras_textnet.image_io import decode_image_tensor

    if target not in ("lines", "words"):
        raise ValueError(f"target must be 'lines' or 'words' for TFRecords (they keep no word "
                         f"membership to cut segments from); received {target!r}")
    spec = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/file": tf.io.FixedLenFeature([], tf.string, default_value=""),
        **{f"{target}/{k}": tf.io.VarLenFeature(tf.float32)
           for k in ("x0", "y0", "x1", "y1", "angle")},
        f"{target}/text": tf.io.VarLenFeature(tf.string),
        f"{target}/ignore": tf.io.VarLenFeature(tf.int64),
    }
    f = tf.io.parse_single_example(serialized, spec)
    dense = {k: tf.sparse.to_dense(v) for k, v in f.items() if isinstance(v, tf.SparseTensor)}
    boxes = tf.stack([dense[f"{target}/y0"], dense[f"{target}/x0"],
                      dense[f"{target}/y1"], dense[f"{target}/x1"]], axis=-1)
    # The one decoder of keras_textnet.image_io, as inference and the annotation files use.
    image = decode_image_tensor(f["image/encoded"], name=f["image/file"])
    return {
        "image": image,
        "boxes": tf.reshape(boxes, [-1, 4]),
        "angles": dense[f"{target}/angle"] * (np.pi / 180.0),
        "texts": dense[f"{target}/text"],
        "ignore": dense[f"{target}/ignore"] > 0,
        "file": f["image/file"],
    }


def tfrecord_files(pattern_or_paths) -> list[str]:
    """Shard paths from a glob pattern, a folder, or a list of either."""
    import glob

    items = [pattern_or_paths] if isinstance(pattern_or_paths, (str, os.PathLike)) \
        else list(pattern_or_paths)
    files: list[str] = []
    for item in items:
        item = str(item)
        if os.path.isdir(item):
            files.extend(sorted(glob.glob(os.path.join(item, "*.tfrecord"))))
        elif any(c in item for c in "*?["):
            files.extend(sorted(glob.glob(item)))
        else:
            files.append(item)
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise FileNotFoundError(f"TFRecord file not found: {missing[0]}")
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {pattern_or_paths!r}")
    return files


__all__ = ["encode_png", "parse_example", "record_to_example", "tfrecord_files",
           "write_tfrecords"]
