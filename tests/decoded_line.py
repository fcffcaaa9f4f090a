"""One line of model outputs through the predictor's decoding: the shared part of the
tests of its text steps (tests/test_double_letters.py, tests/test_letter_confusions.py)."""

import numpy as np


def decode_one_line(text: str, positions, num_steps: int) -> dict:
    """The prediction JSON of a page (40 x 200) whose one line (score 0.9, text score
    0.95) the model read as ``text``, emitted at ``positions`` of ``num_steps`` columns."""
    from keras_textnet.charset import Charset
    from keras_textnet.predictor import decode_outputs

    charset = Charset()
    out = {"boxes": np.array([[[10.0, 40.0, 30.0, 160.0]]]), "scores": np.array([[0.9]]),
           "angles": np.zeros((1, 1)), "count": np.array([1]),
           "char_ids": np.array([[list(charset.encode(text))]]),
           "lengths": np.array([[len(text)]]), "positions": np.array([[list(positions)]]),
           "num_steps": np.array([[num_steps]]), "text_scores": np.array([[0.95]])}
    return decode_outputs(out, 0, (1.0, 1.0), (40, 200), "p.png", charset)
