"""Fonts and text content of the synthetic-document generator."""

import collections
import os
import shutil
import threading

import numpy as np
import pytest
from PIL import ImageFont

from keras_textnet.charset import Charset, CharsetError
from keras_textnet.data.synthetic.fonts import (ASCII_PRINTABLE, FontError, FontFace, FontLibrary,
                                                restrict_to_face)
from keras_textnet.data.synthetic.text import CELL_KINDS, TextSampler

# TeX OT1 positions that matplotlib's Computer Modern TTFs map ASCII to.
CM_TEXT_WRONG = set('"<>\\^_`{|}~')


@pytest.fixture(scope="module")
def mpl_library():
    return FontLibrary.discover(include_system=False)


@pytest.fixture(scope="module")
def library():
    return FontLibrary.discover()


@pytest.fixture(scope="module")
def sampler():
    return TextSampler()


def _face(lib, filename):
    found = [f for f in lib.faces if os.path.basename(f.path) == filename]
    if not found:
        pytest.skip(f"{filename} is not installed here")
    return found[0]


# --------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------

def test_discovery_finds_matplotlib_families(mpl_library):
    fams = mpl_library.families()
    for fam in ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono", "STIXGeneral",
                "Computer Modern", "Computer Modern Typewriter"):
        assert fam in fams
    assert len(mpl_library) == len(mpl_library.faces) >= 15
    assert [f.path for f in mpl_library.faces] == sorted(f.path for f in mpl_library.faces)
    for face in mpl_library.faces:
        assert os.path.isabs(face.path)
        assert set("abcxyzABCXYZ0123456789 ") <= face.characters <= set(ASCII_PRINTABLE)


def test_discovery_is_cached(mpl_library):
    assert FontLibrary.discover(include_system=False) is mpl_library
    assert FontLibrary.discover(extra_dirs=(), include_system=False) is mpl_library


def test_symbol_and_math_fonts_are_skipped(library):
    names = {os.path.basename(f.path) for f in library.faces}
    for bad in ("cmex10.ttf", "cmsy10.ttf", "cmmi10.ttf", "LastResortHE-Regular.ttf",
                "STIXSizOneSymReg.ttf", "STIXNonUni.ttf", "DejaVuSansDisplay.ttf"):
        assert bad not in names
    assert not any("Symbol" in f.family or "Math" in f.family for f in library.faces)
    assert any("cmex10" in p for p in library.skipped)


def test_computer_modern_excludes_ot1_glyphs(mpl_library):
    for name in ("cmr10.ttf", "cmb10.ttf", "cmti10.ttf", "cmss10.ttf"):
        face = _face(mpl_library, name)
        assert "<" not in face.characters and "|" not in face.characters
        assert not CM_TEXT_WRONG & face.characters
        assert set(ASCII_PRINTABLE) - face.characters == CM_TEXT_WRONG
        assert face.covers("Invoice No. 12, total: $4.50 (paid) 100% 'ok'")
        assert not face.covers("a < b")
    cmtt = _face(mpl_library, "cmtt10.ttf")
    assert set(ASCII_PRINTABLE) - cmtt.characters == {"`"}
    assert cmtt.monospace and cmtt.family == "Computer Modern Typewriter"
    assert _face(mpl_library, "cmb10.ttf").bold and _face(mpl_library, "cmti10.ttf").italic


def test_dejavu_draws_all_of_ascii(mpl_library):
    assert _face(mpl_library, "DejaVuSans.ttf").characters == frozenset(ASCII_PRINTABLE)


def test_every_claimed_character_renders_ink(mpl_library):
    for face in mpl_library.faces:
        font = ImageFont.truetype(face.path, 24, index=face.index,
                                  layout_engine=ImageFont.Layout.BASIC)
        for c in face.characters - {" "}:
            assert font.getmask(c).getbbox() is not None, (face.name, c)


def test_sample_honours_style(library):
    rng = np.random.default_rng(0)
    for _ in range(40):
        assert library.sample(rng, monospace=True).monospace
        assert library.sample(rng, bold=True).bold
        face = library.sample(rng, bold=False, italic=True)
        assert face.italic and not face.bold
        assert not library.sample(rng, monospace=False).monospace
        assert library.sample(rng, serif=True).serif is True
        assert not library.sample(rng).script  # script faces only on request


def test_sample_keeps_to_family(mpl_library):
    rng = np.random.default_rng(1)
    face = mpl_library.sample(rng, family="Computer Modern", bold=True)
    assert face.family == "Computer Modern" and face.bold
    with pytest.raises(FontError, match="No font family"):
        mpl_library.sample(rng, family="No Such Family")


def test_sample_falls_back_when_nothing_matches(mpl_library):
    plain_mono = mpl_library.filter(lambda f: not f.bold or not f.monospace)
    rng = np.random.default_rng(2)
    for _ in range(10):
        face = plain_mono.sample(rng, monospace=True, bold=True)
        assert face.monospace and not face.bold
    with pytest.raises(FontError, match="No font face matches"):
        plain_mono.sample(rng, monospace=True, bold=True, strict=True)
    with pytest.raises(FontError, match="empty"):
        FontLibrary([]).sample(rng)


def test_sample_is_uniform_over_families(library):
    rng = np.random.default_rng(3)
    n = 6000
    counts = collections.Counter(library.sample(rng, script=None).family for _ in range(n))
    fams = library.families()
    assert set(counts) == set(fams)
    expected = n / len(fams)
    assert max(counts.values()) < 1.6 * expected and min(counts.values()) > 0.5 * expected


def test_sample_is_deterministic(library):
    a = [library.sample(np.random.default_rng(5)).path for _ in range(3)]
    rng1, rng2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [library.sample(rng1).path for _ in range(20)] == \
           [library.sample(rng2).path for _ in range(20)]
    assert len(set(a)) == 1


def test_pil_font_is_cached(mpl_library):
    face = _face(mpl_library, "DejaVuSans.ttf")
    font = mpl_library.pil_font(face, 20)
    assert isinstance(font, ImageFont.FreeTypeFont) and font.size == 20
    assert mpl_library.pil_font(face, 20) is font
    assert mpl_library.pil_font(face, 21) is not font
    with pytest.raises(FontError, match="size_px"):
        mpl_library.pil_font(face, 0)


def test_restrict_to_face(mpl_library):
    cmr = _face(mpl_library, "cmr10.ttf")
    assert restrict_to_face("a<b> x|y c_d {e} f\\g `h` ~i^", cmr) == "a(b) x/y c-d (e) f/g 'h' -i"
    assert cmr.covers(restrict_to_face(ASCII_PRINTABLE, cmr))
    dejavu = _face(mpl_library, "DejaVuSans.ttf")
    text = 'if (a < b) { x = "y"; }'
    assert restrict_to_face(text, dejavu) == text
    assert restrict_to_face("café €", dejavu) == "caf"
    tiny = FontFace("/x.ttf", "X", False, False, False, None, frozenset("ab "))
    assert restrict_to_face("xyz", tiny) == ""
    assert restrict_to_face("a  ~  b", tiny) == "a b"


def test_extra_dirs_and_bad_files(tmp_path, mpl_library):
    src = _face(mpl_library, "DejaVuSerif.ttf").path
    shutil.copy(src, tmp_path / "Copy.ttf")
    (tmp_path / "broken.ttf").write_bytes(b"not a font at all")
    lib = FontLibrary.discover(extra_dirs=[str(tmp_path)], include_system=False)
    assert lib is not mpl_library
    assert "broken.ttf" in " ".join(lib.skipped)
    # The copy is the same face as matplotlib's: kept once.
    assert sum(f.family == "DejaVu Serif" and f.style == "Book" for f in lib.faces) == 1
    with pytest.raises(FontError, match="does not exist"):
        FontLibrary.discover(extra_dirs=[str(tmp_path / "missing")])


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------

STRING_METHODS = ("word", "sentence", "paragraph", "heading", "number", "percent", "amount",
                  "date", "time", "identifier", "email", "url", "phone", "person_name",
                  "company", "form_label", "code_line", "product")


def _assert_clean(text, charset):
    assert isinstance(text, str) and text, repr(text)
    assert text == text.strip() and "  " not in text, repr(text)
    assert charset.can_encode(text), (text, charset.unknown_characters(text))


def _all_outputs(sampler, rng):
    out = [getattr(sampler, m)(rng) for m in STRING_METHODS]
    out += [sampler.cell(rng, k) for k in CELL_KINDS]
    out += sampler.address_lines(rng)
    out += [t for _, t in sampler.code_block(rng)]
    return out


def test_text_kinds_table_makes_the_methods():
    from keras_textnet.data.synthetic.text import TEXT_KINDS
    assert set(TEXT_KINDS) == set(STRING_METHODS) - {"sentence", "paragraph"}
    for name, make in TEXT_KINDS.items():
        method = getattr(TextSampler, name)
        assert method.__name__ == name and make.__doc__ and method.__doc__ == make.__doc__


def test_every_method_is_encodable_and_clean(sampler):
    rng = np.random.default_rng(0)
    for _ in range(150):
        for text in _all_outputs(sampler, rng):
            _assert_clean(text, sampler.charset)


def test_determinism(sampler):
    a = _all_outputs(sampler, np.random.default_rng(42))
    b = _all_outputs(TextSampler(), np.random.default_rng(42))
    c = _all_outputs(sampler, np.random.default_rng(43))
    assert a == b
    assert a != c
    same = sum(x == y for x, y in zip(a, c))
    assert same < len(a) // 2


def test_determinism_across_threads(sampler):
    expected = [_all_outputs(sampler, np.random.default_rng(s)) for s in range(4)]
    got = [None] * 4

    def run(s):
        got[s] = _all_outputs(sampler, np.random.default_rng(s))

    threads = [threading.Thread(target=run, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


def test_word_casing_and_frequency(sampler):
    rng = np.random.default_rng(1)
    words = [sampler.word(rng) for _ in range(3000)]
    lower = sum(w.islower() for w in words)
    upper = sum(w.isupper() and len(w) > 1 for w in words)
    title = sum(w[:1].isupper() and w[1:].islower() for w in words)
    assert lower > 0.6 * len(words) and title > 0.1 * len(words) and upper > 0.02 * len(words)
    lowered = collections.Counter(w.lower() for w in words)
    assert lowered["the"] > 20  # common words dominate ...
    assert len(lowered) > 1000  # ... but the vocabulary is wide
    assert sampler.words(np.random.default_rng(2), 5) == sampler.words(np.random.default_rng(2), 5)


def test_sentences_have_punctuation_and_numbers(sampler):
    rng = np.random.default_rng(2)
    text = [sampler.sentence(rng) for _ in range(400)]
    joined = " ".join(text)
    for mark in (",", "(", ")", '"', ";", "-", "@", "$", "?", "!"):
        assert mark in joined, mark
    assert any(c.isdigit() for c in joined)
    assert all(s[-1] in ".!?:" for s in text)
    assert sum(s[0].isupper() for s in text) > 0.85 * len(text)
    for s in (sampler.sentence(rng, 2, 3) for _ in range(50)):
        assert 1 <= len(s.split()) <= 12


def test_heading_and_value_variety(sampler):
    rng = np.random.default_rng(3)
    heads = [sampler.heading(rng) for _ in range(300)]
    assert any(h[0].isdigit() and "." in h.split()[0] for h in heads)  # "3.2 Results"
    assert any(h.isupper() and len(h) > 3 for h in heads)
    assert any(h.istitle() for h in heads)
    dates = {sampler.date(rng) for _ in range(300)}
    assert any("-" in d and d[:4].isdigit() for d in dates)
    assert any(any(m in d for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                    "Sep", "Oct", "Nov", "Dec")) for d in dates)
    amounts = [sampler.amount(rng) for _ in range(300)]
    assert any(a.startswith("$") for a in amounts) and any(a.startswith("(") for a in amounts)
    numbers = [sampler.number(rng) for _ in range(300)]
    assert any(n.endswith(("st", "nd", "rd", "th")) for n in numbers)
    assert any("%" in n for n in numbers) and any("," in n for n in numbers)
    assert any("@" in sampler.email(rng) for _ in range(5))
    assert all("." in sampler.url(rng) for _ in range(20))
    assert 2 <= len(sampler.address_lines(rng)) <= 5


def test_code_block_indentation(sampler):
    rng = np.random.default_rng(4)
    blocks = [sampler.code_block(rng, 4, 10) for _ in range(40)]
    assert all(4 <= len(b) <= 10 for b in blocks)
    assert any(indent > 0 for b in blocks for indent, _ in b)
    assert all(indent >= 0 and text == text.strip() for b in blocks for indent, text in b)


def test_restricted_charset():
    charset = Charset("abcdefghijklmnopqrstuvwxyz .,")
    s = TextSampler(charset, vocabulary_size=2000)
    rng = np.random.default_rng(5)
    for _ in range(50):
        for m in ("word", "sentence", "heading", "person_name", "company", "product"):
            _assert_clean(getattr(s, m)(rng), charset)
    with pytest.raises(CharsetError):
        TextSampler(Charset("!?"))


def test_transliteration(sampler):
    assert sampler.fit("Café – “quoted” Straße  €5 ") == 'Cafe - "quoted" Strasse EUR5'
    assert sampler.fit("\u00a0  \t") == ""
    accented = Charset(Charset().characters + "é")
    assert TextSampler(accented, vocabulary_size=500).fit("café ü") == "café u"


def test_bad_arguments(sampler):
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="Unknown cell kind"):
        sampler.cell(rng, "bogus")
    with pytest.raises(ValueError, match="locale"):
        TextSampler(locale="xx_YY")
    with pytest.raises(ValueError, match="vocabulary_size"):
        TextSampler(vocabulary_size=5)
    with pytest.raises(TypeError, match="Generator"):
        sampler.word(42)
    with pytest.raises(ValueError, match="min_words"):
        sampler.sentence(rng, 5, 2)


def test_other_locale():
    s = TextSampler(locale="de_DE", vocabulary_size=500)
    rng = np.random.default_rng(7)
    for _ in range(30):
        for text in (s.person_name(rng), s.company(rng), *s.address_lines(rng), s.word(rng)):
            _assert_clean(text, s.charset)
