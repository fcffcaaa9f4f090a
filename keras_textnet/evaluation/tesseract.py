"""Tesseract as a yardstick: run it on an image, get our prediction JSON back.

Needs the ``tesseract`` program (Debian: ``apt-get install tesseract-ocr
tesseract-ocr-eng``). It runs with ``OMP_THREAD_LIMIT=1`` (on a few cores its
OpenMP threads only slow it down). Words come from its TSV output (level 5
rows with text), lines from the words sharing a block/paragraph/line number;
boxes are in the image's own pixels, as ours.

>>> page = run_tesseract("page.png")                   # doctest: +SKIP
>>> [w["text"] for w in page["words"]][:5]             # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np


class TesseractError(RuntimeError):
    """Tesseract is missing or failed on an image."""


def tesseract_version() -> str | None:
    """``"5.3.0"``-like, or ``None`` when the program is not installed."""
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split()[-1] if first else "unknown"


def parse_tsv(tsv: str, file: str, width: int, height: int) -> dict:
    """Tesseract's TSV output as one prediction-JSON image entry."""
    words, groups = [], {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5":
            continue
        text = (row.get("text") or "").strip()
        conf = float(row.get("conf") or -1)
        if not text or conf < 0:
            continue
        x0, y0 = int(row["left"]), int(row["top"])
        x1, y1 = x0 + int(row["width"]), y0 + int(row["height"])
        if x1 <= x0 or y1 <= y0:
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        line_id = groups.setdefault(key, len(groups))
        words.append({"box": [x0, y0, x1, y1], "text": text, "score": round(conf / 100, 4),
                      "line": line_id})
    lines = []
    for _, line_id in sorted(groups.items(), key=lambda kv: kv[1]):
        members = sorted((w for w in words if w["line"] == line_id), key=lambda w: w["box"][0])
        b = np.array([w["box"] for w in members])
        lines.append({"box": [int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()),
                              int(b[:, 3].max())],
                      "text": " ".join(w["text"] for w in members),
                      "score": round(float(np.mean([w["score"] for w in members])), 4)})
    return {"file": file, "width": int(width), "height": int(height), "words": words,
            "lines": lines}


def run_tesseract(image, file: str | None = None, lang: str = "eng", psm: int = 3,
                  dpi: int | None = None, threads: int = 1, timeout: float = 300.0) -> dict:
    """Words and lines of one image (path or ``(H, W, 3)`` uint8 array) by Tesseract.

    Args:
      image: an image file, or an RGB array (written to a temporary PNG).
      file: the ``file`` name of the entry (default: the path's base name).
      lang, psm: Tesseract's ``-l`` and ``--psm``.
      dpi: the scan resolution to tell Tesseract (``--dpi``), if known.
      threads: ``OMP_THREAD_LIMIT``.
    Raises:
      TesseractError: the program is missing, fails or times out.
    """
    exe = shutil.which("tesseract")
    if exe is None:
        raise TesseractError("tesseract is not installed (Debian: apt-get install "
                             "tesseract-ocr tesseract-ocr-eng)")
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(image, np.ndarray):
            from keras_textnet.data.visualize import save_rgb

            path = Path(tmp) / "page.png"
            save_rgb(path, image)
            height, width = image.shape[:2]
            name = file or "image"
        else:
            path = Path(image)
            from PIL import Image

            with Image.open(path) as im:
                width, height = im.size
            name = file or path.name
        cmd = [exe, str(path), "stdout", "-l", lang, "--psm", str(psm)]
        if dpi:
            cmd += ["--dpi", str(int(dpi))]
        env = dict(os.environ, OMP_THREAD_LIMIT=str(int(threads)))
        try:
            out = subprocess.run(cmd + ["tsv"], capture_output=True, text=True, env=env,
                                 timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise TesseractError(f"tesseract timed out after {timeout:g} s on {name}") from e
        if out.returncode != 0:
            raise TesseractError(f"tesseract failed on {name}: {out.stderr.strip()[-300:]}")
    return parse_tsv(out.stdout, name, width, height)
