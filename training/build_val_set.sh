#!/usr/bin/env bash
# Builds our real-page validation set: fixed pages of the PDFs listed in
# training/val_sources.txt, clean and degraded.
#
#   training/build_val_set.sh OUT_DIR [options]
#
#   OUT_DIR               output folder (e.g. data_cache/realval):
#                           clean/images/*.png, clean/annotations.json
#                           degraded/images/*.png, degraded/annotations.json
#                           sources.tsv (package, PDF, kind, dpi, pages, SHA-1)
#   --sources FILE        the validation PDFs (default: training/val_sources.txt)
#   --train-sources FILE  the training packages they must not overlap
#                         (default: training/pdf_sources.txt)
#   --seed S              seed of the degradations (default 0)
#   --workers W           pages rendered in parallel (default: CPU count, at most 8)
#   --no-install          do not apt-get install missing packages
#
# Deterministic: the PDFs, pages and resolutions are fixed in the sources file;
# each page of degraded/ is its clean page degraded with the profile
# scan/photo/copy/dim taken in turn (page k gets profile k mod 4) and a
# generator keyed on the seed and the image's name
# (keras_textnet.data.degraded_pages). The degradations keep the geometry, so
# degraded/annotations.json holds the same boxes as clean/annotations.json, plus
# a "degradation" field per image. Records carry doc (the PDF's name), kind,
# package and page.
#
# Checks: before anything is installed, that no validation package is a
# training package or a held-out one (pdf_to_annotations refuses held-out PDFs
# anyway); before anything is rendered, that no validation PDF has the content
# of a training package's PDF (installed ones) and that every row matches
# exactly one PDF; then that every chosen page has a text layer. Example:
#
#   training/build_val_set.sh data_cache/realval
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit "${1:-0}"; }
[[ $# -ge 1 && ( $1 == -h || $1 == --help ) ]] && usage 0
[[ $# -lt 1 ]] && usage 2

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$1"; shift
SOURCES="$REPO/training/val_sources.txt"
TRAIN_SOURCES="$REPO/training/pdf_sources.txt"
SEED=0; WORKERS=0; INSTALL=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sources) SOURCES="$2"; shift 2 ;;
    --train-sources) TRAIN_SOURCES="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    *) echo "build_val_set.sh: unknown option '$1'" >&2; usage 2 ;;
  esac
done
for f in "$SOURCES" "$TRAIN_SOURCES"; do
  [[ -f "$f" ]] || { echo "build_val_set.sh: no sources file at $f" >&2; exit 2; }
done

source "$REPO/training/debian_packages.sh"
OVERLAP=$(comm -12 <(packages_of "$SOURCES") <(packages_of "$TRAIN_SOURCES"))
if [[ -n "$OVERLAP" ]]; then
  echo "build_val_set.sh: packages both in $SOURCES and in $TRAIN_SOURCES: $OVERLAP" >&2
  exit 1
fi
# Held-out packages are refused before anything is installed.
HELD_OUT=$(PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" "${PYTHON:-python3}" -c \
  'from keras_textnet.data.pdf import HELD_OUT_PACKAGES as H; print("\n".join(H))')
HELD=$(comm -12 <(packages_of "$SOURCES") <(sort -u <<<"$HELD_OUT"))
if [[ -n "$HELD" ]]; then
  echo "build_val_set.sh: held-out packages in $SOURCES (never use them): $HELD" >&2
  exit 1
fi

# shellcheck disable=SC2046  # one package name per word
[[ $INSTALL == 1 ]] && install_missing_packages $(packages_of "$SOURCES")
require_pdftoppm

PYTHONPATH="$REPO:$REPO/training${PYTHONPATH:+:$PYTHONPATH}" "${PYTHON:-python3}" - "$OUT" "$SOURCES" \
  "$TRAIN_SOURCES" "$SEED" "$WORKERS" <<'PY'
import gzip
import hashlib
import os
import re
import shutil
import sys
import warnings
from pathlib import Path

from debian_pdfs import dpkg_files, matching_files  # training/debian_pdfs.py
from keras_textnet.data.annotation import AnnotationSet
from keras_textnet.data.degraded_pages import degrade_annotation_set
from keras_textnet.data.pdf import HELD_OUT_PACKAGES, pdf_to_annotations

out, sources, train_sources = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
seed, workers = int(sys.argv[4]), int(sys.argv[5]) or None
KINDS = {"manual", "slides", "form", "refcard", "paper", "code", "table", "index"}


def content_sha1(path: str) -> str:
    h = hashlib.sha1()
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fail(message: str):
    sys.exit(f"build_val_set.sh: {message}")


# -- the rows --------------------------------------------------------------------
rows = []
for lineno, text in enumerate(sources.read_text().splitlines(), 1):
    fields = text.split("#", 1)[0].split()
    if not fields:
        continue
    where = f"{sources}:{lineno}"
    pkg = fields[0]
    if pkg in HELD_OUT_PACKAGES:
        fail(f"{where}: {pkg} is a held-out package; remove it.")
    opts = dict(f.split("=", 1) for f in fields[1:] if "=" in f)
    patterns = [f for f in fields[1:] if "=" not in f]
    unknown = set(opts) - {"pages", "dpi", "kind"}
    if unknown or not patterns or not {"pages", "dpi", "kind"} <= set(opts):
        fail(f"{where}: expected PACKAGE PATTERN pages=LIST dpi=D kind=K; received {text!r}.")
    if opts["kind"] not in KINDS:
        fail(f"{where}: kind must be one of {sorted(KINDS)}; received {opts['kind']!r}.")
    files = dpkg_files(pkg)
    if files is None:
        fail(f"{where}: package {pkg} is not installed.")
    matches = sorted(matching_files(files, patterns))
    if len(matches) != 1:
        fail(f"{where}: {' '.join(patterns)} must match exactly one file of {pkg}; "
             f"matches {len(matches)}: {matches[:5]}.")
    pages = [int(p) for p in opts["pages"].split(",")]
    rows.append({"package": pkg, "pdf": matches[0], "pages": pages, "dpi": float(opts["dpi"]),
                 "kind": opts["kind"]})

stems = [re.sub(r"\.pdf(\.gz)?$", "", Path(r["pdf"]).name, flags=re.I) for r in rows]
if len(set(stems)) != len(stems):
    fail(f"two PDFs share a name: {sorted(s for s in stems if stems.count(s) > 1)}.")
if len({r["pdf"] for r in rows}) != len(rows):
    fail("a PDF is listed twice.")

# -- no overlap with the training data --------------------------------------------
train_rows = [t.split("#", 1)[0].split() for t in train_sources.read_text().splitlines()]
train_packages = sorted({fields[0] for fields in train_rows if fields})
clash = sorted({r["package"] for r in rows} & set(train_packages))
if clash:
    fail(f"packages used for training too ({train_sources}): {clash}.")
ours = {content_sha1(r["pdf"]): r["pdf"] for r in rows}
sizes_checked, not_installed = 0, []
for pkg in train_packages:
    files = dpkg_files(pkg)
    if files is None:
        not_installed.append(pkg)
        continue
    for f in files:
        if f.lower().endswith((".pdf", ".pdf.gz")) and os.path.isfile(f):
            sizes_checked += 1
            digest = content_sha1(f)
            if digest in ours:
                fail(f"{ours[digest]} has the same content as {f} of the training package {pkg}.")
print(f"overlap check: {len(rows)} PDFs, none in the {len(train_packages)} training packages "
      f"(content compared with {sizes_checked} training PDFs"
      + (f"; not installed, not compared: {' '.join(not_installed)}" if not_installed else "")
      + ")", file=sys.stderr)

# -- clean pages -------------------------------------------------------------------
clean_dir, degraded_dir = out / "clean", out / "degraded"
for d in (clean_dir, degraded_dir):
    shutil.rmtree(d / "images", ignore_errors=True)
    (d / "annotations.json").unlink(missing_ok=True)
records = []
for row, stem in zip(rows, stems):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ann = pdf_to_annotations([row["pdf"]], clean_dir, dpi=row["dpi"], pages=row["pages"],
                                 workers=workers, progress=False)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    got = sorted(rec.extra["page"] for rec in ann.images)
    if got != sorted(row["pages"]):
        fail(f"{row['pdf']}: pages {sorted(set(row['pages']) - set(got))} have no text layer; "
             f"choose others in {sources}.")
    for rec in sorted(ann.images, key=lambda r: r.extra["page"]):
        rec.doc = stem
        rec.extra.update({"kind": row["kind"], "package": row["package"], "dpi": row["dpi"]})
        records.append(rec)
    kept = sum(not w.ignore for rec in ann.images for w in rec.words)
    print(f"  {stem:28s} {row['kind']:8s} {len(ann.images)} pages at {row['dpi']:g} dpi, "
          f"{kept} readable words", file=sys.stderr)

clean = AnnotationSet(images=records, root=clean_dir, extra={"realval": {
    "sources": sources.name, "seed_of_degraded": seed,
    "pdfs": len(rows), "packages": len({r["package"] for r in rows}), "pages": len(records)}})
clean.save(clean_dir / "annotations.json")
with open(out / "sources.tsv", "w") as f:
    f.write("package\tpdf\tkind\tdpi\tpages\tsha1\n")
    for row in rows:
        f.write(f"{row['package']}\t{row['pdf']}\t{row['kind']}\t{row['dpi']:g}\t"
                f"{','.join(map(str, row['pages']))}\t{content_sha1(row['pdf'])}\n")

# -- degraded pages ------------------------------------------------------------------
degrade_annotation_set(clean, degraded_dir, seed=seed, progress=False)
words = sum(1 for rec in records for w in rec.words)
readable = sum(1 for rec in records for w in rec.words if not w.ignore)
lines = sum(1 for rec in records for ln in rec.lines if not ln.ignore)
print(f"wrote {len(records)} pages of {len(rows)} PDFs ({len({r['package'] for r in rows})} "
      f"packages; kinds: {', '.join(sorted({r['kind'] for r in rows}))}): {readable} readable "
      f"words of {words}, {lines} readable lines -> {clean_dir}, {degraded_dir} (seed {seed})",
      file=sys.stderr)
PY
