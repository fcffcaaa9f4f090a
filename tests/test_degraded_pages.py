"""Degraded copies of clean pages that keep the ground truth (keras_textnet.data.degraded_pages)."""

import cv2
import numpy as np
import pytest

from keras_textnet.data.annotation import AnnotationSet, ImageRecord, Line, Word
from keras_textnet.data.degraded_pages import (PROFILES, degrade_annotation_set, degrade_page,
                                               page_rng)
from keras_textnet.image_io import read_image


def _page(h=120, w=200):
    image = np.full((h, w, 3), 255, np.uint8)
    cv2.putText(image, "Hello page", (10, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2)
    return image


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_keeps_the_geometry_and_the_ink(profile):
    image = _page()
    out, info = degrade_page(image, page_rng(0, "a.png"), profile)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert info["profile"] == profile and info["paper"] == PROFILES[profile][0]
    assert not np.array_equal(out, image)
    # The text is still where it was: darker than the paper around it.
    ink = image[..., 0] < 128
    gray = out.astype(np.float32).mean(axis=2)
    assert gray[ink].mean() < gray[~ink].mean() - 30


def test_same_seed_and_name_same_page_and_unknown_profile_refused():
    image = _page()
    a, _ = degrade_page(image, page_rng(3, "x.png"), "photo")
    b, _ = degrade_page(image, page_rng(3, "x.png"), "photo")
    c, _ = degrade_page(image, page_rng(3, "y.png"), "photo")
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match="Unknown degradation profile"):
        degrade_page(image, page_rng(0, "x.png"), "fax")


def test_degraded_set_keeps_records_and_is_reproducible(tmp_path, write_png):
    records = []
    for k in range(3):
        write_png(f"clean/images/p{k}.png", _page())
        records.append(ImageRecord(
            file=f"images/p{k}.png", width=200, height=120, doc=f"doc{k % 2}",
            words=[Word(box=(10, 38, 180, 66), text="Hello", line=0)],
            lines=[Line(box=(10, 38, 180, 66), text="Hello")], extra={"page": k + 1}))
    clean = AnnotationSet(images=records, root=tmp_path / "clean")
    out = degrade_annotation_set(clean, tmp_path / "deg", seed=5, profiles=("scan", "dim"),
                                 progress=False)
    again = AnnotationSet.load(tmp_path / "deg" / "annotations.json")
    assert [r.extra["degradation"]["profile"] for r in again.images] == ["scan", "dim", "scan"]
    for a, b in zip(clean.images, again.images):
        assert (a.file, a.doc, a.extra["page"]) == (b.file, b.doc, b.extra["page"])
        assert [w.box for w in a.words] == [w.box for w in b.words]
        assert [ln.text for ln in a.lines] == [ln.text for ln in b.lines]
        assert read_image(again.image_path(b)).shape == (120, 200, 3)
    first = read_image(out.image_path(out.images[0]))
    degrade_annotation_set(clean, tmp_path / "deg2", seed=5, profiles=("scan", "dim"),
                           progress=False)
    assert np.array_equal(first, read_image(tmp_path / "deg2" / "images" / "p0.png"))
    with pytest.raises(ValueError, match="profiles"):
        degrade_annotation_set(clean, tmp_path / "deg3", profiles=("nope",), progress=False)
