#!/usr/bin/env bash
# Builds our own real-PDF dataset split (train or val) from the Debian packages
# listed in training/pdf_sources.txt.
#
#   training/build_pdf_dataset.sh SPLIT OUT_DIR [options]
#
#   SPLIT                 train | val
#   OUT_DIR               output folder: images/, annotations.json, sources.tsv
#   --sources FILE        package list (default: training/pdf_sources.txt)
#   --val-percent P       share of PDFs in val (default 10)
#   --max-pdfs N          at most N PDFs, taken round-robin over the packages (default: all)
#   --pages-per-pdf K     at most K pages per PDF (default 8)
#   --dpi D               rendering resolution (default 150)
#   --workers W           pages rendered in parallel (default: CPU count, at most 8)
#   --no-install          do not apt-get install missing packages
#
# Everything is deterministic: a PDF's split is fixed by the SHA-1 of its path
# (so train and val never share a document), the PDFs taken with --max-pdfs
# and the pages taken with --pages-per-pdf are those with the smallest hashes
# (so a bigger build contains a smaller one). Held-out packages are refused by
# keras_textnet.data.pdf. Examples:
#
#   training/build_pdf_dataset.sh val   data_cache/pdf_val   --max-pdfs 15 --pages-per-pdf 3
#   training/build_pdf_dataset.sh train data_cache/pdf_train --pages-per-pdf 10
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit "${1:-0}"; }
[[ $# -ge 1 && ( $1 == -h || $1 == --help ) ]] && usage 0
[[ $# -lt 2 ]] && usage 2

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPLIT="$1"; OUT="$2"; shift 2
SOURCES="$REPO/training/pdf_sources.txt"
VAL_PERCENT=10; MAX_PDFS=0; PAGES=8; DPI=150; WORKERS=0; INSTALL=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sources) SOURCES="$2"; shift 2 ;;
    --val-percent) VAL_PERCENT="$2"; shift 2 ;;
    --max-pdfs) MAX_PDFS="$2"; shift 2 ;;
    --pages-per-pdf) PAGES="$2"; shift 2 ;;
    --dpi) DPI="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "build_pdf_dataset.sh: unknown option '$1'" >&2; usage 2 ;;
  esac
done
case "$SPLIT" in train|val) ;; *) echo "build_pdf_dataset.sh: SPLIT must be train or val; received '$SPLIT'" >&2; exit 2 ;; esac
[[ -f "$SOURCES" ]] || { echo "build_pdf_dataset.sh: no sources file at $SOURCES" >&2; exit 2; }

source "$REPO/training/debian_packages.sh"
# shellcheck disable=SC2046  # one package name per word
[[ $INSTALL == 1 ]] && install_missing_packages $(packages_of "$SOURCES")
require_pdftoppm

PYTHONPATH="$REPO:$REPO/training${PYTHONPATH:+:$PYTHONPATH}" "${PYTHON:-python3}" - "$SPLIT" "$OUT" "$SOURCES" \
  "$VAL_PERCENT" "$MAX_PDFS" "$PAGES" "$DPI" "$WORKERS" <<'PY'
import hashlib
import sys
from pathlib import Path

from debian_pdfs import dpkg_files, matching_files  # training/debian_pdfs.py
from keras_textnet.data.pdf import HELD_OUT_PACKAGES, pdf_to_annotations

split, out, sources = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
val_percent, max_pdfs, pages_per_pdf = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
dpi, workers = float(sys.argv[7]), int(sys.argv[8]) or None
SALT = "keras_textnet/pdf-split/v1"


def digest(text: str) -> int:
    return int(hashlib.sha1(f"{SALT}:{text}".encode()).hexdigest()[:12], 16)


by_package: dict[str, list[str]] = {}
seen: set[str] = set()
for lineno, row in enumerate(sources.read_text().splitlines(), 1):
    fields = row.split("#", 1)[0].split()
    if not fields:
        continue
    pkg, patterns = fields[0], fields[1:]
    if pkg in HELD_OUT_PACKAGES:
        sys.exit(f"{sources}:{lineno}: {pkg} is a held-out package; remove it.")
    if not patterns:
        sys.exit(f"{sources}:{lineno}: {pkg} has no glob pattern.")
    listed = dpkg_files(pkg)
    if listed is None:
        sys.exit(f"{sources}:{lineno}: package {pkg} is not installed.")
    files = [f for f in matching_files(listed, patterns) if f not in seen]
    seen.update(files)
    if not files:
        print(f"warning: {pkg}: no file matches {' '.join(patterns)}", file=sys.stderr)
    by_package[pkg] = files

# Split by document, then take PDFs round-robin over packages in hash order.
queues = []
for pkg, files in by_package.items():
    mine = [f for f in files if (digest(f) % 10000 < val_percent * 100) == (split == "val")]
    queues.append((pkg, sorted(mine, key=digest)))
chosen: list[tuple[str, str]] = []
while any(q for _, q in queues) and (max_pdfs <= 0 or len(chosen) < max_pdfs):
    for pkg, q in queues:
        if q and (max_pdfs <= 0 or len(chosen) < max_pdfs):
            chosen.append((pkg, q.pop(0)))
if not chosen:
    sys.exit(f"no PDF falls in the {split} split; check {sources}.")

picked: dict[str, list[int]] = {}


def select_pages(path, num_pages):
    ranked = sorted(range(1, num_pages + 1), key=lambda p: digest(f"{path}#{p}"))
    pages = sorted(ranked[:pages_per_pdf])
    picked[str(path)] = pages
    return pages


print(f"{split}: {len(chosen)} PDFs from {len({p for p, _ in chosen})} packages, "
      f"up to {pages_per_pdf} pages each, {dpi:g} dpi -> {out}", file=sys.stderr)
ann = pdf_to_annotations([Path(f) for _, f in chosen], out, dpi=dpi, pages=select_pages,
                         workers=workers, skip_bad_pdfs=True)
with open(out / "sources.tsv", "w") as f:
    f.write("package\tpdf\tsplit\tpages\n")
    for pkg, path in chosen:
        f.write(f"{pkg}\t{path}\t{split}\t{','.join(map(str, picked.get(path, [])))}\n")
stats = ann.extra["pdf_dataset"]
print(f"wrote {stats['pages']} pages ({stats['skipped_no_text']} without text skipped, "
      f"{stats['skipped_errors']} errors) to {out / 'annotations.json'}; words: {stats['words']}; "
      f"{stats['seconds_per_page']} s/page", file=sys.stderr)
PY
