"""Doubled letters merged by CTC, restored by keras_textnet.double_letters."""

import numpy as np

from decoded_line import decode_one_line

from keras_textnet.double_letters import restore_double_letters


def test_common_words_get_their_doubled_letter_back_with_case_and_punctuation():
    assert restore_double_letters("(Diferent) curent, procesor.") == \
        "(Different) current, processor."
    assert restore_double_letters("ATRIBUTE") == "ATTRIBUTE"


def test_words_identifiers_and_short_tokens_stay_as_read():
    kept = ("the cat sat on a mat; nrow ncol strlen ctan nauty rnorm lapply dtype argc "
            "grestore vspace ldots ngen nchains 3.14 x_1 in of at")
    assert restore_double_letters(kept) == kept
    assert restore_double_letters("") == ""


def test_positions_follow_the_letters():
    text = "a curent  value"
    positions = np.arange(len(text)) * 2
    fixed, cols = restore_double_letters(text, positions)
    assert fixed == "a current  value" and len(cols) == len(fixed)
    assert list(cols[:7]) == [0, 2, 4, 6, 8, 8, 10]       # the second r shares the first's
    assert list(cols[-6:]) == list(positions[-6:])         # the rest unchanged
    assert (np.diff(cols) >= 0).all()


def test_the_predictor_restores_them():
    page = decode_one_line("curent", [10, 20, 30, 40, 50, 60], 70)
    assert [w["text"] for w in page["words"]] == ["current"]
    assert page["lines"][0]["text"] == "current"
