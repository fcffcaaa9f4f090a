from keras_textnet.line_joining import join_line_segments


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
