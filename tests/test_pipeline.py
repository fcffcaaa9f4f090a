"""The tf.data pipeline: boxes stay on their pixels through every transform."""

import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.charset import Charset
from keras_textnet.data import transforms
from keras_textnet.data.annotation import AnnotationSet, ImageRecord, Line, Word
from keras_textnet.data.pipeline import TextEncoder, make_dataset
from keras_textnet.data.tfrecord import write_tfrecords

RNG = np.random.default_rng(7)


def _blocks_image(height, width, boxes):
    """White image with a black filled rectangle at every (x0, y0, x1, y1) box."""
    img = np.full((height, width, 3), 255, np.uint8)
    for x0, y0, x1, y1 in boxes:
        img[y0:y1, x0:x1] = 0
    return img


def _random_layout(height, width, rng, n=20):
    boxes = []
    while len(boxes) < n:
        h = int(rng.integers(8, 30))
        w = int(rng.integers(10, 200))
        x0 = int(rng.integers(0, width - w))
        y0 = int(rng.integers(0, height - h))
        cand = (x0, y0, x0 + w, y0 + h)
        if all(cand[2] + 12 <= b[0] or b[2] + 12 <= cand[0] or cand[3] + 12 <= b[1]
               or b[3] + 12 <= cand[1] for b in boxes):
            boxes.append(cand)
    return boxes


@pytest.fixture
def block_set(tmp_path, write_png):
    """Three images of black blocks whose lines are the blocks themselves."""
    images = []
    for i, (h, w) in enumerate([(700, 900), (420, 380), (1000, 640)]):
        boxes = _random_layout(h, w, RNG)
        write_png(f"img{i}.png", _blocks_image(h, w, boxes))
        images.append(ImageRecord(
            file=f"img{i}.png", width=w, height=h,
            words=[Word(box=b, text=f"w{j}", line=j) for j, b in enumerate(boxes)],
            lines=[Line(box=b, text=f"w{j}") for j, b in enumerate(boxes)]))
    ann = AnnotationSet(images=images, root=tmp_path)
    ann.save(tmp_path / "ann.json")
    return ann


def _measured_box(image, box, margin=3):
    """Re-measures the ink of a block inside box +- margin (dark = < 128)."""
    y0, x0, y1, x1 = box
    h, w = image.shape[:2]
    ys, xs = max(0, int(y0) - margin), max(0, int(x0) - margin)
    ye, xe = min(h, int(np.ceil(y1)) + margin), min(w, int(np.ceil(x1)) + margin)
    dark = image[ys:ye, xs:xe].mean(-1) < 128
    rows, cols = np.nonzero(dark.any(1))[0], np.nonzero(dark.any(0))[0]
    if not len(rows):
        return None
    return np.array([ys + rows[0], xs + cols[0], ys + rows[-1] + 1, xs + cols[-1] + 1])


def _check_batch(images, targets, tolerance=1.0):
    checked = 0
    for b in range(images.shape[0]):
        img = images[b].numpy()
        for k in range(int(targets["num_boxes"][b])):
            box = targets["boxes"][b, k].numpy()
            measured = _measured_box(img, box)
            assert measured is not None, f"no ink under box {box}"
            if targets["ignore"][b, k]:
                continue
            np.testing.assert_allclose(measured, box, atol=tolerance,
                                       err_msg=f"image {b} box {k}")
            checked += 1
    return checked


def test_training_transforms_keep_boxes_on_their_pixels(block_set):
    ds = make_dataset(block_set, training=True, image_size=(256, 320), batch_size=3,
                      augment_strength=0.0, scale_range=(0.5, 1.5), seed=3,
                      deterministic=True, max_boxes=64)
    checked = 0
    for images, targets in ds.take(6):
        assert images.shape == (3, 256, 320, 3) and images.dtype == tf.uint8
        assert targets["boxes"].shape == (3, 64, 4)
        checked += _check_batch(images, targets, tolerance=1.0)
    assert checked > 40


def test_cut_boxes_become_ignore_and_touch_the_crop_edge(block_set):
    ds = make_dataset(block_set, training=True, image_size=(160, 160), batch_size=1,
                      augment_strength=0.0, scale_range=(1.0, 1.0), seed=1,
                      deterministic=True)
    cut = 0
    for _, targets in ds.take(30):
        n = int(targets["num_boxes"][0])
        boxes = targets["boxes"][0, :n].numpy()
        ignore = targets["ignore"][0, :n].numpy()
        on_edge = (boxes[:, 0] <= 0) | (boxes[:, 1] <= 0) | (boxes[:, 2] >= 160) | (
            boxes[:, 3] >= 160)
        # a readable box never touches the crop edge unless it really ends there
        cut += int((ignore & on_edge).sum())
        assert ((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])).all()
    assert cut > 0


def test_crop_choice_prefers_not_cutting():
    boxes = tf.constant([[0, 0, 10, 90], [0, 110, 10, 200]], tf.float32)
    # In a graph, as the pipeline runs it (eager map_fn over 400 windows takes seconds).
    choose = tf.function(lambda ignore, seed: transforms.choose_crop(
        (10, 200), boxes, ignore, (10, 100), seed, candidates=400))
    # A 100-wide window over a 200-wide image cuts a box unless it starts at 0 or 100.
    for s in range(5):
        y0, x0 = choose(tf.constant([False, False]), tf.constant([s, 0])).numpy()
        assert y0 == 0 and x0 in (0, 100)
    # When every window cuts, ignored boxes do not count.
    y0, x0 = choose(tf.constant([True, False]), tf.constant([0, 0])).numpy()
    assert x0 == 100


def test_letterbox_eval_and_meta_map_back(block_set):
    ds = make_dataset(block_set, training=False, image_size=(384, 384), batch_size=1,
                      include_meta=True)
    seen = 0
    for (images, targets), rec in zip(ds, block_set.images):
        assert targets["file"][0].numpy().decode() == rec.file
        scale = targets["scale"][0].numpy()
        assert tuple(targets["source_size"][0].numpy()) == (rec.height, rec.width)
        assert abs(scale[0] - scale[1]) < 0.01
        _check_batch(images, targets, tolerance=1.0)
        n = int(targets["num_boxes"][0])
        back = targets["boxes"][0, :n].numpy() / np.tile(scale, 2)
        gt = np.array([ln.box for ln in rec.lines], np.float32)[:, [1, 0, 3, 2]]
        np.testing.assert_allclose(np.sort(back, 0), np.sort(gt, 0), atol=0.01)
        seen += 1
    assert seen == 3


def test_tfrecords_give_the_same_examples(block_set, tmp_path):
    files = write_tfrecords(block_set, tmp_path / "shards" / "train", num_shards=2,
                            progress=False)
    assert len(files) == 2
    kw = dict(training=True, image_size=(200, 200), batch_size=1, seed=5, deterministic=True,
              augment_strength=0.5)
    from_tfr = make_dataset(str(tmp_path / "shards"), **kw)
    checked = 0
    for images, targets in from_tfr.take(6):
        checked += _check_batch(images, targets, tolerance=1.5)
    assert checked > 0
    # Evaluation order is the shard order; same content as the annotation file.
    eval_kw = dict(training=False, image_size=(300, 300), batch_size=1, include_meta=True)
    a = {t["file"][0].numpy(): (i.numpy(), t["boxes"].numpy())
         for i, t in make_dataset(block_set, **eval_kw)}
    b = {t["file"][0].numpy(): (i.numpy(), t["boxes"].numpy())
         for i, t in make_dataset(files, **eval_kw)}
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k][0], b[k][0])
        np.testing.assert_allclose(a[k][1], b[k][1])


def test_deterministic_mode_repeats_exactly(block_set):
    kw = dict(training=True, image_size=(128, 128), batch_size=2, seed=11, deterministic=True)
    first = [(i.numpy(), t["boxes"].numpy()) for i, t in make_dataset(block_set, **kw).take(3)]
    second = [(i.numpy(), t["boxes"].numpy()) for i, t in make_dataset(block_set, **kw).take(3)]
    for (i1, b1), (i2, b2) in zip(first, second):
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_array_equal(b1, b2)
    other = [i.numpy() for i, _ in make_dataset(block_set, **{**kw, "seed": 12}).take(1)]
    assert not np.array_equal(other[0], first[0][0])


def test_sharding_splits_the_images(block_set):
    files = set()
    for shard in range(2):
        ds = make_dataset(block_set, training=False, image_size=(64, 64), batch_size=1,
                          include_meta=True, num_shards=2, shard_index=shard)
        names = [t["file"][0].numpy() for _, t in ds]
        assert names and not files & set(names)
        files |= set(names)
    assert len(files) == 3
    with pytest.raises(ValueError, match="shard_index"):
        make_dataset(block_set, num_shards=2, shard_index=2)


def test_text_encoding_marks_unusable_texts():
    enc = TextEncoder(Charset())
    ids, lengths, unusable = enc(tf.constant(["ab", "café", "", "abcdef"]), 4)
    assert ids.numpy().tolist()[0] == [66, 67, 0, 0]
    assert lengths.numpy().tolist() == [2, 4, 0, 4]
    assert unusable.numpy().tolist() == [False, True, True, True]


def test_texts_are_encoded_and_padded(block_set):
    ds = make_dataset(block_set, training=False, image_size=(256, 256), batch_size=1,
                      max_text_length=8, max_boxes=16)
    images, targets = next(iter(ds))
    cs = Charset()
    n = int(targets["num_boxes"][0])
    assert n == 16  # 20 blocks, capped
    texts = cs.decode_batch(targets["texts"][0, :n].numpy(), targets["text_lengths"][0, :n])
    assert all(t.startswith("w") for t in texts)
    assert (targets["texts"][0, n:].numpy() == 0).all()


def test_photometric_keeps_shape_and_is_seeded():
    img = tf.constant(RNG.integers(0, 255, (40, 50, 3), np.uint8))
    a = transforms.photometric_augment(img, tf.constant([1, 2]), 1.0)
    b = transforms.photometric_augment(img, tf.constant([1, 2]), 1.0)
    assert a.shape == img.shape and a.dtype == tf.uint8
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert transforms.photometric_augment(img, tf.constant([1, 2]), 0.0) is img


def test_resize_realised_scale_matches_pixels():
    img = tf.zeros((101, 77, 3), tf.uint8)
    out, boxes, realised = transforms.resize_with_boxes(
        img, tf.constant([[0, 0, 101, 77]], tf.float32), tf.constant([0.5, 0.5]))
    assert out.shape[:2] == (50, 38) or out.shape[:2] == (51, 38) or out.shape[:2] == (50, 39)
    np.testing.assert_allclose(boxes.numpy()[0], [0, 0, out.shape[0], out.shape[1]], atol=1e-4)


def test_input_context_shards_and_splits_the_batch(block_set):
    ctx = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=2,
                                     num_replicas_in_sync=3)
    ds = make_dataset(block_set, training=False, image_size=(64, 64), batch_size=3,
                      input_context=ctx, include_meta=True)
    batches = list(ds)
    assert len(batches) == 1 and batches[0][0].shape[0] == 1
    assert batches[0][1]["file"][0].numpy() == b"img2.png"


def test_weighted_mix_of_sources(block_set, tmp_path):
    files = write_tfrecords(block_set, tmp_path / "mix" / "t", num_shards=1, progress=False)
    ds = make_dataset([str(tmp_path / "ann.json"), files], weights=[0.5, 0.5],
                      image_size=(96, 96), batch_size=4, seed=0, deterministic=True)
    images, targets = next(iter(ds))
    assert images.shape == (4, 96, 96, 3) and targets["num_boxes"].shape == (4,)


def test_unknown_source_is_explained():
    with pytest.raises(TypeError, match="unknown data source"):
        make_dataset(42)


def test_synthetic_source_same_pages_in_workers_and_inline():
    from keras_textnet.data.pipeline import SyntheticSource
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

    gen = SyntheticDocumentGenerator(page_size=(320, 256), degrade=0.5)
    inline = list(SyntheticSource(gen, seed_offset=5, count=2, workers=0).iterate("lines"))
    pooled = list(SyntheticSource(gen, seed_offset=5, count=2, workers=1).iterate("lines"))
    for a, b in zip(inline, pooled):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert list(a[3]) == list(b[3])
    # shards interleave seeds: shard 1 of 2 renders seeds 6, 8, ...
    src = SyntheticSource(gen, seed_offset=5, count=2, workers=0)
    assert list(src.seeds(shard_index=1, num_shards=2)) == [6, 8]


def test_make_dataset_from_synthetic_generator_reads_its_lines():
    from keras_textnet.data.pipeline import SyntheticSource
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

    gen = SyntheticDocumentGenerator(page_size=(400, 300), degrade=0.0)
    ds = make_dataset(SyntheticSource(gen, seed_offset=0, count=2, workers=0), training=False,
                      image_size=(400, 300), batch_size=1, include_meta=True)
    cs = Charset()
    for seed, (images, targets) in enumerate(ds):
        rec = gen.generate(seed).record
        n = int(targets["num_boxes"][0])
        texts = cs.decode_batch(targets["texts"][0, :n].numpy(),
                                targets["text_lengths"][0, :n].numpy())
        readable = [ln.text for ln in rec.lines if not ln.ignore]
        assert sorted(t for t, g in zip(texts, targets["ignore"][0, :n].numpy()) if not g) == \
            sorted(t for t in readable if len(t) <= 96)
        # every readable box has ink under it
        img = images[0].numpy().mean(-1)
        for box, g in zip(targets["boxes"][0, :n].numpy(), targets["ignore"][0, :n].numpy()):
            if not g:
                y0, x0, y1, x1 = np.round(box).astype(int)
                region = img[y0:y1, x0:x1]
                assert region.max() - region.min() > 40


def _run_unguarded_script(tmp_path, code):
    """Runs ``code`` as a script without a __main__ guard, after a line that prints
    ``script body runs``; returns what it printed."""
    import subprocess
    import sys

    script = tmp_path / "no_main_guard.py"
    script.write_text("print('script body runs', flush=True)\n" + code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120).stdout


def test_spawned_workers_do_not_rerun_an_unguarded_script(tmp_path):
    """The pool every worker process comes from, in a script without a __main__ guard."""
    out = _run_unguarded_script(
        tmp_path,
        "from keras_textnet.data.worker_pool import spawn_pool\n"
        "with spawn_pool(2) as pool:\n"
        "    print('results', pool.map(abs, [-1, -2, -3]), flush=True)\n")
    assert out.count("script body runs") == 1 and "results [1, 2, 3]" in out


@pytest.mark.slow
def test_worker_processes_do_not_rerun_an_unguarded_script(tmp_path):
    """The same through SyntheticSource (10 s: both processes import TensorFlow)."""
    out = _run_unguarded_script(
        tmp_path,
        "from keras_textnet.data.pipeline import SyntheticSource\n"
        "from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator\n"
        "gen = SyntheticDocumentGenerator(page_size=(160, 160))\n"
        "pages = list(SyntheticSource(gen, count=2, workers=1).iterate('lines'))\n"
        "print('pages', len(pages), flush=True)\n")
    assert out.count("script body runs") == 1 and "pages 2" in out


def test_synthetic_workers_render_only_a_few_pages_ahead(monkeypatch):
    """An endless stream read slowly must not queue every future page."""
    from keras_textnet.data import pipeline
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

    submitted = []

    class FakeResult:
        def __init__(self, value):
            self.value = value

        def get(self):
            return self.value

    class FakePool:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def apply_async(self, fn, args):
            submitted.append(args[0][0])
            return FakeResult(args[0][0])

    monkeypatch.setattr(pipeline, "spawn_pool", lambda *a, **k: FakePool())
    source = pipeline.SyntheticSource(SyntheticDocumentGenerator(page_size=(64, 64)),
                                      count=None, workers=2)
    stream = source.iterate("lines")
    first = [next(stream) for _ in range(3)]
    assert first == [0, 1, 2]
    assert len(submitted) <= 3 + 2 * 2


def _long_line_record():
    words = [Word((10, 20, 60, 40), "alpha", line=0), Word((70, 22, 130, 40), "beta", line=0),
             Word((140, 21, 220, 42), "gamma", line=0), Word((230, 20, 300, 40), "delta", line=0),
             Word((10, 60, 50, 80), "short", line=1)]
    lines = [Line((8, 18, 302, 44), "alpha beta  gamma delta"), Line((10, 60, 50, 80), "short")]
    return ImageRecord(file="a.png", width=320, height=100, words=words, lines=lines)


def test_segments_split_long_lines_at_word_gaps():
    from keras_textnet.data.pipeline import line_segments, parse_target, record_targets

    rec = _long_line_record()
    pieces = line_segments(rec, 160)
    assert [p.text for p in pieces] == ["alpha beta", "gamma delta", "short"]
    # the line's vertical extent and outer ends stay; inner ends are the words'
    assert [p.box for p in pieces[:2]] == [(8, 18, 130, 44), (140, 18, 302, 44)]
    assert all(p.box[2] - p.box[0] <= 162 for p in pieces)
    boxes, _, texts, _ = record_targets(rec, "segments:160")
    assert texts.tolist() == [b"alpha beta", b"gamma delta", b"short"]
    assert boxes[0].tolist() == [18, 8, 44, 130]                         # (y0, x0, y1, x1)
    # wide enough for the whole line: unchanged; the same without word membership
    assert [p.text for p in line_segments(rec, 400)] == ["alpha beta  gamma delta", "short"]
    rec.words[2].line = None
    assert line_segments(rec, 160)[0].text == "alpha beta  gamma delta"
    assert parse_target("segments") == ("segments", 448)
    for bad in ("segment", "segments:", "segments:x", "segments:4", "lines:3"):
        with pytest.raises(ValueError, match="target must be"):
            parse_target(bad)


def test_segments_of_lines_grouped_from_words_keep_their_ignore():
    from keras_textnet.data.pipeline import line_segments

    rec = _long_line_record()
    rec.lines = []
    rec.words[3].ignore = True
    pieces = line_segments(rec, 160)
    assert [(p.text, p.ignore) for p in pieces] == [("alpha beta", False),
                                                    ("gamma delta", True), ("short", False)]
