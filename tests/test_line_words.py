import math

import numpy as np
import pytest

from keras_textnet.data.annotation import ImageRecord, Word
from keras_textnet.evaluation.line_words import (
    line_quad,
    lines_to_words,
    split_line_into_words,
    word_extents,
)
from keras_textnet.evaluation.protocol import evaluate, pairwise_iou


def _iou(a, b):
    return float(pairwise_iou([a], [b])[0, 0])


def test_monospace_line():
    # 5 characters on 5 cells of 40 px; CTC emits each at column 4k + 2 of 20.
    out = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, (0, 0, 200, 40))
    assert [w for w, _, _ in out] == ["ab", "cd"]
    assert [q for _, _, q in out] == [None, None]
    (_, b0, _), (_, b1, _) = out
    np.testing.assert_allclose(b0, (0, 0, 85, 40))
    np.testing.assert_allclose(b1, (125, 0, 200, 40))
    # the ink cells are [0, 80] and [120, 200]
    assert _iou(b0, (0, 0, 80, 40)) > 0.9 and _iou(b1, (120, 0, 200, 40)) > 0.9
    # without snapping to the line's ends: half a pitch (20 px) around the centres
    out = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, (0, 0, 200, 40),
                                snap_ends=False)
    np.testing.assert_allclose(out[0][1], (5, 0, 85, 40))
    np.testing.assert_allclose(out[1][1], (125, 0, 200, 40))     # 205 clipped to the line


def test_offset_line_and_fractional_box():
    out = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, (100.5, 30, 300.5, 50))
    np.testing.assert_allclose(out[0][1], (100.5, 30, 185.5, 50))
    np.testing.assert_allclose(out[1][1], (225.5, 30, 300.5, 50))


def test_single_word():
    (word,) = split_line_into_words("Invoice", [1, 3, 5, 7, 9, 11, 13], 15, (10, 5, 160, 25))
    assert word == ("Invoice", (10.0, 5.0, 160.0, 25.0), None)
    (word,) = split_line_into_words("Invoice", [1, 3, 5, 7, 9, 11, 13], 15, (10, 5, 160, 25),
                                    snap_ends=False)
    np.testing.assert_allclose(word[1], (15, 5, 155, 25))   # pitch 2 cols: [0.5, 14.5] x 10 px
    (word,) = split_line_into_words("a", [3], 8, (0, 0, 80, 20), snap_ends=False)
    assert word[1] == (0.0, 0.0, 75.0, 20.0)     # one character: pitch = the line, 3.5 +- 4 cols


def test_leading_trailing_and_multiple_spaces():
    text = "  ab   cd e "
    positions = list(range(1, 3 * len(text), 3))           # 3 columns per character
    out = split_line_into_words(text, positions, 3 * len(text), (0, 0, 240, 20),
                                snap_ends=False)
    assert [w for w, _, _ in out] == ["ab", "cd", "e"]
    # each character owns 20 px; "ab" = chars 2-3, "cd" = 7-8, "e" = 10
    np.testing.assert_allclose([b[0] for _, b, _ in out], [40, 140, 200], atol=1e-9)
    np.testing.assert_allclose([b[2] for _, b, _ in out], [80, 180, 220], atol=1e-9)
    snapped = split_line_into_words(text, positions, 3 * len(text), (0, 0, 240, 20))
    assert snapped[0][1][0] == 0.0 and snapped[-1][1][2] == 240.0
    assert split_line_into_words("   ", [0, 1, 2], 3, (0, 0, 30, 10)) == []
    assert split_line_into_words("", [], 3, (0, 0, 30, 10)) == []


def test_neighbours_whose_margins_overlap_meet_half_way():
    # pitch (12 - 0) / 3 = 4 columns: "ab" would end at 12.5, "c" start at 10.5
    ext = word_extents("ab c", [0, 10, 11, 12], 13, snap_ends=False)
    assert ext[0][2] == ext[1][1] == pytest.approx(11.5 / 13)


def test_rotated_line_is_the_rotated_axis_aligned_answer():
    box, angle = (50, 80, 250, 120), 30.0
    flat = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, box)
    rotated = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, box, angle_degrees=angle)
    t = math.radians(angle)
    rot = np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
    centre = np.array([150.0, 100.0])
    for (w0, (x0, y0, x1, y1), _), (w1, b, quad) in zip(flat, rotated):
        assert w0 == w1
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        expect = (corners - centre) @ rot.T + centre
        np.testing.assert_allclose(quad, expect, atol=1e-9)
        q = np.asarray(quad)
        np.testing.assert_allclose(b, (*q.min(0), *q.max(0)), atol=1e-9)
    # the text reads up and to the right: the second word is higher and further right
    assert rotated[1][1][0] > rotated[0][1][0] and rotated[1][1][1] < rotated[0][1][1]
    # giving the quad instead of the angle is the same
    quad = line_quad(box, angle).tolist()
    again = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, box, quad=quad)
    for a, b in zip(rotated, again):
        np.testing.assert_allclose(a[1], b[1])
        np.testing.assert_allclose(a[2], b[2])


def test_line_rotated_by_ninety_degrees_reads_bottom_to_top():
    # a 200 x 40 line turned CCW about (100, 20): it spans x in [80, 120], y in [-80, 120]
    out = split_line_into_words("ab cd", [2, 6, 10, 14, 18], 20, (0, 0, 200, 40),
                                angle_degrees=90)
    np.testing.assert_allclose(out[0][1], (80, 35, 120, 120), atol=1e-9)
    np.testing.assert_allclose(out[1][1], (80, -80, 120, -5), atol=1e-9)
    np.testing.assert_allclose(out[0][2][0], (80, 120), atol=1e-9)   # top-left of the text


def test_general_quad_interpolates_top_and_bottom_edges():
    quad = [[0, 0], [100, 10], [100, 30], [0, 20]]       # a sheared line
    (w,) = split_line_into_words("abcd", [0, 1, 2, 3], 4, (0, 0, 100, 30), quad=quad,
                                 snap_ends=False)
    np.testing.assert_allclose(w[2], quad)               # one word: the whole line


@pytest.mark.parametrize("kwargs, match", [
    ({"positions": [1, 2]}, "one column per character"),
    ({"positions": [1, 2, 3, 4, 20]}, r"\[0, num_columns=20\)"),
    ({"positions": [1, 2, 3, 4, -1]}, "num_columns"),
    ({"positions": [1, 5, 3, 8, 9]}, "must not decrease"),
    ({"num_columns": 0}, "num_columns must be a positive integer"),
    ({"box": (10, 0, 5, 10)}, "degenerate"),
    ({"box": (0, 0, 10)}, "4 finite numbers"),
    ({"angle_degrees": float("nan")}, "angle_degrees"),
    ({"quad": [[0, 0], [1, 1]]}, "four"),
])
def test_bad_input(kwargs, match):
    args = {"text": "ab cd", "positions": [2, 6, 10, 14, 18], "num_columns": 20,
                "box": (0, 0, 200, 40)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        split_line_into_words(**args)


def test_lines_to_words():
    lines = [{"text": "ab cd", "positions": [2, 6, 10, 14, 18], "num_columns": 20,
              "box": (0, 0, 200, 40), "angle": 0.0, "score": 0.9},
             {"text": "xyz", "positions": np.array([0, 2, 4]), "num_columns": np.int64(6),
              "box": np.array([0, 50, 60, 70], np.float32), "angle": 15.0,
              "char_scores": [1.0, 0.5, 0.6]},
             {"text": " ", "positions": [0], "num_columns": 1, "box": (0, 0, 5, 5)}]
    words = lines_to_words(lines)
    assert [(w["text"], w["line"]) for w in words] == [("ab", 0), ("cd", 0), ("xyz", 1)]
    assert words[0] == {"box": [0.0, 0.0, 85.0, 40.0], "text": "ab", "line": 0, "score": 0.9}
    assert "quad" not in words[0] and "angle" not in words[0]
    assert words[2]["score"] == pytest.approx(0.7)
    assert words[2]["angle"] == 15.0 and len(words[2]["quad"]) == 4
    assert all(type(v) is float for w in words for v in w["box"])
    lines[0]["char_scores"] = [0.5] * 5
    assert lines_to_words(lines)[1]["score"] == pytest.approx(0.45)


def test_lines_to_words_errors_name_the_line():
    good = {"text": "ab", "positions": [0, 1], "num_columns": 2, "box": (0, 0, 20, 10)}
    with pytest.raises(ValueError, match="line 1: missing positions"):
        lines_to_words([good, {"text": "a", "num_columns": 2, "box": (0, 0, 1, 1)}])
    with pytest.raises(ValueError, match=r"line 1 \('abc'\): positions must give"):
        lines_to_words([good, dict(good, text="abc")])
    with pytest.raises(ValueError, match="line 0: char_scores"):
        lines_to_words([dict(good, char_scores=[1.0])])


def test_words_from_a_proportional_line_score_as_hits():
    # a proportional line: character widths vary; CTC emits near each glyph's centre
    text = "Invoice No. 4711 total"
    rng = np.random.default_rng(0)
    widths = rng.uniform(6, 14, len(text))
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    x0, line_len, cols = 20.0, float(edges[-1]), 60
    centres = (edges[:-1] + edges[1:]) / 2
    positions = np.minimum((centres / line_len * cols).astype(int), cols - 1)
    gt_words, start = [], 0
    for word in text.split(" "):
        i, j = text.index(word, start), text.index(word, start) + len(word)
        gt_words.append(Word(box=(x0 + edges[i], 10, x0 + edges[j], 30), text=word))
        start = j
    words = lines_to_words([{"text": text, "positions": positions, "num_columns": cols,
                             "box": (x0, 10, x0 + line_len, 30), "score": 1.0}])
    gt = [ImageRecord(file="p.png", width=400, height=100, words=gt_words)]
    result = evaluate(gt, {"p.png": words})
    assert result.totals.matched_exact == 4
    ious = [iou for _, _, iou in result.images[0].matches]
    assert min(ious) > 0.7
