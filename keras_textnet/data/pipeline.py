"""The tf.data input pipeline for training and evaluation.

Sources (any of them, or a weighted mix):

* an annotation file (or :class:`~keras_textnet.data.annotation.AnnotationSet`),
* TFRecord shards written by :func:`~keras_textnet.data.tfrecord.write_tfrecords`,
* the synthetic document generator, rendering pages on the fly in worker
  processes.

Each becomes a stream of *raw examples* (one image, its boxes and texts), which
:func:`make_dataset` turns into fixed-size training batches::

    images:  (B, H, W, 3) uint8
    targets: {
        "boxes":        (B, max_boxes, 4) float32 (y0, x0, y1, x1), pixels of `images`
        "angles":       (B, max_boxes) float32, radians, counter-clockwise
        "texts":        (B, max_boxes, max_text_length) int32 charset ids, padded with 0
        "text_lengths": (B, max_boxes) int32
        "ignore":       (B, max_boxes) bool: neither reward nor punish this region
        "num_boxes":    (B,) int32: rows >= num_boxes are padding
    }

With ``include_meta=True`` the targets also carry ``file`` (string),
``scale`` ((B, 2) float32, source pixels -> image pixels, (sy, sx)) and
``source_size`` ((B, 2) int32, (height, width)), so predictions can be mapped
back to the source image.

Training mode: random scale jitter, a crop that cuts as few readable boxes as
it can (cut ones become ``ignore``), photometric augmentation. Evaluation mode:
letterbox into ``image_size``. All randomness is stateless and keyed on
``(seed, position in the stream)``: with ``deterministic=True`` two runs give
identical batches.

>>> ds = make_dataset("train.json", image_size=(512, 512), batch_size=4)   # doctest: +SKIP
>>> images, targets = next(iter(ds))                                      # doctest: +SKIP
"""

from __future__ import annotations

import collections
import math
import os
import warnings

import numpy as np
import tensorflow as tf

from keras_textnet.charset import Charset
from keras_textnet.data import transforms
from keras_textnet.data.annotation import AnnotationSet, ImageRecord, Line
from keras_textnet.data.tfrecord import parse_example, tfrecord_files
from keras_textnet.data.worker_pool import spawn_pool

#: The default training input size, (height, width).
DEFAULT_TRAINING_SIZE = (512, 512)

RAW_SIGNATURE = {
    "image": tf.TensorSpec([None, None, 3], tf.uint8),
    "boxes": tf.TensorSpec([None, 4], tf.float32),
    "angles": tf.TensorSpec([None], tf.float32),
    "texts": tf.TensorSpec([None], tf.string),
    "ignore": tf.TensorSpec([None], tf.bool),
    "file": tf.TensorSpec([], tf.string),
}


# ---------------------------------------------------------------------------
# Raw examples from each source
# ---------------------------------------------------------------------------

#: the default widest segment (pixels of the page as given) of ``target="segments"``.
SEGMENT_WIDTH = 448


def parse_target(target: str) -> tuple[str, int | None]:
    """``(kind, segment_width)`` of a target name.

    ``"lines"``, ``"words"``, or ``"segments"`` / ``"segments:W"``: lines
    split at word gaps into pieces at most ``W`` pixels wide (default
    :data:`SEGMENT_WIDTH`).
    """
    if isinstance(target, str) and target in ("lines", "words"):
        return target, None
    if isinstance(target, str) and target.split(":")[0] == "segments":
        if target == "segments":
            return "segments", SEGMENT_WIDTH
        width = target.partition(":")[2]
        if width.isdigit() and int(width) >= 8:
            return "segments", int(width)
    raise ValueError("target must be 'lines', 'words', 'segments' or 'segments:W' (W >= 8 "
                     f"pixels); received {target!r}")


def line_segments(record: ImageRecord, max_width: float) -> list[Line]:
    """The record's lines, each wider than ``max_width`` split at word gaps.

    A line is cut into runs of whole words, each run as wide as fits in
    ``max_width`` (a single wider word stays alone). Pieces keep the line's
    vertical extent and angle; their text is their words joined by spaces. A
    line is kept whole when it is rotated or given as a quad, or when its
    words (by their ``line`` ids) do not spell its text.
    """
    lines = record.lines_or_grouped_words()
    members: dict[int, list] = {}
    if record.lines:
        for w in record.words:
            if w.line is not None:
                members.setdefault(w.line, []).append(w)
    else:                               # lines grouped from words, in sorted line-id order
        ids = sorted({w.line for w in record.words if w.line is not None})
        for k, line_id in enumerate(ids):
            members[k] = [w for w in record.words if w.line == line_id]
    out = []
    for k, line in enumerate(lines):
        x0, y0, x1, y1 = line.box
        words = sorted(members.get(k, []), key=lambda w: w.box[0])
        if (x1 - x0 <= max_width or len(words) < 2 or line.quad is not None
                or abs(line.angle or 0.0) > 0.5
                or " ".join(w.text for w in words) != " ".join(line.text.split())):
            out.append(line)
            continue
        run = [words[0]]
        for w in words[1:] + [None]:
            if w is not None and max(w.box[2], run[-1].box[2]) - run[0].box[0] <= max_width:
                run.append(w)
                continue
            left = x0 if run[0] is words[0] else run[0].box[0]
            right = x1 if run[-1] is words[-1] else run[-1].box[2]
            out.append(Line(box=(left, y0, right, y1), text=" ".join(r.text for r in run),
                            angle=line.angle,
                            ignore=bool((line.ignore and bool(record.lines))
                                        or any(r.ignore for r in run))))
            run = [w]
    return out


def record_targets(record: ImageRecord, target: str):
    """``(boxes_yxyx, angles_rad, texts, ignore)`` numpy arrays of a record.

    ``target="lines"`` uses the record's lines, or lines grouped from word
    ``line`` ids; a record with words but neither falls back to its words.
    ``"segments"`` (``"segments:W"``) splits lines wider than ``W`` pixels at
    word gaps (:func:`line_segments`): a detector's receptive field and a
    training crop both hold a segment whole where a long line would not be.
    """
    kind, width = parse_target(target)
    items = record.words
    if kind in ("lines", "segments"):
        lines = record.lines_or_grouped_words()
        if lines or not record.words:
            items = lines if kind == "lines" else line_segments(record, width)
    boxes = np.asarray([it.box for it in items], np.float32).reshape(-1, 4)[:, [1, 0, 3, 2]]
    angles = np.asarray([math.radians(it.angle or 0.0) for it in items], np.float32)
    texts = np.asarray([it.text.encode("utf-8") for it in items], dtype=object)
    ignore = np.asarray([bool(it.ignore) for it in items], bool)
    return boxes, angles, texts, ignore


def _decode_image_file(path):
    """The image at ``path`` (a string tensor), decoded as inference decodes it.

    ``keras_textnet.image_io.decode_image`` through ``decode_image_tensor``:
    EXIF orientation, alpha over white, 16 bits scaled, CMYK, palettes.
    """
    from keras_textnet.image_io import decode_image_tensor

    return decode_image_tensor(tf.io.read_file(path), name=path)


def annotation_table(annotations: AnnotationSet | str | os.PathLike, target: str = "lines",
                     charset: Charset | None = None):
    """The targets of every image of an annotation set, in file order.

    Returns ``(table, load)``: a dataset of ``{path, boxes, angles, texts,
    ignore}`` (no pixels yet, so it is cheap to shard and shuffle) and the
    function that maps a table row to a raw example by decoding its image.
    """
    if not isinstance(annotations, AnnotationSet):
        annotations = AnnotationSet.load(annotations, check_images=False, charset=charset)
    if not annotations.images:
        raise ValueError("the annotation set has no images")
    fallback = 0
    paths, boxes, angles, texts, ignore = [], [], [], [], []
    for rec in annotations.images:
        if target != "words" and rec.words and not rec.lines_or_grouped_words():
            fallback += 1
        b, a, t, g = record_targets(rec, target)
        paths.append(str(annotations.image_path(rec)))
        boxes.append(b)
        angles.append(a)
        texts.append(t)
        ignore.append(g)
    if fallback:
        warnings.warn(f"{fallback} image(s) have no lines and no word line ids: their words "
                      "are used as training targets instead.", stacklevel=2)

    def ragged(parts, dtype, inner=None):
        lengths = [len(p) for p in parts]
        flat = np.concatenate(parts) if parts else np.zeros((0,) + (inner or ()))
        return tf.RaggedTensor.from_row_lengths(tf.constant(flat, dtype=dtype), lengths)

    table = {
        "path": tf.constant(paths),
        "boxes": ragged(boxes, tf.float32, (4,)),
        "angles": ragged(angles, tf.float32),
        "texts": ragged([t.astype(bytes) if len(t) else np.zeros((0,), bytes) for t in texts],
                        tf.string),
        "ignore": ragged(ignore, tf.bool),
    }
    ds = tf.data.Dataset.from_tensor_slices(table)

    def load(item):
        return {"image": _decode_image_file(item["path"]),
                "boxes": item["boxes"], "angles": item["angles"], "texts": item["texts"],
                "ignore": item["ignore"],
                "file": tf.strings.split(item["path"], os.sep)[-1]}

    # Decoding happens after sharding/shuffling (see make_dataset): here it is lazy.
    return ds, load




def _synthetic_worker_init(config):
    global _WORKER_GENERATOR
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    _WORKER_GENERATOR = SyntheticDocumentGenerator.from_config(config)


def _synthetic_worker_page(args):
    seed, target = args
    page = _WORKER_GENERATOR.generate(int(seed))
    return _page_to_raw(page, target)


def _page_to_raw(page, target):
    boxes, angles, texts, ignore = record_targets(page.record, target)
    return page.image, boxes, angles, texts, ignore, page.record.file.encode("utf-8")


class SyntheticSource:
    """An endless (or counted) stream of synthetic pages for tf.data.

    Pages ``seed_offset + k * num_shards + shard_index`` for ``k = 0, 1, ...``
    are rendered by ``workers`` processes (spawned, so they never inherit
    TensorFlow's threads), in order, so the stream is deterministic.

    Args:
        generator: a ``SyntheticDocumentGenerator`` (its config is sent to the
            workers).
        count: pages per shard, ``None`` for endless.
        workers: processes; 0 renders in the tf.data thread itself.
    """

    def __init__(self, generator, seed_offset: int = 0, count: int | None = None,
                 workers: int | None = None):
        self.generator = generator
        self.seed_offset = int(seed_offset)
        self.count = count
        self.workers = (max(1, (os.cpu_count() or 2) - 1) if workers is None else int(workers))

    def seeds(self, shard_index=0, num_shards=1):
        k = 0
        while self.count is None or k < self.count:
            yield self.seed_offset + k * num_shards + shard_index
            k += 1

    def iterate(self, target, shard_index=0, num_shards=1):
        args = ((s, target) for s in self.seeds(shard_index, num_shards))
        if self.workers == 0:
            for seed, _ in args:
                yield _page_to_raw(self.generator.generate(seed), target)
            return
        # At most `ahead` pages in flight: Pool.imap would queue the endless
        # seed stream at once and keep every rendered page until it is read,
        # so a pipeline faster than training grows without bound.
        ahead = 2 * self.workers
        with spawn_pool(self.workers, _synthetic_worker_init,
                        (self.generator.get_config(),)) as pool:
            pending = collections.deque()
            for job in args:
                pending.append(pool.apply_async(_synthetic_worker_page, (job,)))
                if len(pending) >= ahead:
                    yield pending.popleft().get()
            while pending:
                yield pending.popleft().get()

    def dataset(self, target="lines", shard_index=0, num_shards=1) -> tf.data.Dataset:
        def gen():
            for image, boxes, angles, texts, ignore, name in self.iterate(
                    target, shard_index, num_shards):
                yield {"image": image, "boxes": boxes, "angles": angles,
                       "texts": texts.astype(bytes) if len(texts) else np.zeros((0,), bytes),
                       "ignore": ignore, "file": name}
        return tf.data.Dataset.from_generator(gen, output_signature=RAW_SIGNATURE)


# ---------------------------------------------------------------------------
# From raw example to training example
# ---------------------------------------------------------------------------

class TextEncoder:
    """Encodes UTF-8 strings into padded charset ids inside the graph.

    ``__call__(texts (N,) string, max_length)`` returns ``(ids (N, max_length)
    int32, lengths (N,) int32, unusable (N,) bool)``: ``unusable`` flags empty
    texts, texts with characters outside the charset and texts longer than
    ``max_length`` (truncated), which the pipeline turns into ``ignore``.
    """

    def __init__(self, charset: Charset):
        self.charset = charset
        keys = tf.constant([ord(c) for c in charset.characters], tf.int32)
        values = tf.range(1, len(charset) + 1, dtype=tf.int32)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value=-1)

    def __call__(self, texts, max_length: int):
        codepoints = tf.strings.unicode_decode(texts, "UTF-8", errors="replace")
        ids = tf.ragged.map_flat_values(self.table.lookup, codepoints)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        unknown = tf.reduce_any(ids < 0, axis=1)
        too_long = lengths > max_length
        dense = ids.to_tensor(default_value=0, shape=[None, max_length])
        dense = tf.maximum(dense, 0)
        unusable = unknown | too_long | (lengths == 0)
        return dense, tf.minimum(lengths, max_length), unusable


def _pad_rows(t, rows, value=0):
    pad = [[0, rows - tf.shape(t)[0]]] + [[0, 0]] * (len(t.shape) - 1)
    return tf.pad(t, pad, constant_values=value)


def finalize_targets(boxes, angles, texts, ignore, encoder: TextEncoder,
                     max_boxes: int, max_text_length: int):
    """Encodes texts and pads every per-box tensor to ``max_boxes`` rows.

    Readable boxes come first; beyond ``max_boxes`` the rest are dropped
    (ignored ones first).
    """
    ids, lengths, unusable = encoder(texts, max_text_length)
    ignore = ignore | unusable
    order = tf.argsort(tf.cast(ignore, tf.int32), stable=True)[:max_boxes]
    n = tf.shape(order)[0]
    targets = {
        "boxes": _pad_rows(tf.gather(boxes, order), max_boxes),
        "angles": _pad_rows(tf.gather(angles, order), max_boxes),
        "texts": _pad_rows(tf.gather(ids, order), max_boxes),
        "text_lengths": _pad_rows(tf.gather(lengths, order), max_boxes),
        "ignore": _pad_rows(tf.gather(ignore, order), max_boxes, False),
        "num_boxes": n,
    }
    targets["boxes"] = tf.ensure_shape(targets["boxes"], [max_boxes, 4])
    targets["angles"] = tf.ensure_shape(targets["angles"], [max_boxes])
    targets["texts"] = tf.ensure_shape(targets["texts"], [max_boxes, max_text_length])
    targets["text_lengths"] = tf.ensure_shape(targets["text_lengths"], [max_boxes])
    targets["ignore"] = tf.ensure_shape(targets["ignore"], [max_boxes])
    return targets


def make_example_fn(*, training: bool, image_size, charset: Charset, max_boxes: int,
                    max_text_length: int, scale_range=(0.75, 1.25), base_scale: float = 1.0,
                    augment_strength: float = 1.0, pad_value: int = 255,
                    include_meta: bool = False, seed: int = 0):
    """The per-example function ``(position, raw) -> (image, targets)``."""
    height, width = int(image_size[0]), int(image_size[1])
    encoder = TextEncoder(charset)
    lo, hi = float(scale_range[0]), float(scale_range[1])
    if not 0 < lo <= hi:
        raise ValueError(f"scale_range must satisfy 0 < low <= high; received {scale_range!r}")

    def fn(position, raw):
        example_seed = tf.stack([tf.constant(seed, tf.int64), tf.cast(position, tf.int64)])
        s_scale, s_crop, s_photo = transforms.split_seed(example_seed, 3)
        image, boxes, ignore = raw["image"], raw["boxes"], raw["ignore"]
        angles, texts = raw["angles"], raw["texts"]
        source_size = tf.shape(image)[:2]
        if training:
            log_s = tf.random.stateless_uniform([], seed=s_scale, minval=math.log(lo),
                                                maxval=math.log(hi))
            s = base_scale * tf.exp(log_s)
            image, boxes, scale = transforms.resize_with_boxes(image, boxes, tf.stack([s, s]))
            top_left = transforms.choose_crop(tf.shape(image)[:2], boxes, ignore,
                                              (height, width), s_crop)
            image, boxes, ignore, keep = transforms.crop_with_boxes(
                image, boxes, ignore, top_left, (height, width), pad_value)
            angles = tf.boolean_mask(angles, keep)
            texts = tf.boolean_mask(texts, keep)
            image = transforms.photometric_augment(image, s_photo, augment_strength)
        else:
            image, boxes, scale = transforms.letterbox(image, boxes, height, width, pad_value)
        targets = finalize_targets(boxes, angles, texts, ignore, encoder, max_boxes,
                                   max_text_length)
        if include_meta:
            targets["file"] = raw["file"]
            targets["scale"] = scale
            targets["source_size"] = source_size
        return tf.ensure_shape(image, [height, width, 3]), targets

    return fn


# ---------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------

def _source_kind(source):
    # Duck-typed so that file sources never import the synthetic generator.
    if isinstance(source, SyntheticSource) or hasattr(source, "generate"):
        return "synthetic"
    if isinstance(source, AnnotationSet):
        return "annotations"
    if isinstance(source, (str, os.PathLike)):
        s = str(source)
        if s.endswith(".json"):
            return "annotations"
        if s == "synthetic":
            return "synthetic"
        return "tfrecords"
    if isinstance(source, (list, tuple)) and source and all(
            str(s).endswith(".tfrecord") for s in source):
        return "tfrecords"
    raise TypeError(f"unknown data source {source!r}: give an annotation .json file, an "
                    "AnnotationSet, TFRecord files (glob, folder or list), or a "
                    "SyntheticDocumentGenerator / 'synthetic'")


def raw_dataset(source, *, target="lines", charset=None, shuffle=True, seed=0,
                num_shards=1, shard_index=0, repeat=True, synthetic_workers=None,
                shuffle_buffer=64):
    """The stream of raw examples of one source, sharded, shuffled, repeated."""
    kind = _source_kind(source)
    if kind == "synthetic":
        from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
        if source == "synthetic":
            source = SyntheticDocumentGenerator(charset=charset)
        if isinstance(source, SyntheticDocumentGenerator):
            source = SyntheticSource(source, seed_offset=seed * 1_000_003,
                                     count=None if repeat else 1000, workers=synthetic_workers)
        # Every page is new: sharding happens on seeds, no shuffle or repeat needed.
        return source.dataset(target, shard_index, num_shards)

    if kind == "annotations":
        table, load = annotation_table(source, target, charset)
        n = int(table.cardinality())
        if num_shards > 1:
            table = table.shard(num_shards, shard_index)
        if repeat:
            table = table.repeat()
        if shuffle:
            # The table holds only paths and boxes: shuffle all of it, cheaply.
            table = table.shuffle(max(1, n), seed=seed, reshuffle_each_iteration=True)
        return table.map(load, num_parallel_calls=tf.data.AUTOTUNE)

    files = tfrecord_files(source)
    files_ds = tf.data.Dataset.from_tensor_slices(files)
    if num_shards > 1:
        if len(files) >= num_shards:
            files_ds = files_ds.shard(num_shards, shard_index)
            records = files_ds.interleave(tf.data.TFRecordDataset,
                                          num_parallel_calls=tf.data.AUTOTUNE)
        else:
            records = tf.data.TFRecordDataset(files).shard(num_shards, shard_index)
    else:
        if shuffle:
            files_ds = files_ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
        records = files_ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)),
                                      num_parallel_calls=tf.data.AUTOTUNE)
    if repeat:
        records = records.repeat()
    if shuffle:
        records = records.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return records.map(lambda s: parse_example(s, target), num_parallel_calls=tf.data.AUTOTUNE)


def make_dataset(source, *, training: bool = True, image_size=DEFAULT_TRAINING_SIZE,
                 batch_size: int = 2, target: str = "lines", charset: Charset | None = None,
                 max_boxes: int = 128, max_text_length: int = 96,
                 scale_range=(0.75, 1.25), base_scale: float = 1.0,
                 augment_strength: float = 1.0, pad_value: int = 255,
                 seed: int | None = None, deterministic: bool = False,
                 num_shards: int = 1, shard_index: int = 0,
                 input_context: tf.distribute.InputContext | None = None,
                 repeat: bool | None = None, include_meta: bool = False,
                 weights=None, synthetic_workers: int | None = None,
                 prefetch: bool = True) -> tf.data.Dataset:
    """A batched ``(images, targets)`` dataset for ``model.fit`` or evaluation.

    Args:
        source: an annotation ``.json`` path or :class:`AnnotationSet`; TFRecord
            shards (glob, folder or list); a ``SyntheticDocumentGenerator`` or
            ``"synthetic"``; or a list of sources mixed with ``weights``.
        training: augment, crop and repeat (else letterbox, one pass, in order).
        image_size: ``(height, width)`` of every output image.
        batch_size: the global batch size (per replica with ``input_context``).
        target: ``"lines"`` (the paper's unit) or ``"words"``.
        charset: texts are encoded with it (default printable ASCII + space).
        max_boxes, max_text_length: fixed padded sizes of the targets.
        scale_range: training scale jitter, log-uniform, times ``base_scale``.
        augment_strength: photometric augmentation, 0 (off) .. 1.
        seed: keys every random draw; ``None`` picks one at random.
        deterministic: identical batches run after run (also keeps order).
        num_shards, shard_index: read one shard (multi-worker training); taken
            from ``input_context`` when given.
        include_meta: add ``file``, ``scale`` and ``source_size`` to targets.
        weights: sampling weights when ``source`` is a list of sources.
        synthetic_workers: processes rendering synthetic pages.

    Returns:
        ``tf.data.Dataset`` of ``(images (B, H, W, 3) uint8, targets)``; see the
        module docstring for the targets.
    """
    charset = charset or Charset()
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
    if repeat is None:
        repeat = training
    if input_context is not None:
        num_shards = input_context.num_input_pipelines
        shard_index = input_context.input_pipeline_id
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index must be in [0, {num_shards}); received {shard_index}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; received {batch_size}")

    sources = list(source) if isinstance(source, list) and weights is not None else [source]
    raws = [raw_dataset(s, target=target, charset=charset, shuffle=training, seed=seed + i,
                        num_shards=num_shards, shard_index=shard_index, repeat=repeat,
                        synthetic_workers=synthetic_workers)
            for i, s in enumerate(sources)]
    if len(raws) > 1:
        raw = tf.data.Dataset.sample_from_datasets(raws, weights=weights, seed=seed,
                                                   stop_on_empty_dataset=False)
    else:
        raw = raws[0]

    fn = make_example_fn(training=training, image_size=image_size, charset=charset,
                         max_boxes=max_boxes, max_text_length=max_text_length,
                         scale_range=scale_range, base_scale=base_scale,
                         augment_strength=augment_strength, pad_value=pad_value,
                         include_meta=include_meta, seed=seed)
    ds = raw.enumerate().map(fn, num_parallel_calls=tf.data.AUTOTUNE,
                             deterministic=deterministic or not training)
    ds = ds.batch(batch_size, drop_remainder=training)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = bool(deterministic or not training)
    # Sharding is done above, explicitly; tf.distribute must not shard again.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)


__all__ = ["DEFAULT_TRAINING_SIZE", "SyntheticSource", "TextEncoder", "finalize_targets",
           "make_dataset", "make_example_fn", "raw_dataset", "annotation_table",
           "record_targets"]
