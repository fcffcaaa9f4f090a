"""Training input keyed on its position: a resumed run reads on from where it stopped.

``model.fit`` makes its own iterator, and an iterator over rendered synthetic
pages cannot be checkpointed. So, instead of saving where an iterator was,
every stream here is a *function of its position*: element ``k`` of an input
pipeline's stream is the same whenever it is built, and building the stream
from ``start`` costs (almost) nothing. A run resumed at step ``s`` builds its
input from element ``s * global_batch / input_pipelines`` (``examples_seen /
input_pipelines``) and reads exactly what the interrupted run would have read
next.

Per source (each input pipeline ``i`` of ``P`` reads its own shard):

* **synthetic**: element ``k`` is page ``seed_offset + k * P + i``; starting at
  ``k0`` renders nothing before it;
* **annotations**: epoch ``e = k // n``, row ``index_shuffle(k % n, (key, e))``
  of the shard's ``n`` images: a fresh permutation per epoch, computed, not
  drawn; only the chosen image is decoded;
* **PDFs**: rendered once into a cache folder, then read as annotations;
* **TFRecords**: per epoch a permuted file order, records interleaved, a
  seeded shuffle buffer, then ``skip(k0)``: resuming reads (does not decode)
  the records before ``k0``;
* **a mix**: source ``j`` is chosen for element ``k`` by a stateless draw keyed
  on ``(key, k // 1024)``; resuming counts the choices before ``k0`` (one
  vectorised draw per 1024 elements) to start every source where it was.

The per-example transform (:func:`keras_textnet.data.pipeline.make_example_fn`:
scale jitter, crop, photometric augmentation) is keyed on
``(data.seed, k * P + i)``. Together with TextNet's target sampling keyed on
the optimizer step, a resumed run repeats the uninterrupted one.

These streams differ from :func:`keras_textnet.data.pipeline.make_dataset`'s
(whose shuffle buffers and ``sample_from_datasets`` carry state) but use the
same sources, transforms and batch format.
"""

from __future__ import annotations

import glob
import os
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_textnet.charset import Charset
from keras_textnet.data.pipeline import SyntheticSource, annotation_table, make_example_fn
from keras_textnet.data.tfrecord import parse_example, tfrecord_files
from keras_textnet.training.config import (AnnotationSourceConfig, DataConfig, PDFSourceConfig,
                                           SyntheticSourceConfig, TFRecordSourceConfig)

#: Elements per stateless draw of the mix's source choices.
MIX_BLOCK = 1024
#: First page seed of a synthetic validation source (training pages start near 0).
VALIDATION_SEED_OFFSET = 1_000_000_000
_ENDLESS = 2**62


def stream_key(*parts) -> int:
    """A deterministic 31-bit key of ``parts`` (the same in every process)."""
    return zlib.crc32(repr(parts).encode()) & 0x7FFFFFFF


def elements_per_step(global_batch_size: int, num_input_pipelines: int) -> int:
    """How many examples one input pipeline gives per training step."""
    if global_batch_size % num_input_pipelines:
        raise ValueError(f"the global batch size {global_batch_size} must be a multiple of the "
                         f"{num_input_pipelines} input pipelines")
    return global_batch_size // num_input_pipelines


# ---------------------------------------------------------------------------
# raw streams, one per source kind
# ---------------------------------------------------------------------------

def _synthetic_stream(source: SyntheticSourceConfig, data: DataConfig, *, start, shard_index,
                      num_shards, source_index, charset, validation):
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

    page_size = tuple(tuple(v) if isinstance(v, list) else v for v in source.page_size)
    generator = SyntheticDocumentGenerator(page_size=page_size, layouts=source.layouts,
                                           degrade=source.degrade,
                                           max_rotation=source.max_rotation, charset=charset)
    if source.seed_offset is not None:
        offset = source.seed_offset
    elif validation:
        offset = VALIDATION_SEED_OFFSET
    else:
        offset = data.seed * 1_000_003 + source_index * 100_000_007
    workers = data.synthetic_workers if source.workers is None else source.workers
    # Pages offset + k * P + i; from element `start` on.
    stream = SyntheticSource(generator, seed_offset=offset + start * num_shards, count=None,
                             workers=workers)
    return stream.dataset(data.target, shard_index, num_shards)


def _annotation_stream(path, data: DataConfig, *, start, shard_index, num_shards, key,
                       charset, training):
    table, load = annotation_table(path, data.target, charset)
    total = int(table.cardinality())
    if num_shards > 1:
        table = table.shard(num_shards, shard_index)
    n = int(table.cardinality())
    if n < 1:
        raise ValueError(f"{path}: {total} image(s) cannot feed {num_shards} input pipelines "
                         "(each needs one at least)")
    rows = table.batch(n).get_single_element()

    def element(k):
        if training:
            epoch, within = k // n, k % n
            row = tf.random.experimental.index_shuffle(
                within, tf.stack([tf.constant(key, tf.int64), epoch]), tf.constant(n - 1,
                                                                                   tf.int64))
        else:
            row = k % n
        return load({name: value[row] for name, value in rows.items()})

    return tf.data.Dataset.range(start, _ENDLESS).map(
        element, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _tfrecord_stream(source: TFRecordSourceConfig, data: DataConfig, *, start, shard_index,
                     num_shards, key, training):
    files = tfrecord_files(source.path)
    shard_records = num_shards > 1 and len(files) < num_shards
    if num_shards > 1 and not shard_records:
        files = files[shard_index::num_shards]
    names = tf.constant(files)
    count = len(files)
    if training:
        def epoch_files(epoch):
            order = tf.random.experimental.index_shuffle(
                tf.range(count, dtype=tf.int64),
                tf.stack([tf.constant(key, tf.int64), epoch]), tf.constant(count - 1, tf.int64))
            return tf.data.Dataset.from_tensor_slices(tf.gather(names, order))
        file_ds = tf.data.Dataset.range(_ENDLESS).flat_map(epoch_files)
    else:
        file_ds = tf.data.Dataset.from_tensor_slices(names).repeat()
    records = file_ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, count),
                                 block_length=1, num_parallel_calls=tf.data.AUTOTUNE,
                                 deterministic=True)
    if shard_records:
        records = records.shard(num_shards, shard_index)
    if training:
        records = records.shuffle(source.shuffle_buffer, seed=key,
                                  reshuffle_each_iteration=False)
    # Records are read, not decoded, up to the start.
    records = records.skip(start)
    return records.map(lambda s: parse_example(s, data.target),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def render_pdf_source(source: PDFSourceConfig, cache_root, charset=None) -> Path:
    """Renders the PDFs of ``source`` once; returns the annotation file of the pages.

    The pages go to ``source.cache_dir`` (default ``cache_root/pdf_<hash>``),
    written into a temporary folder first and renamed when complete, so an
    interrupted render is redone, never half used.
    """
    from keras_textnet.data.pdf import pdf_to_annotations

    items = source.pdfs if isinstance(source.pdfs, list) else [source.pdfs]
    pdfs = []
    for item in items:
        found = sorted(glob.glob(item)) if any(c in item for c in "*?[") else [item]
        if not found:
            raise FileNotFoundError(f"no PDF matches {item!r}")
        pdfs.extend(found)
    folder = Path(source.cache_dir) if source.cache_dir else Path(cache_root) / (
        f"pdf_{stream_key(pdfs, source.dpi, source.pages, source.max_pages_per_pdf):08x}")
    annotations = folder / "annotations.json"
    if annotations.exists():
        return annotations
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    kwargs = {"dpi": source.dpi, "max_pages_per_pdf": source.max_pages_per_pdf,
              "charset": charset}
    if source.pages:
        kwargs["pages"] = source.pages
    pdf_to_annotations(pdfs, tmp, **kwargs)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        if not annotations.exists():  # another worker did not win the race either
            raise
    return annotations


def render_synthetic_pages(source: SyntheticSourceConfig, count: int, cache_root,
                           charset=None) -> Path:
    """Renders ``count`` pages of a synthetic source once (a validation set); returns the
    annotation file. Seeds start at ``source.seed_offset`` (default
    :data:`VALIDATION_SEED_OFFSET`); written like :func:`render_pdf_source`."""
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.data.synthetic_dataset import write_synthetic_dataset

    first = VALIDATION_SEED_OFFSET if source.seed_offset is None else source.seed_offset
    page_size = tuple(tuple(v) if isinstance(v, list) else v for v in source.page_size)
    settings = (page_size, source.layouts, source.degrade, source.max_rotation, first, count)
    folder = Path(cache_root) / f"synthetic_{stream_key(*settings):08x}"
    annotations = folder / "annotations.json"
    if annotations.exists():
        return annotations
    generator = SyntheticDocumentGenerator(page_size=page_size, layouts=source.layouts,
                                           degrade=source.degrade,
                                           max_rotation=source.max_rotation, charset=charset)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    workers = 0 if source.workers == 0 else max(1, min(count, source.workers or 1))
    write_synthetic_dataset(generator, tmp, count, seed=first, workers=workers, progress=False)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        if not annotations.exists():
            raise
    return annotations


def raw_stream(source, data: DataConfig, *, start: int = 0, shard_index: int = 0,
               num_shards: int = 1, source_index: int = 0, training: bool = True,
               validation: bool = False, charset: Charset | None = None,
               cache_root=".") -> tf.data.Dataset:
    """Raw examples of one source (see :data:`keras_textnet.data.pipeline.RAW_SIGNATURE`),
    from element ``start`` of the stream of shard ``shard_index`` of ``num_shards``."""
    charset = charset or Charset()
    key = stream_key(data.seed, source_index, shard_index, num_shards, validation)
    common = dict(start=start, shard_index=shard_index, num_shards=num_shards)
    if isinstance(source, SyntheticSourceConfig):
        return _synthetic_stream(source, data, source_index=source_index, charset=charset,
                                 validation=validation, **common)
    if isinstance(source, AnnotationSourceConfig):
        return _annotation_stream(source.path, data, key=key, charset=charset,
                                  training=training, **common)
    if isinstance(source, PDFSourceConfig):
        path = render_pdf_source(source, cache_root, charset)
        return _annotation_stream(str(path), data, key=key, charset=charset, training=training,
                                  **common)
    if isinstance(source, TFRecordSourceConfig):
        return _tfrecord_stream(source, data, key=key, training=training, **common)
    raise TypeError(f"unknown source config {source!r}")


# ---------------------------------------------------------------------------
# the mix
# ---------------------------------------------------------------------------

def _block_choices(weights, key):
    p = np.asarray(weights, np.float64)
    bounds = tf.constant(np.cumsum(p / p.sum())[:-1], tf.float32)

    def choices(block):
        u = tf.random.stateless_uniform([MIX_BLOCK], tf.stack([tf.constant(key, tf.int64),
                                                               block]))
        return tf.searchsorted(bounds, u, side="right", out_type=tf.int64)
    return choices


def mix_selector(weights, key: int, start: int = 0) -> tf.data.Dataset:
    """The source index (int64) of every element of a mix, from element ``start``."""
    choices = _block_choices(weights, key)
    return (tf.data.Dataset.range(start // MIX_BLOCK, _ENDLESS).map(choices).unbatch()
            .skip(start % MIX_BLOCK))


def mix_counts(weights, key: int, start: int) -> list[int]:
    """How many of the first ``start`` elements of the mix came from each source."""
    choices = _block_choices(weights, key)
    sources = len(weights)
    full, rest = divmod(int(start), MIX_BLOCK)

    def add(total, block):
        return total + tf.math.bincount(choices(block), minlength=sources, maxlength=sources,
                                        dtype=tf.int64)
    counts = tf.data.Dataset.range(full).reduce(tf.zeros([sources], tf.int64), add)
    if rest:
        counts += tf.math.bincount(choices(tf.constant(full, tf.int64))[:rest],
                                   minlength=sources, maxlength=sources, dtype=tf.int64)
    return [int(c) for c in counts.numpy()]


# ---------------------------------------------------------------------------
# the batched dataset
# ---------------------------------------------------------------------------

def resumable_dataset(data: DataConfig, sources=None, *, training: bool = True,
                      examples_seen: int = 0, global_batch_size: int | None = None,
                      input_context: tf.distribute.InputContext | None = None,
                      validation: bool = False, charset: Charset | None = None,
                      cache_root=".") -> tf.data.Dataset:
    """Batched ``(images, targets)`` (as ``make_dataset``'s) after ``examples_seen`` examples.

    Args:
        data: the ``data`` section (image size, batch size, seed, transforms).
        sources: source configs (default ``data.sources``); several are mixed
            by their ``weight``.
        training: augment (else letterbox, as for evaluation).
        examples_seen: examples the run has read so far, all input pipelines
            together (``steps * global batch``); each of the ``P`` pipelines
            starts at element ``examples_seen // P`` of its stream.
        global_batch_size: default ``data.batch_size``.
        input_context: from ``strategy.distribute_datasets_from_function``:
            this pipeline's shard, and batches of the per-replica size.
        validation: synthetic pages come from the held-out seed range.
        cache_root: where PDF sources render their pages.

    Returns:
        An endless ``tf.data.Dataset`` of ``(images (b, H, W, 3) uint8, targets)``,
        ``b`` the per-replica batch size; deterministic.
    """
    charset = charset or Charset()
    sources = list(data.sources if sources is None else sources)
    global_batch_size = int(global_batch_size or data.batch_size)
    if input_context is not None:
        num_shards = input_context.num_input_pipelines
        shard_index = input_context.input_pipeline_id
        elements_per_step(global_batch_size, num_shards)  # checks the division
        batch = input_context.get_per_replica_batch_size(global_batch_size)
    else:
        num_shards, shard_index, batch = 1, 0, global_batch_size
    start = int(examples_seen) // num_shards

    if len(sources) == 1:
        raw = raw_stream(sources[0], data, start=start, shard_index=shard_index,
                         num_shards=num_shards, training=training, validation=validation,
                         charset=charset, cache_root=cache_root)
    else:
        weights = [s.weight for s in sources]
        key = stream_key("mix", data.seed, shard_index, num_shards, validation)
        counts = mix_counts(weights, key, start) if start else [0] * len(sources)
        streams = [raw_stream(s, data, start=c, shard_index=shard_index, num_shards=num_shards,
                              source_index=j, training=training, validation=validation,
                              charset=charset, cache_root=cache_root)
                   for j, (s, c) in enumerate(zip(sources, counts))]
        raw = tf.data.Dataset.choose_from_datasets(streams, mix_selector(weights, key, start))

    fn = make_example_fn(training=training, image_size=data.image_size, charset=charset,
                         max_boxes=data.max_boxes, max_text_length=data.max_text_length,
                         scale_range=data.scale_range, augment_strength=data.augment_strength,
                         seed=data.seed)
    positions = tf.data.Dataset.range(start, _ENDLESS)
    ds = tf.data.Dataset.zip(positions, raw).map(
        lambda k, example: fn(k * num_shards + shard_index, example),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    # Each pipeline reads its own shard (above); tf.distribute must not shard again.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)


__all__ = ["MIX_BLOCK", "VALIDATION_SEED_OFFSET", "elements_per_step", "mix_counts",
           "mix_selector", "raw_stream", "render_pdf_source", "render_synthetic_pages",
           "resumable_dataset", "stream_key"]
