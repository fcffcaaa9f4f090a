"""A corpus of bad inputs (issue 12, parts 4 and 5): every one gets one clear line.

Each case builds its file in ``tmp_path`` and runs the ``keras-textnet``
command in-process (``main``), with a stub in place of the network (its words
depend only on the page size), so the whole corpus takes a few seconds. For
each: a non-zero exit status, exactly one ``keras-textnet: error: ...`` line on
stderr naming the input and saying what is wrong, no traceback, no hang.
A few subprocess cases check what only a separate process can: SIGTERM in the
middle of ``predict`` keeps every finished page.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from document_samples import make_pdf, make_tiff
from keras_textnet.cli import main

ROOT = Path(__file__).resolve().parents[1]


class StubPredictor:
    """Words at fixed fractions of the page; records the pages it saw."""

    def __init__(self, on_page=None):
        self.seen = []
        self.on_page = on_page
        self.planned = None

    def plan(self, pages):
        self.planned = pages

    def predict_image(self, image, file=None):
        self.seen.append(file)
        if self.on_page:
            self.on_page(len(self.seen))
        h, w = image.shape[:2]
        box = [round(0.1 * w, 1), round(0.2 * h, 1), round(0.9 * w, 1), round(0.4 * h, 1)]
        return {"file": file, "width": w, "height": h,
                "words": [{"box": box, "text": f"{w}x{h}", "score": 0.9, "line": 0}],
                "lines": [{"box": box, "text": f"{w}x{h}", "score": 0.9, "angle": 0.0}]}


@pytest.fixture
def stub(monkeypatch):
    predictor = StubPredictor()
    monkeypatch.setattr("keras_textnet.cli.inference._predictor", lambda args: predictor)
    return predictor


def _page(h=40, w=60, value=255):
    img = np.full((h, w, 3), value, np.uint8)
    img[h // 4:h // 2, w // 6:w - w // 6] = 0
    return img


def _png_bytes(img=None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_page() if img is None else img).save(buf, "PNG")
    return buf.getvalue()


def _jpeg_bytes(**kwargs) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_page()).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (and holds almost no data)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _one_error_line(err: str) -> str:
    """The single line of stderr, which must be a ``keras-textnet: error:`` line."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-textnet: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _no_litter(folder: Path):
    left = [p.name for p in folder.rglob("*") if p.name.endswith((".ktn-tmp", ".tmp"))]
    assert left == []


# ---------------------------------------------------------------------------
# Inputs of predict: each bad file alone. (kind, builder, expected words)
# ---------------------------------------------------------------------------

def _fifo(path):
    os.mkfifo(path)


def _symlink_loop(path):
    os.symlink(path.with_name("loop_b.png"), path)
    os.symlink(path, path.with_name("loop_b.png"))


def _broken_link(path):
    os.symlink(path.with_name("gone.png"), path)


def _encrypted_pdf(path):
    plain = make_pdf(path.with_name("plain.pdf"), pages=1)
    subprocess.run(["qpdf", "--encrypt", "secret", "secret", "256", "--", str(plain), str(path)],
                   check=True, capture_output=True)


def _no_pages_pdf(path):
    path.write_bytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
                     b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
                     b"trailer<</Root 1 0 R>>\n%%EOF\n")


IMAGE_CASES = [
    ("empty", "empty.png", lambda p: p.write_bytes(b""), "the file is empty"),
    ("truncated_png", "trunc.png", lambda p: p.write_bytes(_png_bytes()[:70]), "truncated"),
    ("truncated_jpeg", "trunc.jpg", lambda p: p.write_bytes(_jpeg_bytes()[:300]), "truncated"),
    ("random_bytes_png", "noise.png",
     lambda p: p.write_bytes(np.random.default_rng(0).bytes(4000)), "not an image"),
    ("text_as_jpeg", "text.jpg", lambda p: p.write_text("Dear reader,\n"), "not an image"),
    ("fifo", "pipe.png", _fifo, "named pipe"),
    ("symlink_loop", "loop_a.png", _symlink_loop, "loop of symbolic links"),
    ("broken_symlink", "link.png", _broken_link, "broken symbolic link"),
    ("missing", "missing.png", lambda p: None, "no such file"),
    ("zero_by_zero", "zero.png", lambda p: p.write_bytes(_png_header(0, 0)), ""),
    ("one_by_one", "one.png", lambda p: Image.fromarray(_page()[:1, :1]).save(p),
     "1x1 pixels, too small"),
    ("bomb_header", "bomb.png", lambda p: p.write_bytes(_png_header(100_000, 100_000)),
     "megapixels"),
    ("pdf_no_pages", "nopages.pdf", _no_pages_pdf, "the PDF has no pages"),
    ("pdf_corrupt", "corrupt.pdf", lambda p: p.write_bytes(b"%PDF-1.7\n%garbage\n"),
     "not a readable PDF"),
    ("pdf_encrypted", "locked.pdf", _encrypted_pdf, "encrypted with a password"),
    ("pdf_not_a_pdf", "words.pdf", lambda p: p.write_text("just words"), "is not a PDF"),
]


@pytest.mark.parametrize("kind, name, build, message", IMAGE_CASES,
                         ids=[c[0] for c in IMAGE_CASES])
def test_bad_input_alone_is_one_clear_line(tmp_path, stub, capsys, kind, name, build, message):
    if kind.startswith("pdf") and shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils not installed")
    if kind == "pdf_encrypted" and shutil.which("qpdf") is None:
        pytest.skip("qpdf not installed")
    path = tmp_path / "in" / name
    path.parent.mkdir()
    build(path)
    out = tmp_path / "preds.json"
    # A FIFO blocks whoever opens it for reading until a writer comes: should the
    # command open it, this writer unblocks it after a while and the test fails
    # instead of hanging.
    guard = threading.Timer(10.0, lambda: _unblock(path)) if kind == "fifo" else None
    if guard:
        guard.start()
    try:
        status, out_text, err = _run(capsys, "predict", path, "--out", out, "--quiet")
    finally:
        if guard:
            guard.cancel()
    assert status == 1
    line = _one_error_line(err)
    assert str(path) in line and message in line, line
    (entry,) = json.loads(out.read_text())["images"]
    assert entry["words"] == [] and entry["error"] in line
    assert stub.seen == []
    _no_litter(tmp_path)


def _unblock(path):
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_device_and_folder_and_stdin(tmp_path, stub, capsys, monkeypatch):
    status, _, err = _run(capsys, "predict", "/dev/zero", "--quiet")
    assert status == 1 and "/dev/zero: is a device, not a regular file" in _one_error_line(err)
    (tmp_path / "nothing.png").mkdir()  # a folder given as an image, holding no image
    status, _, err = _run(capsys, "predict", tmp_path / "nothing.png", "--quiet")
    assert status == 2
    assert "nothing.png: a folder with no image or PDF files in it" in _one_error_line(err)

    class Stdin:
        buffer = io.BytesIO(b"")

    monkeypatch.setattr("sys.stdin", Stdin)
    status, _, err = _run(capsys, "predict", "-", "--quiet")
    assert status == 1 and "nothing was read from standard input" in _one_error_line(err)


def test_jpeg_with_corrupt_exif_is_read_with_one_warning(tmp_path, stub, capsys):
    """Damaged EXIF data in a JPEG whose pixels are fine: the page is read, one warning."""
    exif = Image.Exif()
    exif[0x0112] = 6
    data = bytearray(_jpeg_bytes(exif=exif.tobytes()))
    tiff = data.find(b"Exif\0\0") + 6
    data[tiff + 4:tiff + 8] = b"\x00\xff\xff\xff"  # the first IFD lies far past the end
    path = tmp_path / "badexif.jpg"
    path.write_bytes(bytes(data))
    status, out, err = _run(capsys, "predict", path, "--quiet")
    assert status == 0 and "Traceback" not in err
    assert "error" not in json.loads(out)["images"][0]
    lines = err.strip().splitlines()
    assert len(lines) <= 1
    assert all(ln.startswith(f"keras-textnet: warning: {path}: ") for ln in lines)


def test_multipage_tiff_with_a_bad_page_keeps_the_others(tmp_path, stub, capsys):
    tif = make_tiff(tmp_path / "scan.tif", pages=3)
    tif.write_bytes(tif.read_bytes()[:int(tif.stat().st_size * 0.7)])  # page 3 cut short
    out = tmp_path / "preds.json"
    status, _, err = _run(capsys, "predict", tif, "--out", out, "--quiet")
    assert status == 1
    pages = json.loads(out.read_text())["images"]
    assert [("error" in p) for p in pages] == [False, False, True]
    lines = err.strip().splitlines()
    assert lines == [f"keras-textnet: {pages[2]['error']}",
                     "keras-textnet: 1 of 3 image(s) could not be read; their entries carry an "
                     "'error' field and no words"]
    assert "scan.tif, page 3" in lines[0] and "Traceback" not in err


@pytest.mark.parametrize("error", [
    struct.error("unpack requires a buffer of 4 bytes"),  # an odd EXIF tag
    OSError("broken data stream"), ValueError("tile cannot extend outside image"),
    SyntaxError("not a TIFF file"), MemoryError(), RecursionError("too deep"),
    KeyError("exif"), ZeroDivisionError("division by zero"),
], ids=lambda e: type(e).__name__)
def test_no_decoder_exception_stops_the_batch(tmp_path, stub, capsys, monkeypatch, error):
    """Whatever the decoder raises for one file, that file gets an error; the others go on."""
    import keras_textnet.input_document as input_document

    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes(_png_bytes())
    real = input_document.read_image

    def read_image(source, **kwargs):
        if str(source).endswith("b.png"):
            raise error
        return real(source, **kwargs)

    monkeypatch.setattr(input_document, "read_image", read_image)
    out = tmp_path / "preds.json"
    status, _, err = _run(capsys, "predict", tmp_path, "--out", out, "--quiet")
    assert status == 1 and "Traceback" not in err
    entries = json.loads(out.read_text())["images"]
    assert [e["file"] for e in entries] == ["a.png", "b.png", "c.png"]
    assert [("error" in e) for e in entries] == [False, True, False]
    assert entries[1]["error"].startswith(f"{tmp_path / 'b.png'}: ")
    assert "\n" not in entries[1]["error"]
    assert stub.seen == ["a.png", "c.png"]


def test_predictor_predict_survives_every_kind_of_failure(tmp_path):
    """``TextNetPredictor.predict`` (evaluate --model uses it): same rules, distinct names."""
    from keras_textnet.predictor import TextNetPredictor

    class Predictor(TextNetPredictor):
        def __init__(self):
            pass

        def predict_image(self, image, file=None):
            if str(image).endswith("odd.png"):
                raise struct.error("bad EXIF")
            if str(image).endswith("big.png"):
                raise MemoryError()
            return {"file": file, "width": 1, "height": 1, "words": [], "lines": []}

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "page.png").write_bytes(_png_bytes())
    (tmp_path / "odd.png").write_bytes(b"x")
    (tmp_path / "big.png").write_bytes(b"x")
    os.mkfifo(tmp_path / "pipe.png")
    paths = [tmp_path / "a" / "page.png", tmp_path / "b" / "page.png", tmp_path / "odd.png",
             tmp_path / "big.png", tmp_path / "pipe.png"]
    guard = threading.Timer(10.0, lambda: _unblock(tmp_path / "pipe.png"))
    guard.start()
    try:
        doc = Predictor().predict([str(p) for p in paths], progress=False)
    finally:
        guard.cancel()
    entries = doc["images"]
    assert [e["file"] for e in entries] == ["a/page.png", "b/page.png", "odd.png", "big.png",
                                            "pipe.png"]
    assert [("error" in e) for e in entries] == [False, False, True, True, True]
    assert "struct.error" in entries[2]["error"] or "error: bad EXIF" in entries[2]["error"]
    assert "not enough memory" in entries[3]["error"]
    assert "named pipe" in entries[4]["error"]


# ---------------------------------------------------------------------------
# Options and --out
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--max-side", "10"], "--max-side must be a whole number of pixels from 32 to 16384; got 10"),
    (["--scale", "0"], "--scale must be a number above 0 and at most 8"),
    (["--scale", "nan"], "--scale must be a number above 0"),
    (["--min-score", "2"], "--min-score must be a number from 0 to 1; got 2"),
    (["--dpi", "0"], "--dpi must be a number from 10 to 1200"),
    (["--resume"], "--resume needs --out FILE"),
    (["--out", "FOLDER"], "is a folder; give a file name, such as"),
    (["--out", "FOLDER/"], "is a folder; give a file name, such as"),
    (["--out", "FILE/preds.json"], "cannot make its folder"),
    (["--out", "/dev/null"], "/dev/null: is not a regular file"),
])
def test_bad_options_fail_before_any_work(tmp_path, stub, capsys, argv, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("in the way")
    (tmp_path / "page.png").write_bytes(_png_bytes())
    argv = [a.replace("FOLDER", str(tmp_path / "folder")).replace("FILE", str(tmp_path / "file"))
            for a in argv]
    status, out, err = _run(capsys, "predict", tmp_path / "page.png", "--quiet", *argv)
    assert status == 2 and out == ""
    assert message in _one_error_line(err)
    assert stub.seen == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder", "page.png"]
    assert list((tmp_path / "folder").iterdir()) == []


def _tiny_zip(path, names):
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for name in names:
            z.writestr(name, "{}")


@pytest.mark.parametrize("kind, build, message", [
    ("truncated_keras", lambda p: (_tiny_zip(p, ["config.json", "metadata.json",
                                                 "model.weights.h5"]),
                                   p.write_bytes(p.read_bytes()[:60])),
     "is a truncated or damaged .keras file"),
    ("png_as_model", lambda p: p.write_bytes(_png_bytes()),
     "is not a Keras model file (a .keras model is a zip archive; this file starts with"),
    ("empty_model", lambda p: p.write_bytes(b""), "the model file is empty"),
    ("zip_not_a_model", lambda p: _tiny_zip(p, ["readme.txt"]),
     "is a zip archive but not a Keras model"),
    ("folder_as_model", lambda p: p.mkdir(), "is a folder, not a model file"),
    ("missing_model", lambda p: None, "model file not found"),
], ids=["truncated_keras", "png_as_model", "empty_model", "zip_not_a_model", "folder_as_model",
        "missing_model"])
def test_bad_model_files_say_what_they_are(tmp_path, capsys, kind, build, message):
    model = tmp_path / "model.keras"
    build(model)
    (tmp_path / "page.png").write_bytes(_png_bytes())
    status, _, err = _run(capsys, "predict", tmp_path / "page.png", "--model", model, "--quiet")
    assert status == 2
    line = _one_error_line(err)
    assert message in line and "model.keras" in line


# ---------------------------------------------------------------------------
# Hostile JSON: data validate, evaluate (ground truth and predictions), train
# ---------------------------------------------------------------------------

DIGITS = "9" * 4300


def _gt_doc(box="[2, 2, 30, 20]", width="60"):
    return ('{"images": [{"file": "a.png", "width": %s, "height": 40, "words": '
            '[{"box": %s, "text": "hi"}]}]}' % (width, box))


HOSTILE = {
    "deep": ("[" * 5000 + "]" * 5000, "nested too deeply"),
    "deep_inside": ('{"images": ' + "[" * 3000 + "]" * 3000 + "}", "nested too deeply"),
    "huge_integer": (_gt_doc(box=f"[2, 2, {DIGITS}, 20]"), "too large"),
    "over_4300_digits": (_gt_doc(width=DIGITS + "9"), "more than 4300 digits"),
    "nan": (_gt_doc(box="[NaN, 2, 30, 20]"), "nan"),
    "wrong_types": ('{"images": [{"file": 7, "width": "wide", "words": {}}]}', "file"),
    "not_utf8": (_gt_doc().replace("hi", "h\xe9").encode("latin-1"), "not valid utf-8"),
    "empty": (b"", ""),
}
TRAIN_HOSTILE = {
    "deep": ("[" * 5000 + "]" * 5000, "nested too deeply"),
    "huge_integer": ('{"schedule": {"steps": %s}}' % DIGITS, "4300-digit integer is too large"),
    "over_4300_digits": ('{"schedule": {"steps": %s9}}' % DIGITS, "more than 4300 digits"),
    "nan": ('{"schedule": {"learning_rate": NaN}}', "learning_rate"),
    "wrong_types": ('{"data": {"batch_size": "eight"}, "model": []}', "expected"),
    "not_utf8": ('{"model": {"preset": "t\xe9ny"}}'.encode("latin-1"), "not valid UTF-8"),
    "empty": (b"", "the file is empty"),
}


def _write(path: Path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_json_for_validate_and_evaluate(tmp_path, capsys, kind):
    content, message = HOSTILE[kind]
    hostile = _write(tmp_path / f"{kind}.json", content)
    good_gt = _write(tmp_path / "gt.json", _gt_doc())
    good_preds = _write(tmp_path / "preds.json", _gt_doc())
    for argv in (["data", "validate", "--no-image-check", hostile],
                 ["evaluate", hostile, "--predictions", good_preds],
                 ["evaluate", good_gt, "--predictions", hostile]):
        status, out, err = _run(capsys, *argv)
        assert status == 2, (argv, out, err)
        line = _one_error_line(err)
        assert hostile.name in line and message in line.lower(), (argv, line)
        assert len(line) < 1200


@pytest.mark.parametrize("kind", list(TRAIN_HOSTILE))
def test_hostile_config_for_train(tmp_path, capsys, kind):
    content, message = TRAIN_HOSTILE[kind]
    config = _write(tmp_path / f"{kind}.json", content)
    status, out, err = _run(capsys, "train", "--config", config, "--out", tmp_path / "run",
                            "--print-config")
    assert status == 2 and out == ""
    line = _one_error_line(err)
    assert config.name in line and message in line, line
    assert not (tmp_path / "run").exists()


def test_evaluate_nothing_to_score(tmp_path, capsys):
    for name, words in (("empty", None), ("blank", "[]"),
                        ("ignored", '[{"box": [2, 2, 30, 20], "text": "x", "ignore": true}]')):
        gt = tmp_path / f"{name}.json"
        gt.write_text('{"images": []}' if words is None else
                      '{"images": [{"file": "a.png", "width": 60, "height": 40, '
                      '"words": %s}]}' % words)
        preds = _write(tmp_path / "preds.json", '{"images": []}')
        status, out, err = _run(capsys, "evaluate", gt, "--predictions", preds)
        assert status == 2 and "1.000" not in out
        assert "nothing to score" in _one_error_line(err)


# ---------------------------------------------------------------------------
# Never lose a result: the log, --resume, signals, atomic writes
# ---------------------------------------------------------------------------

def _pages(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paths.append(folder / f"p{i:02d}.png")
        Image.fromarray(_page(value=255 - i)).save(paths[-1])
    return paths


def test_every_result_goes_to_the_log_and_resume_skips_them(tmp_path, stub, capsys):
    _pages(tmp_path / "in", 4)
    (tmp_path / "in" / "bad.png").write_bytes(b"")
    out = tmp_path / "o" / "preds.json"
    status, _, _ = _run(capsys, "predict", tmp_path / "in", "--out", out, "--quiet")
    assert status == 1
    log = [json.loads(line) for line in (tmp_path / "o" / "preds.jsonl").read_text().splitlines()]
    final = json.loads(out.read_text())["images"]
    assert log == final and [e["file"] for e in final] == [
        "bad.png", "p00.png", "p01.png", "p02.png", "p03.png"]
    # a kill in the middle of a line: the half line is ignored; errors are tried again
    log_path = tmp_path / "o" / "preds.jsonl"
    lines = log_path.read_text().splitlines()
    log_path.write_text("\n".join(lines[:3]) + "\n" + lines[3][:25])
    stub.seen.clear()
    status, _, err = _run(capsys, "predict", tmp_path / "in", "--out", out, "--resume")
    assert status == 1
    assert stub.seen == ["p02.png", "p03.png"]
    assert "resuming: 2 of 5 page(s) done by an earlier run" in err
    assert json.loads(out.read_text())["images"] == final
    assert [json.loads(x)["file"] for x in log_path.read_text().splitlines()] == [
        "p00.png", "p01.png", "bad.png", "p02.png", "p03.png"]
    _no_litter(tmp_path)


def test_same_base_names_stay_apart_through_resume(tmp_path, stub, capsys):
    for folder in ("a", "b"):
        _pages(tmp_path / folder, 1)
    out = tmp_path / "preds.json"
    a, b = tmp_path / "a" / "p00.png", tmp_path / "b" / "p00.png"
    assert _run(capsys, "predict", a, "--out", out, "--quiet")[0] == 0
    assert json.loads(out.read_text())["images"][0]["file"] == "p00.png"
    assert _run(capsys, "predict", a, b, "--out", out, "--quiet", "--resume")[0] == 0
    entries = json.loads(out.read_text())["images"]
    assert [(e["file"], e["source"]) for e in entries] == [("a/p00.png", str(a)),
                                                          ("b/p00.png", str(b))]
    assert stub.seen == ["p00.png", "b/p00.png"]


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_in_process_keeps_what_is_done(tmp_path, monkeypatch, capsys, sig, status):
    """The cheap smoke of the SIGTERM path: the signal comes while page 3 of 6 is read."""
    predictor = StubPredictor(on_page=lambda n: n == 3 and os.kill(os.getpid(), sig))
    monkeypatch.setattr("keras_textnet.cli.inference._predictor", lambda args: predictor)
    _pages(tmp_path / "in", 6)
    out = tmp_path / "preds.json"
    before = signal.getsignal(sig)
    code, _, err = _run(capsys, "predict", tmp_path / "in", "--out", out, "--quiet")
    assert code == status and signal.getsignal(sig) is before
    (line,) = err.strip().splitlines()
    assert line.startswith(f"keras-textnet: interrupted by {signal.Signals(sig).name}: 2 of 6 "
                           f"page(s) done, kept in {out} and ")
    assert "--resume" in line
    done = json.loads(out.read_text())["images"]
    assert [e["file"] for e in done] == ["p00.png", "p01.png"]
    assert [json.loads(x) for x in (tmp_path / "preds.jsonl").read_text().splitlines()] == done
    _no_litter(tmp_path)
    predictor.on_page = None
    predictor.seen.clear()
    assert _run(capsys, "predict", tmp_path / "in", "--out", out, "--quiet", "--resume")[0] == 0
    assert predictor.seen == ["p02.png", "p03.png", "p04.png", "p05.png"]
    assert len(json.loads(out.read_text())["images"]) == 6


def test_interrupted_writes_leave_no_litter(tmp_path, monkeypatch):
    from keras_textnet.cli import output_files

    target = tmp_path / "preds.json"
    target.write_text("old")

    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(output_files.os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        output_files.atomic_write(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    _no_litter(tmp_path)
    # what a SIGKILL leaves (a dead process's temp file) goes at the next run
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".preds.json.{dead}.ktn-tmp"
    stale.write_text("half")
    live = tmp_path / f".preds.json.{os.getppid()}.ktn-tmp"  # a running process: kept
    live.write_text("busy")
    output_files.check_output_file(target)
    assert not stale.exists() and live.exists()


_DRIVER = """
import os, sys, time
sys.path.insert(0, {root!r})
import keras_textnet.cli.inference as inference

class Slow:
    def plan(self, pages):
        pass

    def predict_image(self, image, file=None):
        time.sleep({delay})
        h, w = image.shape[:2]
        return {{"file": file, "width": w, "height": h, "words": [], "lines": []}}

inference._predictor = lambda args: Slow()
from keras_textnet.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _kill_when_logged(proc, log: Path, lines: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_bytes().count(b"\n") >= lines:
            proc.send_signal(signal.SIGTERM)
            return
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before it was killed: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the run logged nothing in time")


def _check_killed_run(proc, out: Path, total: int):
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    lines = [ln for ln in err.splitlines() if ln.startswith("keras-textnet:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    logged = [json.loads(x) for x in out.with_suffix(".jsonl").read_text().splitlines()]
    done = json.loads(out.read_text())["images"]
    assert 0 < len(done) < total and done == logged  # every finished page, nothing else
    assert f"interrupted by SIGTERM: {len(done)} of {total} page(s) done" in lines[0]
    _no_litter(out.parent)
    return done


def test_sigterm_subprocess_keeps_every_finished_page(tmp_path):
    """A real SIGTERM to a real process (the network stubbed: one import, no TensorFlow)."""
    paths = _pages(tmp_path / "in", 12)
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER.format(root=str(ROOT), delay=0.2))
    out = tmp_path / "o" / "preds.json"
    proc = subprocess.Popen([sys.executable, str(driver), "predict", str(tmp_path / "in"),
                             "--out", str(out), "--quiet"], stderr=subprocess.PIPE, text=True)
    _kill_when_logged(proc, out.with_suffix(".jsonl"), 3)
    done = _check_killed_run(proc, out, len(paths))
    assert [e["file"] for e in done] == [p.name for p in paths[:len(done)]]


@pytest.mark.slow
def test_sigterm_with_a_real_model_keeps_every_finished_page(tmp_path):
    """The real command and a tiny TextNet saved by the test: SIGTERM halfway."""
    from keras_textnet.models.text_net import TextNet

    model = tmp_path / "tiny.keras"
    TextNet.from_preset("tiny", detections_per_image=8, max_text_length=16).save(model)
    paths = _pages(tmp_path / "in", 40)
    out = tmp_path / "o" / "preds.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen([sys.executable, "-m", "keras_textnet", "predict",
                             str(tmp_path / "in"), "--model", str(model), "--out", str(out),
                             "--quiet"], stderr=subprocess.PIPE, text=True, env=env)
    _kill_when_logged(proc, out.with_suffix(".jsonl"), 2, timeout=120)
    done = _check_killed_run(proc, out, len(paths))
    assert all("error" not in e and e["width"] == 60 for e in done)


def test_an_unexpected_exception_and_a_warning_are_one_line_each(tmp_path, capsys, monkeypatch):
    import warnings

    def boom(args):
        warnings.warn("something odd\nover two lines")
        return {}["missing key"]

    monkeypatch.setattr("keras_textnet.cli.inference.cmd_predict", boom)
    monkeypatch.delenv("KERAS_TEXTNET_TRACEBACK", raising=False)
    status, _, err = _run(capsys, "predict", "x.png")
    assert status == 3 and "Traceback" not in err
    warning, error = err.strip().splitlines()
    assert warning == "keras-textnet: warning: something odd over two lines"
    assert error.startswith("keras-textnet: error: unexpected KeyError at test_bad_inputs.py:")
    assert "KERAS_TEXTNET_TRACEBACK=1" in error
    monkeypatch.setenv("KERAS_TEXTNET_TRACEBACK", "1")
    with pytest.raises(KeyError):
        main(["predict", "x.png"])


def test_annotation_naming_a_fifo_or_folder_is_one_line(tmp_path, capsys):
    """data validate (and evaluate --model, training) open every image an annotation names."""
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "folder.png").mkdir()
    guard = threading.Timer(10.0, lambda: _unblock(tmp_path / "pipe.png"))
    guard.start()
    try:
        for name in ("pipe.png", "folder.png"):
            gt = _write(tmp_path / "gt.json", '{"images": [{"file": "%s", "width": 60, '
                                              '"height": 40, "words": []}]}' % name)
            status, _, err = _run(capsys, "data", "validate", gt)
            assert status == 2
            assert f"{name}' is not a regular file" in _one_error_line(err)
    finally:
        guard.cancel()
