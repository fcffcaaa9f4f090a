"""Word boxes tightened to their ink inside the network's lines (keras_textnet.ink_boxes)."""

import numpy as np
import pytest

from keras_textnet.ink_boxes import ink_mask, split_spaced_commas, tighten_words


def _page():
    """A white line with a tall word (cap height) and a short one (x-height), 20 px apart."""
    page = np.full((60, 300, 3), 245, np.uint8)
    page[15:41, 20:90] = 20       # "Tall": rows 15..40, columns 20..89
    page[25:41, 110:150] = 20     # "on": rows 25..40, columns 110..149
    return page


def test_words_get_their_own_height_and_width():
    page = _page()
    lines = [{"box": [18.0, 12.0, 152.0, 44.0], "angle": 0.0}]
    # as the CTC split gives them: the line's height, the boundary half-way, off the gap
    words = [{"box": [18.0, 12.0, 97.0, 44.0], "text": "Tall", "line": 0},
             {"box": [97.0, 12.0, 152.0, 44.0], "text": "on", "line": 0}]
    tighten_words(page, lines, words)
    assert words[0]["box"] == [20.0, 15.0, 90.0, 41.0]
    assert words[1]["box"] == [110.0, 25.0, 150.0, 41.0]


def test_a_boundary_inside_a_word_moves_to_the_gap():
    page = _page()
    lines = [{"box": [18.0, 12.0, 152.0, 44.0], "angle": 0.0}]
    # the CTC boundary falls inside "Tall" (at 80): the words meet at the blank gap instead
    words = [{"box": [18.0, 12.0, 80.0, 44.0], "line": 0},
             {"box": [80.0, 12.0, 152.0, 44.0], "line": 0}]
    tighten_words(page, lines, words)
    assert words[0]["box"][2] == 90.0 and words[1]["box"][0] == 110.0


def test_words_far_apart_keep_their_places_and_leave_the_leader_dots_between():
    # an index entry: "state." (columns 20..89), leader dots every 12 px, "393" (250..279),
    # line height 20; the CTC places are 10 px short of the words' ends, 140 px apart
    page = np.full((40, 300, 3), 245, np.uint8)
    page[10:31, 20:90] = 20
    for x in range(100, 241, 12):
        page[27:31, x:x + 3] = 20
    page[10:31, 250:280] = 20
    lines = [{"box": [20.0, 10.0, 280.0, 31.0], "angle": 0.0}]
    words = [{"box": [20.0, 10.0, 100.0, 31.0], "text": "state.", "line": 0},
             {"box": [240.0, 10.0, 280.0, 31.0], "text": "393", "line": 0}]
    tighten_words(page, lines, words)
    assert words[0]["box"] == [20.0, 10.0, 90.0, 31.0]     # not out to the dots half-way
    assert words[1]["box"] == [250.0, 10.0, 280.0, 31.0]


def test_light_text_on_dark_and_specks():
    page = np.full((60, 300), 30, np.uint8)
    page[15:41, 20:90] = 230
    page[5, 200] = 230            # a lone speck in the line's box is not ink
    lines = [{"box": [10.0, 2.0, 260.0, 44.0], "angle": 0.0}]
    words = [{"box": [10.0, 2.0, 260.0, 44.0], "line": 0}]
    tighten_words(page, lines, words)
    assert words[0]["box"] == [20.0, 15.0, 90.0, 41.0]


def test_blank_lines_rotated_lines_and_quads_are_left_alone():
    assert ink_mask(np.full((20, 50), 200, np.uint8)) is None
    page = _page()
    lines = [{"box": [200.0, 10.0, 290.0, 50.0], "angle": 0.0},
             {"box": [18.0, 12.0, 152.0, 44.0], "angle": 12.0}]
    words = [{"box": [200.0, 10.0, 290.0, 50.0], "line": 0},
             {"box": [18.0, 12.0, 152.0, 44.0], "line": 1},
             {"box": [18.0, 12.0, 152.0, 44.0], "line": 0, "quad": [[0, 0]] * 4}]
    before = [list(w["box"]) for w in words]
    tighten_words(page, lines, words)
    assert [w["box"] for w in words] == before


def test_the_predictor_tightens_word_boxes():
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    text = "Tall on"
    ids = np.zeros((1, 1, 16), np.int32)
    ids[0, 0, :len(text)] = charset.encode(text)
    positions = np.zeros((1, 1, 16), np.int32)
    positions[0, 0, :len(text)] = [2, 5, 8, 11, 14, 17, 20]
    out = {"boxes": np.array([[[12.0, 18.0, 44.0, 152.0]]], np.float32),
           "scores": np.array([[0.9]], np.float32), "angles": np.zeros((1, 1), np.float32),
           "count": np.array([1]), "char_ids": ids, "lengths": np.array([[len(text)]]),
           "positions": positions, "num_steps": np.array([[24]]),
           "text_scores": np.array([[0.8]], np.float32)}
    page = _page()
    loose = decode_outputs(out, 0, (1.0, 1.0), page.shape[:2], "p.png", charset)
    tight = decode_outputs(out, 0, (1.0, 1.0), page.shape[:2], "p.png", charset, image=page)
    assert [w["text"] for w in tight["words"]] == ["Tall", "on"]
    assert all(w["box"][1] == 12.0 for w in loose["words"])
    assert [w["box"] for w in tight["words"]] == [[20.0, 15.0, 90.0, 41.0],
                                                  [110.0, 25.0, 150.0, 41.0]]
    # the line keeps its text and score; its box is its words' union, tight to the ink
    assert [(ln["text"], ln["score"]) for ln in tight["lines"]] == \
        [(ln["text"], ln["score"]) for ln in loose["lines"]]
    assert loose["lines"][0]["box"] == [18.0, 12.0, 152.0, 44.0]
    assert tight["lines"][0]["box"] == [20.0, 15.0, 150.0, 41.0]


def _one_line_outputs(charset, text, positions, box, angle_degrees=0.0, steps=24):
    ids = np.zeros((1, 1, 96), np.int32)
    ids[0, 0, :len(text)] = charset.encode(text)
    pos = np.zeros((1, 1, 96), np.int32)
    pos[0, 0, :len(text)] = positions
    return {"boxes": np.array([[box]], np.float32),
            "scores": np.array([[0.9]], np.float32),
            "angles": np.full((1, 1), np.radians(angle_degrees), np.float32),
            "count": np.array([1]), "char_ids": ids, "lengths": np.array([[len(text)]]),
            "positions": pos, "num_steps": np.array([[steps]]),
            "text_scores": np.array([[0.8]], np.float32)}


def test_a_slightly_tilted_line_is_upright_and_its_words_are_tightened():
    # The detector's angle on upright text is noisy (a few tenths of a degree):
    # such a line is upright, its words get upright boxes tight to their ink.
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import UPRIGHT_DEGREES, decode_outputs

    charset = Charset()
    page = _page()
    small = _one_line_outputs(charset, "Tall on", [2, 5, 8, 11, 14, 17, 20],
                              [12.0, 18.0, 44.0, 152.0], angle_degrees=0.6 * UPRIGHT_DEGREES)
    result = decode_outputs(small, 0, (1.0, 1.0), page.shape[:2], "p.png", charset, image=page)
    assert result["lines"][0]["angle"] == 0.0
    assert not any("quad" in w for w in result["words"])
    assert [w["box"] for w in result["words"]] == [[20.0, 15.0, 90.0, 41.0],
                                                   [110.0, 25.0, 150.0, 41.0]]
    tilted = _one_line_outputs(charset, "Tall on", [2, 5, 8, 11, 14, 17, 20],
                               [12.0, 18.0, 44.0, 152.0], angle_degrees=8.0)
    result = decode_outputs(tilted, 0, (1.0, 1.0), page.shape[:2], "p.png", charset, image=page)
    assert result["lines"][0]["angle"] == 8.0
    assert all("quad" in w for w in result["words"])


def test_leaders_are_not_words_but_stay_in_the_line():
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs, drop_leader_words

    def words(*texts, line=0):
        return [{"text": t, "line": line} for t in texts]

    kept = drop_leader_words(words("entry", ".", ".", "..", "454") + words("-", "x", ".....")
                             + words(".", ".", "y", line=1))
    assert [w["text"] for w in kept] == ["entry", "454", "-", "x", ".", ".", "y"]
    assert drop_leader_words(words("a", "-", "b", ".")) == words("a", "-", "b", ".")
    # the leader's first dot read as the entry's end goes with the leader
    assert [w["text"] for w in drop_leader_words(
        words("abort", "state.", ".", ".", ".", "454") + words("end.", "......", line=1)
        + words("etc.", "x", line=2) + words("etc.", ".", line=3))] == \
        ["abort", "state", "454", "end", "etc.", "x", "etc.", "."]

    charset = Charset()
    text = "ab . . . . 12"
    out = _one_line_outputs(charset, text, list(range(1, 2 * len(text), 2)),
                            [10.0, 10.0, 30.0, 300.0], steps=2 * len(text) + 2)
    page = decode_outputs(out, 0, (1.0, 1.0), (100, 400), "p.png", charset)
    assert [w["text"] for w in page["words"]] == ["ab", "12"]
    assert page["lines"][0]["text"] == text


def test_a_line_found_in_specks_is_dropped():
    from keras_textnet.charset import Charset
    from keras_textnet.ink_boxes import MIN_LINE_INK, ink_fraction
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    page = np.concatenate([_page(), np.full((60, 300, 3), 245, np.uint8)])
    rng = np.random.default_rng(0)
    specks = np.zeros(page.shape[:2], bool)
    specks[60:90:3, 200:290:3] = rng.random((10, 30)) < 0.3   # isolated dark pixels
    page[specks] = 0
    assert ink_fraction(page[..., 0], [200, 60, 290, 90]) < MIN_LINE_INK
    assert ink_fraction(page[..., 0], [18, 12, 152, 44]) > MIN_LINE_INK
    noise = _one_line_outputs(charset, "22", [3, 9], [60.0, 200.0, 90.0, 290.0])
    assert decode_outputs(noise, 0, (1.0, 1.0), page.shape[:2], "p.png", charset)["lines"]
    assert decode_outputs(noise, 0, (1.0, 1.0), page.shape[:2], "p.png", charset,
                          image=page) == {"file": "p.png", "width": page.shape[1],
                                          "height": page.shape[0], "words": [], "lines": []}


@pytest.mark.parametrize("score, text_score, kept", [
    (0.9, 0.6, True),      # a sure detection keeps a reading of middling confidence
    (0.3, 0.95, True),     # a faint detection read with confidence: a long line's middle piece
    (0.3, 0.6, False),     # faint and unsure: what paper grain gives
    (0.6, 0.4, False),     # unsure both ways (UNSURE_SCORE)
])
def test_faint_lines_need_a_confident_reading(score, text_score, kept):
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    out = _one_line_outputs(charset, "words here", list(range(1, 21, 2)), [10.0, 10.0, 30.0, 150.0])
    out["scores"][:] = score
    out["text_scores"][:] = text_score
    result = decode_outputs(out, 0, (1.0, 1.0), (60, 200), "p.png", charset)
    assert bool(result["lines"]) is kept


def test_thin_marks_read_over_blank_paper_at_a_line_end_are_dropped():
    from keras_textnet.ink_boxes import drop_phantom_ends

    page = np.full((20, 120), 255, np.uint8)
    page[5:15, 30:70] = 0                       # the word
    page[12:14, 20:26] = 0                      # a printed dash before it
    box = [0, 0, 120, 20]
    # one column per pixel: a '-' emitted over the blank start, a ':' over the blank end
    text, pos = drop_phantom_ends(page, box, "-word :", [5, 35, 45, 55, 65, 80, 100], 120)
    assert text == "word" and list(pos) == [35, 45, 55, 65]
    # a dash CTC placed over printed ink stays, and so do letters at the ends
    assert drop_phantom_ends(page, box, "-word", [22, 35, 45, 55, 65], 120)[0] == "-word"
    assert drop_phantom_ends(page, box, "aword", [5, 35, 45, 55, 65], 120)[0] == "aword"
    # nothing is left of a line that is only a phantom mark: it is kept as read
    assert drop_phantom_ends(page, box, "-", [5], 120)[0] == "-"
    blank = np.full((20, 120), 255, np.uint8)  # no ink anywhere: nothing to judge by
    assert drop_phantom_ends(blank, box, "-word", [5, 35, 45, 55, 65], 120)[0] == "-word"


def test_the_predictor_drops_a_phantom_dash():
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    page = np.full((40, 200, 3), 255, np.uint8)
    for x in (60, 90, 120):                    # three letters
        page[12:28, x:x + 12] = 0
    ids = charset.encode("-ink")
    out = {"boxes": np.array([[[10.0, 40.0, 30.0, 160.0]]]), "scores": np.array([[0.9]]),
           "angles": np.zeros((1, 1)), "count": np.array([1]),
           "char_ids": np.array([[list(ids)]]), "lengths": np.array([[4]]),
           "positions": np.array([[[4, 40, 70, 100]]]), "num_steps": np.array([[120]]),
           "text_scores": np.array([[0.95]])}
    page_out = decode_outputs(out, 0, (1.0, 1.0), (40, 200), "p.png", charset, image=page)
    assert [w["text"] for w in page_out["words"]] == ["ink"]
    without_image = decode_outputs(out, 0, (1.0, 1.0), (40, 200), "p.png", charset)
    assert [w["text"] for w in without_image["words"]] == ["-ink"]


def _strokes(page, xs, top=8, bottom=22, width=2):
    for x in xs:
        page[top:bottom, x:x + width] = 0


def _comma(page, x):
    page[18:24, x:x + 2] = 0


def test_a_comma_and_a_blank_gap_end_a_word_each_time():
    # "f(a,b,c)" set as "f(a, b, c)": the recognizer missed both spaces.
    page = np.full((30, 200, 3), 255, np.uint8)
    _strokes(page, range(10, 40, 5)), _comma(page, 40)
    _strokes(page, (50, 55)), _comma(page, 60)
    _strokes(page, range(70, 90, 5))
    lines = [{"box": [10.0, 8.0, 87.0, 24.0], "text": "x f(a,b,c) y", "angle": 0.0}]
    words = [{"box": [0.0, 8.0, 8.0, 24.0], "text": "x", "line": 0},
             {"box": [10.0, 8.0, 87.0, 24.0], "text": "f(a,b,c)", "line": 0, "score": 0.9}]
    new_lines, new_words = split_spaced_commas(page, lines, words)
    assert [w["text"] for w in new_words] == ["x", "f(a,", "b,", "c)"]
    assert [w["box"][0] for w in new_words[1:]] == [10.0, 50.0, 70.0]
    assert new_words[2]["box"] == [50.0, 8.0, 62.0, 24.0]     # the comma's descender counts
    assert all(w["score"] == 0.9 and w["line"] == 0 for w in new_words[1:])
    assert new_lines[0]["text"] == "x f(a, b, c) y"
    assert lines[0]["text"] == "x f(a,b,c) y"                   # inputs untouched


def test_numbers_far_gaps_rotated_lines_and_end_commas_stay_whole():
    page = np.full((30, 200, 3), 255, np.uint8)
    _strokes(page, (10, 15)), _comma(page, 19), _strokes(page, (22, 27, 32))   # 1,000: no gap
    _strokes(page, range(60, 75, 5)), _comma(page, 75)
    _strokes(page, range(80, 100, 5)), _strokes(page, (130, 135))  # the gap is 4 letters off
    lines = [{"box": [10.0, 8.0, 137.0, 24.0], "text": "1,000 abc,defg hi", "angle": 0.0},
             {"box": [10.0, 8.0, 137.0, 24.0], "text": "abc,defg hi", "angle": 12.0}]
    words = [{"box": [10.0, 8.0, 34.0, 24.0], "text": "1,000", "line": 0},
             {"box": [60.0, 8.0, 137.0, 24.0], "text": "abc,defghi", "line": 0},
             {"box": [60.0, 8.0, 137.0, 24.0], "text": "abc,defg hi,", "line": 1},
             {"box": [60.0, 8.0, 77.0, 24.0], "text": "abc,", "line": 0}]
    new_lines, new_words = split_spaced_commas(page, lines, words)
    assert [w["text"] for w in new_words] == ["1,000", "abc,defghi", "abc,defg hi,", "abc,"]
    assert new_words == words


def test_the_predictor_splits_at_a_spaced_comma():
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    page = np.full((30, 200, 3), 255, np.uint8)
    _strokes(page, range(10, 40, 5)), _comma(page, 40)
    _strokes(page, (50, 55, 60))
    out = _one_line_outputs(charset, "min(x,y)", [1, 4, 7, 10, 13, 16, 19, 21],
                            [8.0, 10.0, 24.0, 64.0], steps=24)
    result = decode_outputs(out, 0, (1.0, 1.0), page.shape[:2], "p.png", charset, image=page)
    assert [w["text"] for w in result["words"]] == ["min(x,", "y)"]
    assert result["lines"][0]["text"] == "min(x, y)"
