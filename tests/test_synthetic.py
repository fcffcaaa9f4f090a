"""Tests of the synthetic document generator: determinism and exact ground truth.

Box tightness is checked independently of the generator's code path: every drawn
word is re-rendered alone with ``PIL.ImageDraw.Draw.text`` on a blank page, and its
ink (coverage >= 64) is measured there, then mapped through the page transform.
"""

import functools

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from keras_textnet.charset import Charset
from keras_textnet.data.synthetic.canvas import INK_THRESHOLD, PageCanvas
from keras_textnet.data.synthetic.degradations import EFFECT_PROBABILITIES, degrade
from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator

#: the layouts that draw text ("blank" draws pages without any: tested on its own below)
LAYOUTS = tuple(name for name in SyntheticDocumentGenerator.LAYOUTS if name != "blank")
_LUT = [0] * INK_THRESHOLD + [255] * (256 - INK_THRESHOLD)
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


@functools.lru_cache(maxsize=None)
def _font(path, size):
    return ImageFont.truetype(path, size)


def _word_canvas(rw, width, height) -> Image.Image:
    """The word alone, drawn by PIL on a blank L page of the render size."""
    img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(img).text(rw.origin, rw.text, font=_font(rw.font_path, rw.size_px), fill=255,
                             anchor="ls")
    return img


def _bbox(mask: np.ndarray):
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _close(a, b, tol=1):
    return max(abs(int(p) - int(q)) for p, q in zip(a, b)) <= tol


@pytest.fixture(scope="module")
def clean_gen():
    return SyntheticDocumentGenerator(degrade=0, keep_clean=True)


@pytest.fixture(scope="module")
def clean_pages(clean_gen):
    return {(layout, seed): clean_gen.generate(seed, layout=layout)
            for layout in LAYOUTS for seed in (11, 12)}


# ---------------------------------------------------------------------------
# 1. Determinism
# ---------------------------------------------------------------------------

def test_same_seed_same_bytes_and_records():
    gen = SyntheticDocumentGenerator(degrade=1.0, max_rotation=4)
    for seed in (3, 4):
        a, b = gen.generate(seed), gen.generate(seed)
        assert a.image.tobytes() == b.image.tobytes()
        assert a.record.to_json() == b.record.to_json()
        assert a.layout == b.layout and np.array_equal(a.transform, b.transform)
    # a second generator (fresh caches are not needed for identity) gives the same page
    c = SyntheticDocumentGenerator(degrade=1.0, max_rotation=4).generate(3)
    assert c.image.tobytes() == gen.generate(3).image.tobytes()
    d = gen.generate(5)
    assert d.image.tobytes() != gen.generate(3).image.tobytes()
    assert d.record.to_json() != gen.generate(3).record.to_json()


def test_record_basics(clean_pages):
    page = clean_pages[(LAYOUTS[0], 11)]
    assert page.record.file == "synthetic_0000000011.png"
    assert page.image.dtype == np.uint8 and page.image.shape == (1024, 768, 3)
    assert (page.record.height, page.record.width) == page.image.shape[:2]
    assert page.clean is not None and page.clean.shape == page.image.shape
    # degrade=0: the clean page is the image
    assert np.array_equal(page.clean, page.image)


# ---------------------------------------------------------------------------
# 2. Tight boxes, checked against an independent rendering
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_boxes_are_tight_to_the_ink(clean_pages, layout):
    for seed in (11, 12):
        page = clean_pages[(layout, seed)]
        assert np.allclose(page.transform, IDENTITY)
        H, W = page.image.shape[:2]
        words = page.record.words
        seen = set()
        checked = 0
        for rw in page.render_log:
            if rw.word_index is None:
                continue
            seen.add(rw.word_index)
            gt = words[rw.word_index]
            assert gt.text == rw.text
            if rw.overlay:        # watermark / stamp: warped, blended, ignored
                assert gt.ignore
                continue
            img = _word_canvas(rw, W, H)
            box = img.point(_LUT).getbbox()
            assert box is not None, rw
            assert _close(box, gt.box), (layout, seed, rw.text, box, gt.box)
            assert _close(box, rw.box), (layout, seed, rw.text, box, rw.box)
            # the word's ink really is in the clean page, in its colour
            cov = np.asarray(img)
            strong = cov >= 230
            if strong.any():      # (tiny fine print may have no fully covered pixel)
                diff = np.abs(page.clean[strong].astype(int) - np.array(rw.fill)).max(axis=1)
                assert diff.max() <= 30, (layout, seed, rw.text, int(diff.max()))
            checked += 1
        assert seen == set(range(len(words))), "every ground-truth word was drawn"
        assert checked > 5, (layout, seed, checked)


# ---------------------------------------------------------------------------
# 3. Rotation
# ---------------------------------------------------------------------------

def test_rotated_pages_have_angle_quad_and_tight_boxes():
    gen = SyntheticDocumentGenerator(degrade=0, max_rotation=10, keep_clean=True)
    pages = [p for p in (gen.generate(s, layout=l) for s, l in
                         ((21, "table"), (22, "article"), (23, "form"), (24, "invoice"),
                          (25, "slide")))
             if abs(p.angle) > 1.0]
    assert pages, "no rotated page among the seeds"
    for page in pages[:2]:
        H, W = page.image.shape[:2]
        M = page.transform
        assert not np.allclose(M, IDENTITY)
        words = page.record.words
        checked = 0
        for rw in page.render_log[::3]:
            if rw.word_index is None or rw.overlay:
                continue
            gt = words[rw.word_index]
            assert gt.angle == pytest.approx(page.angle, abs=1e-3)
            assert gt.quad is not None and len(gt.quad) == 4
            q = np.asarray(gt.quad)
            # clockwise in image coordinates (y down) = positive shoelace area
            area = 0.5 * np.sum(q[:, 0] * np.roll(q[:, 1], -1) - np.roll(q[:, 0], -1) * q[:, 1])
            assert area > 0
            if gt.ignore:          # cut by the page edge
                continue
            canvas = np.asarray(_word_canvas(rw, W, H))
            warped = cv2.warpAffine(canvas, M, (W, H), flags=cv2.INTER_LINEAR)
            ink = warped >= INK_THRESHOLD
            box = _bbox(ink)
            assert box is not None
            # the box holds the rotated ink, tightly
            assert _close(box, gt.box), (rw.text, box, gt.box)
            # and the quad (the rotated tight rectangle) holds it too
            inside = np.zeros((H, W), np.uint8)
            cv2.fillPoly(inside, [np.round(q - 0.5).astype(np.int32)], 1)
            inside = cv2.dilate(inside, np.ones((3, 3), np.uint8))
            assert inside[ink].all(), rw.text
            checked += 1
        assert checked > 5
        for ln in page.record.lines:
            if not any(w.angle != page.angle for w in words if w.line is not None
                       and page.record.lines[w.line] is ln):
                assert ln.angle == pytest.approx(page.angle, abs=1e-3)
                assert ln.quad is not None and len(ln.quad) == 4


# ---------------------------------------------------------------------------
# 4. Every layout: encodable text, consistent lines, no overlaps
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_records_are_consistent(clean_pages, layout):
    charset = Charset()
    for seed in (11, 12):
        rec = clean_pages[(layout, seed)].record
        assert len(rec.words) >= 10, (layout, seed)
        for w in rec.words:
            assert w.text and " " not in w.text
            x0, y0, x1, y1 = w.box
            assert 0 <= x0 < x1 <= rec.width and 0 <= y0 < y1 <= rec.height
            if not w.ignore:
                assert charset.can_encode(w.text), w.text
            assert w.line is not None and 0 <= w.line < len(rec.lines)
        for i, ln in enumerate(rec.lines):
            members = [w for w in rec.words if w.line == i]
            assert members, f"line {i} has no word"
            b = np.array([w.box for w in members])
            assert tuple(ln.box) == (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
            if not ln.angle:
                members = sorted(members, key=lambda w: w.box[0])
            assert ln.text == " ".join(w.text for w in members)
            assert ln.ignore == any(w.ignore for w in members)
        # learnable words never overlap each other
        boxes = np.array([w.box for w in rec.words if not w.ignore], np.int64)
        ix0 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
        iy0 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
        ix1 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
        iy1 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
        inter = (ix1 > ix0) & (iy1 > iy0)
        np.fill_diagonal(inter, False)
        assert not inter.any(), layout


def test_table_cells_and_form_fields_are_separate_lines(clean_gen):
    from keras_textnet.data.synthetic.layouts import Ctx, TextSource
    from keras_textnet.data.synthetic.layouts.business import _field
    from keras_textnet.data.synthetic.layouts.tables import draw_table

    rng = np.random.default_rng(0)
    canvas = PageCanvas(np.full((600, 800, 3), 255, np.uint8), charset=clean_gen.charset)
    ctx = Ctx(rng, canvas, clean_gen.fonts, TextSource(clean_gen.text, clean_gen.charset, rng),
              unit=1.0, min_xh=8.0, paper=(255, 255, 255))
    rows = [["alpha beta", "12.50", "gamma"], ["delta", "7.00", "epsilon zeta"]]
    draw_table(ctx, 20, 20, 780, 300, kinds=["text", "amount", "text"],
               headers=["Name", "Price", "Notes"], rows=rows, caption=False, totals=False)
    f = ctx.body_font()
    _field(ctx, "inline", 20, 600, 400, "Full name:", "John Smith", f, f, (0, 0, 0))
    words, lines, _ = canvas.finalize(IDENTITY, (600, 800))
    texts = [ln.text for ln in lines]
    for t in ("Name", "Price", "Notes", "alpha beta", "12.50", "gamma", "delta", "7.00",
              "epsilon zeta", "Full name:", "John Smith"):
        assert t in texts, (t, texts)


def test_watermark_and_tiny_and_clipped_text_is_ignored(clean_gen):
    from keras_textnet.data.synthetic.layouts.common import font_at

    face = clean_gen.fonts.sample(np.random.default_rng(1), monospace=False)
    canvas = PageCanvas(np.full((300, 400, 3), 255, np.uint8), charset=clean_gen.charset)
    big = font_at(clean_gen.fonts, face, 40)
    tiny = font_at(clean_gen.fonts, face, 7)            # x-height ~3-4 px
    body = font_at(clean_gen.fonts, face, 20)
    canvas.draw_rotated_text("DRAFT COPY", (200, 150), 35.0, big, (120, 120, 120), opacity=0.2)
    canvas.draw_text("tiny print", 20, 40, tiny, (0, 0, 0))
    canvas.draw_text("readable words", 20, 80, body, (0, 0, 0))
    canvas.draw_text("cut", 385, 120, body, (0, 0, 0))    # runs off the right edge
    words, lines, _ = canvas.finalize(IDENTITY, (300, 400))
    by_text = {w.text: w for w in words}
    assert by_text["DRAFT"].ignore and by_text["COPY"].ignore
    assert by_text["DRAFT"].angle == pytest.approx(35.0)
    assert by_text["tiny"].ignore and by_text["print"].ignore
    assert not by_text["readable"].ignore and not by_text["words"].ignore
    assert by_text["cut"].ignore and by_text["cut"].box[2] == 400
    # the rotated word's box is the bounds of its rotated ink
    rw = [p for p in canvas.words if p.text == "DRAFT"][0]
    m = canvas.masks.get(big, "DRAFT")
    img = np.zeros((300, 400), np.uint8)
    ox, oy = rw.origin[0] + m.dx, rw.origin[1] + m.dy
    img[oy:oy + m.mask.shape[0], ox:ox + m.mask.shape[1]] = m.mask
    rot = cv2.getRotationMatrix2D((200.0, 150.0), 35.0, 1.0)
    box = _bbox(cv2.warpAffine(img, rot, (400, 300)) >= INK_THRESHOLD)
    assert _close(box, by_text["DRAFT"].box)
    # the line of the watermark is ignored and rotated
    wl = lines[by_text["DRAFT"].line]
    assert wl.ignore and wl.angle == pytest.approx(35.0) and wl.text == "DRAFT COPY"


def test_characters_outside_the_charset_make_a_word_ignored(clean_gen):
    from keras_textnet.data.synthetic.layouts.common import font_at

    face = clean_gen.fonts.sample(np.random.default_rng(2), monospace=False)
    canvas = PageCanvas(np.full((100, 300, 3), 255, np.uint8), charset=Charset("abcdefgh "))
    canvas.draw_text("bad hike", 10, 50, font_at(clean_gen.fonts, face, 20), (0, 0, 0))
    words, _, _ = canvas.finalize(IDENTITY, (100, 300))
    assert [(w.text, w.ignore) for w in words] == [("bad", False), ("hike", True)]


def test_an_underlined_run_is_ruled_below_its_words_with_unchanged_boxes(clean_gen):
    from keras_textnet.data.synthetic.layouts.common import font_at

    face = clean_gen.fonts.sample(np.random.default_rng(4), monospace=False)
    font = font_at(clean_gen.fonts, face, 24)
    pages = []
    for underline in (False, True):
        canvas = PageCanvas(np.full((100, 400, 3), 255, np.uint8), charset=clean_gen.charset)
        line, x_end = canvas.draw_text("see the manual", 20, 50, font, (0, 0, 0))
        canvas.draw_text("here", x_end + font.space, 50, font, (0, 0, 0), line=line,
                         underline=underline)
        words, lines, _ = canvas.finalize(IDENTITY, (100, 400))
        pages.append((canvas.image, words, lines))
    (plain, words0, lines0), (ruled, words1, lines1) = pages
    assert [(w.text, w.box) for w in words0] == [(w.text, w.box) for w in words1]
    assert [ln.text for ln in lines1] == ["see the manual here"]
    changed = np.argwhere((plain != ruled).any(axis=2))
    here = words1[-1].box
    # only below the baseline, under "here" alone, one row of ink across its width
    assert len(changed) and changed[:, 0].min() > 50 and changed[:, 0].max() < 50 + 8
    assert changed[:, 1].min() == here[0] and changed[:, 1].max() == here[2] - 1
    assert (ruled[changed[:, 0].min(), here[0]:here[2]] == 0).all()


def test_math_variables_are_set_in_tex_math_italic_with_their_letters_as_text(clean_gen):
    from keras_textnet.data.synthetic.layouts import common

    face = clean_gen.fonts.math_italic
    assert face is not None and face.covers("xyzKN") and not face.covers("x1") \
        and not face.covers(" ")
    canvas = PageCanvas(np.full((200, 600, 3), 255, np.uint8), charset=clean_gen.charset)
    ctx = common.Ctx(np.random.default_rng(0), canvas, clean_gen.fonts, None, unit=1.0,
                     min_xh=6.0, paper=(255, 255, 255))
    body = ctx.body_font()
    math = ctx.font(face, body.x_height)
    common._draw_with_span(ctx, ["where", "q", "is", "prime"], 1, 2, body, math, (0, 0, 0),
                           20, 100, 0.0, None, None)
    words, lines, _ = canvas.finalize(IDENTITY, (200, 600))
    assert [ln.text for ln in lines] == ["where q is prime"]
    fonts = {p.text: p.font.path for p in canvas.words}
    assert fonts["q"].endswith("cmmi10.ttf") and not fonts["is"].endswith("cmmi10.ttf")
    assert all(not w.ignore for w in words)


# ---------------------------------------------------------------------------
# 5. Degradations and scaling
# ---------------------------------------------------------------------------

def test_degradations_keep_shape_and_dtype(clean_pages):
    img = clean_pages[("article", 11)].image
    for name in EFFECT_PROBABILITIES:
        out, applied = degrade(img, np.random.default_rng(0), 1.0, effects={name: 1.0})
        assert applied == [name]
        assert out.shape == img.shape and out.dtype == np.uint8, name
    out, applied = degrade(img, np.random.default_rng(1), 100.0)
    assert out.shape == img.shape and out.dtype == np.uint8 and len(applied) >= 7
    out, applied = degrade(img, np.random.default_rng(1), 0.0)
    assert applied == [] and np.array_equal(out, img)
    with pytest.raises(ValueError):
        degrade(img, np.random.default_rng(0), effects={"sepia": 1.0})


def test_boxes_follow_page_scaling():
    gen = SyntheticDocumentGenerator(degrade=1.0)
    scaled = []
    for seed in range(40):
        page = gen.generate(seed, layout="receipt")
        assert page.image.shape == (1024, 768, 3)
        if page.scale != 1.0 and abs(page.transform[0, 1]) < 1e-12:
            scaled.append(page)
        if len(scaled) == 2:
            break
    assert scaled, "no rescaled page among the seeds"
    for page in scaled:
        M = page.transform
        a, c = M[0, 0], M[0, 2]
        d, f = M[1, 1], M[1, 2]
        for rw in page.render_log:
            if rw.word_index is None:
                continue
            gt = page.record.words[rw.word_index]
            if gt.ignore:
                continue
            x0, y0, x1, y1 = rw.box
            # the output pixels whose centres fall in the mapped box (pixel-centre convention)
            exp = (np.ceil(a * (x0 - 0.5) + c), np.ceil(d * (y0 - 0.5) + f),
                   np.floor(a * (x1 - 0.5) + c) + 1, np.floor(d * (y1 - 0.5) + f) + 1)
            assert _close(exp, gt.box), (rw.text, exp, gt.box)
            assert gt.box[3] - gt.box[1] >= 2


# ---------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------

def test_config_round_trip_and_validation():
    gen = SyntheticDocumentGenerator(page_size=((900, 1100), (700, 800)),
                                     layouts={"form": 1.0, "table": 2.0}, degrade=0.5,
                                     max_rotation=2.0, min_x_height=9.0)
    cfg = gen.get_config()
    again = SyntheticDocumentGenerator.from_config(cfg)
    assert again.get_config() == cfg
    page = again.generate(1)
    assert page.layout in ("form", "table")
    assert 900 <= page.image.shape[0] <= 1100 and 700 <= page.image.shape[1] <= 800
    with pytest.raises(ValueError, match="Unknown layout"):
        SyntheticDocumentGenerator(layouts={"poster": 1.0})
    with pytest.raises(ValueError, match="max_rotation"):
        SyntheticDocumentGenerator(max_rotation=-1)
    with pytest.raises(ValueError, match="page_size"):
        SyntheticDocumentGenerator(page_size=(10, 768))
    with pytest.raises(ValueError, match="seed"):
        gen.generate(-1)


def test_blank_layout_draws_pages_without_text_of_every_kind(clean_gen):
    """The "blank" layout: no words or lines, and pages that differ (white, dark, noise...)."""
    means, spreads = [], []
    for seed in range(24):
        page = clean_gen.generate(seed, layout="blank")
        assert page.record.words == [] and page.record.lines == [], seed
        assert page.image.shape == page.clean.shape
        grey = page.clean.mean(axis=2)
        means.append(float(grey.mean()))
        spreads.append(float(grey.std()))
    assert min(means) < 60 and max(means) > 200          # dark and light pages both drawn
    assert max(spreads) > 15 and min(spreads) < 3        # textured and uniform pages both drawn
