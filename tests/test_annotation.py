import json

import numpy as np
import pytest

from keras_textnet.charset import Charset
from keras_textnet.data.annotation import (AnnotationError, AnnotationSet, ImageRecord, Line,
                                           Word, boxes_xyxy_to_yxyx)


def _doc(**image_overrides):
    image = {"file": "page.png", "width": 60, "height": 40,
             "words": [{"box": [2, 3, 20, 12], "text": "Invoice", "ignore": False, "line": 0},
                       {"box": [24, 3, 40, 12], "text": "No.", "ignore": False, "line": 0},
                       {"box": [2, 20, 9, 30], "text": "###", "ignore": True}],
             "lines": [{"box": [2, 3, 40, 12], "text": "Invoice No.", "angle": 0.0}]}
    image.update(image_overrides)
    return {"images": [image]}


def _write(tmp_path, doc, name="ann.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_round_trip(tmp_path, write_png):
    write_png("page.png")
    doc = _doc(doc="report-7", extra_field={"kept": True})
    doc["images"][0]["words"][0]["score_hint"] = 3  # unknown keys survive
    doc["version"] = 2
    path = _write(tmp_path, doc)
    ann = AnnotationSet.load(path)
    rec = ann.images[0]
    assert (rec.width, rec.height, rec.doc) == (60, 40, "report-7")
    assert rec.words[0] == Word(box=(2, 3, 20, 12), text="Invoice", line=0,
                                extra={"score_hint": 3})
    assert rec.words[2].ignore
    assert rec.lines[0].text == "Invoice No."
    ann.save(tmp_path / "out" / "copy.json")
    again = json.loads((tmp_path / "out" / "copy.json").read_text(encoding="utf-8"))
    assert again == json.loads(path.read_text(encoding="utf-8"))


def test_round_trip_non_ascii_and_rotation(tmp_path, write_png):
    write_png("page.png")
    doc = _doc()
    doc["images"][0]["words"].append(
        {"box": [30, 20, 50, 35], "text": "naïve", "ignore": False,
         "quad": [[30, 25], [48, 20], [50, 30], [32, 35]], "angle": 15.5})
    ann = AnnotationSet.load(_write(tmp_path, doc))
    ann.save(tmp_path / "copy.json")
    back = AnnotationSet.load(tmp_path / "copy.json")
    assert back.images[0].words[-1] == ann.images[0].words[-1]
    assert "naïve" in (tmp_path / "copy.json").read_text(encoding="utf-8")


def test_size_is_read_from_the_image_when_absent(tmp_path, write_png):
    write_png("page.png", size=(40, 60))
    doc = _doc()
    del doc["images"][0]["width"], doc["images"][0]["height"]
    rec = AnnotationSet.load(_write(tmp_path, doc)).images[0]
    assert (rec.width, rec.height) == (60, 40)


def _error(tmp_path, doc_or_bytes, **kwargs) -> AnnotationError:
    path = tmp_path / "bad.json"
    if isinstance(doc_or_bytes, bytes):
        path.write_bytes(doc_or_bytes)
    else:
        path.write_text(json.dumps(doc_or_bytes), encoding="utf-8")
    with pytest.raises(AnnotationError) as info:
        AnnotationSet.load(path, **kwargs)
    assert str(path) in str(info.value)
    return info.value


def test_missing_image(tmp_path):
    err = _error(tmp_path, _doc())
    assert "image 'page.png'" in str(err) and "not found" in str(err)


def test_unreadable_image(tmp_path):
    (tmp_path / "page.png").write_bytes(b"this is not a png at all")
    err = _error(tmp_path, _doc())
    assert "cannot be read as an image" in str(err) and err.image == "page.png"


def test_truncated_image(tmp_path, write_png):
    path = write_png("page.png", np.random.default_rng(0).integers(0, 255, (40, 60, 3), np.uint8))
    path.write_bytes(path.read_bytes()[:200])
    err = _error(tmp_path, _doc())
    assert "cannot be read as an image" in str(err)


def test_stated_size_disagrees_with_image(tmp_path, write_png):
    write_png("page.png", size=(50, 60))
    err = _error(tmp_path, _doc())
    assert "says 60x40 but the image file is 60x50" in str(err)


@pytest.mark.parametrize("box, message", [
    ([2, 3, 70, 12], "outside the 60x40 image"),
    ([-1, 3, 20, 12], "outside the 60x40 image"),
    ([2, 3, 20, 41], "outside the 60x40 image"),
    ([20, 3, 20, 12], "degenerate"),
    ([2, 12, 20, 3], "degenerate"),
    ([2, 3, 20], "list of 4 finite numbers"),
    (["2", 3, 20, 12], "list of 4 finite numbers"),
    ("2,3,20,12", "list of 4 finite numbers"),
])
def test_bad_boxes_name_file_image_word_and_value(tmp_path, write_png, box, message):
    write_png("page.png")
    doc = _doc()
    doc["images"][0]["words"][1]["box"] = box
    err = _error(tmp_path, doc)
    assert message in str(err)
    assert "image 'page.png'" in str(err) and "word 1" in str(err) and "field 'box'" in str(err)
    assert err.item == "word 1" and err.field_name == "box"


def test_nan_box_is_rejected(tmp_path, write_png):
    write_png("page.png")
    raw = json.dumps(_doc()).replace("[24, 3, 40, 12]", "[24, NaN, 40, 12]").encode()
    err = _error(tmp_path, raw)
    assert "word 1" in str(err)


@pytest.mark.parametrize("key, value, message", [
    ("text", 42, "must be a string; received int 42"),
    ("ignore", "yes", "must be true or false; received 'yes'"),
    ("line", 1.5, "must be an integer"),
    ("angle", "left", "must be a number"),
])
def test_wrong_types(tmp_path, write_png, key, value, message):
    write_png("page.png")
    doc = _doc()
    doc["images"][0]["words"][0][key] = value
    err = _error(tmp_path, doc)
    assert message in str(err) and "word 0" in str(err) and f"field '{key}'" in str(err)


def test_missing_fields(tmp_path, write_png):
    write_png("page.png")
    doc = _doc()
    del doc["images"][0]["words"][2]["text"]
    assert "word 2, field 'text': is missing" in str(_error(tmp_path, doc))
    doc = _doc()
    del doc["images"][0]["words"]
    assert "field 'words'" in str(_error(tmp_path, doc))
    assert "'images' list" in str(_error(tmp_path, {"pages": []}))


def test_bad_line_box(tmp_path, write_png):
    write_png("page.png")
    doc = _doc()
    doc["images"][0]["lines"][0]["box"] = [2, 3, 90, 12]
    err = _error(tmp_path, doc)
    assert "line 0" in str(err) and "outside" in str(err)


def test_bad_utf8(tmp_path):
    raw = json.dumps(_doc()).encode().replace(b"Invoice", b"Inv\xffice", 1)
    err = _error(tmp_path, raw)
    assert "not valid UTF-8" in str(err) and "0xff" in str(err)


def test_bad_json(tmp_path):
    err = _error(tmp_path, b'{"images": [}')
    assert "not valid JSON" in str(err) and "line 1" in str(err)


def test_duplicate_file(tmp_path, write_png):
    write_png("page.png")
    doc = _doc()
    doc["images"].append(doc["images"][0])
    assert "appears twice" in str(_error(tmp_path, doc))


def test_charset_marks_ignore_with_one_warning(tmp_path, write_png):
    write_png("page.png")
    doc = _doc()
    doc["images"][0]["words"][0]["text"] = "Café"
    doc["images"][0]["words"][1]["text"] = "€5"
    with pytest.warns(UserWarning, match="2 word\\(s\\) have characters outside"):
        ann = AnnotationSet.load(_write(tmp_path, doc), charset=Charset())
    words = ann.images[0].words
    assert words[0].ignore and words[1].ignore and words[2].ignore


def test_no_image_check_needs_sizes(tmp_path):
    doc = _doc()
    assert len(AnnotationSet.load(_write(tmp_path, doc), check_images=False).images) == 1
    del doc["images"][0]["height"]
    assert "required when images are not checked" in str(
        _error(tmp_path, doc, check_images=False))


def test_lines_from_words():
    rec = ImageRecord(file="a.png", width=100, height=50, words=[
        Word(box=(40, 5, 60, 15), text="world", line=3),
        Word(box=(5, 4, 35, 16), text="hello", line=3),
        Word(box=(5, 30, 20, 40), text="x", line=7, ignore=True),
        Word(box=(50, 30, 60, 40), text="free")])
    lines = rec.lines_or_grouped_words()
    assert lines == [Line(box=(5, 4, 60, 16), text="hello world"),
                     Line(box=(5, 30, 20, 40), text="x", ignore=True)]


def test_box_order_conversion():
    b = np.array([[1, 2, 3, 4]])
    assert boxes_xyxy_to_yxyx(b).tolist() == [[2, 1, 4, 3]]
    assert boxes_xyxy_to_yxyx(boxes_xyxy_to_yxyx(b)).tolist() == b.tolist()
