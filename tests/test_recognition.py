"""Reading ground-truth line boxes with a TextNet's recognizer (evaluation.recognition)."""

import math

import numpy as np
import pytest

from keras_textnet.data.annotation import ImageRecord, Line, Word
from keras_textnet.evaluation.recognition import (LineReadCounts, read_gt_lines, read_lines,
                                                  readable_lines)


@pytest.fixture(scope="module")
def tiny():
    from keras_textnet.models.text_net import TextNet

    # score_threshold 0: an untrained model still detects, so its own reading can be compared.
    return TextNet.from_preset("tiny", detections_per_image=8, max_text_length=24,
                               score_threshold=0.0, seed=3)


@pytest.fixture(scope="module")
def page():
    rng = np.random.default_rng(0)
    image = np.full((128, 192, 3), 255, np.uint8)
    image[20:34, 10:150] = rng.integers(0, 120, (14, 140, 3), dtype=np.uint8)
    image[60:76, 30:180] = rng.integers(0, 120, (16, 150, 3), dtype=np.uint8)
    return image


BOXES = [(10, 20, 150, 34), (30, 60, 180, 76), (5, 90, 60, 104), (100, 90, 190, 110),
         (0, 0, 40, 12)]


def test_reads_the_same_as_the_models_own_inference(tiny, page):
    import tensorflow as tf

    out = {k: v.numpy() for k, v in tiny(tf.constant(page[np.newaxis])).items()}
    count = int(out["count"][0])
    assert count > 0
    y0, x0, y1, x1 = np.moveaxis(out["boxes"][0, :count], -1, 0)
    texts = read_lines(tiny, page, np.stack([x0, y0, x1, y1], 1), out["angles"][0, :count])
    expected = [tiny.charset.decode(out["char_ids"][0, d, :out["lengths"][0, d]])
                for d in range(count)]
    assert texts == expected


def test_one_text_per_box_whatever_the_chunk(tiny, page):
    whole = read_lines(tiny, page, BOXES)
    assert len(whole) == len(BOXES) and all(isinstance(t, str) for t in whole)
    assert read_lines(tiny, page, BOXES, chunk=2) == whole
    assert read_lines(tiny, page, BOXES[1:3]) == whole[1:3]
    assert read_lines(tiny, page, []) == []


def test_boxes_follow_the_predictors_resizing(tiny, page):
    import cv2

    from keras_textnet.predictor import TextNetPredictor

    big = cv2.resize(page, (384, 256), interpolation=cv2.INTER_LINEAR)
    boxes = np.asarray(BOXES, np.float64) * 2
    # max_side 192 halves the page: the boxes must be halved with it.
    predictor = TextNetPredictor(tiny, max_side=192)
    shrunk, (sy, sx) = predictor._prepare(big)
    assert (sy, sx) == (0.5, 0.5)
    direct = read_lines(tiny, shrunk[:128, :192], boxes * 0.5)
    assert read_lines(tiny, big, boxes, max_side=192) == direct
    assert read_lines(predictor, big, boxes) == direct


def test_angle_count_must_match(tiny, page):
    with pytest.raises(ValueError, match="one angle per box"):
        read_lines(tiny, page, BOXES, angles=[0.0])


def test_gt_lines_skip_ignored_and_empty_lines_and_convert_degrees(tiny, page):
    rec = ImageRecord(file="p.png", width=192, height=128, lines=[
        Line(box=(10, 20, 150, 34), text="first"),
        Line(box=(30, 60, 180, 76), text="second", angle=90.0),
        Line(box=(5, 90, 60, 104), text="gone", ignore=True),
        Line(box=(100, 90, 190, 110), text="  ")])
    lines, texts = read_gt_lines(tiny, page, rec)
    assert [ln.text for ln in lines] == ["first", "second"]
    assert texts == read_lines(tiny, page, BOXES[:2], [0.0, math.pi / 2])
    words_only = ImageRecord(file="q.png", width=192, height=128, words=[
        Word(box=(10, 20, 60, 34), text="a", line=0),
        Word(box=(70, 20, 150, 34), text="b", line=0)])
    assert [ln.text for ln in readable_lines(words_only)] == ["a b"]


def test_counts():
    c = LineReadCounts.of(["abc", "hello"], ["abc", "hallo!"])
    assert (c.lines, c.exact, c.chars, c.edits) == (2, 1, 8, 2)
    assert c.cer == pytest.approx(0.25) and c.exact_share == 0.5
    total = c + LineReadCounts.of(["xy"], [""])
    assert total.to_dict() == {"lines": 3, "exact": 1, "chars": 10, "edits": 4, "cer": 0.4,
                               "exact_share": 0.3333}
    assert LineReadCounts().cer is None and LineReadCounts().exact_share is None
    with pytest.raises(ValueError):
        LineReadCounts.of(["a"], [])
