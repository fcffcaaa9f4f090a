"""Confused letters put right by keras_textnet.letter_confusions, and the technical words."""

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from decoded_line import decode_one_line

from keras_textnet.letter_confusions import correct_confusions, technical_words

TRAINING = Path(__file__).resolve().parents[1] / "training"


@pytest.mark.parametrize("read, meant", [
    ("colunn", "column"), ("betwcen", "between"), ("paraneters", "parameters"),
    ("fioating", "floating"), ("(betwcen),", "(between),"), ("Conmand", "Command"),
    ("lnteger", "integer"),
])
def test_a_confused_letter_is_put_right(read, meant):
    assert correct_confusions(read) == meant


@pytest.mark.parametrize("read, meant", [
    ("columins", "columns"), ("Coniference", "Conference"), ("evaluiate,", "evaluate,"),
    ("confict", "conflict"), ("Outine", "Outline"), ("attrbute>", "attribute>"),
])
def test_an_extra_or_a_missing_thin_letter_is_put_right(read, meant):
    assert correct_confusions(read) == meant


def test_columns_follow_the_letters_taken_out_and_put_in():
    import numpy as np

    text, cols = correct_confusions("the columins confict", np.arange(20) * 2)
    assert text == "the columns conflict"
    # "columins" loses its "i" (column 18); "confict" gains an "l" at the column of its "f"
    assert cols.tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 26,
                             28, 30, 32, 32, 34, 36, 38]
    assert len(cols) == len(text)


def test_acronyms_and_letters_after_a_digit_stay_as_read():
    # "AARM" is one "l" from "ALARM"; the "1" of "1inear" is no letter of the word
    assert correct_confusions("AARM 1inear x1inear") == "AARM 1inear x1inear"


def test_english_identifiers_macros_and_short_words_stay_as_read():
    # "nunber" is a misspelling English text has (Zipf 1.07): it is not changed either
    kept = ("the cat sat on a mat; nrow ncol strlen ctan nauty rnorm lapply dtype argc "
            "grestore vspace ldots setf \\fbox \\emforce tne nunber x_1 3.14 in of")
    assert correct_confusions(kept) == kept
    assert correct_confusions("") == "" and correct_confusions("  a  b ") == "  a  b "


def test_one_letter_changes_and_a_confusion_keeps_the_length():
    text = "a colunn of paraneters betwcen linos"
    fixed = correct_confusions(text)
    assert len(fixed) == len(text)
    assert sum(a != b for a, b in zip(text, fixed)) == 3     # "linos" has two readings


def test_technical_words_are_words_english_does_not_know():
    from wordfreq import zipf_frequency

    words = technical_words()
    assert {"ctan", "setf", "grestore"} <= words and len(words) > 5000
    sample = sorted(words)[::997]
    assert all(w == w.lower() and len(w) >= 4 and zipf_frequency(w, "en") == 0.0 for w in sample)


def test_the_predictor_puts_them_right():
    page = decode_one_line("colunn", [10, 20, 30, 40, 50, 60], 70)
    assert [w["text"] for w in page["words"]] == ["column"]
    assert page["lines"][0]["text"] == "column"


@pytest.mark.skipif(shutil.which("pdftotext") is None,
                    reason="poppler-utils is installed by the README's test command")
def test_build_vocabulary_keeps_the_unknown_words_of_the_pdfs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    pdf = tmp_path / "doc.pdf"
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(pdf) as pages:
        fig = plt.figure(figsize=(4, 2))
        fig.text(0.1, 0.5, "The function xqzlapply returns nothing")
        pages.savefig(fig)
        plt.close(fig)
    packed = tmp_path / "packed.pdf.gz"
    with pdf.open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    sources = tmp_path / "sources.tsv"
    sources.write_text(f"package\tpdf\tsplit\tpages\nx\t{pdf}\ttrain\t1\n"
                       f"x\t{packed}\ttrain\t1\ny\t/nowhere.pdf\tval\t1\n")
    out = tmp_path / "words.txt.gz"
    subprocess.run([sys.executable, str(TRAINING / "build_vocabulary.py"), str(sources),
                    "--out", str(out)], check=True, capture_output=True)
    with gzip.open(out, "rt") as f:
        assert f.read().split() == ["xqzlapply"]
