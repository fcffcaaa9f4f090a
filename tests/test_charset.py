import numpy as np
import pytest

from keras_textnet.charset import DEFAULT_CHARACTERS, Charset, CharsetError


def test_default_is_printable_ascii_plus_space():
    cs = Charset()
    assert len(cs) == 95
    assert " " in cs and "~" in cs and "!" in cs
    assert "\t" not in cs and "é" not in cs
    assert cs.num_classes == 96
    assert cs.blank_id == 0 and cs.pad_id == 0


def test_round_trip_every_character():
    cs = Charset()
    ids = cs.encode(DEFAULT_CHARACTERS)
    assert ids == list(range(1, 96))
    assert cs.decode(ids) == DEFAULT_CHARACTERS


def test_padded_round_trip_and_blank_dropped():
    cs = Charset()
    ids, n = cs.encode_padded("Total: $12.50", 20)
    assert ids.shape == (20,) and ids.dtype == np.int32 and n == 13
    assert (ids[n:] == cs.pad_id).all()
    assert cs.decode(ids) == "Total: $12.50"
    assert cs.decode(ids, n) == "Total: $12.50"
    assert cs.decode_batch(np.stack([ids, ids]), [5, n]) == ["Total", "Total: $12.50"]


def test_unknown_characters_are_named():
    cs = Charset()
    with pytest.raises(CharsetError, match="'é€'"):
        cs.encode("café €5")
    assert cs.unknown_characters("café €5") == "é€"
    assert not cs.can_encode("naïve")


def test_normalization_nfc():
    cs = Charset("abcé")
    decomposed = "e\u0301"  # e + combining acute
    assert cs.encode(decomposed) == [4]


def test_custom_charset_and_config():
    cs = Charset("0123456789")
    assert cs.encode("42") == [5, 3]
    again = Charset.from_config(cs.get_config())
    assert again == cs and hash(again) == hash(cs)


@pytest.mark.parametrize("chars, message", [("", "empty"), ("aab", "duplicate"),
                                            (["ab"], "single characters")])
def test_bad_charsets(chars, message):
    with pytest.raises(CharsetError, match=message):
        Charset(chars)


def test_decode_rejects_out_of_range_ids():
    cs = Charset("ab")
    with pytest.raises(CharsetError, match="Id 7"):
        cs.decode([1, 7])


def test_text_too_long_for_padding():
    with pytest.raises(CharsetError, match="max_length=3"):
        Charset().encode_padded("abcd", 3)
