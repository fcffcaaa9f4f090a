"""Line ends carried to the end of the word they cut (keras_textnet.ops.word_ends)."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.ops.word_ends import extend_to_word_ends

TEXT = "strictly increasing entries"
HEIGHT = 28                         # the boxes' height, px
COLUMN = HEIGHT / 24 + 0.5          # where a gap starts is found to a strip column


def _page(ink=0, paper=255, noise=0.0, seed=0):
    image = np.full((60, 420, 3), paper, np.uint8)
    cv2.putText(image, TEXT, (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (ink,) * 3, 2)
    if noise:
        grain = np.random.default_rng(seed).normal(0, noise, image.shape[:2])[..., None]
        image = np.clip(image + grain, 0, 255).astype(np.uint8)
    return image


def _words(image, paper=255):
    """The ink runs of the text row: ``[(first column, last column)]`` of each word."""
    inked = (np.abs(image[10:50, :, 0].astype(int) - paper) > 100).any(axis=0)
    runs, start = [], None
    for x, on in enumerate(np.append(inked, False)):
        if on and start is None:
            start = x
        elif not on and start is not None:
            runs.append([start, x - 1])
            start = None
    words = [runs[0]]
    for a, b in runs[1:]:                 # letters closer than 6 px are one word
        if a - words[-1][1] <= 6:
            words[-1][1] = b
        else:
            words.append([a, b])
    return words


def _extend(image, boxes, angles=None, **kwargs):
    boxes = tf.constant(boxes, tf.float32)
    out = extend_to_word_ends(image[None], boxes, tf.zeros([len(boxes)], tf.int32),
                              None if angles is None else tf.constant(angles, tf.float32),
                              **kwargs)
    return out.numpy()


def test_the_page_has_three_words():
    assert len(_words(_page())) == 3


@pytest.mark.parametrize("ink, paper", [(0, 255), (250, 30), (40, 170)])
def test_an_end_inside_a_word_moves_to_the_end_of_that_word(ink, paper):
    image = _page(ink, paper)
    (_, _), (second0, second1), (third0, third1) = _words(image, paper)
    cut_right = (third0 + third1) / 2           # inside "entries"
    cut_left = (second0 + second1) / 2          # inside "increasing"
    out = _extend(image, [[18, cut_left, 46, cut_right]])[0]
    assert out[0] == 18 and out[2] == 46                      # rows untouched
    assert third1 - COLUMN <= out[3] <= third1 + 3             # right: the end of "entries"
    assert second0 - 3 <= out[1] <= second0 + COLUMN           # left: the start of "increasing"


def test_an_end_in_a_word_gap_stays():
    image = _page()
    (first0, first1), (second0, second1), _ = _words(image)
    box = [18, first0 - 2, 46, (first1 + second0) / 2]         # ends between two words
    out = _extend(image, [box])[0]
    np.testing.assert_allclose(out, box)


def test_an_end_moves_at_most_reach_line_heights():
    image = _page()
    *_, (third0, third1) = _words(image)
    box = [18, third0 - 1, 46, third0 + 4]                    # "entries" is > 2 heights wide
    out = _extend(image, [box], reach=1.0)[0]
    np.testing.assert_allclose(out, box)                      # no gap within reach: no move
    assert third1 - third0 > 2 * HEIGHT


def test_noise_does_not_move_an_end_into_blank_paper():
    image = _page(noise=12.0)
    *_, (third0, third1) = _words(image)
    out = _extend(image, [[18, third0 - 1, 46, third1 + 8]])[0]
    assert out[3] == pytest.approx(third1 + 8)


def test_rotated_lines_and_boxes_without_contrast_stay():
    image = _page()
    (_, _), (second0, second1), _ = _words(image)
    inside = [18, second0 + 5, 46, second1 - 5]
    blank = [48, 100, 58, 200]                                 # below the text: paper only
    out = _extend(image, [inside, inside, blank], angles=[0.0, 0.2, 0.0])
    assert out[0][1] < inside[1] and out[0][3] > inside[3]
    np.testing.assert_allclose(out[1:], [inside, blank])


def test_page_edges_are_paper_and_ends_stay_on_the_page():
    image = _page()[:, :300]                   # "entries" runs off the right edge
    *_, (third0, _) = _words(image)
    out = _extend(image, [[18, 2, 46, third0 + 10]])[0]
    assert out[1] >= 0 and out[3] <= 300
    assert out[3] >= 295                       # carried to the page's edge


def test_the_model_setting_is_checked_and_saved():
    from keras_textnet.models.text_net import TextNet

    model = TextNet.from_preset("tiny", read_word_ends=3.0)
    assert model.get_config()["read_word_ends"] == 3.0
    assert TextNet.from_config(model.get_config()).read_word_ends == 3.0
    with pytest.raises(ValueError, match="read_word_ends"):
        TextNet.from_preset("tiny", read_word_ends=-1.0)
