"""The page canvas: text placement, numpy alpha compositing and exact ground truth.

Everything a synthetic page shows is drawn through :class:`PageCanvas`:

* **words** (:meth:`PageCanvas.place_word`, :meth:`PageCanvas.draw_text`): the word's
  coverage mask comes from ``font.getmask2(text, mode="L", anchor="ls")`` -- the very
  mask ``PIL.ImageDraw.Draw.text(origin, text, font=font, anchor="ls")`` draws at an
  integer origin -- and is alpha-blended onto the page with numpy. Its ground-truth
  box is measured on that mask: the pixels whose coverage is ``>= INK_THRESHOLD``
  (64/255), ``(x0, y0, x1, y1)`` with ``x1``/``y1`` exclusive. Font metrics are used
  for layout only, never for boxes.
* **graphics** (rules, frames, tick boxes, chart marks, fills): strokes are
  *obstacles*; fills (panels, zebra shading) are not.

An occupancy map keeps the ground truth honest: a word whose ink box would touch
another word's box or a stroke (closer than ``gap`` pixels) is not drawn at all,
and a stroke that would touch a word is not drawn. So words never overlap and
rules never touch text.

Coordinates: ``(x, y)`` pixels of the *render* canvas (before the generator's final
rotation/scaling). :meth:`PageCanvas.finalize` maps the ground truth through the
final 2x3 affine ``M`` (OpenCV's pixel-centre convention, the matrix
``cv2.warpAffine`` takes) and produces :class:`~keras_textnet.data.annotation.Word`
and :class:`~keras_textnet.data.annotation.Line` records in the final image.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageFont

from keras_textnet.data.annotation import Line, Word
from keras_textnet.luminance import luminance

#: A pixel belongs to a word's ink when the glyph coverage is at least this (of 255).
INK_THRESHOLD = 64
#: Words whose x-height in the final image is below this many pixels are ``ignore``.
MIN_READABLE_X_HEIGHT = 5.0
#: Words whose final box is less tall than this are dropped from the ground truth.
MIN_BOX_HEIGHT = 2

_OCC_WORD = 1
_OCC_STROKE = 2


@dataclass
class RenderedWord:
    """One word as it was drawn (for tests and debugging).

    ``origin`` is the ``xy`` of ``PIL.ImageDraw.Draw.text(xy, text, anchor="ls")``
    (left end of the baseline) and ``box`` the tight ink box, both in the unrotated,
    unscaled render page. ``overlay`` marks watermarks and stamps: drawn with
    ``cv2.warpAffine`` by ``angle`` degrees CCW (possibly 0) and blended with an
    opacity, always ``ignore``; their ``box`` is the bounds of the warped ink.
    ``word_index`` is the index of the word in ``SyntheticPage.record.words``
    (``None`` if the final transform dropped it).
    """

    text: str
    font_path: str
    size_px: int
    origin: tuple[float, float]
    fill: tuple[int, int, int]
    box: tuple[int, int, int, int]
    angle: float = 0.0
    ignore: bool = False
    word_index: int | None = None
    overlay: bool = False


# ---------------------------------------------------------------------------
# Fonts at a pixel size, and word masks
# ---------------------------------------------------------------------------

_X_RATIO: dict[str, float] = {}


def x_height_ratio(pil_font_100: ImageFont.FreeTypeFont, path: str) -> float:
    """x-height / pixel size of a face (measured on the ink of 'x' at 100 px)."""
    r = _X_RATIO.get(path)
    if r is None:
        try:
            x0, y0, x1, y1 = pil_font_100.getbbox("x", anchor="ls")
            r = -y0 / 100.0 if y0 < 0 else 0.5
        except (OSError, ValueError):
            r = 0.5
        if not 0.25 <= r <= 0.8:
            r = 0.5
        _X_RATIO[path] = r
    return r


class Font:
    """A font face at one pixel size, with the measurements layouts need.

    Attributes:
        face: the ``FontFace`` (``path``, ``family``, ``bold``, ... ``characters``).
        size: pixel size (what ``ImageFont.truetype(path, size)`` takes).
        pil: the ``FreeTypeFont``.
        ascent, descent: line metrics in pixels (layout only).
        x_height: the face's x-height at this size, pixels.
        space: advance width of a space.
    """

    __slots__ = ("face", "size", "pil", "ascent", "descent", "x_height", "space", "_len")

    def __init__(self, face, size: int, pil: ImageFont.FreeTypeFont, x_ratio: float):
        self.face = face
        self.size = int(size)
        self.pil = pil
        asc, desc = pil.getmetrics()
        self.ascent = int(asc)
        self.descent = int(desc)
        self.x_height = x_ratio * self.size
        self.space = max(1.0, float(pil.getlength(" "))) if face.covers(" ") else 0.3 * size
        self._len: dict[str, float] = {}

    @property
    def path(self) -> str:
        return self.face.path

    @property
    def line_height(self) -> int:
        return self.ascent + self.descent

    def length(self, text: str) -> float:
        """Advance width of ``text`` in pixels (cached)."""
        v = self._len.get(text)
        if v is None:
            v = float(self.pil.getlength(text))
            if len(self._len) > 4096:
                self._len.clear()
            self._len[text] = v
        return v

    def __repr__(self):
        return f"Font({self.face.family!r}, {self.size}px, {self.path})"


@dataclass(frozen=True)
class WordMask:
    """Coverage mask of one word drawn at origin (0, 0) with anchor 'ls'.

    ``mask[r, c]`` covers page pixel ``(origin_x + dx + c, origin_y + dy + r)``;
    ``ink`` is the tight box of ``mask >= INK_THRESHOLD`` in mask coordinates
    ``(x0, y0, x1, y1)``, or ``None`` when nothing reaches the threshold.
    """

    mask: np.ndarray
    dx: int
    dy: int
    ink: tuple[int, int, int, int] | None


class MaskCache:
    """LRU cache of word masks keyed by (font path, size, text); thread-safe, read-only masks."""

    def __init__(self, capacity: int = 30000):
        self.capacity = int(capacity)
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, font: Font, text: str) -> WordMask:
        key = (font.path, font.size, text)
        with self._lock:
            hit = self._d.get(key)
            if hit is not None:
                self._d.move_to_end(key)
                return hit
        core, (dx, dy) = font.pil.getmask2(text, mode="L", anchor="ls")
        w, h = core.size
        if w == 0 or h == 0:
            arr = np.zeros((0, 0), np.uint8)
            ink = None
        else:
            arr = np.frombuffer(Image.Image()._new(core).tobytes(), np.uint8).reshape(h, w)
            on = arr >= INK_THRESHOLD
            rows = np.flatnonzero(on.any(axis=1))
            if rows.size:
                cols = np.flatnonzero(on.any(axis=0))
                ink = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
            else:
                ink = None
        arr.flags.writeable = False
        entry = WordMask(arr, int(dx), int(dy), ink)
        with self._lock:
            self._d[key] = entry
            if len(self._d) > self.capacity:
                self._d.popitem(last=False)
        return entry


#: Process-wide mask cache (masks are read-only and shared between pages).
MASKS = MaskCache()


# ---------------------------------------------------------------------------
# The canvas
# ---------------------------------------------------------------------------

@dataclass
class _Placed:
    text: str
    font: Font
    origin: tuple[int, int]
    fill: tuple[int, int, int]
    box: tuple[int, int, int, int]      # render page, x1/y1 exclusive (may exceed the page)
    mask: WordMask | None
    line: int
    ignore: bool
    angle: float = 0.0
    points: np.ndarray | None = None     # (n, 2) ink outline points, cv2 convention (rotated text)
    x_height: float = 0.0
    overlay: bool = False


@dataclass
class _LineInfo:
    words: list[int] = field(default_factory=list)
    angle: float = 0.0
    ignore: bool = False


class PageCanvas:
    """An RGB page being drawn, and the ground truth of what is on it.

    Args:
        image: ``(H, W, 3)`` uint8 RGB background; drawn on in place.
        charset: a :class:`~keras_textnet.charset.Charset`; words with characters
            outside it are drawn but marked ``ignore``.
        gap: minimum free pixels between a word's ink box and any other word box or
            stroke.
        restrict: ``restrict(text, face) -> str`` removing characters a face cannot
            draw (``fonts.restrict_to_face``).
    """

    def __init__(self, image: np.ndarray, charset=None, gap: int = 1, restrict=None,
                 masks: MaskCache | None = None):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8; received {image.shape} "
                             f"{image.dtype}")
        self.image = image
        self.height, self.width = image.shape[:2]
        self.occ = np.zeros((self.height, self.width), np.uint8)
        self.charset = charset
        self.gap = int(gap)
        self.restrict = restrict
        self.masks = masks if masks is not None else MASKS
        self.words: list[_Placed] = []
        self.lines: list[_LineInfo] = []
        self.skipped_words = 0
        self.skipped_strokes = 0

    # -- lines --------------------------------------------------------------
    def new_line(self, angle: float = 0.0, ignore: bool = False) -> int:
        self.lines.append(_LineInfo(angle=angle, ignore=ignore))
        return len(self.lines) - 1

    # -- occupancy ------------------------------------------------------------
    def _clip(self, x0, y0, x1, y1):
        return (max(0, int(x0)), max(0, int(y0)), min(self.width, int(x1)),
                min(self.height, int(y1)))

    def is_free(self, box, gap: int | None = None, what: int | None = None) -> bool:
        """Whether ``box`` (dilated by ``gap``) touches no word / stroke."""
        g = self.gap if gap is None else gap
        x0, y0, x1, y1 = self._clip(box[0] - g, box[1] - g, box[2] + g, box[3] + g)
        if x1 <= x0 or y1 <= y0:
            return True
        region = self.occ[y0:y1, x0:x1]
        if what is None:
            return not region.any()
        return not (region == what).any()

    def words_in(self, box) -> bool:
        return not self.is_free(box, gap=0, what=_OCC_WORD)

    # -- graphics -------------------------------------------------------------
    def fill_rect(self, x0, y0, x1, y1, color, alpha: float = 1.0, obstacle: bool = False):
        """A filled rectangle (a panel, a shade): text may lie on it unless ``obstacle``.

        Skipped (returns False) when it would cover a word already drawn.
        """
        cx0, cy0, cx1, cy1 = self._clip(round(x0), round(y0), round(x1), round(y1))
        if cx1 <= cx0 or cy1 <= cy0:
            return False
        if self.words_in((cx0, cy0, cx1, cy1)):     # never paint over a drawn word
            self.skipped_strokes += 1
            return False
        region = self.image[cy0:cy1, cx0:cx1]
        if alpha >= 1.0:
            region[...] = np.asarray(color, np.uint8)
        else:
            c = np.asarray(color, np.float32)
            region[...] = (region * (1.0 - alpha) + c * alpha + 0.5).astype(np.uint8)
        if obstacle:
            self.occ[cy0:cy1, cx0:cx1] = _OCC_STROKE
        return True

    def fill_gradient(self, x0, y0, x1, y1, c0, c1, vertical: bool = True):
        cx0, cy0, cx1, cy1 = self._clip(round(x0), round(y0), round(x1), round(y1))
        if cx1 <= cx0 or cy1 <= cy0 or self.words_in((cx0, cy0, cx1, cy1)):
            return
        n = (cy1 - cy0) if vertical else (cx1 - cx0)
        t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
        ramp = (np.asarray(c0, np.float32) * (1 - t) + np.asarray(c1, np.float32) * t + 0.5)
        ramp = ramp.astype(np.uint8)
        if vertical:
            self.image[cy0:cy1, cx0:cx1] = ramp[:, None, :]
        else:
            self.image[cy0:cy1, cx0:cx1] = ramp[None, :, :]

    def rule(self, x0, y0, x1, y1, color) -> bool:
        """A solid axis-aligned bar (a rule, a border side, a bar of a chart): an obstacle."""
        return self.fill_rect(x0, y0, x1, y1, color, obstacle=True)

    def hline(self, x0, x1, y, color, thickness: int = 1, dash: tuple[int, int] | None = None):
        """Horizontal rule with its top at ``y``; ``dash=(on, off)`` for dashed/dotted."""
        if dash is None:
            return self.rule(x0, y, x1, y + thickness, color)
        on, off = dash
        x = x0
        ok = True
        while x < x1:
            ok &= self.rule(x, y, min(x + on, x1), y + thickness, color)
            x += on + off
        return ok

    def underline(self, x0, x1, baseline, font: Font, color) -> None:
        """A link's or an emphasis's underline below ``baseline``, across descenders.

        Painted as printers do, through the descenders of the words above it; it
        is not an obstacle to them (their boxes already lie there), only to what
        comes later.
        """
        top = int(round(baseline + max(1.0, 0.09 * font.size)))
        thickness = max(1, int(round(0.06 * font.size)))
        cx0, cy0, cx1, cy1 = self._clip(round(x0), top, round(x1), top + thickness)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        self.image[cy0:cy1, cx0:cx1] = np.asarray(color, np.uint8)
        region = self.occ[cy0:cy1, cx0:cx1]
        region[region == 0] = _OCC_STROKE

    def vline(self, x, y0, y1, color, thickness: int = 1, dash: tuple[int, int] | None = None):
        if dash is None:
            return self.rule(x, y0, x + thickness, y1, color)
        on, off = dash
        y = y0
        while y < y1:
            self.rule(x, y, x + thickness, min(y + on, y1), color)
            y += on + off
        return True

    def frame(self, x0, y0, x1, y1, color, thickness: int = 1):
        """The four sides of a rectangle (inside ``[x0, x1) x [y0, y1)``)."""
        t = thickness
        self.rule(x0, y0, x1, y0 + t, color)
        self.rule(x0, y1 - t, x1, y1, color)
        self.rule(x0, y0, x0 + t, y1, color)
        self.rule(x1 - t, y0, x1, y1, color)

    def dots(self, x0, x1, baseline, color, radius: float = 1.0, step: float = 5.0):
        """Dot leaders on a baseline (graphics, not text)."""
        r = max(1, int(round(radius * 2)))
        x = float(x0)
        while x + r <= x1:
            self.rule(int(x), baseline - r, int(x) + r, baseline, color)
            x += step

    def shape(self, draw, bbox, color, obstacle: bool = True, margin: int = 1) -> bool:
        """Any cv2 drawing: ``draw(img, color, extra_thickness)`` draws it.

        ``bbox`` is a conservative bound of the shape; a shape whose bound holds a
        word is skipped. The same drawing (thickened by ``margin``) marks the
        occupancy so that text keeps clear of it.
        """
        x0, y0, x1, y1 = self._clip(*bbox)
        if x1 <= x0 or y1 <= y0:
            return False
        if obstacle and self.words_in((x0, y0, x1, y1)):
            self.skipped_strokes += 1
            return False
        draw(self.image, tuple(int(c) for c in color), 0)
        if obstacle:
            draw(self.occ, _OCC_STROKE, margin)
        return True

    def circle(self, cx, cy, r, color, filled: bool = True, thickness: int = 1, obstacle=True):
        def draw(img, c, extra):
            t = -1 if filled else thickness + 2 * extra
            radius = int(round(r)) + (extra if filled else 0)
            cv2.circle(img, (int(round(cx)), int(round(cy))), radius, c, t,
                       cv2.LINE_AA if img.ndim == 3 else cv2.LINE_8)
        pad = int(r) + thickness + 2
        return self.shape(draw, (cx - pad, cy - pad, cx + pad + 1, cy + pad + 1), color, obstacle)

    def polyline(self, points, color, thickness: int = 1, closed: bool = False,
                 filled: bool = False, obstacle: bool = True):
        pts = np.round(np.asarray(points, np.float64)).astype(np.int32).reshape(-1, 1, 2)

        def draw(img, c, extra):
            aa = cv2.LINE_AA if img.ndim == 3 else cv2.LINE_8
            if filled:
                cv2.fillPoly(img, [pts], c, aa)
                if extra:
                    cv2.polylines(img, [pts], True, c, 1 + 2 * extra, cv2.LINE_8)
            else:
                cv2.polylines(img, [pts], closed, c, thickness + 2 * extra, aa)
        p = pts.reshape(-1, 2)
        pad = thickness + 2
        bbox = (p[:, 0].min() - pad, p[:, 1].min() - pad, p[:, 0].max() + pad + 1,
                p[:, 1].max() + pad + 1)
        return self.shape(draw, bbox, color, obstacle)

    # -- text -----------------------------------------------------------------
    def mask(self, font: Font, text: str) -> WordMask:
        return self.masks.get(font, text)

    def ink_box(self, font: Font, text: str, x: int, baseline: int):
        """The ink box ``text`` would have at ``(x, baseline)``, or ``None``."""
        m = self.masks.get(font, text)
        if m.ink is None:
            return None
        ox, oy = x + m.dx, baseline + m.dy
        return (ox + m.ink[0], oy + m.ink[1], ox + m.ink[2], oy + m.ink[3])

    def _composite(self, m: WordMask, ox: int, oy: int, fill, opacity: float = 1.0):
        h, w = m.mask.shape
        x0, y0, x1, y1 = self._clip(ox, oy, ox + w, oy + h)
        if x1 <= x0 or y1 <= y0:
            return
        a = m.mask[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        region = self.image[y0:y1, x0:x1]
        if opacity < 1.0:
            a = (a.astype(np.float32) * opacity).astype(np.uint16)
        else:
            a = a.astype(np.uint16)
        a3 = a[..., None]
        fill16 = np.asarray(fill, np.uint16)
        blended = (region.astype(np.uint16) * (255 - a3) + fill16 * a3 + 127) // 255
        region[...] = blended.astype(np.uint8)

    def _check_text(self, text: str, font: Font) -> tuple[str, bool]:
        """Drops characters the face cannot draw; says whether the charset lacks some."""
        if self.restrict is not None:
            text = self.restrict(text, font.face)
        foreign = self.charset is not None and not self.charset.can_encode(text)
        return text, foreign

    def place_word(self, text: str, x: int, baseline: int, font: Font, fill, line: int,
                   ignore: bool = False, min_x: int | None = None,
                   max_x1: int | None = None) -> int | None:
        """Draws one word (no spaces) with its ``ls`` anchor at ``(x, baseline)``.

        ``min_x``: the word is shifted right until its ink box starts at or after
        ``min_x`` (keeps neighbours apart). ``max_x1``: the word is not drawn if its
        ink box would end after it. Returns the word's index in :attr:`words`, or
        ``None`` when it was not drawn (no ink, a collision, or out of bounds).
        """
        text, foreign = self._check_text(text, font)
        if not text or " " in text:
            if " " in text:
                raise ValueError(f"place_word draws one word; received {text!r}")
            return None
        m = self.masks.get(font, text)
        if m.ink is None:
            return None
        x = int(round(x))
        baseline = int(round(baseline))
        bx0 = x + m.dx + m.ink[0]
        if min_x is not None and bx0 < min_x:
            x += min_x - bx0
        ox, oy = x + m.dx, baseline + m.dy
        box = (ox + m.ink[0], oy + m.ink[1], ox + m.ink[2], oy + m.ink[3])
        if max_x1 is not None and box[2] > max_x1:
            self.skipped_words += 1
            return None
        if box[2] <= 0 or box[3] <= 0 or box[0] >= self.width or box[1] >= self.height:
            return None
        if not self.is_free(box):
            self.skipped_words += 1
            return None
        clipped = box[0] < 0 or box[1] < 0 or box[2] > self.width or box[3] > self.height
        # Contrast with what lies beneath: invisible text must not be learnt.
        cx0, cy0, cx1, cy1 = self._clip(*box)
        under = self.image[cy0:cy1, cx0:cx1]
        bg = np.array(cv2.mean(under)[:3]) if under.size else np.zeros(3)
        low_contrast = abs(luminance(bg) - luminance(fill)) < 40 and \
            float(np.abs(bg - np.asarray(fill, np.float64)).max()) < 70
        self._composite(m, ox, oy, fill)
        self.occ[cy0:cy1, cx0:cx1] = _OCC_WORD
        idx = len(self.words)
        self.words.append(_Placed(text, font, (x, baseline), tuple(int(c) for c in fill), box, m,
                                  line, bool(ignore or foreign or clipped or low_contrast),
                                  x_height=font.x_height))
        self.lines[line].words.append(idx)
        return idx

    def draw_text(self, text: str, x: float, baseline: float, font: Font, fill, *,
                  line: int | None = None, word_spacing: float = 0.0, ignore: bool = False,
                  max_x1: int | None = None, underline: bool = False) -> tuple[int, float]:
        """Draws a run of words on one baseline; returns ``(line_id, x_end)``.

        Words are separated by the font's space plus ``word_spacing``; a word is moved
        right when its ink would come closer than ``gap + 1`` pixels to the previous
        one. ``line=None`` starts a new :class:`Line`; pass a line id to continue one
        (a run in another font or colour on the same baseline). ``underline``: one
        rule under the run's drawn words, gaps included (a hyperlink).
        """
        if line is None:
            line = self.new_line()
        text, _ = self._check_text(text, font) if self.restrict is not None else (text, False)
        xcur = float(x)
        prev_x1 = None
        ln = self.lines[line]
        if ln.words:
            prev_x1 = self.words[ln.words[-1]].box[2]
        first_word = len(self.words)
        for i, w in enumerate(text.split(" ")):
            if w:
                idx = self.place_word(
                    w, int(round(xcur)), int(round(baseline)), font, fill, line, ignore=ignore,
                    min_x=None if prev_x1 is None else prev_x1 + self.gap + 1 +
                    max(1, int(font.space * 0.35)),
                    max_x1=max_x1)
                if idx is not None:
                    placed = self.words[idx]
                    prev_x1 = placed.box[2]
                    xcur = placed.origin[0] + font.length(w)
                else:
                    xcur += font.length(w)
            xcur += font.space + word_spacing
        drawn = [p for p in self.words[first_word:] if p.line == line]
        if underline and drawn:
            self.underline(drawn[0].box[0], drawn[-1].box[2], baseline, font, fill)
        return line, xcur - font.space - word_spacing

    def draw_rotated_text(self, text: str, center: tuple[float, float], angle: float,
                          font: Font, fill, opacity: float = 1.0, ignore: bool = True,
                          obstacle: bool = False, require_free: bool = False) -> int | None:
        """Text rotated by ``angle`` degrees CCW about ``center`` (watermarks, stamps).

        Each word is warped with ``cv2.warpAffine`` (bilinear) and alpha-blended with
        ``opacity``; its box is the bounds of the rotated mask's pixels
        ``>= INK_THRESHOLD``. The words are ``ignore``. Unless ``obstacle`` they do not
        keep other text away; with ``require_free`` nothing is drawn (and ``None`` is
        returned) when a word would touch existing text or strokes. Returns the line id.
        """
        text, _ = self._check_text(text, font)
        words = [w for w in text.split(" ") if w]
        if not words:
            return None
        widths = [font.length(w) for w in words]
        total = sum(widths) + font.space * (len(words) - 1)
        # Unrotated positions around the centre, baseline through the x-height middle.
        cx, cy = center
        base_y = cy + font.x_height / 2
        xs = []
        x = cx - total / 2
        for w in widths:
            xs.append(x)
            x += w + font.space
        rot = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), 1.0)
        staged = []
        for w, x0 in zip(words, xs):
            m = self.masks.get(font, w)
            if m.ink is None:
                continue
            h, wd = m.mask.shape
            ox, oy = int(round(x0)) + m.dx, int(round(base_y)) + m.dy
            corners = np.array([[ox - 0.5, oy - 0.5], [ox + wd - 0.5, oy - 0.5],
                                [ox + wd - 0.5, oy + h - 0.5], [ox - 0.5, oy + h - 0.5]])
            rc = corners @ rot[:, :2].T + rot[:, 2]
            tx0 = int(math.floor(rc[:, 0].min())) - 1
            ty0 = int(math.floor(rc[:, 1].min())) - 1
            tx1 = int(math.ceil(rc[:, 0].max())) + 2
            ty1 = int(math.ceil(rc[:, 1].max())) + 2
            # mask pixel (c, r) sits at page (ox + c, oy + r); output pixel (u, v) at page
            # (tx0 + u, ty0 + v).
            local = rot.copy()
            local[:, 2] = rot[:, :2] @ np.array([ox, oy]) + rot[:, 2] - np.array([tx0, ty0])
            warped = cv2.warpAffine(m.mask, local, (tx1 - tx0, ty1 - ty0), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            on = warped >= INK_THRESHOLD
            rows = np.flatnonzero(on.any(axis=1))
            if not rows.size:
                continue
            cols = np.flatnonzero(on.any(axis=0))
            box = (tx0 + int(cols[0]), ty0 + int(rows[0]), tx0 + int(cols[-1]) + 1,
                   ty0 + int(rows[-1]) + 1)
            if require_free and not self.is_free(box, gap=self.gap + 2):
                return None
            staged.append((w, x0, warped, tx0, ty0, on, box))
        if not staged:
            return None
        line = self.new_line(angle=angle, ignore=True)
        for w, x0, warped, tx0, ty0, on, box in staged:
            self._composite(WordMask(warped, 0, 0, None), tx0, ty0, fill, opacity)
            ys, xs_ = np.nonzero(on)
            pts = np.concatenate([np.stack([xs_ + tx0 + dx, ys + ty0 + dy], 1)
                                  for dx in (-0.5, 0.5) for dy in (-0.5, 0.5)])
            hull = cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2).astype(np.float64)
            if obstacle:
                cx0, cy0, cx1, cy1 = self._clip(*box)
                self.occ[cy0:cy1, cx0:cx1] = _OCC_STROKE
            idx = len(self.words)
            self.words.append(_Placed(w, font, (int(round(x0)), int(round(base_y))),
                                      tuple(int(c) for c in fill), box, None, line, True,
                                      angle=float(angle), points=hull,
                                      x_height=font.x_height, overlay=True))
            self.lines[line].words.append(idx)
        return line

    # -- ground truth -----------------------------------------------------------
    def _outline(self, p: _Placed) -> np.ndarray:
        """Corner points of the ink pixels' row extents (cv2 pixel-centre convention)."""
        if p.points is not None:
            return p.points
        m = p.mask
        on = m.mask >= INK_THRESHOLD
        rows = np.flatnonzero(on.any(axis=1))
        first = on[rows].argmax(axis=1)
        last = on.shape[1] - 1 - on[rows, ::-1].argmax(axis=1)
        ox, oy = p.origin[0] + m.dx, p.origin[1] + m.dy
        xs0 = first + ox - 0.5
        xs1 = last + ox + 0.5
        yt = rows + oy - 0.5
        yb = rows + oy + 0.5
        return np.concatenate([np.stack([xs0, yt], 1), np.stack([xs0, yb], 1),
                               np.stack([xs1, yt], 1), np.stack([xs1, yb], 1)]).astype(np.float64)

    def finalize(self, M: np.ndarray, out_size: tuple[int, int], scale: float = 1.0,
                 page_angle: float = 0.0):
        """Ground truth in the final image.

        Args:
            M: 2x3 affine, render page -> final image (cv2 pixel-centre convention).
            out_size: ``(height, width)`` of the final image.
            scale: the isotropic scale of ``M`` (x-heights are scaled by it).
            page_angle: the rotation in ``M``, degrees CCW (0 when none).

        Returns:
            ``(words, lines, word_index)``: :class:`Word` and :class:`Line` lists and,
            for every placed word, its index in ``words`` or ``None`` when dropped.
        """
        H, W = out_size
        M = np.asarray(M, np.float64)
        rotated = abs(M[0, 1]) > 1e-9 or abs(M[1, 0]) > 1e-9
        eps = 1e-6

        def to_box(pts):
            # the output pixels whose centres fall inside the transformed ink footprint
            t = pts @ M[:, :2].T + M[:, 2]
            return (math.ceil(t[:, 0].min() - eps), math.ceil(t[:, 1].min() - eps),
                    math.floor(t[:, 0].max() + eps) + 1, math.floor(t[:, 1].max() + eps) + 1)

        def rect_pts(b):
            x0, y0, x1, y1 = b
            return np.array([[x0 - 0.5, y0 - 0.5], [x1 - 0.5, y0 - 0.5],
                             [x1 - 0.5, y1 - 0.5], [x0 - 0.5, y1 - 0.5]], np.float64)

        def quad_of(b):
            q = rect_pts(b) @ M[:, :2].T + M[:, 2] + 0.5
            return np.round(q, 2).tolist()

        words: list[Word] = []
        source: list[int] = []          # words[k] was drawn as self.words[source[k]]
        index: list[int | None] = [None] * len(self.words)
        line_words: dict[int, list[int]] = {}
        for i, p in enumerate(self.words):
            if rotated or p.points is not None:
                b = to_box(self._outline(p) if p.points is None else p.points)
            else:
                b = to_box(rect_pts(p.box))
            ignore = p.ignore
            x0, y0, x1, y1 = max(0, b[0]), max(0, b[1]), min(W, b[2]), min(H, b[3])
            if (x0, y0, x1, y1) != tuple(b):
                ignore = True           # cut by the page edge
            if x1 - x0 < 1 or y1 - y0 < MIN_BOX_HEIGHT:
                continue
            if p.x_height * scale < MIN_READABLE_X_HEIGHT:
                ignore = True
            angle = p.angle + page_angle if p.overlay else page_angle
            w = Word(box=(int(x0), int(y0), int(x1), int(y1)), text=p.text, ignore=bool(ignore),
                     line=None)
            if abs(angle) > 1e-9 or p.overlay:
                w.angle = round(float(angle), 4)
                if not p.overlay:
                    w.quad = quad_of(p.box)
            index[i] = len(words)
            words.append(w)
            source.append(i)
            line_words.setdefault(p.line, []).append(len(words) - 1)

        lines: list[Line] = []
        for lid, info in enumerate(self.lines):
            ws = line_words.get(lid)
            if not ws:
                continue
            ws = sorted(ws, key=lambda k: words[k].box[0]) if not info.angle else ws
            boxes = np.array([words[k].box for k in ws])
            box = (int(boxes[:, 0].min()), int(boxes[:, 1].min()), int(boxes[:, 2].max()),
                   int(boxes[:, 3].max()))
            angle = info.angle + page_angle
            ln = Line(box=box, text=" ".join(words[k].text for k in ws),
                      angle=round(float(angle), 4),
                      ignore=bool(info.ignore or any(words[k].ignore for k in ws)))
            if abs(angle) > 1e-9 and not info.angle:
                rb = np.array([self.words[source[k]].box for k in ws])
                ln.quad = quad_of((rb[:, 0].min(), rb[:, 1].min(), rb[:, 2].max(), rb[:, 3].max()))
            for k in ws:
                words[k].line = len(lines)
            lines.append(ln)
        return words, lines, index
