import pytest

from keras_textnet.line_joining import (drop_repeated_words, join_line_segments, merge_double_reads,
                                        stitch_readings)


def _line(box, text, angle=0.0, score=0.9):
    return {"box": list(box), "text": text, "score": score, "angle": angle,
            "text_score": score}


def _words(lines):
    words = []
    for k, line in enumerate(lines):
        x0, y0, x1, y1 = line["box"]
        parts = line["text"].split()
        step = (x1 - x0) / len(parts)
        for j, part in enumerate(parts):
            words.append({"box": [x0 + j * step, y0, x0 + (j + 1) * step - 4, y1],
                          "text": part, "line": k})
    return words


def test_three_pieces_of_a_line_join_in_order_with_their_words():
    lines = [_line((420, 100, 600, 120), "over the"), _line((10, 100, 200, 120), "the quick"),
             _line((206, 101, 414, 121), "brown fox jumps", score=0.5),
             _line((10, 130, 300, 150), "next line")]
    words = _words(lines)
    joined, new_words = join_line_segments(lines, words)
    assert [line["text"] for line in joined] == ["the quick brown fox jumps over the",
                                                 "next line"]
    assert joined[0]["box"] == [10, 100, 600, 121]
    assert 0.5 < joined[0]["score"] < 0.9
    assert [w["text"] for w in new_words] == "the quick brown fox jumps over the next line".split()
    assert [w["line"] for w in new_words] == [0] * 7 + [1] * 2
    assert joined[1] is lines[3]                    # untouched lines come back as they were


def test_separate_things_on_one_row_stay_separate():
    lines = [
        _line((10, 100, 200, 120), "cell one"), _line((260, 100, 400, 120), "cell two"),  # 3h gap
        _line((10, 200, 200, 220), "small"), _line((205, 190, 400, 230), "Large type"),  # 2x tall
        _line((10, 300, 200, 320), "upper"), _line((205, 311, 400, 331), "lower"),  # half overlap
        _line((10, 400, 200, 420), "tilted"), _line((205, 400, 400, 420), "line", angle=5.0),
        _line((10, 500, 300, 520), "inside"), _line((100, 500, 250, 520), "it"),   # contained
    ]
    joined, words = join_line_segments(lines, _words(lines))
    assert joined is lines and len(words) == sum(len(x["text"].split()) for x in lines)


def test_nothing_to_join():
    assert join_line_segments([], []) == ([], [])
    lines = [_line((0, 0, 10, 10), "a")]
    assert join_line_segments(lines, _words(lines))[0] is lines


def test_overlapping_pieces_keep_each_word_once():
    lines = [_line((10, 100, 300, 120), "the quick brown"),
             _line((200, 100, 500, 120), "brown fox jumps")]
    joined, words = join_line_segments(lines, _words(lines))
    assert [line["text"] for line in joined] == ["the quick brown fox jumps"]
    assert [w["text"] for w in words] == ["the", "quick", "brown", "fox", "jumps"]
    assert joined[0]["box"] == [10, 100, 500, 120]


@pytest.mark.parametrize("left, right, word", [
    ("Japanes", "anese", "Japanese"),        # each piece cut the word on its own side
    ("(Shunsaku", "hunsaku", "(Shunsaku"),   # one reading inside the other
    ("39", "393", "393"),
    ("give", "given", "given"),
    ("desirable", "lesirable,", "desirable,"),  # the two misread different ends
    ("fo", "r", "for"),                      # nothing in common: end to end
    ("that", "that", "that"),
])
def test_stitch_readings(left, right, word):
    assert stitch_readings(left, right) == word


def test_a_word_read_in_part_by_two_overlapping_pieces_becomes_one():
    # the left piece ends inside "Japanese", the right one starts inside it: the
    # halves' centres fall on either side of the cut, so joining keeps both
    lines = [_line((10, 100, 300, 120), "A patch for Japanes"),
             _line((250, 100, 560, 120), "anese pTeX (Shunsaku")]
    words = [{"box": [10, 100, 24, 120], "text": "A", "line": 0},
             {"box": [30, 100, 110, 120], "text": "patch", "line": 0},
             {"box": [120, 100, 170, 120], "text": "for", "line": 0},
             {"box": [180, 100, 300, 120], "text": "Japanes", "line": 0},
             {"box": [250, 100, 320, 120], "text": "anese", "line": 1},
             {"box": [330, 100, 400, 120], "text": "pTeX", "line": 1},
             {"box": [410, 100, 560, 120], "text": "(Shunsaku", "line": 1}]
    lines, words = join_line_segments(lines, words)
    assert [w["text"] for w in words] == ["A", "patch", "for", "Japanes", "anese", "pTeX",
                                          "(Shunsaku"]
    lines, words = merge_double_reads(lines, words)
    assert [w["text"] for w in words] == ["A", "patch", "for", "Japanese", "pTeX", "(Shunsaku"]
    assert words[3]["box"] == [180, 100, 320, 120] and words[3]["line"] == 0
    assert [line["text"] for line in lines] == ["A patch for Japanese pTeX (Shunsaku"]


def test_words_that_touch_or_sit_on_other_lines_are_not_merged():
    lines = [_line((10, 100, 300, 120), "side by side"), _line((10, 130, 300, 150), "next")]
    words = [{"box": [10, 100, 60, 120], "text": "side", "line": 0},
             {"box": [58, 100, 100, 120], "text": "by", "line": 0},      # 2 px of 42: a touch
             {"box": [104, 100, 160, 120], "text": "side", "line": 0},
             {"box": [120, 130, 160, 150], "text": "next", "line": 1}]   # under "side"
    assert merge_double_reads(lines, words) == (lines, words)
    new_lines, new_words = merge_double_reads(lines, words)
    assert new_lines is lines and new_words is words


def _scored_words(lines):
    words = _words(lines)
    for word in words:
        word["score"] = lines[word["line"]]["score"]
    return words


def test_a_piece_found_inside_its_line_loses_its_words_and_goes():
    lines = [_line((10, 100, 410, 120), "does not contain sufficient", score=0.98),
             _line((10, 130, 300, 150), "next line"),
             _line((210, 100, 410, 120), "contain sufficient", score=0.3)]
    words = _scored_words(lines)
    words[-2]["box"] = [212, 100, 306, 120]          # the piece's own reading, a little off
    words[-1]["text"] = "suffcient"
    kept_lines, kept_words = drop_repeated_words(lines, words)
    assert [line["text"] for line in kept_lines] == ["does not contain sufficient", "next line"]
    assert kept_lines[0] is lines[0] and kept_lines[1] is lines[1]
    assert [w["text"] for w in kept_words] == "does not contain sufficient next line".split()
    assert [w["line"] for w in kept_words] == [0, 0, 0, 0, 1, 1]


def test_the_better_scored_reading_of_a_repeated_word_wins_and_the_line_keeps_the_rest():
    lines = [_line((10, 100, 210, 120), "alpha betta", score=0.4),
             _line((110, 100, 310, 120), "beta gamma", score=0.9)]
    words = _scored_words(lines)
    words[1]["box"] = [110, 100, 206, 120]           # the same place as "beta"
    kept_lines, kept_words = drop_repeated_words(lines, words)
    assert [line["text"] for line in kept_lines] == ["alpha", "beta gamma"]
    assert [(w["text"], w["line"]) for w in kept_words] == [("alpha", 0), ("beta", 1),
                                                            ("gamma", 1)]


def test_words_of_one_line_neighbours_and_rotated_lines_are_not_repeats():
    lines = [_line((10, 100, 210, 120), "one two"), _line((10, 121, 210, 141), "three four"),
             _line((10, 100, 210, 120), "tilted text", angle=20.0, score=0.5)]
    words = _scored_words(lines)
    words[1]["box"] = list(words[0]["box"])           # same line: merge_double_reads' business
    kept_lines, kept_words = drop_repeated_words(lines, words)
    assert kept_lines is lines and kept_words is words
