"""Doubled letters merged by CTC, restored by keras_textnet.double_letters."""

import numpy as np

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
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    ids = charset.encode("curent")
    out = {"boxes": np.array([[[10.0, 40.0, 30.0, 160.0]]]), "scores": np.array([[0.9]]),
           "angles": np.zeros((1, 1)), "count": np.array([1]),
           "char_ids": np.array([[list(ids)]]), "lengths": np.array([[6]]),
           "positions": np.array([[[10, 20, 30, 40, 50, 60]]]), "num_steps": np.array([[70]]),
           "text_scores": np.array([[0.95]])}
    page = decode_outputs(out, 0, (1.0, 1.0), (40, 200), "p.png", charset)
    assert [w["text"] for w in page["words"]] == ["current"]
    assert page["lines"][0]["text"] == "current"
