"""Reading order (recursive XY-cut) of line boxes."""

import numpy as np

from keras_textnet.reading_order import reading_order


def _column(x0, x1, top, count, height=20, gap=10):
    return [[x0, top + k * (height + gap), x1, top + k * (height + gap) + height]
            for k in range(count)]


def test_empty_and_single():
    assert reading_order([]) == []
    assert reading_order([[0, 0, 10, 10]]) == [0]


def test_two_columns_with_shared_baselines_under_a_title():
    title = [[20, 10, 600, 40]]
    left = _column(20, 290, 80, 5)
    right = _column(330, 600, 80, 5)  # same baselines as the left column
    boxes = np.array(title + right + left)  # shuffled input order
    order = reading_order(boxes)
    assert order == [0, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5]


def test_words_of_one_row_are_not_columns():
    # Gaps of 8 px between pieces of one row (narrower than 1.5 line heights).
    boxes = [[120, 10, 200, 30], [10, 10, 60, 30], [68, 10, 112, 30]]
    assert reading_order(boxes) == [1, 2, 0]


def test_rows_of_slightly_skewed_lines_read_left_to_right():
    boxes = [[300, 13, 400, 33], [10, 10, 290, 30], [10, 50, 400, 70]]
    assert reading_order(boxes) == [1, 0, 2]


def test_every_index_once_on_random_layouts():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        x0 = rng.uniform(0, 900, n)
        y0 = rng.uniform(0, 1200, n)
        boxes = np.stack([x0, y0, x0 + rng.uniform(5, 300, n), y0 + rng.uniform(5, 40, n)], 1)
        assert sorted(reading_order(boxes)) == list(range(n))
