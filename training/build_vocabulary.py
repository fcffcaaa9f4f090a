"""Builds the technical words that the predictor's letter corrections leave alone.

    python training/build_vocabulary.py data_cache/pdf_train/sources.tsv \
        --out keras_textnet/assets/technical_words.txt.gz

Reads the text layer (``pdftotext``, poppler-utils) of every PDF that a real-PDF
dataset was rendered from (its ``sources.tsv``, written by
``training/build_pdf_dataset.sh``; only the training split's PDFs, never a
held-out package's), and keeps the words English does not know: lower-case runs
of at least ``--min-letters`` letters with a ``wordfreq`` Zipf frequency of 0
(``ctan``, ``setf``, ``lapply``). :mod:`keras_textnet.letter_confusions` does
not "correct" such a word into English. The output is gzip text, one word per
line, sorted, so that a rebuild from the same PDFs gives the same file.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
import sys
from pathlib import Path

from tqdm import tqdm

_LETTERS = re.compile(r"[A-Za-z]+")


def pdf_words(pdf: str, max_pages: int) -> set[str]:
    """Lower-case letter runs of the first ``max_pages`` pages of ``pdf``'s text layer
    (a ``.pdf.gz`` is read through); an unreadable PDF gives none, with a warning."""
    from keras_textnet.data.pdf import PDFError, pdf_text

    try:
        text = pdf_text(pdf, last_page=max_pages)
    except PDFError as e:
        print(f"warning: skipped {pdf}: {e}", file=sys.stderr)
        return set()
    return {w.lower() for w in _LETTERS.findall(text)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", type=Path, help="sources.tsv of a real-PDF dataset")
    parser.add_argument("--out", type=Path, required=True, help="output .txt.gz")
    parser.add_argument("--min-letters", type=int, default=4)
    parser.add_argument("--max-pages", type=int, default=200, help="pages read per PDF")
    args = parser.parse_args(argv)

    from wordfreq import zipf_frequency

    from keras_textnet.data.pdf import HeldOutPDFError, held_out_packages

    with args.sources.open(newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r.get("split", "train") == "train"]
    if not rows:
        parser.error(f"{args.sources} lists no training PDFs")
    for row, package in zip(rows, held_out_packages([r["pdf"] for r in rows])):
        if package is not None:
            raise HeldOutPDFError(row["pdf"], package)
    words: set[str] = set()
    for row in tqdm(rows, desc="PDF text", unit="pdf"):
        words |= pdf_words(row["pdf"], args.max_pages)
    unknown = sorted(w for w in words
                     if len(w) >= args.min_letters and zipf_frequency(w, "en") == 0.0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(args.out, "wb", mtime=0) as raw:
        raw.write("".join(w + "\n" for w in unknown).encode("utf-8"))
    print(f"{len(unknown)} technical words of {len(words)} distinct words in {len(rows)} PDFs "
          f"-> {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
